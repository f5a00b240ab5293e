"""The audit log page under /settings/audit/."""

from django.urls import path

from audit import views

urlpatterns = [path("", views.audit_log_view, name="audit-log")]
