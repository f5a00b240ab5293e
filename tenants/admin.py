"""The operators' admin on the public host: tenants, their hosts and API keys."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django_tenants.admin import TenantAdminMixin

from tenants.models import ApiKey, Domain, Tenant
from tenants.services.provisioning import tenant_set_status


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "schema_name", "status", "time_zone", "country", "created_at"]
    list_filter = ["status", "country"]
    search_fields = ["name", "slug", "schema_name"]
    readonly_fields = ["schema_name", "slug", "created_at"]
    inlines = [DomainInline]
    actions = ["suspend", "activate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tenants are created by provisioning (signup or `provision_tenant`)

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        # Deleting the row drops the schema with all the tenant's data; until an export-
        # then-delete flow exists, operators suspend instead.
        return False

    @admin.action(description="Suspend selected tenants")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            tenant_set_status(tenant=tenant, status=Tenant.Status.SUSPENDED, reason="by operator")

    @admin.action(description="Re-activate selected tenants")
    def activate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            tenant_set_status(tenant=tenant, status=Tenant.Status.ACTIVE)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "prefix", "scope", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["scope"]
    search_fields = ["name", "prefix", "tenant__slug"]
    readonly_fields = [f.name for f in ApiKey._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
