"""Parcel codes: the store's own barcodes of an order, taken by every channel (API create,
bulk and PATCH, CSV, the dashboard form) under the one rule of the order input schema,
and our label code, which names the tenant so that ids repeating across schemas never
name another business's parcel."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import schema_context
from drf_spectacular.generators import SchemaGenerator

from dispatch.models import Order
from dispatch.selectors.codes import label_code, order_codes
from dispatch.services import csv_io
from dispatch.services.order_input import BARCODE_MAX_LENGTH, MAX_BARCODES, order_clean
from tests.conftest import api_client, login_client, tenant_today

DAY = str(tenant_today(1))
ORDER = {"customer_name": "Ada Lovelace", "address_line1": "10 High Street", "delivery_date": DAY}


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


# --- the rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (["0123456789012", " SKU-77 ", "a b"], ["0123456789012", "SKU-77", "a b"]),
        ([], []),
        (None, []),
        (["x" * BARCODE_MAX_LENGTH], ["x" * BARCODE_MAX_LENGTH]),
        ([f"C{n}" for n in range(MAX_BARCODES)], [f"C{n}" for n in range(MAX_BARCODES)]),
        (["Łódź-東京-1"], ["Łódź-東京-1"]),  # printable in any script
    ],
)
def test_good_codes_are_kept_stripped_in_the_order_sent(sent, kept):
    clean, errors = order_clean({**ORDER, "barcodes": sent}, default_country="GB")
    assert errors == {}
    assert clean["barcodes"] == kept


@pytest.mark.parametrize(
    ("sent", "says"),
    [
        ([f"C{n}" for n in range(MAX_BARCODES + 1)], "At most 20 codes."),
        (["ok", "x" * (BARCODE_MAX_LENGTH + 1)], "Code 2 has more than 64 characters."),
        ([123456789012], "Code 1 is not text"),
        (["ok", 7.5], "Code 2 is not text"),
        ([None], "Code 1 is not text"),
        ([["nested"]], "Code 1 is not text"),
        (["ok", "   "], "Code 2 is empty."),
        (["a\tb"], "Code 1 has characters that cannot be printed"),
        (["a\nb"], "Code 1 has characters that cannot be printed"),
        (["SKU-1", " SKU-1"], "Code 'SKU-1' is there twice."),
        ("0123456789012", "Send a list of codes as text"),
        (123, "Send a list of codes as text"),
        ({"code": "x"}, "Send a list of codes as text"),
    ],
)
def test_bad_codes_are_a_field_error_in_the_dispatchers_words(sent, says):
    _, errors = order_clean({**ORDER, "barcodes": sent}, default_country="GB")
    assert set(errors) == {"barcodes"}
    assert errors["barcodes"][0].startswith(says), errors


# --- the API -------------------------------------------------------------------------------


def test_the_api_creates_reads_and_lists_orders_with_their_codes(alpha):
    client = api_client(alpha.host, alpha.api_key)
    created = post(client, "/api/v1/orders", {**ORDER, "barcodes": ["0012", " SKU-9 "]})
    assert created.status_code == 201, created.json()
    assert created.json()["barcodes"] == ["0012", "SKU-9"]  # leading zeros kept
    order_id = created.json()["id"]
    assert client.get(f"/api/v1/orders/{order_id}").json()["barcodes"] == ["0012", "SKU-9"]
    listed = client.get("/api/v1/orders", {"delivery_date": DAY}).json()["results"]
    assert next(o for o in listed if o["id"] == order_id)["barcodes"] == ["0012", "SKU-9"]
    plain = post(client, "/api/v1/orders", {**ORDER, "customer_name": "No codes"})
    assert plain.json()["barcodes"] == []


@pytest.mark.parametrize(
    "codes",
    [
        [f"C{n}" for n in range(21)],  # too many
        ["x" * 65],  # too long
        [1234567890123],  # a number, not text: not converted
        ["A", "A"],  # twice
        "0123456789012",  # not a list
    ],
)
def test_the_api_refuses_bad_codes_with_a_400_field_error(alpha, codes):
    client = api_client(alpha.host, alpha.api_key)
    response = post(client, "/api/v1/orders", {**ORDER, "barcodes": codes})
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == {"barcodes"}
    with schema_context(alpha.tenant.schema_name):
        assert not Order.objects.filter(customer_name=ORDER["customer_name"]).exists()


def test_bulk_answers_each_items_codes_on_its_own(alpha):
    client = api_client(alpha.host, alpha.api_key)
    items = [
        {**ORDER, "external_id": "BC-1", "barcodes": ["0123456789012"]},
        {**ORDER, "external_id": "BC-2", "barcodes": [5012345678900]},
        {**ORDER, "external_id": "BC-3", "barcodes": ["y" * 65]},
        {**ORDER, "external_id": "BC-4", "barcodes": [f"C{n}" for n in range(21)]},
    ]
    body = post(client, "/api/v1/orders/bulk", {"orders": items}).json()
    assert [r["status"] for r in body["results"]] == ["created", "invalid", "invalid", "invalid"]
    assert all(set(r["errors"]) == {"barcodes"} for r in body["results"][1:])
    with schema_context(alpha.tenant.schema_name):
        assert Order.objects.get(external_id="BC-1").barcodes == ["0123456789012"]


def test_patch_changes_the_codes_and_refuses_bad_ones_without_changing_them(alpha):
    client = api_client(alpha.host, alpha.api_key)
    order_id = post(client, "/api/v1/orders", {**ORDER, "barcodes": ["OLD"]}).json()["id"]
    url = f"/api/v1/orders/{order_id}"

    changed = client.patch(url, {"barcodes": ["NEW-1", "NEW-2"]}, format="json")
    assert changed.status_code == 200, changed.json()
    assert changed.json()["barcodes"] == ["NEW-1", "NEW-2"]
    other = client.patch(url, {"notes": "side door"}, format="json")
    assert other.json()["barcodes"] == ["NEW-1", "NEW-2"]  # not sent: left as they are
    for bad in ([42], ["z" * 65], [f"C{n}" for n in range(21)]):
        refused = client.patch(url, {"barcodes": bad}, format="json")
        assert refused.status_code == 400, bad
        assert set(refused.json()["errors"]) == {"barcodes"}
    cleared = client.patch(url, {"barcodes": []}, format="json")
    assert cleared.json()["barcodes"] == []


def test_the_published_schema_describes_the_codes_as_enforced(tenants):
    schema = SchemaGenerator(urlconf="config.urls_tenant").get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    sent = components["OrderInputRequest"]["properties"]["barcodes"]
    assert sent["type"] == "array" and sent["maxItems"] == MAX_BARCODES
    assert sent["items"] == {"type": "string", "minLength": 1, "maxLength": BARCODE_MAX_LENGTH}
    assert "barcodes" in components["PatchedOrderInputRequest"]["properties"]
    read = next(
        spec["properties"]["barcodes"]
        for name, spec in components.items()
        if name.startswith("OrderOutput") and "barcodes" in spec.get("properties", {})
    )
    assert read["type"] == "array" and read["items"]["type"] == "string"


# --- CSV -----------------------------------------------------------------------------------


def _import(text: str) -> tuple[object, csv_io.Preview]:
    csv_import = csv_io.csv_import_start(filename="codes.csv", content=text)
    return csv_import, csv_io.csv_import_preview(csv_import=csv_import)


@pytest.mark.parametrize("header", ["Barcodes", "Barcode", "SKU barcode", "Parcel Barcode", "EAN"])
def test_a_column_of_codes_is_recognised_by_its_usual_names(alpha, header):
    with schema_context(alpha.tenant.schema_name):
        csv_import = csv_io.csv_import_start(
            filename="o.csv", content=f"Name,Address,{header}\nAda,1 High St,0123\n"
        )
    assert csv_import.mapping["barcodes"] == header


def test_csv_codes_are_split_on_semicolons_and_bars_and_checked_by_line(alpha):
    many = ";".join(f"C{n}" for n in range(21))
    text = (
        "Order ID,Customer,Address,Delivery date,Barcodes\n"
        f"CB-1,Ada,1 High St,{DAY},0123456789012; SKU-77|X\n"
        f"CB-2,Ben,2 High St,{DAY},\n"
        f"CB-3,Cy,3 High St,{DAY},{many}\n"
        f"CB-4,Di,4 High St,{DAY},A;A\n"
        f'CB-5,Ed,5 High St,{DAY},"SKU,1 | ;00042;"\n'
    )
    with schema_context(alpha.tenant.schema_name):
        csv_import, preview = _import(text)
        assert {e["line"]: set(e["errors"]) for e in preview.errors} == {
            4: {"barcodes"},
            5: {"barcodes"},
        }
        result = csv_io.csv_import_commit(csv_import=csv_import, actor="test")
        assert result.csv_import.created_count == 3
        codes = dict(
            Order.objects.filter(external_id__startswith="CB-").values_list(
                "external_id", "barcodes"
            )
        )
    assert codes == {
        "CB-1": ["0123456789012", "SKU-77", "X"],
        "CB-2": [],
        "CB-5": ["SKU,1", "00042"],
    }


def test_export_writes_the_codes_and_the_import_reads_them_back(alpha):
    with schema_context(alpha.tenant.schema_name):
        Order.objects.create(
            external_id="RTB-1",
            customer_name="Round Trip",
            address_line1="1 Loop Road",
            delivery_date=tenant_today(2),
            barcodes=["=SUM(A1)", "0012345", "SKU 9"],
        )
        text = "".join(csv_io.orders_csv(Order.objects.filter(external_id="RTB-1")))
        assert "barcodes" in text.splitlines()[0].split(",")
        assert "'=SUM(A1)" in text  # defused like any cell
        Order.objects.filter(external_id="RTB-1").update(external_id="RTB-old")
        csv_import, preview = _import(text)
        assert csv_import.mapping["barcodes"] == "barcodes"
        assert preview.errors == []
        csv_io.csv_import_commit(csv_import=csv_import, actor="test")
        assert Order.objects.get(external_id="RTB-1").barcodes == ["=SUM(A1)", "0012345", "SKU 9"]


# --- the dashboard -------------------------------------------------------------------------


def test_the_order_form_takes_codes_one_a_line_or_comma_separated(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    form = {**ORDER, "barcodes": "0123456789012\r\nSKU-1, SKU-2\n\n", "priority": "2"}
    response = client.post("/orders/new/", form)
    assert response.status_code == 302, response.content.decode()
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.get(customer_name=ORDER["customer_name"])
    assert order.barcodes == ["0123456789012", "SKU-1", "SKU-2"]

    edit = client.get(f"/orders/{order.pk}/edit/").content.decode()
    assert "0123456789012\nSKU-1\nSKU-2</textarea>" in edit
    refused = client.post(f"/orders/{order.pk}/edit/", {**form, "barcodes": "A\nA"})
    assert refused.status_code == 200
    assert "Code &#x27;A&#x27; is there twice." in refused.content.decode()
    too_many = "\n".join(f"C{n}" for n in range(21))
    refused = client.post(f"/orders/{order.pk}/edit/", {**form, "barcodes": too_many})
    assert "At most 20 codes." in refused.content.decode()
    with schema_context(alpha.tenant.schema_name):
        order.refresh_from_db()
    assert order.barcodes == ["0123456789012", "SKU-1", "SKU-2"]


def test_the_order_page_shows_the_label_code_and_the_stores_codes(alpha):
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.create(
            customer_name="Shown",
            address_line1="1 Page St",
            delivery_date=tenant_today(1),
            barcodes=["5012345678900", "<b>SKU</b>"],
        )
    page = login_client(alpha.host, alpha.dispatcher_email).get(f"/orders/{order.pk}/")
    text = page.content.decode()
    assert f"<code>ALPHA-{order.pk}</code>" in text
    assert "<code>5012345678900</code>" in text
    assert "&lt;b&gt;SKU&lt;/b&gt;" in text and "<b>SKU</b>" not in text


# --- the codes of an order -----------------------------------------------------------------


def test_the_label_code_names_the_tenant_so_repeated_ids_differ(alpha, beta):
    orders = {}
    for fixture in (alpha, beta):
        with schema_context(fixture.tenant.schema_name):
            orders[fixture.tenant.schema_name] = Order.objects.create(
                pk=880_001,
                customer_name="Same id",
                address_line1="1 Twin St",
                delivery_date=tenant_today(1),
            )
            assert label_code(orders[fixture.tenant.schema_name]) == (
                f"{fixture.tenant.schema_name.upper()}-880001"
            )
    with schema_context("alpha"):
        assert label_code(orders["alpha"]) == "ALPHA-880001"
    with schema_context("beta"):
        assert label_code(orders["beta"]) == "BETA-880001"


def test_order_codes_are_the_label_code_then_the_stores_each_once(alpha):
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.create(
            customer_name="Codes",
            address_line1="1 Scan St",
            delivery_date=tenant_today(1),
            barcodes=["B-2", "A-1"],
        )
        assert order_codes(order) == [f"ALPHA-{order.pk}", "B-2", "A-1"]
        order.barcodes = ["X", f"ALPHA-{order.pk}", "Y"]  # a store printing our code too
        assert order_codes(order) == [f"ALPHA-{order.pk}", "X", "Y"]
        order.barcodes = []
        assert order_codes(order) == [f"ALPHA-{order.pk}"]
