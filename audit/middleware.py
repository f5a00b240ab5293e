"""Who is acting, for the audit log, for the length of one request."""

from __future__ import annotations

from audit import services


class AuditMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        token = services.acting(services.who_from_request(request))
        try:
            return self.get_response(request)
        finally:
            services.done(token)
