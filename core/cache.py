"""The Redis cache, failing open: while Redis is away every call answers as a miss.

Nothing here relies on the cache for correctness: it holds rate-limit counters (DRF's
throttles, the tracking link's guess counter, the SMS rate per tenant) and copies of things
that can be computed again (travel matrices, road paths, geocoding results). So when Redis
cannot be reached, a request goes on as if the cache were empty: a rate limit lets the call
through, a copy is computed again. Calls give up after a short socket timeout (a Redis that
accepts and never answers must not hold requests up: config/settings.py sets the timeouts),
and for RETRY_AFTER_S after a failure they do not try Redis at all. Each failure is counted
(`dispatch_cache_errors`) and logged, at most once a minute per process so that an outage
does not flood the logs.

Code that needs a lock or a value that must not be lost uses the database, not this.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from core import metrics

log = logging.getLogger(__name__)

LOG_EVERY_S = 60.0
#: After a failure, calls answer as a miss without trying Redis for this long: a Redis that
#: accepts connections and never answers would otherwise cost every request a timeout.
RETRY_AFTER_S = 5.0
T = TypeVar("T")


class FailOpenRedisCache(RedisCache):
    """django.core.cache.backends.redis.RedisCache whose calls answer as a miss (and store
    nothing) when Redis fails, instead of raising into the request."""

    _last_logged = 0.0
    _down_until = 0.0  # per instance (Django keeps one per thread): when to try Redis again

    def _guard(self, operation: str, call: Callable[[], T], fallback: T) -> T:
        if time.monotonic() < self._down_until:
            metrics.CACHE_ERRORS.labels(operation).inc()
            return fallback
        try:
            return call()
        except RedisError as exc:
            self._down_until = time.monotonic() + RETRY_AFTER_S
            metrics.CACHE_ERRORS.labels(operation).inc()
            now = time.monotonic()
            if now - FailOpenRedisCache._last_logged >= LOG_EVERY_S:
                FailOpenRedisCache._last_logged = now
                log.warning("cache unavailable (%s on %s): answering as a miss", exc, operation)
            return fallback

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version=None) -> bool:
        # "stored": a caller counting with add() then incr() counts this call as the first
        return self._guard("add", lambda: RedisCache.add(self, key, value, timeout, version), True)

    def get(self, key: Any, default: Any = None, version=None) -> Any:
        return self._guard("get", lambda: RedisCache.get(self, key, default, version), default)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version=None) -> None:
        self._guard("set", lambda: RedisCache.set(self, key, value, timeout, version), None)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version=None) -> bool:
        return self._guard("touch", lambda: RedisCache.touch(self, key, timeout, version), False)

    def delete(self, key: Any, version=None) -> bool:
        return self._guard("delete", lambda: RedisCache.delete(self, key, version), False)

    def get_many(self, keys: Iterable[Any], version=None) -> dict:
        return self._guard("get_many", lambda: RedisCache.get_many(self, keys, version), {})

    def has_key(self, key: Any, version=None) -> bool:
        return self._guard("has_key", lambda: RedisCache.has_key(self, key, version), False)

    def incr(self, key: Any, delta: int = 1, version=None) -> int:
        # a missing key still raises ValueError (Django's contract); an outage counts from zero
        return self._guard("incr", lambda: RedisCache.incr(self, key, delta, version), delta)

    def set_many(self, data: dict, timeout: Any = DEFAULT_TIMEOUT, version=None) -> list:
        return self._guard(
            "set_many", lambda: RedisCache.set_many(self, data, timeout, version), list(data)
        )

    def delete_many(self, keys: Iterable[Any], version=None) -> None:
        self._guard("delete_many", lambda: RedisCache.delete_many(self, keys, version), None)

    def clear(self) -> bool:
        return self._guard("clear", lambda: RedisCache.clear(self), False)
