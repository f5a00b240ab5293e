"""Proof of delivery pages: the driver's form at the door, the files for the dispatcher
(and, through the tracking page, for the order's own customer), and the owner's rules."""

from __future__ import annotations

import mimetypes
import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tenants.utils import schema_context

from accounts.decorators import dispatcher_required, owner_required, role_required
from core.forms import form_add_service_errors
from dispatch.models import Driver
from proofs.models import DeliveryProof
from proofs.services import proof as services
from routing.selectors import driver_stop
from tracking.selectors import link_state, tracking_settings
from tracking.services.driver_app import phone_time
from tracking.throttling import driver_throttled
from tracking.views.customer import count_a_guess, guessing_too_much

driver_required = role_required("driver")
KINDS = ("photo", "signature")


def proof_file_response(proof: DeliveryProof, kind: str) -> FileResponse:
    """One of a proof's pictures, streamed from storage (local disk or S3), never cached
    by shared caches."""
    if kind not in KINDS or not getattr(proof, kind):
        raise Http404("No such picture.")
    field = getattr(proof, kind)
    try:
        handle = default_storage.open(field.name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404("The picture is gone.") from None
    response = FileResponse(handle, content_type=mimetypes.guess_type(field.name)[0])
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@driver_required
@driver_throttled
def complete_view(request: HttpRequest, order_id: int) -> HttpResponse:
    """The driver finishes a stop: delivered (photo, signature, name, notes) or not
    (a reason from the business's list, notes, a photo)."""
    driver = Driver.objects.filter(user=request.user, is_active=True).first()
    stop = driver_stop(driver, order_id)
    wants_json = request.headers.get("Accept") == "application/json"  # the app's outbox
    if request.method == "POST" and wants_json and driver is not None:
        done = services.proof_sent(driver=driver, order_id=order_id, key=request.POST.get("key"))
        if done is not None:  # sent before, its answer lost (a failed stop has left the route)
            return JsonResponse({"ok": True, "proof": done.pk, "status": done.order.status})
    if stop is None:
        if wants_json:
            errors = {"order": [_("This order is not on your route any more: call dispatch.")]}
            return JsonResponse({"errors": errors}, status=404)
        raise Http404(_("This order is not on your route."))
    order = stop.order
    row = services.proof_settings()
    errors: dict[str, list[str]] = {}
    values = {"outcome": request.GET.get("outcome", "delivered"), "key": uuid.uuid4().hex}
    if request.method == "POST":
        values = {
            name: request.POST.get(name, "")
            for name in ("outcome", "key", "recipient_name", "notes", "reason")
        }
        try:
            proof = services.proof_submit(
                driver=driver,
                order_id=order.pk,
                outcome=values["outcome"],
                key=values["key"],
                photo=request.FILES.get("photo"),
                signature=request.FILES.get("signature") or request.POST.get("signature_data"),
                recipient_name=values["recipient_name"],
                notes=values["notes"],
                reason=values["reason"],
                at=phone_time(request.POST.get("t"), sent=request.POST.get("sent")),
            )
        except ValidationError as exc:
            errors = exc.message_dict
            if wants_json:
                return JsonResponse({"errors": errors}, status=400)
        else:
            if wants_json:
                order.refresh_from_db(fields=["status"])
                return JsonResponse({"ok": True, "proof": proof.pk, "status": order.status})
            done = (
                _("%(name)s: delivered.")
                if values["outcome"] == "delivered"
                else _("%(name)s: marked as not delivered.")
            )
            messages.success(request, done % {"name": order.customer_name})
            return redirect("driver:route")
    return render(
        request,
        "proofs/complete.html",
        {"order": order, "settings": row, "values": values, "errors": errors},
        status=400 if errors else 200,
    )


@dispatcher_required
def dispatcher_file_view(request: HttpRequest, order_id: int, proof_id: int, kind: str):
    proof = get_object_or_404(DeliveryProof, pk=proof_id, order_id=order_id)
    return proof_file_response(proof, kind)


class ProofSettingsForm(forms.Form):
    require_photo = forms.BooleanField(
        required=False, label=gettext_lazy("A photo of every delivery")
    )
    require_signature = forms.BooleanField(
        required=False, label=gettext_lazy("The recipient's signature")
    )
    require_recipient_name = forms.BooleanField(
        required=False, label=gettext_lazy("The recipient's name")
    )
    require_failure_photo = forms.BooleanField(
        required=False, label=gettext_lazy("A photo when a delivery fails")
    )
    retention_days = forms.IntegerField(
        min_value=0,
        max_value=3650,
        label=gettext_lazy("Keep photos, signatures and names for (days, 0: always)"),
    )
    failure_reasons = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 7}),
        label=gettext_lazy("Reasons a driver picks from when a delivery fails (one per line)"),
    )


@owner_required
def settings_view(request: HttpRequest) -> HttpResponse:
    row = services.proof_settings()
    initial = {name: getattr(row, name) for name in ProofSettingsForm.base_fields}
    initial["failure_reasons"] = "\n".join(row.failure_reasons)
    form = ProofSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        reasons = data.pop("failure_reasons").splitlines()
        try:
            services.settings_update(failure_reasons=reasons, **data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Proof of delivery settings saved."))
            return redirect("proof-settings")
    return render(request, "proofs/settings.html", {"form": form})


def customer_file_view(request: HttpRequest, token: str, proof_id: int, kind: str):
    """A picture of this order's own delivery, for the holder of its link: only once it
    is delivered, only while the link lasts, only when the business shows proof."""
    if guessing_too_much(request):
        return HttpResponse(_("Too many tries."), status=429, content_type="text/plain")
    state = link_state(token)
    if state is None:
        count_a_guess(request)
        raise Http404("Link not found.")
    if state.expired:
        return HttpResponse(_("This delivery is over."), status=410, content_type="text/plain")
    with schema_context(state.schema):
        proof = DeliveryProof.objects.filter(
            pk=proof_id,
            order_id=state.order_id,
            outcome="delivered",
            order__status="delivered",
        ).first()
        if proof is None or not tracking_settings().tracking_show_proof:
            raise Http404("No such picture.")
        return proof_file_response(proof, kind)
