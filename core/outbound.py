"""Calls to addresses a tenant typed (webhook receivers, WooCommerce stores): the address
connected to is checked on the connection itself (no private, loopback or link-local
address, so a name that resolves inward is caught too; loopback only where
WEBHOOK_ALLOW_LOOPBACK allows it, for tests and one-machine set-ups), redirects are never
followed, and every call has a timeout."""

from __future__ import annotations

import requests
from django.conf import settings
from requests_hardened import Config, Manager
from requests_hardened.ip_filter import InvalidIPAddress

__all__ = ["InvalidIPAddress", "public_session"]


def public_session(*, read_timeout_s: float, user_agent: str) -> requests.Session:
    """A requests session for tenant-given addresses (5 s to connect)."""
    manager = Manager(
        Config(
            ip_filter_enable=True,
            ip_filter_allow_loopback_ips=settings.WEBHOOK_ALLOW_LOOPBACK,
            never_redirect=True,
            default_timeout=(5, read_timeout_s),
            user_agent_override=user_agent,
        )
    )
    return manager.get_session()
