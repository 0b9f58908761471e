"""Article files into the store: walk the folders (``walk``, kept current by ``watch``), parse
changed files in worker processes (``workers``), write them in batches (``ingestor``); a cold
run that finds nothing changed never starts the event loop (``unchanged``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

# Not lazy: the submodule's name would hide the function once anything imported the module.
from bot.ingest.walk import walk

if TYPE_CHECKING:
    from bot.ingest.ingestor import POOL_THRESHOLD, Ingestor
    from bot.ingest.report import IngestReport

# Each name's module, imported on first use: `bot.ingest.unchanged` needs the walk, not the
# ingestor with its pool, writer and the parser.
_EXPORTS = {
    "POOL_THRESHOLD": "bot.ingest.ingestor",
    "Ingestor": "bot.ingest.ingestor",
    "IngestReport": "bot.ingest.report",
}

__all__ = ["POOL_THRESHOLD", "IngestReport", "Ingestor", "walk"]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # __import__, not importlib.import_module: only the former shows in `python -X importtime`
    return getattr(__import__(module, fromlist=(name,)), name)
