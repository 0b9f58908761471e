"""The packages that export lazily (module __getattr__) export exactly what they list: a name
in __all__ that _EXPORTS maps to the wrong module, or misses, would fail only at first use."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["bot.store", "bot.articles", "bot.ingest"])
def test_every_listed_name_resolves_from_the_module_it_is_mapped_to(package: str):
    module = importlib.import_module(package)
    exports: dict[str, str] = vars(module)["_EXPORTS"]
    assert set(exports) <= set(module.__all__)
    for name in module.__all__:
        value = getattr(module, name)
        if name in exports:
            assert getattr(importlib.import_module(exports[name]), name) is value, name
