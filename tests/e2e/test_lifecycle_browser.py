"""The owner downloads all of the business's data, then deletes the business, in Chromium."""

from __future__ import annotations

import zipfile

from django_tenants.utils import schema_exists

from tests.e2e.conftest import live_tenant, sign_in


def test_the_owner_downloads_everything_then_deletes_the_business(
    live_server_url, django_db_blocker, page
):
    tenant = live_tenant(django_db_blocker, live_server_url, "leaving")
    sign_in(page, tenant, tenant.owner_email)
    page.goto(f"{tenant.url}/settings/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download all data").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        assert "tenant.json" in archive.namelist()
        assert tenant.owner_email in archive.read("data/accounts.user.jsonl").decode()
    page.get_by_label("to confirm").fill("not-it")
    page.get_by_role("button", name="Delete this business").click()
    page.get_by_text("Nothing was deleted").wait_for()
    page.get_by_label("to confirm").fill(tenant.provisioned.tenant.slug)
    page.get_by_role("button", name="Delete this business").click()
    page.get_by_role("heading", name="Leaving Co is deleted").wait_for()
    with django_db_blocker.unblock():
        assert not schema_exists(tenant.schema)
    assert page.goto(f"{tenant.url}/login/").status == 404
