from rest_framework import serializers

from accounts.models import User


class UserOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "is_active", "date_joined", "last_login"]
        read_only_fields = fields


class UserCreateInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=User.Role.choices)
    password = serializers.CharField(write_only=True, max_length=128)


class UserUpdateInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=User.Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)


class MeOutputSerializer(serializers.Serializer):
    tenant = serializers.CharField()
    tenant_name = serializers.CharField()
    principal = serializers.CharField(help_text="'user' or 'api_key'.")
    email = serializers.EmailField(allow_null=True)
    role = serializers.CharField(allow_null=True)
    scope = serializers.CharField(allow_null=True, help_text="The API key's scope.")
