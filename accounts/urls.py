from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.team_view, name="team"),
    path("<int:user_id>/role/", views.user_role_view, name="user-role"),
    path("<int:user_id>/active/", views.user_active_view, name="user-active"),
    path("<int:user_id>/language/", views.user_language_view, name="user-language"),
]
