"""Proof of delivery: pictures checked by their bytes and re-encoded (no metadata, scaled,
upright), signatures from the pad, the business's rules enforced on the form and on the
socket, resends harmless, and every file served only to those allowed to see it."""

from __future__ import annotations

import base64
import io
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django_tenants.utils import schema_context
from PIL import Image

from dispatch.models import Order
from proofs.models import DeliveryProof, ProofSettings
from proofs.services.proof import proof_submit
from tests.conftest import host_client, login_client
from tests.tracking.helpers import orders_on, solved_day
from tracking.models import TrackingSettings
from tracking.services.day import stop_event, tracking_link_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def jpeg(width: int = 3000, height: int = 2000, *, orientation: int | None = None) -> bytes:
    """A camera-like JPEG with EXIF: a GPS block and, optionally, an orientation."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPSInfo: where the customer lives
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


class Unreadable(UploadedFile):
    """An upload of `size` bytes that fails the test if anything reads it."""

    def __init__(self, name: str, size: int) -> None:
        super().__init__(file=io.BytesIO(), name=name, content_type="image/jpeg", size=size)

    def read(self, *args):
        pytest.fail("the upload was read")


def png_signature(blank: bool = False) -> str:
    image = Image.new("RGBA", (480, 180), (0, 0, 0, 0))
    if not blank:
        for x in range(40, 400):
            image.putpixel((x, 90 + (x % 20)), (10, 10, 10, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def _day(alpha, prefix: str):
    day = solved_day(prefix, alpha.user_ids[alpha.driver_email])
    return day, orders_on(day.mine)


def _submit(day, order_id: int, **fields) -> DeliveryProof:
    fields.setdefault("key", uuid.uuid4())
    fields.setdefault("outcome", "delivered")
    return proof_submit(driver=day.driver, order_id=order_id, **fields)


def _errors(day, order_id: int, **fields) -> dict:
    with pytest.raises(ValidationError) as exc:
        _submit(day, order_id, **fields)
    return exc.value.message_dict


def test_a_photo_is_re_encoded_scaled_upright_and_stripped_of_its_metadata(alpha):
    with schema_context(alpha.tenant.schema_name):
        day, (first, *_) = _day(alpha, "photo")
        proof = _submit(
            day,
            first,
            photo=SimpleUploadedFile("x.heic", jpeg(orientation=6)),
            signature=png_signature(),
            recipient_name="  Pat Door ",
        )
        order = Order.objects.get(pk=first)
        name = proof.photo.name
        with default_storage.open(name) as handle:
            stored = Image.open(io.BytesIO(handle.read()))
        with default_storage.open(proof.signature.name) as handle:
            signature = Image.open(io.BytesIO(handle.read()))
    assert order.status == "delivered" and proof.recipient_name == "Pat Door"
    assert name.startswith(f"proofs/{alpha.tenant.schema_name}/{first}/") and name.endswith(".jpg")
    assert stored.format == "JPEG" and max(stored.size) == 1600
    assert stored.size == (1067, 1600)  # orientation 6: turned upright (portrait)
    assert not stored.getexif(), "EXIF (GPS, camera) must not be kept"
    assert signature.format == "PNG" and signature.mode == "L"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"GIF89a" + b"\x00" * 40, "not a picture that can be read"),
        (b"%PDF-1.7 not an image", "not a picture that can be read"),
        (jpeg(400, 300)[:600], "not a picture that can be read"),  # cut short: corrupt
        (b"", "empty"),
    ],
)
def test_files_that_are_not_usable_pictures_are_refused_by_field(alpha, content, problem):
    with schema_context(alpha.tenant.schema_name):
        day, (first, *_) = _day(alpha, "bad")
        errors = _errors(
            day,
            first,
            photo=SimpleUploadedFile("photo.jpg", content),
            signature="data:text/plain;base64,aGk=",
        )
        assert Order.objects.get(pk=first).status == "dispatched"
        assert not DeliveryProof.objects.exists()
    assert problem in errors["photo"][0]
    assert errors["signature"] == ["Send the signature as a PNG image."]


def test_other_picture_types_too_large_files_and_bombs_are_refused(alpha, settings):
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, "PNG")  # 100 Mpx in a few kB
    with schema_context(alpha.tenant.schema_name):
        day, (first, *_) = _day(alpha, "big")
        assert "JPEG, PNG or WebP" in _errors(day, first, photo=gif.getvalue())["photo"][0]
        assert "too many pixels" in _errors(day, first, photo=bomb.getvalue())["photo"][0]
        # under the pixel cap, but 49 Mpx in 6 kB: 400 MB to decode for a file of nothing
        small_bomb = io.BytesIO()
        Image.new("1", (7_000, 7_000)).save(small_bomb, "PNG")
        answer = _errors(day, first, photo=small_bomb.getvalue())["photo"][0]
        assert "far too many pixels for its size" in answer
        settings.PROOF_MAX_UPLOAD_BYTES = 50_000
        assert "too large" in _errors(day, first, photo=jpeg())["photo"][0]
        # an upload over the limit is refused by its size, never read into memory
        assert "too large" in _errors(day, first, photo=Unreadable("huge.jpg", 10**9))["photo"][0]
        assert _errors(day, first, signature=png_signature(blank=True))["signature"] == [
            "The signature is empty."
        ]


def test_the_business_rules_are_enforced_on_the_form_and_on_the_socket(alpha):
    with schema_context(alpha.tenant.schema_name):
        ProofSettings.objects.update_or_create(
            pk=1,
            defaults={
                "require_photo": True,
                "require_signature": True,
                "require_recipient_name": True,
                "failure_reasons": ["Nobody home", "Refused"],
            },
        )
        day, (first, second, *_) = _day(alpha, "rules")
        errors = _errors(day, first)
        assert set(errors) == {"photo", "signature", "recipient_name"}  # all at once
        with pytest.raises(ValidationError) as socket:  # no way round it over the socket
            stop_event(driver=day.driver, order_id=first, event="delivered")
        assert "proof" in socket.value.message_dict
        assert _errors(day, second, outcome="failed", reason="Dog")["reason"] == [
            "One of: Nobody home, Refused."
        ]
        assert _errors(day, second, outcome="failed")["reason"]
        failed = _submit(day, second, outcome="failed", reason="Refused", notes="Said no")
        assert Order.objects.get(pk=second).status == "failed" and failed.reason == "Refused"
        assert Order.objects.get(pk=second).events.last().reason == "Refused"
        _submit(day, first, photo=jpeg(800, 600), signature=png_signature(), recipient_name="Lee")
        assert Order.objects.get(pk=first).status == "delivered"


def test_a_resend_finds_the_first_proof_and_a_refused_stop_keeps_no_files(alpha, media):
    with schema_context(alpha.tenant.schema_name):
        day, (first, *_) = _day(alpha, "again")
        key = uuid.uuid4()
        one = _submit(day, first, key=key, photo=jpeg(800, 600))
        two = _submit(day, first, key=key, photo=jpeg(800, 600))
        assert one.pk == two.pk and DeliveryProof.objects.count() == 1
        assert _errors(day, orders_on(day.other)[0], key=key)["key"]
        other_order = orders_on(day.other)[0]  # not this driver's stop
        assert _errors(day, other_order, photo=jpeg(800, 600))["order"]
    files = [p for p in media.rglob("*") if p.is_file()]
    assert len(files) == 1, "the refused stop's photo must not stay in storage"


def _delivered_with_proof(alpha, prefix: str):
    day, (first, *_) = _day(alpha, prefix)
    proof = _submit(
        day, first, photo=jpeg(800, 600), signature=png_signature(), recipient_name="Robin"
    )
    return day, first, proof


def test_files_go_to_the_dispatcher_and_the_orders_own_tracking_link_only(alpha, beta):
    with schema_context(alpha.tenant.schema_name):
        _, first, proof = _delivered_with_proof(alpha, "serve")
        token = tracking_link_for(Order.objects.get(pk=first))
        other = Order.objects.create(customer_name="Not yours", delivery_date=proof.created_at)
        other_token = tracking_link_for(other)
    with schema_context(beta.tenant.schema_name):  # the same ids in another tenant
        assert not DeliveryProof.objects.filter(pk=proof.pk).exists()
    url = f"/orders/{first}/proofs/{proof.pk}/photo"
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    response = dispatcher.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert "private" in response["Cache-Control"]
    assert dispatcher.get(f"/orders/{first}/proofs/{proof.pk}/passport").status_code == 404
    assert dispatcher.get(f"/orders/{first + 1}/proofs/{proof.pk}/photo").status_code == 404
    assert login_client(alpha.host, alpha.driver_email).get(url).status_code == 403
    assert host_client(alpha.host).get(url).status_code == 302  # to the login page
    assert login_client(beta.host, beta.dispatcher_email).get(url).status_code == 404
    page = dispatcher.get(f"/orders/{first}/").content.decode()
    assert "Received by</dt><dd>Robin" in page and url in page

    public = host_client("localhost")
    track = public.get(f"/t/{token}").content.decode()
    assert "received by <strong>Robin</strong>" in track
    assert public.get(f"/t/{token}/proof/{proof.pk}/signature").status_code == 200
    assert public.get(f"/t/{other_token}/proof/{proof.pk}/photo").status_code == 404
    with schema_context(alpha.tenant.schema_name):
        TrackingSettings.objects.update_or_create(pk=1, defaults={"tracking_show_proof": False})
    assert public.get(f"/t/{token}/proof/{proof.pk}/photo").status_code == 404
    assert "Robin" not in public.get(f"/t/{token}").content.decode()
    with schema_context(alpha.tenant.schema_name):
        TrackingSettings.objects.filter(pk=1).update(
            tracking_show_proof=True, tracking_link_ttl_hours=0
        )
    assert public.get(f"/t/{token}/proof/{proof.pk}/photo").status_code == 410


def test_the_driver_finishes_a_stop_with_the_form(alpha):
    with schema_context(alpha.tenant.schema_name):
        day, (first, second, *_) = _day(alpha, "form")
        elsewhere = orders_on(day.other)[0]
    driver = login_client(alpha.host, alpha.driver_email)
    assert driver.get(f"/driver/stops/{first}/complete?outcome=delivered").status_code == 200
    assert driver.get(f"/driver/stops/{elsewhere}/complete").status_code == 404
    url = f"/driver/stops/{first}/complete"
    bad = driver.post(
        url,
        {
            "outcome": "delivered",
            "key": uuid.uuid4().hex,
            "photo": SimpleUploadedFile("p.jpg", b"nope"),
        },
    )
    assert bad.status_code == 400 and "not a picture that can be read" in bad.content.decode()
    good = driver.post(
        url,
        {
            "outcome": "delivered",
            "key": uuid.uuid4().hex,
            "recipient_name": "Sam",
            "signature_data": png_signature(),
            "photo": SimpleUploadedFile("p.jpg", jpeg(800, 600)),
        },
    )
    assert good.status_code == 302 and good["Location"] == "/driver/"
    body = {"outcome": "failed", "key": uuid.uuid4().hex, "reason": "Nobody home"}
    failed = driver.post(f"/driver/stops/{second}/complete", body)
    assert failed.status_code == 302
    with schema_context(alpha.tenant.schema_name):
        proof = DeliveryProof.objects.get(order_id=first)
        assert proof.photo and proof.signature and proof.recipient_name == "Sam"
        assert Order.objects.get(pk=second).status == "failed"
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    assert dispatcher.get(url).status_code == 403


def test_the_owner_sets_the_rules(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    assert owner.get("/settings/proof/").status_code == 200
    reasons = "Nobody home\n\nRefused\nRefused"
    saved = owner.post(
        "/settings/proof/",
        {"require_photo": "on", "failure_reasons": reasons, "retention_days": 90},
    )
    assert saved.status_code == 302
    too_long = owner.post("/settings/proof/", {"failure_reasons": "x" * 101, "retention_days": 9})
    assert too_long.status_code == 200 and b"Up to 30 reasons" in too_long.content
    with schema_context(alpha.tenant.schema_name):
        row = ProofSettings.objects.get(pk=1)
    assert row.require_photo and not row.require_signature
    assert row.failure_reasons == ["Nobody home", "Refused"] and row.retention_days == 90
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    assert dispatcher.get("/settings/proof/").status_code == 403


def test_api_clients_read_the_proofs_of_their_own_orders(alpha, beta):
    from tests.conftest import api_client

    with schema_context(alpha.tenant.schema_name):
        _, first, proof = _delivered_with_proof(alpha, "api")
    with schema_context(beta.tenant.schema_name):  # beta has an order with the same id
        Order.objects.create(pk=first, customer_name="Beta's own", delivery_date=proof.created_at)
    client = api_client(alpha.host, alpha.read_key)
    (listed,) = client.get(f"/api/v1/orders/{first}/proofs").json()
    assert (listed["outcome"], listed["recipient_name"]) == ("delivered", "Robin")
    assert listed["photo_url"].endswith(f"/api/v1/orders/{first}/proofs/{proof.pk}/photo")
    picture = client.get(listed["signature_url"])
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    assert client.get(f"/api/v1/orders/{first}/proofs/{proof.pk}/other").status_code == 404
    assert client.get(f"/api/v1/orders/{first + 1}/proofs/{proof.pk}/photo").status_code == 404
    # beta's key on alpha's host is no key at all; beta's own host has no such proof
    assert api_client(alpha.host, beta.api_key).get(listed["photo_url"]).status_code == 401
    theirs = api_client(beta.host, beta.api_key)
    assert theirs.get(f"/api/v1/orders/{first}/proofs").json() == []
    assert theirs.get(f"/api/v1/orders/{first}/proofs/{proof.pk}/photo").status_code == 404
    assert api_client(alpha.host).get(f"/api/v1/orders/{first}/proofs").status_code == 401


def test_the_delivered_message_names_the_recipient_and_links_the_proof(alpha, settings):
    from notifications.models import Notification
    from notifications.services import sending as notify

    settings.SMS_BACKEND, settings.PUBLIC_BASE_URL = "memory", "https://track.example"
    with schema_context(alpha.tenant.schema_name):
        _, first, _ = _delivered_with_proof(alpha, "told")
        Order.objects.filter(pk=first).update(customer_phone="+447700900444")
        assert notify.on_order_status(first, "delivered") >= 1
        sms = Notification.objects.get(order_id=first, event="delivered", channel="sms")
    assert "was delivered to Robin. Proof of delivery: https://track.example/t/" in sms.body
