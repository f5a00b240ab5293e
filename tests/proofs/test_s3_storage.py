"""Proof files on an S3-compatible store (S3_BUCKET set): stored through django-storages'
S3 backend, privately, and still served only through the views that check who asks. The
store is moto's S3 server on loopback, spoken to over HTTP by boto3 as a real bucket is."""

from __future__ import annotations

import socket
import uuid

import pytest
from django.core.files.storage import default_storage
from django_tenants.utils import schema_context

from tests.conftest import login_client
from tests.proofs.test_proofs import jpeg, png_signature
from tests.tracking.helpers import orders_on, solved_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def s3_bucket(settings, monkeypatch):
    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "eu-west-2"),
    ):
        monkeypatch.setenv(name, value)
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-2")
    client.create_bucket(
        Bucket="proofs-test", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"}
    )
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "proofs-test",
                "endpoint_url": endpoint,
                "region_name": "eu-west-2",
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
    }
    try:
        yield client
    finally:
        server.stop()


def test_proof_files_are_kept_in_the_bucket_and_served_through_the_dashboard(alpha, s3_bucket):
    from proofs.services.proof import proof_submit

    with schema_context(alpha.tenant.schema_name):
        day = solved_day("s3", alpha.user_ids[alpha.driver_email])
        first = orders_on(day.mine)[0]
        proof = proof_submit(
            driver=day.driver,
            order_id=first,
            outcome="delivered",
            key=uuid.uuid4(),
            photo=jpeg(800, 600),
            signature=png_signature(),
        )
        assert type(default_storage._wrapped).__name__ == "S3Storage"
    keys = {o["Key"] for o in s3_bucket.list_objects_v2(Bucket="proofs-test")["Contents"]}
    assert keys == {proof.photo.name, proof.signature.name}
    assert all(k.startswith(f"proofs/{alpha.tenant.schema_name}/{first}/") for k in keys)
    acl = s3_bucket.get_object_acl(Bucket="proofs-test", Key=proof.photo.name)
    assert not [g for g in acl["Grants"] if "AllUsers" in str(g["Grantee"])], "must be private"
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    response = dispatcher.get(f"/orders/{first}/proofs/{proof.pk}/photo")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
