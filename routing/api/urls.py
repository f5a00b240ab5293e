"""The plans API under /api/v1/."""

from django.urls import path

from routing.api import views

urlpatterns = [
    path("plans", views.PlanListApi.as_view(), name="api-plans"),
    path("plans/<int:plan_id>", views.PlanDetailApi.as_view(), name="api-plan"),
    path("plans/<int:plan_id>/resolve", views.PlanResolveApi.as_view(), name="api-plan-resolve"),
    path("plans/<int:plan_id>/publish", views.PlanPublishApi.as_view(), name="api-plan-publish"),
    path("plans/<int:plan_id>/moves", views.PlanMoveApi.as_view(), name="api-plan-moves"),
    path("plans/<int:plan_id>/locks", views.PlanLockApi.as_view(), name="api-plan-locks"),
    path("plans/<int:plan_id>/routes", views.PlanRoutesApi.as_view(), name="api-plan-routes"),
    path(
        "plans/<int:plan_id>/routes/<int:route_id>",
        views.PlanRouteApi.as_view(),
        name="api-plan-route",
    ),
    path(
        "plans/<int:plan_id>/routes/<int:route_id>/geometry",
        views.PlanRouteGeometryApi.as_view(),
        name="api-plan-route-geometry",
    ),
    path("plans/<int:plan_id>/urgent", views.PlanUrgentApi.as_view(), name="api-plan-urgent"),
    path("multi-day-plans", views.MultiDayListApi.as_view(), name="api-multi-day-plans"),
    path(
        "multi-day-plans/<int:multi_id>",
        views.MultiDayDetailApi.as_view(),
        name="api-multi-day-plan",
    ),
]
