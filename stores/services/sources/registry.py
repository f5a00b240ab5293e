"""The order sources, by their `Order.Source` key."""

from __future__ import annotations

from importlib import import_module

from stores.services.sources.base import OrderSource, StoreSource

#: The modules that register a source; a new store platform adds its module here.
MODULES = (
    "stores.services.sources.api",
    "stores.services.sources.csv",
    "stores.services.sources.shopify",
    "stores.services.sources.woocommerce",
)

_sources: dict[str, OrderSource] = {}


def register(source: OrderSource) -> OrderSource:
    _sources[source.key] = source
    return source


def load() -> None:
    for module in MODULES:
        import_module(module)


def get(key: str) -> OrderSource | None:
    return _sources.get(key)


def store(key: str) -> StoreSource | None:
    """The store platform `key`, if it is one."""
    source = _sources.get(key)
    return source if isinstance(source, StoreSource) else None


def all_sources() -> list[OrderSource]:
    return list(_sources.values())
