"""Sign-in, sign-out and the owner's team page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import services
from accounts.decorators import owner_required
from accounts.forms import (
    AUTOMATIC,
    EmailAuthenticationForm,
    LanguageForm,
    RoleForm,
    UserCreateForm,
)
from accounts.models import User
from accounts.selectors import landing_url, users_for_team
from audit.models import AuditEvent
from audit.selectors import audit_events
from core.forms import flash_service_errors, form_add_service_errors
from core.i18n import language_choices
from core.navigation import home_url


class TenantLoginView(LoginView):
    """Checks the password against this tenant's own user table only. Each role lands on
    its own home, or on the safe `next` page when the role may open it."""

    form_class = EmailAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_success_url(self) -> str:
        # get_redirect_url: `next` only when it stays on this host (Django's own check)
        return landing_url(user=self.request.user, next_url=self.get_redirect_url())


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You are signed out."))
    response = redirect("login")
    # a phone shared by drivers keeps nothing of the last one: the driver app's offline
    # page, its outbox and its service worker go with the session
    response["Clear-Site-Data"] = '"storage"'
    return response


@owner_required
def team_view(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(**form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(email)s can now sign in as %(role)s.")
                % {"email": user.email, "role": user.get_role_display()},
            )
            return redirect("accounts:team")
    return render(
        request,
        "accounts/team.html",
        {
            "form": form,
            "users": users_for_team(),
            "roles": User.Role.choices,
            "languages": language_choices(automatic=AUTOMATIC),
        },
    )


@owner_required
@require_POST
def user_role_view(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.user_change_role(
                user=user, role=form.cleaned_data["role"], acting_user=request.user
            )
            messages.success(
                request,
                _("%(email)s is now %(role)s.")
                % {"email": user.email, "role": user.get_role_display()},
            )
        except ValidationError as exc:
            flash_service_errors(request, exc)
    return redirect("accounts:team")


@owner_required
@require_POST
def user_active_view(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    try:
        services.user_set_active(
            user=user, is_active=request.POST.get("is_active") == "1", acting_user=request.user
        )
        text = _("%(email)s is re-activated.") if user.is_active else _("%(email)s is deactivated.")
        messages.success(request, text % {"email": user.email})
    except ValidationError as exc:
        flash_service_errors(request, exc)
    return redirect("accounts:team")


@owner_required
@require_POST
def user_language_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """The owner sets a team member's language (blank: the business's)."""
    member = get_object_or_404(User, pk=user_id)
    form = LanguageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the languages offered."))
        return redirect("accounts:team")
    services.user_set_language(user=member, language=form.cleaned_data["language"])
    messages.success(
        request,
        _("%(email)s's pages are now in %(language)s.")
        % {"email": member.email, "language": _language_label(member.language)},
    )
    return redirect("accounts:team")


@login_required
@require_POST
def language_view(request: HttpRequest) -> HttpResponse:
    """The signed-in person picks the language of their own pages (the top bar's menu),
    then goes back to the page they were on. The choice is also kept in the language
    cookie, so that the sign-in page speaks it after they sign out."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the languages offered."))
        return redirect(_back(request))
    language = form.cleaned_data["language"]
    services.user_set_language(user=request.user, language=language)
    response = redirect(_back(request))
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
            secure=request.is_secure(),
            httponly=True,
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response


def _back(request: HttpRequest) -> str:
    """The page the form was sent from (`next`), when it is on this host; else home."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return home_url(request.user.role)


def _language_label(code: str) -> str:
    return dict(settings.LANGUAGES).get(code) or str(AUTOMATIC)


@owner_required
def audit_log_view(request: HttpRequest) -> HttpResponse:
    """Who did what on this account, newest first, 50 to a page."""
    action = request.GET.get("action", "")
    page = Paginator(audit_events(action=action), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/audit_log.html",
        {"page": page, "actions": AuditEvent.Action.choices, "action": action},
    )
