from django.urls import path

from tenants.api import views

urlpatterns = [
    path("api-keys", views.ApiKeyListApi.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>", views.ApiKeyDetailApi.as_view(), name="api-key"),
    path("me", views.MeApi.as_view(), name="api-me"),
    path("users", views.UserListApi.as_view(), name="api-users"),
    path("users/<int:user_id>", views.UserDetailApi.as_view(), name="api-user"),
]
