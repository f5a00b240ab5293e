"""Recording proof of delivery: checked against the tenant's rules, pictures cleaned,
stored through Django's storage API, and the stop completed through the order state
machine in the same transaction (no proof without the status, no status without the proof
the business requires). Sending the same submission again is harmless."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from dispatch.models import Driver, Order
from proofs.models import DeliveryProof, ProofSettings
from proofs.services.images import photo_clean, signature_clean
from tracking.models import DriverPosition
from tracking.services.day import outcome_rule, stop_event

#: The failure reasons a business starts with (proofs.models.default_failure_reasons),
#: marked for the translators: the driver's form shows them in the driver's language,
#: while the business's own reasons are shown as written and every reason is stored as is.
DEFAULT_REASON_LABELS = (
    gettext_noop("Nobody home"),
    gettext_noop("Address not found"),
    gettext_noop("Refused by the customer"),
    gettext_noop("No safe place"),
    gettext_noop("Access problem"),
    gettext_noop("Damaged"),
)


def proof_settings() -> ProofSettings:
    row, _created = ProofSettings.objects.get_or_create(pk=1)
    return row


@outcome_rule  # a stop event over the socket passes the same rules as the form
def proof_missing(order: Order, outcome: str) -> str | None:
    """Why `order` cannot be marked `outcome` without a proof form (None: it can): a stop
    event over the socket must not get round the business's rules."""
    row = proof_settings()
    needs = (
        row.require_photo or row.require_signature or row.require_recipient_name
        if outcome == "delivered"
        else row.require_failure_photo
    )
    # proof of this attempt: taken since the driver last set off to this order
    set_off = order.events.filter(to_status="en_route").order_by("-created_at").first()
    proofs = DeliveryProof.objects.filter(order=order, outcome=outcome)
    if set_off is not None:
        proofs = proofs.filter(created_at__gte=set_off.created_at)
    if not needs or proofs.exists():
        return None
    return _("This business needs proof for this: use the form on the stop.")


def _read(upload: Any) -> bytes | None:
    if upload in (None, ""):
        return None
    if isinstance(upload, UploadedFile):
        if upload.size is not None and upload.size > settings.PROOF_MAX_UPLOAD_BYTES:
            limit = settings.PROOF_MAX_UPLOAD_BYTES // (1024 * 1024)  # refused unread
            raise ValidationError(
                {"photo": [_("The file is too large (at most %(limit)s MB).") % {"limit": limit}]}
            )
        return upload.read(settings.PROOF_MAX_UPLOAD_BYTES + 1)
    if isinstance(upload, bytes):
        return upload
    raise ValidationError({"photo": _("Send the picture as a file.")})


def proof_sent(*, driver: Driver, order_id: int, key: Any) -> DeliveryProof | None:
    """The proof this driver already sent for the order under `key` (the phone's id of
    the submission), if any: a resend is answered with it."""
    try:
        key = uuid.UUID(str(key))
    except ValueError:
        return None
    return (
        DeliveryProof.objects.filter(key=key, order_id=order_id, driver=driver)
        .select_related("order")
        .first()
    )


