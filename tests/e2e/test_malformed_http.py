"""Malformed requests to the API over real HTTP (the web process: uvicorn) get the API's
JSON error with a request id, never an empty or HTML answer (issue 22).

A broken multipart body reaches Django, which answers it. What uvicorn's HTTP parser
refuses itself (a control byte in a header, a header name that is not a token) is answered
by config/http_server.py in the API's JSON when the path was read. Requests are written
byte by byte on a socket: no client library would send them."""

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
    "header",
    [
        b"X-Note: a\x0bb",  # control bytes RFC 9110 forbids in a field value
        b"X-Note: a\x1cb",
        b"X-Note: a\x00b",  # NUL
        b"X-N\x01ote: ok",  # a header name that is not a token
        b"Content-Type: multipart/form-data; boundary=\x7f\x7f",  # DEL
    ],
)
def test_what_the_http_parser_refuses_on_an_api_path_is_the_apis_json_400(keyed, header):
    tenant, auth = keyed
    request = _request(tenant, "GET", b"/api/v1/me", [auth, header])
    error = _assert_json_error(*_exchange(tenant.port, request))
    assert error == {"detail": "Invalid HTTP request received.", "code": "bad_request"}


def test_a_field_value_with_obs_text_is_served(keyed):
    """RFC 9110 allows bytes 0x80-0xFF (obs-text) in a field value: not an error."""
    tenant, auth = keyed
    status, _, body = _exchange(
        tenant.port, _request(tenant, "GET", b"/api/v1/me", [auth, b"X-Note: a\x85b"])
    )
    assert status == 200, body[:300]
    assert json.loads(body)["principal"] == "api_key"


def test_what_the_http_parser_refuses_elsewhere_is_its_plain_answer(keyed):
    tenant, _ = keyed
    status, headers, body = _exchange(
        tenant.port, _request(tenant, "GET", b"/orders/", [b"X-Note: a\x0bb"])
    )
    assert (status, headers["content-type"]) == (400, "text/plain; charset=utf-8")
    assert body == b"Invalid HTTP request received."


@pytest.mark.parametrize("path", [b"/api/v1/me\xff", b"/api/v1/me\x01"])
def test_a_request_line_without_a_readable_path_gets_the_servers_plain_400(keyed, path):
    """The parser refuses the request line before it has a path, so nothing can tell that
    the request was meant for the API: uvicorn's own short answer, and the connection
    closes (nginx, in front, refuses these itself). The limit of the JSON answer."""
    tenant, auth = keyed
    status, headers, body = _exchange(tenant.port, _request(tenant, "GET", path, [auth]))
    assert (status, headers["content-type"]) == (400, "text/plain; charset=utf-8")
    assert (headers["connection"], body) == ("close", b"Invalid HTTP request received.")
