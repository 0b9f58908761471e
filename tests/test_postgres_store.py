"""What only the PostgreSQL store has: migrations that two processes starting together apply
once, the URL's password kept out of its errors, and open_store choosing the backend."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from bot.config import DatabaseConfig
from bot.store import DatabaseUnavailable, Store, open_store
from bot.store.postgres import PostgresStore
from bot.store.postgres.db import migration_scripts
from tests.postgres import database_url


async def test_processes_starting_together_migrate_once(postgres_server: str):
    admin = await asyncpg.connect(postgres_server)
    try:
        await admin.execute("CREATE DATABASE empty_for_migration")  # not from the template
    finally:
        await admin.close()
    url = database_url(postgres_server, "empty_for_migration")
    stores = await asyncio.gather(*(PostgresStore.open(url) for _ in range(4)))
    try:
        versions = await stores[0].database.fetch("SELECT version FROM schema_version")
        assert sorted(v for (v,) in versions) == [n for n, _ in migration_scripts()]
        assert all([await s.status() == await stores[0].status() for s in stores])
    finally:
        for store in stores:
            await store.close()


async def test_an_unreachable_server_is_named_with_its_password_masked(tmp_path: Path):
    url = f"postgresql://newsbot:pw-s3cret@/newsbot?host={tmp_path}&port=1"
    with pytest.raises(DatabaseUnavailable) as caught:
        await PostgresStore.open(url)
    assert "pw-s3cret" not in str(caught.value)
    assert "newsbot:********@" in str(caught.value)


async def test_a_wrong_password_is_not_repeated(postgres_url: str):
    wrong = postgres_url.replace("postgres:@", "nobody:wrong-pass-123@")
    with pytest.raises(DatabaseUnavailable) as caught:
        await PostgresStore.open(wrong)
    assert "wrong-pass-123" not in str(caught.value)


async def test_open_store_picks_the_backend_from_the_config(tmp_path: Path, postgres_url: str):
    sqlite = await open_store(DatabaseConfig(path=tmp_path / "db.sqlite3"))
    postgres = await open_store(DatabaseConfig(path=tmp_path / "unused.sqlite3", url=postgres_url))
    try:
        assert isinstance(sqlite, Store) and sqlite.backend == "sqlite"
        assert isinstance(postgres, PostgresStore) and postgres.backend == "postgresql"
        assert not (tmp_path / "unused.sqlite3").exists()
    finally:
        await sqlite.close()
        await postgres.close()
