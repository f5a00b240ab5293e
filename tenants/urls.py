from django.urls import path

from tenants import views

app_name = "tenants"
urlpatterns = [
    path("", views.settings_view, name="settings"),
    path("roads/", views.roads_view, name="roads"),
    path("export", views.export_view, name="export"),
    path("delete", views.delete_view, name="delete"),
    path("api-keys/", views.api_keys_view, name="api-keys"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke_view, name="api-key-revoke"),
]
