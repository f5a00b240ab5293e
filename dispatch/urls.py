from django.urls import path

from dispatch import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home_view, name="home"),
]
