"""Where orders come from: one module per source, each registering an `OrderSource`
(sources.base) with the registry. A new online store is a new module here that subclasses
`StoreSource` and is listed in `registry.MODULES`; nothing else changes."""
