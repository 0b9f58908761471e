"""A parse worker's answer for one file, as plain values: what crosses from the workers to the
writer. Its own module, so the writer process does not import the parser to read it."""

from __future__ import annotations

from typing import NamedTuple

from bot.store.records import PreparedArticle


class Parsed(NamedTuple):  # a NamedTuple pickles as a tuple: one per changed file crosses back
    """A worker's answer for one file, as plain values (cheap to pickle)."""

    path: str
    size: int
    mtime_ns: int
    digest: str  # of the bytes read; "" when the file could not be read
    error: str | None  # the reason the file is rejected, or None
    warnings: tuple[tuple[str, str], ...]  # (field, reason)
    prepared: PreparedArticle | None  # store.prepare_article() of the article, None if rejected
    moved: bool  # its size changed between the walk and the read: the store may not hold the walk's
