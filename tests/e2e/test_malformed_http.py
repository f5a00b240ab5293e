"""Malformed requests to the API over real HTTP (daphne) get the API's JSON error with a
request id, never an empty or HTML answer (issue 22).

Twisted, under daphne, used to parse every multipart POST body itself (for request.args,
which daphne never reads) and answer a broken one with a bare `400 Bad Request` before
Django saw it; daphne answers a header value with control bytes, or a path that is not
ASCII, with an HTML page. Requests are written byte by byte on a socket: no client
library would send them."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket

import pytest

from tests.e2e.conftest import live_tenant


def _exchange(port: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", int(port)), timeout=15) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def _request(tenant, method: str, path: bytes, headers: list[bytes], body: bytes = b"") -> bytes:
    lines = [
        method.encode() + b" " + path + b" HTTP/1.1",
        f"Host: {tenant.host}".encode(),
        b"Connection: close",
        f"Content-Length: {len(body)}".encode(),
        *headers,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@pytest.fixture(scope="module")
def keyed(live_server_url, django_db_blocker):
    from tenants.services.provisioning import api_key_create

    tenant = live_tenant(django_db_blocker, live_server_url, "http-edges")
    with django_db_blocker.unblock():
        _, key = api_key_create(tenant=tenant.provisioned.tenant, name="edges")
    return tenant, f"Authorization: Bearer {key}".encode()


def _assert_json_error(status: int, headers: dict, body: bytes, expected: int = 400) -> dict:
    assert status == expected, (status, headers, body[:300])
    assert headers.get("content-type") == "application/json", (headers, body[:300])
    assert re.fullmatch(r"[0-9a-f]{32}", headers.get("x-request-id", "")), headers
    error = json.loads(body)
    assert set(error) >= {"detail", "code"}, error
    return error


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (b"multipart/form-data", b"name=x"),
        (b"multipart/form-data; boundary=", b"--\r\n"),
        (b'multipart/form-data; boundary=""', b"--\r\n"),
        (b"multipart/form-data; boundary=\x7f\x7f", b"--\x7f\x7f\r\n"),
        (b"multipart/form-data; boundary=XX", b"not a multipart body at all"),
        (b"multipart/form-data; boundary=" + b"b" * 300, b"--" + b"b" * 300 + b"\r\n"),
    ],
)
def test_a_multipart_body_without_a_usable_boundary_is_the_apis_json_400(keyed, content_type, body):
    tenant, auth = keyed
    request = _request(
        tenant, "POST", b"/api/v1/depots", [auth, b"Content-Type: " + content_type], body
    )
    error = _assert_json_error(*_exchange(tenant.port, request))
    assert error["code"] in ("parse_error", "invalid"), error


def test_a_good_multipart_upload_still_reaches_the_api(keyed):
    tenant, auth = keyed
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat().encode()
    csv = b"customer_name,address_line1,delivery_date\r\nAda,1 High St," + tomorrow + b"\r\n"
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="file"; filename="orders.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + csv + b"\r\n--XyZ--\r\n"
    )
    request = _request(
        tenant,
        "POST",
        b"/api/v1/imports",
        [auth, b"Content-Type: multipart/form-data; boundary=XyZ"],
        body,
    )
    status, _, answer = _exchange(tenant.port, request)
    assert status == 201, answer[:300]
    assert json.loads(answer)["headers"] == ["customer_name", "address_line1", "delivery_date"]


@pytest.mark.parametrize(
    ("path", "header"),
    [
        (b"/api/v1/me", b"X-Note: a\x0bb"),  # control bytes daphne refuses in a value
        (b"/api/v1/me", b"X-Note: a\x1cb"),
        (b"/api/v1/me", b"X-Note: a\x85b"),
    ],
)
def test_what_daphne_refuses_on_an_api_path_is_the_apis_json_400(keyed, path, header):
    tenant, auth = keyed
    request = _request(tenant, "GET", path, [auth, header])
    error = _assert_json_error(*_exchange(tenant.port, request))
    assert error["code"] == "bad_request"


def test_what_daphne_refuses_elsewhere_is_still_its_page(keyed):
    tenant, _ = keyed
    status, headers, _ = _exchange(
        tenant.port, _request(tenant, "GET", b"/orders/", [b"X-Note: a\x0bb"])
    )
    assert status == 400 and headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("path", "header"),
    [
        (b"/api/v1/me\xff", b"X-Note: ok"),  # a request line that is not ASCII
        (b"/api/v1/me\x01", b"X-Note: ok"),
        (b"/api/v1/me", b"X-Note: a\x00b"),  # NUL, CR or LF in a header value
        (b"/api/v1/me", b"X-N\x01ote: ok"),  # a header name that is not a token
    ],
)
def test_what_twisted_refuses_never_reaches_an_application(keyed, path, header):
    """Not HTTP at all: Twisted's HTTP channel answers a bare 400 and hangs up before it
    makes a request of it, so no code of daphne's or ours runs (and nginx, in front,
    refuses these itself). The limit of the JSON answer, written down."""
    tenant, auth = keyed
    status, headers, body = _exchange(tenant.port, _request(tenant, "GET", path, [auth, header]))
    assert (status, headers, body) == (400, {}, b"")
