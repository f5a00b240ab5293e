"""How the driver token appears in the OpenAPI schema (drf-spectacular)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class DriverTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tracking.api.views.DriverTokenAuthentication"
    name = "DriverToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Driver <token>`: the driver app's token (embedded in its page "
            "while the driver is on duty; it expires after DRIVER_TOKEN_MAX_AGE_S).",
        }
