"""`newsbot db copy SOURCE TARGET` (DESIGN §9): a whole database, ids kept, idempotent, refused
when it would overwrite another database; the list of copied tables covers the schema."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from bot.app import open_app
from bot.cli import main
from bot.config import Config
from bot.config.model import DatabaseConfig, masked_url
from bot.digests.delivery import Delivery
from bot.digests.service import DigestService
from bot.store import FeedMove, FeedState, Publication, Store
from bot.store.copy import COPY_MARK, SqliteEnd, same_database
from bot.store.postgres import PostgresStore
from bot.store.postgres.copy import PostgresEnd
from bot.store.tables import COPIED_TABLES, DERIVED_TABLES, INDEX_VIEWS
from tests.fixtures.articles import article_file
from tests.fixtures.seeds import copy_seeds
from tests.test_delivery import Clock, FakeDiscord, Jobs

Content = dict[str, list[tuple[Any, ...]]]


async def populate(path: Path, folder: Path, *, extra: int = 30) -> None:
    """Articles (the seeds and ``extra`` more), files, topics, related links, two
    subscriptions, delivered runs with their messages and a publication, the ledger, an alert
    channel, and a feed that moved."""
    for n in range(extra):
        article_file(folder, f"extra-{n}", f"Extra story number {n}", quality=60 + n % 40)
    config = Config(database=DatabaseConfig(path=path))
    async with open_app(config, workers=1) as app:
        report = await app.ingestor.run([folder])
        assert report.ok
        clock = Clock()
        delivery = Delivery(app.store, FakeDiscord(), config=lambda: config, clock=clock)
        service = DigestService(
            app.store, config=lambda: config, delivery=delivery, jobs=Jobs(), clock=clock
        )
        for channel in (71, 72):
            await service.subscribe(1, channel, min_quality=0, max_items=25)
            clock.now += 3600
            assert (await service.run(channel, trigger="now")).status == "delivered"
        [run, *_] = await app.store.digests.runs(channel_id=71)
        message_id = run.messages[0].message_id
        assert message_id is not None
        await app.store.digests.record_publication(
            Publication(run.id, 0, 71, message_id, "published", None, clock.now)
        )
        await app.store.digests.set_alert_channel(1, 79, clock.now)
        feed = "https://wire.example/feed"
        await app.store.feeds.sync([feed])
        moved = FeedMove(feed, feed, "https://wire.example/rss", 301, clock.now)
        await app.store.feeds.save(
            FeedState(feed, moved.to_url, title="Wire", last_status="ok", items=3),
            move=moved,
            now=clock.now,
        )
        await app.store.set_meta("last_ingest_at", "1700000000")


def content(path: Path) -> Content:
    """Every row of every copied table (the copy's own mark left out)."""
    with closing(sqlite3.connect(path)) as conn:
        found = {}
        for table in COPIED_TABLES:
            rows = conn.execute(f"SELECT * FROM {table}").fetchall()
            if table == "meta":
                rows = [r for r in rows if r[0] != COPY_MARK]
            found[table] = sorted(rows, key=repr)
        return found


@pytest.fixture
async def source(tmp_path: Path) -> Path:
    path = tmp_path / "source.sqlite3"
    await populate(path, copy_seeds(tmp_path / "articles"))
    return path


async def copy(*args: str) -> int:
    """`newsbot db copy ARGS` (in a thread: it runs its own event loop)."""
    return await asyncio.to_thread(main, ["db", "copy", *args])


async def test_a_copy_holds_every_row_and_answers_the_same(source: Path, tmp_path: Path, capsys):
    target = tmp_path / "sub" / "target.sqlite3"
    assert await copy(str(source), str(target)) == 0
    out = capsys.readouterr().out
    assert f"from {source} to {target}" in out and "deliveries" in out
    before = content(source)
    assert all(before[t] for t in ("articles", "related", "files", "deliveries", "digest_runs"))
    assert all(before[t] for t in ("feeds", "feed_moves", "digest_publications"))
    assert before["digest_alert_channels"]
    assert content(target) == before
    async with await Store.open(source) as a, await Store.open(target) as b:
        for text in ("facial recognition", "Extra story"):
            assert await b.reads.search(text, limit=10) == await a.reads.search(text, limit=10)
        assert await b.reads.title_choices("Ext", limit=5) == await a.reads.title_choices(
            "Ext", limit=5
        )
        assert (await b.status()).as_dict() == (await a.status()).as_dict()


async def test_copying_again_leaves_the_same_target(source: Path, tmp_path: Path):
    target = tmp_path / "target.sqlite3"
    assert await copy(str(source), str(target)) == 0
    first = content(target)
    assert await copy(str(source), str(target)) == 0
    assert content(target) == first
    # the source moved on (the bot kept running on it): a new copy brings the target along
    with closing(sqlite3.connect(source)) as conn, conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('later', 'x')")
        conn.execute("DELETE FROM deliveries WHERE channel_id = 72")
    assert await copy(str(source), str(target)) == 0
    assert content(target) == content(source) != first


async def test_a_target_holding_other_data_is_refused_unless_replace(
    source: Path, tmp_path: Path, capsys
):
    other = tmp_path / "other.sqlite3"
    (tmp_path / "other-articles").mkdir()
    await populate(other, tmp_path / "other-articles", extra=3)
    kept = content(other)
    assert await copy(str(source), str(other)) == 2
    assert "not a copy of" in capsys.readouterr().err and content(other) == kept
    assert await copy(str(source), str(other), "--replace") == 0
    assert content(other) == content(source)


async def test_a_copy_a_bot_wrote_to_since_is_refused(source: Path, tmp_path: Path, capsys):
    target = tmp_path / "target.sqlite3"
    assert await copy(str(source), str(target)) == 0
    with closing(sqlite3.connect(target)) as conn, conn:
        conn.execute("DELETE FROM deliveries WHERE channel_id = 71")  # any write a bot makes
    assert await copy(str(source), str(target)) == 2
    assert "written to since" in capsys.readouterr().err


async def test_bad_input_exits_2(source: Path, tmp_path: Path, capsys):
    assert await copy(str(source), str(source)) == 2
    assert "both SOURCE and TARGET" in capsys.readouterr().err
    assert await copy(str(tmp_path / "missing.sqlite3"), str(tmp_path / "t.sqlite3")) == 2
    assert "no such database" in capsys.readouterr().err
    assert await copy(str(source), "mysql://u:hunter2@db/x") == 2
    err = capsys.readouterr().err
    assert "unknown database scheme 'mysql'" in err and "hunter2" not in err


def test_same_database():
    assert same_database("postgresql://a:1@h/db", "postgres://b:2@h:5432/db")
    assert not same_database("postgresql://h/db", "postgresql://h/other")
    assert not same_database("data/x.sqlite3", "postgresql://h/x")


async def test_every_table_of_the_schema_is_copied_or_derived(tmp_path: Path):
    path = tmp_path / "schema.sqlite3"
    await (await Store.open(path)).close()
    with closing(sqlite3.connect(path)) as conn:
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
    shadows = {t for t in tables for d in DERIVED_TABLES if t.startswith(d + "_")}
    assert tables - shadows == set(COPIED_TABLES) | set(DERIVED_TABLES) | set(INDEX_VIEWS)


async def test_both_backends_have_the_same_tables_and_columns(tmp_path: Path, postgres_url: str):
    path = tmp_path / "schema.sqlite3"
    await (await Store.open(path)).close()
    sqlite_end = await SqliteEnd.open(path, target=False)
    postgres_end = await PostgresEnd.open(postgres_url)
    try:
        sqlite_columns = await sqlite_end.columns()
        postgres_columns = await postgres_end.columns()
    finally:
        await sqlite_end.close()
        await postgres_end.close()
    assert set(sqlite_columns) == set(postgres_columns) == set(COPIED_TABLES)
    for table, columns in sqlite_columns.items():
        assert set(columns) == set(postgres_columns[table]), table


async def test_round_trip_through_postgresql_keeps_everything(
    source: Path, tmp_path: Path, postgres_url: str, capsys
):
    back = tmp_path / "back.sqlite3"
    shown = masked_url(postgres_url)
    assert await copy(str(source), postgres_url) == 0
    assert await copy(str(source), postgres_url) == 0  # again: the same target
    assert await copy(postgres_url, str(back)) == 0
    assert content(back) == content(source)
    assert f"to {shown}" in capsys.readouterr().out  # the URL as printed: password masked
    async with await Store.open(source) as a:
        pg = await PostgresStore.open(postgres_url)
        try:
            for text in ("facial recognition", "Extra story"):
                assert await pg.reads.search(text, limit=10) == await a.reads.search(text, limit=10)
            assert await pg.reads.title_choices("Ext", limit=5) == await a.reads.title_choices(
                "Ext", limit=5
            )
            # the id sequences moved past the copied ids: a new row gets a new id
            [(largest,)] = await pg.database.fetch("SELECT max(id) FROM digest_runs")
            [(new_id,)] = await pg.database.fetch(
                "INSERT INTO digest_runs (channel_id, trigger, selected_at, status)"
                " VALUES (1, 'now', 0, 'delivered') RETURNING id"
            )
            assert new_id > largest
        finally:
            await pg.close()
    # the PostgreSQL copy has been written to since: copying over it again is refused
    assert await copy(str(source), postgres_url) == 2
    assert "written to since" in capsys.readouterr().err


async def test_a_copy_into_postgresql_leaves_the_articles_indexes_as_migrated(
    source: Path, postgres_url: str
):
    # the copy drops them while it fills the table and builds them at the end
    listed = (
        "SELECT indexname, indexdef FROM pg_indexes"
        " WHERE tablename IN ('articles', 'search_texts') ORDER BY 1"
    )

    async def indexes() -> list[tuple[str, str]]:
        pg = await PostgresStore.open(postgres_url)
        try:
            return [(name, definition) for name, definition in await pg.database.fetch(listed)]
        finally:
            await pg.close()

    migrated = await indexes()
    assert any("newsbot_search_keys" in definition for _name, definition in migrated)
    assert any("search_texts" in definition for _name, definition in migrated)
    assert await copy(str(source), postgres_url) == 0
    assert await indexes() == migrated


async def test_a_copy_into_postgresql_leaves_the_planner_its_figures(
    source: Path, postgres_url: str
):
    """Analysed at the end, so the first searches do not plan as for empty tables (each row
    through newsbot_search_keys) until autovacuum comes by."""
    analysed = (
        "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
        " AND relname IN ('articles', 'search_texts', 'files') ORDER BY 1"
    )
    assert await copy(str(source), postgres_url) == 0
    pg = await PostgresStore.open(postgres_url)
    try:
        names = [name for (name,) in await pg.database.fetch(analysed)]
    finally:
        await pg.close()
    assert names == ["articles", "files", "search_texts"]


async def test_a_password_never_shows(source: Path, postgres_server: str, capsys):
    secret = "s3cr3t-pw"
    url = postgres_server.replace("postgres:@", f"postgres:{secret}@", 1).replace(
        "/postgres?", "/nowhere_db?", 1
    )
    assert await copy(str(source), url) == 2
    captured = capsys.readouterr()
    assert secret not in captured.out + captured.err
    assert "********" in captured.err
