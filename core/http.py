"""Who is asking, by address: the one place that reads the client's address (sign-in
lockouts, rate limits, the audit log, the tracking page's guess counter).

`X-Forwarded-For` is believed only from the proxies in TRUSTED_PROXIES (addresses or
networks): a client that reaches daphne directly could otherwise claim any address. From a
trusted peer, the client is the rightmost address of the chain that is not itself a trusted
proxy, the last one a proxy of ours saw; what lies left of it was written by the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxy_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """TRUSTED_PROXIES' entries (`10.0.0.5`, `172.16.0.0/12`, `::1`) as networks; a
    malformed entry stops start-up rather than trusting the wrong peers."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {entry!r} is not an IP address or network ({exc})."
            ) from exc
    return tuple(networks)


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


def client_ip(request: HttpRequest) -> str | None:
    """The client's address (see the module's docstring); None when there is none (a
    sign-in made in code, such as a test's)."""
    return client_address(
        request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"), _proxies()
    )