def proof_submit(
    *,
    driver: Driver,
    order_id: int,
    outcome: str,
    key: Any,
    photo: Any = None,
    signature: Any = None,
    recipient_name: str = "",
    notes: str = "",
    reason: str = "",
    at: dt.datetime | None = None,
) -> DeliveryProof:
    """Record what the driver captured and complete the stop (delivered or failed).

    Every problem is reported at once, by field. `key` is the phone's id for this
    submission: the same key again returns the proof already recorded. `at`: when the
    driver finished the stop, when the phone kept it offline and sends it later."""
    errors: dict[str, list[str]] = {}
    try:
        key = uuid.UUID(str(key))
    except ValueError:
        errors["key"] = [_("Must be a UUID made by the phone.")]
    else:
        done = DeliveryProof.objects.filter(key=key).first()
        if done is not None:
            if done.order_id != order_id or done.driver_id != driver.pk:
                raise ValidationError({"key": [_("This key belongs to another submission.")]})
            return done
    if outcome not in DeliveryProof.Outcome.values:
        raise ValidationError({"outcome": [_("Either delivered or failed.")]})
    row = proof_settings()
    for name, value in (("recipient_name", recipient_name), ("notes", notes), ("reason", reason)):
        if "\x00" in str(value or ""):
            errors[name] = [_("Must not contain NUL characters.")]
    if errors:
        raise ValidationError(errors)
    recipient_name = str(recipient_name or "").strip()[:150]
    notes, reason = str(notes or "").strip(), str(reason or "").strip()
    if len(notes) > 1000:
        errors["notes"] = [_("At most 1,000 characters.")]
    files = {}
    photo_bytes = _read(photo)
    if photo_bytes is not None:
        try:
            files["photo"] = photo_clean(photo_bytes)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if signature not in (None, ""):
        try:
            data = signature if isinstance(signature, str) else _read(signature)
            files["signature"] = signature_clean(data)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if outcome == DeliveryProof.Outcome.DELIVERED:
        if row.require_photo and "photo" not in files and "photo" not in errors:
            errors["photo"] = [_("A photo of the delivery is required.")]
        if row.require_signature and "signature" not in files and "signature" not in errors:
            errors["signature"] = [_("The recipient's signature is required.")]
        if row.require_recipient_name and not recipient_name:
            errors["recipient_name"] = [_("The recipient's name is required.")]
    else:
        if not reason:
            errors["reason"] = [_("Say why the delivery could not be made.")]
        elif row.failure_reasons and reason not in row.failure_reasons:
            errors["reason"] = [
                _("One of: %(choices)s.") % {"choices": ", ".join(row.failure_reasons)}
            ]
        if row.require_failure_photo and "photo" not in files and "photo" not in errors:
            errors["photo"] = [_("A photo of the place is required.")]
    if errors:
        raise ValidationError(errors)
    position = DriverPosition.objects.filter(driver=driver).first()
    proof = DeliveryProof(
        key=key,
        order_id=order_id,
        driver=driver,
        outcome=outcome,
        recipient_name=recipient_name,
        notes=notes,
        reason=reason if outcome == DeliveryProof.Outcome.FAILED else "",
        lat=position.lat if position else None,
        lng=position.lng if position else None,
    )
    stored = []
    try:
        with transaction.atomic():
            for name, content in files.items():
                getattr(proof, name).save(content.name, content, save=False)
                stored.append(getattr(proof, name).name)
            proof.save()
            stop_event(driver=driver, order_id=order_id, event=outcome, reason=reason, at=at)
    except Exception as exc:
        from django.core.files.storage import default_storage

        for name in stored:  # nothing was recorded: keep no files either
            default_storage.delete(name)
        if isinstance(exc, IntegrityError):  # the same key, sent twice at once: the first won
            done = DeliveryProof.objects.filter(key=key, order_id=order_id, driver=driver).first()
            if done is not None:
                return done
        raise
    return proof


def proofs_of(order: Order):
    return DeliveryProof.objects.filter(order=order).select_related("driver")


def settings_update(*, failure_reasons: list[str], **flags: bool) -> ProofSettings:
    row = proof_settings()
    reasons = []
    for reason in failure_reasons:
        reason = reason.strip()
        if reason and reason not in reasons:
            reasons.append(reason)
    if any(len(r) > 100 for r in reasons) or len(reasons) > 30:
        raise ValidationError({"failure_reasons": [_("Up to 30 reasons of 100 characters each.")]})
    if "retention_days" in flags:
        row.retention_days = int(flags.pop("retention_days"))
    for name, value in flags.items():
        setattr(row, name, bool(value))
    row.failure_reasons = reasons
    row.save()
    return row


def forget(proofs) -> int:
    """Delete the pictures and the recipient's name and notes of `proofs` (the outcome,
    time and failure reason stay: they are the business's record, not personal data)."""
    from django.core.files.storage import default_storage

    count = 0
    for proof in proofs:
        names = [name for name in (proof.photo.name, proof.signature.name) if name]
        # the files go once the rows are committed: a rollback keeps both
        transaction.on_commit(lambda names=names: [default_storage.delete(n) for n in names])
        proof.photo, proof.signature, proof.recipient_name, proof.notes = "", "", "", ""
        proof.lat = proof.lng = None
        proof.save(update_fields=["photo", "signature", "recipient_name", "notes", "lat", "lng"])
        count += 1
    return count


def proofs_purge() -> int:
    """The nightly job: proof older than the tenant's `proof_retention_days` loses its
    pictures, recipient's name and notes (0 days: kept)."""
    days = proof_settings().retention_days
    if not days:
        return 0
    cutoff = timezone.now() - dt.timedelta(days=days)
    old = DeliveryProof.objects.filter(created_at__lt=cutoff).filter(
        ~Q(photo="") | ~Q(signature="") | ~Q(recipient_name="") | ~Q(notes="")
    )
    return forget(old)
