"""A PostgreSQL database as a side of `newsbot db copy` (bot.store.copy): read in one
repeatable-read snapshot through a server-side cursor, written with COPY in one transaction,
values converted between SQLite's few types and the columns' own, and the id sequences moved
past the copied ids."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from bot.config.model import masked_url
from bot.store.copy import Batch, CopyRefused, CopyWriter
from bot.store.interface import DatabaseUnavailable
from bot.store.postgres.db import PgDatabase
from bot.store.postgres.search import document_vector, title_vector
from bot.store.tables import COPIED_TABLES

__all__ = ["PostgresEnd", "from_postgres", "to_postgres"]

Convert = Callable[[Any], Any]
_INTEGERS = frozenset({"smallint", "integer", "bigint"})
_FLOATS = frozenset({"double precision", "real"})
# Columns the store derives from others (full-text vectors); never copied.
_DERIVED_TYPES = frozenset({"tsvector"})


def _to_int(value: Any) -> Any:
    if value is None or isinstance(value, int):
        return value
    number = float(value)
    if not number.is_integer():
        raise CopyRefused(f"value {value!r} does not fit a whole-number column")
    return int(number)


def _to_float(value: Any) -> Any:
    return None if value is None else float(value)


def _to_bool(value: Any) -> Any:
    return None if value is None else bool(value)


def _to_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _to_timestamp(value: Any) -> Any:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromtimestamp(float(value), dt.UTC)


def to_postgres(data_type: str) -> Convert:
    """How a value read from either backend becomes one a column of ``data_type`` takes."""
    if data_type in _INTEGERS:
        return _to_int
    if data_type in _FLOATS:
        return _to_float
    if data_type == "numeric":
        return lambda v: None if v is None else decimal.Decimal(str(v))
    if data_type == "boolean":
        return _to_bool
    if data_type.startswith("timestamp"):
        return _to_timestamp
    return _to_text


def from_postgres(value: Any) -> Any:
    """A value as SQLite keeps it: booleans 0/1, times as unix seconds, numbers as numbers."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return value


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresEnd:
    """A PostgreSQL database as a copy's source or target."""

    def __init__(self, label: str, conn: asyncpg.Connection, types: dict[str, dict[str, str]]):
        self.label = label
        self._conn = conn
        self._types = types  # table -> column -> data type (copied columns only)

    @classmethod
    async def open(cls, url: str) -> PostgresEnd:
        """Connect, creating and migrating the schema when needed (as the bot does)."""
        label = masked_url(url)
        try:
            await (await PgDatabase.open(url, max_size=1)).close()
            conn = await asyncpg.connect(url)
        except DatabaseUnavailable as exc:
            raise CopyRefused(str(exc)) from None
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            message = str(exc).replace(url, label)
            raise CopyRefused(f"cannot connect to {label}: {message}") from None
        try:
            rows = await conn.fetch(
                "SELECT table_name, column_name, data_type, is_generated"
                " FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ANY($1::text[])"
                " ORDER BY table_name, ordinal_position",
                list(COPIED_TABLES),
            )
        except BaseException:
            await conn.close()
            raise
        types: dict[str, dict[str, str]] = {}
        for row in rows:
            if row["is_generated"] == "ALWAYS" or row["data_type"] in _DERIVED_TYPES:
                continue
            types.setdefault(row["table_name"], {})[row["column_name"]] = row["data_type"]
        return cls(label, conn, types)

    async def close(self) -> None:
        await self._conn.close()

    async def columns(self) -> dict[str, tuple[str, ...]]:
        return {table: tuple(columns) for table, columns in self._types.items()}

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[None]:
        async with self._conn.transaction(isolation="repeatable_read", readonly=True):
            yield

    async def count(self, table: str) -> int:
        return int(await self._conn.fetchval(f"SELECT count(*) FROM {_quote(table)}"))

    async def batches(self, table: str, columns: Sequence[str], size: int) -> AsyncIterator[Batch]:
        names = ", ".join(map(_quote, columns))
        cursor = await self._conn.cursor(f"SELECT {names} FROM {_quote(table)}")
        while rows := await cursor.fetch(size):
            yield [tuple(from_postgres(v) for v in row) for row in rows]

    async def get_meta(self, key: str) -> str | None:
        value = await self._conn.fetchval("SELECT value FROM meta WHERE key = $1", key)
        return None if value is None else str(value)

    async def write(self, work: Callable[[CopyWriter], Awaitable[None]]) -> None:
        async with self._conn.transaction():
            writer = _PostgresWriter(self._conn, self._types)
            await work(writer)
            await writer.rebuild_indexes()
            await self._advance_sequences()
        # the planner's figures for the copied rows now, not when autovacuum next comes by
        await self._conn.execute("ANALYZE")

    async def _advance_sequences(self) -> None:
        """Every id sequence (serial or identity) of a copied table past its largest id, so
        the next row the bot writes gets a new id."""
        owned = await self._conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ANY($1::text[])"
            " AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')",
            list(COPIED_TABLES),
        )
        for row in owned:
            table, column = _quote(row["table_name"]), _quote(row["column_name"])
            await self._conn.execute(
                f"SELECT setval(pg_get_serial_sequence($1, $2),"
                f" COALESCE((SELECT max({column}) FROM {table}), 0) + 1, false)",
                table,
                row["column_name"],
            )


