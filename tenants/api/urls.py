from django.urls import path

from tenants.api import views

urlpatterns = [
    path("api-keys", views.ApiKeyListApi.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>", views.ApiKeyDetailApi.as_view(), name="api-key"),
]
