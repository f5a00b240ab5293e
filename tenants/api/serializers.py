from rest_framework import serializers

from accounts.models import User
from core.json_types import JSONTypedSerializer
from tenants.models import ApiKey


class SignupInputSerializer(JSONTypedSerializer):
    name = serializers.CharField(max_length=200, help_text="The business's name.")
    slug = serializers.CharField(
        max_length=40, help_text="Becomes the host: <slug>.<base domain>. a-z, 0-9 and hyphens."
    )
    # Shape only: what the values mean (a real email, zone, country, a free name, a strong
    # password) is checked by tenant_provision, which reports every problem at once.
    owner_email = serializers.CharField(max_length=254, help_text="The owner's email address.")
    owner_password = serializers.CharField(write_only=True, max_length=128)
    owner_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    time_zone = serializers.CharField(
        max_length=64, required=False, default="UTC", help_text="IANA time zone."
    )
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2.")
    locale = serializers.CharField(max_length=16, required=False, default="en")

    def validate_slug(self, value: str) -> str:
        return value.strip().lower()


class SignupOutputSerializer(serializers.Serializer):
    tenant = serializers.CharField(help_text="The slug.")
    url = serializers.URLField(help_text="The dashboard and API host of the new tenant.")
    login_url = serializers.URLField()
    owner_email = serializers.EmailField()
    api_key = serializers.CharField(help_text="Shown once; store it now.")
    provisioning_ms = serializers.FloatField()


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    display = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "display",
            "scope",
            "created_by_email",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = fields


class ApiKeyCreateInputSerializer(JSONTypedSerializer):
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(choices=ApiKey.Scope.choices, default=ApiKey.Scope.READ_WRITE)


class ApiKeyCreatedOutputSerializer(ApiKeyOutputSerializer):
    key = serializers.CharField(read_only=True, help_text="The secret: shown once, never again.")

    class Meta(ApiKeyOutputSerializer.Meta):
        fields = [*ApiKeyOutputSerializer.Meta.fields, "key"]
        read_only_fields = fields


class UserOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "is_active", "date_joined", "last_login"]
        read_only_fields = fields


class UserCreateInputSerializer(JSONTypedSerializer):
    email = serializers.EmailField()
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=User.Role.choices)
    password = serializers.CharField(write_only=True, max_length=128)


class UserUpdateInputSerializer(JSONTypedSerializer):
    role = serializers.ChoiceField(choices=User.Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)


class MeOutputSerializer(serializers.Serializer):
    tenant = serializers.CharField()
    tenant_name = serializers.CharField()
    principal = serializers.CharField(help_text="'user' or 'api_key'.")
    email = serializers.EmailField(allow_null=True)
    role = serializers.CharField(allow_null=True)
    scope = serializers.CharField(allow_null=True, help_text="The API key's scope.")
