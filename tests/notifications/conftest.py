"""Shared fixtures of the notification tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def memory_sms(settings):
    """SMS kept in memory (MemorySender.outbox), tracking links on a fixed public host."""
    from notifications.services.senders import MemorySender

    settings.SMS_BACKEND = "memory"
    settings.PUBLIC_BASE_URL = "https://track.example"
    MemorySender.outbox.clear()
    yield MemorySender.outbox
    MemorySender.outbox.clear()