class _PostgresWriter:
    def __init__(self, conn: asyncpg.Connection, types: dict[str, dict[str, str]]):
        self._conn = conn
        self._types = types
        self._dropped: list[str] = []  # the definitions of the indexes to build at the end

    async def clear(self, tables: Sequence[str]) -> None:
        if tables:
            await self._conn.execute("TRUNCATE " + ", ".join(map(_quote, tables)))
        if "articles" in tables:
            await self._drop_article_indexes()

    async def _drop_article_indexes(self) -> None:
        """The articles' indexes that back no constraint, dropped while the table is empty:
        one build over every copied row at the end costs a fraction of adding each row's keys
        (migration 003's GIN indexes hold ~140 a row). Readers wait either way: TRUNCATE locks
        the table until the copy commits, and a failed copy rolls the drop back. search_texts
        (migration 004) is emptied and filled with articles by its triggers: its index too."""
        for name, definition in await self._conn.fetch(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid)"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid IN ('articles'::regclass, 'search_texts'::regclass)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
            " ORDER BY c.relname"
        ):
            await self._conn.execute(f"DROP INDEX {_quote(name)}")
            self._dropped.append(definition)

    async def rebuild_indexes(self) -> None:
        """The indexes _drop_article_indexes dropped, built over the copied rows."""
        if self._dropped:
            # each build sorts in fewer passes (as migration 003 builds them)
            await self._conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for definition in self._dropped:
            await self._conn.execute(definition)
        self._dropped.clear()

    async def insert(self, table: str, columns: Sequence[str], rows: Batch) -> None:
        if not rows:
            return
        converters = [to_postgres(self._types[table][column]) for column in columns]
        records = [
            tuple(convert(value) for convert, value in zip(converters, row, strict=True))
            for row in rows
        ]
        if table == "articles":
            await self._insert_articles(columns, records)
            return
        await self._conn.copy_records_to_table(table, records=records, columns=list(columns))

    async def _insert_articles(self, columns: Sequence[str], records: Batch) -> None:
        """Articles with their full-text vectors, made as the write path makes them (none for
        a gone article); executemany, since COPY's binary format has no tsvector."""
        at = {name: i for i, name in enumerate(columns)}
        names = ", ".join(map(_quote, [*columns, "search", "title_search"]))
        marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        count = len(columns)
        sql = (
            f"INSERT INTO articles ({names})"
            f" VALUES ({marks}, ${count + 1}::tsvector, ${count + 2}::tsvector)"
        )

        def vectors(row: tuple[Any, ...]) -> tuple[str | None, str | None]:
            if row[at["gone"]]:
                return None, None
            title, excerpt = row[at["title"]], row[at["excerpt"]]
            return document_vector(title, excerpt, row[at["provider_name"]]), title_vector(title)

        await self._conn.executemany(sql, [(*row, *vectors(row)) for row in records])
