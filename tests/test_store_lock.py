"""One `newsbot run` per database: the lock beside the database file (bot.store.lock), the
store that holds it, and the refusal of a second `newsbot run`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import DatabaseInUse, Store
from bot.store.lock import DatabaseLock, lock_path

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "newsbot.sqlite3"


@pytest.fixture
def holder(db: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the lock of `db` until it is killed."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from bot.store.lock import DatabaseLock
        DatabaseLock.acquire(Path({str(db)!r}))
        print("locked", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    proc.kill()
    proc.wait()


def test_the_lock_is_a_sidecar_file_holding_the_pid(db: Path):
    lock = DatabaseLock.acquire(db)
    try:
        assert lock.path == db.parent / "newsbot.sqlite3.lock"
        assert lock.path.read_text() == f"{os.getpid()}\n"
    finally:
        lock.release()


def test_a_second_taker_is_refused_with_the_holders_pid(db: Path):
    lock = DatabaseLock.acquire(db)
    try:
        with pytest.raises(DatabaseInUse) as refused:
            DatabaseLock.acquire(db)
        assert refused.value.pid == os.getpid()
        assert refused.value.path == db
    finally:
        lock.release()


def test_release_gives_the_lock_back_and_is_idempotent(db: Path):
    first = DatabaseLock.acquire(db)
    first.release()
    first.release()
    second = DatabaseLock.acquire(db)
    second.release()
    assert lock_path(db).exists()  # the file stays; only the lock is gone


def test_another_process_holds_it_until_it_is_killed(db: Path, holder: subprocess.Popen[str]):
    with pytest.raises(DatabaseInUse) as refused:
        DatabaseLock.acquire(db)
    assert refused.value.pid == holder.pid
    holder.send_signal(signal.SIGKILL)  # no clean shutdown: the kernel drops the lock
    holder.wait()
    lock = DatabaseLock.acquire(db)
    try:
        assert lock.path.read_text() == f"{os.getpid()}\n"  # the dead holder's pid is gone
    finally:
        lock.release()


def test_two_spellings_of_one_database_are_one_lock(tmp_path: Path, db: Path):
    db.parent.mkdir(parents=True)
    db.touch()
    (tmp_path / "linked-dir").symlink_to(db.parent)
    (tmp_path / "linked.sqlite3").symlink_to(db)
    lock = DatabaseLock.acquire(db)
    try:
        for spelling in (
            tmp_path / "linked-dir" / db.name,
            tmp_path / "linked.sqlite3",
            tmp_path / "data" / ".." / "data" / db.name,
        ):
            assert lock_path(spelling) == lock.path
            with pytest.raises(DatabaseInUse):
                DatabaseLock.acquire(spelling)
    finally:
        lock.release()


async def test_an_exclusive_store_holds_the_lock_until_closed(db: Path):
    store = await Store.open(db, exclusive=True)
    with pytest.raises(DatabaseInUse):
        await Store.open(db, exclusive=True)
    shared = await Store.open(db)  # the one-shot commands open it beside the bot
    await shared.close()
    await store.close()
    again = await Store.open(db, exclusive=True)
    await again.close()


async def test_a_refused_store_touches_nothing(db: Path, holder: subprocess.Popen[str]):
    with pytest.raises(DatabaseInUse) as refused:
        await Store.open(db, exclusive=True)
    assert refused.value.pid == holder.pid
    # refused before connecting: no database, no migration
    assert not await asyncio.to_thread(db.exists)


def test_a_second_newsbot_run_exits_2_naming_the_first(
    tmp_path: Path, db: Path, holder: subprocess.Popen[str]
):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\npath = "{db}"\n[ingest]\npaths = ["{tmp_path / "articles"}"]\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "DISCORD_"))}
    # Nowhere to connect: the refusal comes before any Discord connection.
    env.update(DISCORD_TOKEN="t", DISCORD_API_BASE="http://127.0.0.1:9/api/v10")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert f"another `newsbot run` (pid {holder.pid}) is using {db}" in done.stderr
    assert "`newsbot ingest` and the other commands may run beside it" in done.stderr
    assert not db.exists()
