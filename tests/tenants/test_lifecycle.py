"""A tenant's data over its life: exported whole (its rows and files, nobody else's, no
secrets), deleted completely (schema, public rows, files, jobs) without touching another
tenant; a store's redaction reaching messages, tracking links and proof of delivery; proof
files following the retention setting."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from accounts.models import User
from dispatch.models import Order
from proofs.models import DeliveryProof, ProofSettings
from tenants.models import ApiKey, Domain, Tenant, TrackingLink
from tenants.services.lifecycle import tenant_delete, tenant_export
from tests.conftest import PASSWORD, host_client, login_client
from tests.proofs.test_proofs import jpeg, png_signature
from tests.tracking.helpers import orders_on, solved_day

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def _delivered_with_proof(fixture, prefix: str, count: int = 1):
    """`count` stops of a published day delivered with a photo and a signature (one
    proof, or a list of them)."""
    from proofs.services.proof import proof_submit

    day = solved_day(prefix, fixture.user_ids[fixture.driver_email])
    proofs = [
        proof_submit(
            driver=day.driver,
            order_id=order_id,
            outcome="delivered",
            key=uuid.uuid4(),
            photo=jpeg(640, 480),
            signature=png_signature(),
            recipient_name="Pat Export",
        )
        for order_id in orders_on(day.mine)[:count]
    ]
    return proofs[0] if count == 1 else proofs


def _zip_of(tenant) -> zipfile.ZipFile:
    out = io.BytesIO()
    tenant_export(tenant, out)
    out.seek(0)
    return zipfile.ZipFile(out)


def test_the_export_holds_this_tenants_rows_and_files_and_no_secrets(alpha, beta):
    with schema_context(alpha.tenant.schema_name):
        proof = _delivered_with_proof(alpha, "exp")
    with schema_context(beta.tenant.schema_name):
        Order.objects.create(customer_name="Beta Only Customer", delivery_date=dt.date.today())
    archive = _zip_of(alpha.tenant)
    names = set(archive.namelist())
    assert {"README.txt", "tenant.json", "data/dispatch.order.jsonl"} <= names
    assert f"files/{proof.photo.name}" in names and f"files/{proof.signature.name}" in names
    assert archive.read(f"files/{proof.photo.name}")[:2] == b"\xff\xd8"
    orders = [json.loads(line) for line in archive.read("data/dispatch.order.jsonl").splitlines()]
    assert orders and all(o["model"] == "dispatch.order" for o in orders)
    assert "Beta Only Customer" not in archive.read("data/dispatch.order.jsonl").decode()
    proofs = archive.read("data/proofs.deliveryproof.jsonl").decode()
    assert "Pat Export" in proofs
    users = [json.loads(line) for line in archive.read("data/accounts.user.jsonl").splitlines()]
    with schema_context(alpha.tenant.schema_name):
        everyone = set(User.objects.values_list("email", flat=True))
    assert {u["fields"]["email"] for u in users} == everyone and alpha.owner_email in everyone
    assert all("password" not in u["fields"] for u in users)
    public = json.loads(archive.read("tenant.json"))
    assert public["domains"] == [alpha.host] and public["slug"] == "alpha"
    digests = list(
        ApiKey.objects.filter(tenant=alpha.tenant).values_list("secret_sha256", flat=True)
    )
    assert digests and public["api_keys"]
    whole = b"".join(archive.read(name) for name in names)
    assert b"secret_sha256" not in whole and not any(d.encode() in whole for d in digests)
    assert not any(name.startswith(f"files/proofs/{beta.tenant.schema_name}/") for name in names)


def test_a_deleted_tenant_is_gone_completely_and_the_others_are_untouched(alpha):
    from django_q.models import Schedule

    from tenants.services.provisioning import tenant_provision

    gone = tenant_provision(
        name="Gone Co",
        slug="gone",
        owner_email="owner@gone.test",
        owner_password=PASSWORD,
        country="GB",
    )
    gone_fixture = type("F", (), {"user_ids": {}, "driver_email": "driver@gone.test"})()
    with schema_context("gone"):
        from accounts.services import user_create

        driver = user_create(email="driver@gone.test", password=PASSWORD, role="driver")
        gone_fixture.user_ids = {"driver@gone.test": driver.pk}
        proof = _delivered_with_proof(gone_fixture, "gone")
        order = Order.objects.get(pk=proof.order_id)
        from tracking.services.day import tracking_link_for

        tracking_link_for(order)
    with schema_context(alpha.tenant.schema_name):
        kept = _delivered_with_proof(alpha, "kept")
    Schedule.objects.create(name="gone:notify-1-0", func="x", schedule_type="O")
    Schedule.objects.create(name="alpha:notify-1-0", func="x", schedule_type="O")
    assert default_storage.exists(proof.photo.name)

    removed = tenant_delete(Tenant.objects.get(slug="gone"))
    assert removed["files"] == 2 and removed["scheduled"] == 1 and removed["schema"] == 1
    assert not schema_exists("gone")
    assert not Tenant.objects.filter(slug="gone").exists()
    assert not Domain.objects.filter(domain=gone.domain.domain).exists()
    assert not ApiKey.objects.filter(tenant_id=gone.tenant.pk).exists()
    assert not TrackingLink.objects.filter(tenant_id=gone.tenant.pk).exists()
    assert not default_storage.exists(proof.photo.name)
    assert host_client(gone.domain.domain).get("/login/").status_code == 404
    assert Schedule.objects.filter(name="alpha:notify-1-0").exists()
    assert default_storage.exists(kept.photo.name)
    with schema_context(alpha.tenant.schema_name):
        assert DeliveryProof.objects.filter(pk=kept.pk).exists()
    with pytest.raises(ValueError):
        tenant_delete(Tenant.objects.get(schema_name="public"))


def test_the_owner_downloads_and_deletes_on_the_settings_page(alpha):
    from tenants.services.provisioning import tenant_provision

    owner = login_client(alpha.host, alpha.owner_email)
    download = owner.get("/settings/export")
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert "attachment" in download["Content-Disposition"]
    body = b"".join(download.streaming_content)
    assert "data/dispatch.order.jsonl" in zipfile.ZipFile(io.BytesIO(body)).namelist()
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    assert dispatcher.get("/settings/export").status_code == 403
    refused = owner.post("/settings/delete", {"confirm": "beta"}, follow=True)
    assert b"Nothing was deleted" in refused.content and schema_exists("alpha")
    assert dispatcher.post("/settings/delete", {"confirm": "alpha"}).status_code == 403

    bye = tenant_provision(
        name="Bye Co",
        slug="bye",
        owner_email="owner@bye.test",
        owner_password=PASSWORD,
        country="GB",
    )
    theirs = login_client(bye.domain.domain, "owner@bye.test")
    done = theirs.post("/settings/delete", {"confirm": "bye"})
    assert done.status_code == 200 and b"Bye Co is deleted" in done.content
    assert not schema_exists("bye") and schema_exists("alpha")


def test_a_store_redaction_reaches_messages_links_and_proof(
    alpha, beta, settings, django_capture_on_commit_callbacks
):
    from dispatch.services.shopify import _redact
    from notifications.models import Notification
    from notifications.services import sending as notify
    from tracking.services.day import tracking_link_for

    settings.SMS_BACKEND = "memory"
    with schema_context(alpha.tenant.schema_name):
        proof = _delivered_with_proof(alpha, "redact")
        order = Order.objects.get(pk=proof.order_id)
        Order.objects.filter(pk=order.pk).update(customer_phone="+447700900777")
        order.refresh_from_db()
        notify.notify_event(order, "delivered")
        token = tracking_link_for(order)
        photo = proof.photo.name
    with schema_context(beta.tenant.schema_name):  # beta's order with the same id
        Order.objects.create(
            pk=order.pk,
            customer_name="Beta Same Id",
            delivery_date=order.delivery_date,
            customer_phone="+447700900777",
        )
    with schema_context(alpha.tenant.schema_name):
        with django_capture_on_commit_callbacks(execute=True):
            _redact(Order.objects.filter(pk=order.pk))
        proof.refresh_from_db()
        notes = list(Notification.objects.filter(order=order).values_list("to", "body"))
    with schema_context(beta.tenant.schema_name):  # ... keeps its data
        kept = Order.objects.get(pk=order.pk)
        assert (kept.customer_name, kept.customer_phone) == ("Beta Same Id", "+447700900777")
    assert notes and all(n == ("", "[redacted]") for n in notes)
    assert not TrackingLink.objects.filter(token=token).exists()
    assert (proof.photo.name, proof.signature.name, proof.recipient_name) == ("", "", "")
    assert not default_storage.exists(photo) and proof.outcome == "delivered"


def test_proof_pictures_follow_the_retention_setting(alpha):
    from proofs.services.proof import proofs_purge

    with schema_context(alpha.tenant.schema_name):
        old, new = _delivered_with_proof(alpha, "old", count=2)
        DeliveryProof.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - dt.timedelta(days=40)
        )
        ProofSettings.objects.update_or_create(pk=1, defaults={"retention_days": 0})
        assert proofs_purge() == 0  # 0: kept for ever
        ProofSettings.objects.filter(pk=1).update(retention_days=30)
        assert proofs_purge() == 1
        assert proofs_purge() == 0  # nothing left to forget
        old.refresh_from_db()
        new.refresh_from_db()
    assert old.photo.name == "" and old.recipient_name == "" and old.outcome == "delivered"
    assert new.photo.name and default_storage.exists(new.photo.name)
