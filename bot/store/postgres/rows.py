"""Article rows from PostgreSQL as the shared row helpers (bot.store.rows) read them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from bot.articles import StoryEntry
from bot.store.rows import ARTICLE_COLUMNS, ID, row_article

Row = tuple[Any, ...]
QUALITY = ARTICLE_COLUMNS.index("quality")


def whole(value: Any) -> Any:
    """A float quality that is whole as an int: what SQLite's INTEGER affinity stores."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def article_rows(records: Iterable[Sequence[Any]]) -> list[Row]:
    """Rows that start with ARTICLE_COLUMNS, as tuples with SQLite's quality values."""
    rows = []
    for record in records:
        row = list(record)
        row[QUALITY] = whole(row[QUALITY])
        rows.append(tuple(row))
    return rows


async def story_entries(
    conn: asyncpg.Connection, rows: Sequence[Row], *, with_also: bool = True
) -> list[StoryEntry]:
    """The rows as StoryEntries, each with its story's other providers (``with_also``)."""
    also: dict[int, list[str]] = {}
    if with_also and rows:
        others = await conn.fetch(
            "SELECT s.id, COALESCE(o.provider_name, o.provider_domain)"
            " FROM articles s JOIN articles o ON o.story_id = s.story_id AND o.id != s.id"
            " WHERE s.id = ANY ($1::bigint[]) AND o.gone = 0"
            " ORDER BY COALESCE(o.quality, -1) DESC, o.id",
            [r[ID] for r in rows],
        )
        for article_id, name in others:
            names = also.setdefault(article_id, [])
            if name and name not in names:
                names.append(name)
    return [
        StoryEntry(article_id=r[ID], article=row_article(r), also=tuple(also.get(r[ID], ())))
        for r in rows
    ]
