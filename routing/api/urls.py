"""The plans API under /api/v1/."""

from django.urls import path

from routing.api import views

urlpatterns = [
    path("plans", views.PlanListApi.as_view(), name="api-plans"),
    path("plans/<int:plan_id>", views.PlanDetailApi.as_view(), name="api-plan"),
]
