"""The owner's webhooks page: subscriptions (add, pause, remove, see the secret) and the
delivery log with replays."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.decorators import owner_required
from audit.services import current_actor
from core.forms import form_add_service_errors
from webhooks import services
from webhooks.models import Delivery, Event, Subscription


class SubscriptionForm(forms.Form):
    url = forms.CharField(max_length=500, label=gettext_lazy("URL"))
    events = forms.MultipleChoiceField(
        choices=Event.choices, widget=forms.CheckboxSelectMultiple, label=gettext_lazy("Events")
    )
    description = forms.CharField(max_length=200, required=False, label=gettext_lazy("Description"))


@owner_required
def webhook_settings_view(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subscription = services.subscription_create(actor=current_actor(), **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Webhook to %(url)s added.") % {"url": subscription.url})
            return redirect("webhook-detail", subscription_id=subscription.pk)
    return render(
        request,
        "webhooks/list.html",
        {"form": form, "subscriptions": Subscription.objects.all()},
        status=400 if form.errors else 200,
    )


@owner_required
def webhook_detail_view(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=subscription_id)
    deliveries = subscription.deliveries.prefetch_related("tries").order_by("-id")
    page = Paginator(deliveries, 25).get_page(request.GET.get("page"))
    return render(request, "webhooks/detail.html", {"subscription": subscription, "page": page})


@owner_required
@require_POST
def webhook_action_view(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=subscription_id)
    action = request.POST.get("action")
    if action == "delete":
        services.subscription_delete(subscription=subscription)
        messages.success(request, _("Webhook removed."))
        return redirect("webhook-settings")
    if action in ("pause", "resume"):
        services.subscription_update(subscription=subscription, data={"active": action == "resume"})
        messages.success(
            request, _("Webhook paused.") if action == "pause" else _("Webhook resumed.")
        )
    elif action == "replay":
        delivery_id = request.POST.get("delivery", "")
        if not (delivery_id.isascii() and delivery_id.isdigit()):  # "abc", "1.5", "²": no such
            raise Http404("No such delivery.")
        delivery = get_object_or_404(Delivery, pk=int(delivery_id), subscription=subscription)
        services.delivery_replay(delivery=delivery)
        messages.success(request, _("Delivery %(id)s queued again.") % {"id": delivery.message_id})
    else:
        messages.error(request, _("Unknown action."))
    return redirect("webhook-detail", subscription_id=subscription.pk)
