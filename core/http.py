"""Who is asking, by address: the one place that reads the client's address (sign-in
lockouts, rate limits, the audit log, the tracking page's guess counter).

`X-Forwarded-For` is believed only from the proxies in TRUSTED_PROXIES (addresses or
networks): a client that reaches the web process directly could otherwise claim any address. From a
trusted peer, the client is the rightmost address of the chain that is not itself a trusted
proxy, the last one a proxy of ours saw; what lies left of it was written by the client.
The proxy's word on the connection itself (X-Forwarded-Proto, -Host, -Port) is dropped
from any other peer's requests before Django reads it (ForwardedHeadersMiddleware).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxy_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """TRUSTED_PROXIES' entries (`10.0.0.5`, `172.16.0.0/12`, `::1`) as networks. The
    settings have refused a malformed entry at start-up (config/settings.py)."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def parse_address(text: str) -> Address | None:
    """An address as peers and proxies write it (`1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`,
    `::ffff:1.2.3.4`), IPv4-mapped IPv6 as IPv4; None when it is no address."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # IPv4 with a port (IPv6 has two colons or more)
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, proxies: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(
    peer: str | None, forwarded_for: str | None, proxies: tuple[Network, ...]
) -> str | None:
    """The client's address, given the connection's peer, the request's X-Forwarded-For
    (every header's entries, comma-separated) and the trusted proxies."""
    hop = parse_address(peer or "")
    if hop is None:
        return peer or None  # no address to judge (a request made in code)
    if not forwarded_for or not _trusted(hop, proxies):
        return str(hop)
    for entry in reversed(forwarded_for.split(",")):
        if not entry.strip():
            continue
        address = parse_address(entry)
        if address is None:
            break  # garbage a proxy of ours passed on: the last address known is its sender
        hop = address
        if not _trusted(hop, proxies):
            break
    return str(hop)


_proxies_cache: dict[tuple[str, ...], tuple[Network, ...]] = {}


def _proxies() -> tuple[Network, ...]:
    entries = tuple(settings.TRUSTED_PROXIES)
    if entries not in _proxies_cache:
        _proxies_cache[entries] = proxy_networks(entries)
    return _proxies_cache[entries]


def wants_json(request: HttpRequest) -> bool:
    """The page's own script (or the driver app's outbox) asked for JSON rather than a page:
    its `Accept` names application/json. A browser's navigation never does."""
    return "application/json" in request.headers.get("Accept", "")


def client_ip(request: HttpRequest) -> str | None:
    """The client's address (see the module's docstring); None when there is none (a
    sign-in made in code, such as a test's)."""
    return client_address(
        request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"), _proxies()
    )


def from_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the request's connection comes from a proxy in TRUSTED_PROXIES."""
    peer = parse_address(request.META.get("REMOTE_ADDR") or "")
    return peer is not None and _trusted(peer, _proxies())


#: What a proxy says about the client's connection: the scheme SECURE_PROXY_SSL_HEADER
#: reads, and the host and port Django reads with USE_X_FORWARDED_HOST / _PORT.
CONNECTION_HEADERS = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT")


class ForwardedHeadersMiddleware:
    """First of all middleware: a request not from a proxy in TRUSTED_PROXIES loses the
    headers a proxy sets about the connection, as X-Forwarded-For is not believed from it
    (client_ip). Otherwise a client reaching uvicorn directly could say it used HTTPS and
    be believed: no HTTPS redirect, https links built, Twilio's signed URL rebuilt from
    its word. (Websockets read none of these: channels and uvicorn, run with
    --no-proxy-headers, take the scheme and client from the connection.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not from_trusted_proxy(request):
            names = set(CONNECTION_HEADERS)
            if proxy_ssl_header := getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
                names.add(proxy_ssl_header[0])
            for name in names:
                request.META.pop(name, None)
        return self.get_response(request)
