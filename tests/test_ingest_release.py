"""A large ingest gives memory back as it goes, not only at its end: the page caches after a
large read of the file states (before the walk), the C heap after each batch."""

from __future__ import annotations

import ctypes
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import bot.ingest.ingestor as ingestor_module
from bot.ingest import POOL_THRESHOLD, Ingestor
from bot.ingest.walk import Scan, scan_roots
from bot.store import Store
from tests.test_ingest import write_tree

COUNT = POOL_THRESHOLD + 150


def _sqlite_memory_used() -> Callable[[], int]:
    """sqlite3_memory_used() of the library the sqlite3 module loaded (process-wide)."""
    try:
        lib = ctypes.CDLL("libsqlite3.so.0")
    except OSError:
        pytest.skip("no shared libsqlite3 to ask")
    used = lib.sqlite3_memory_used
    used.restype = ctypes.c_int64
    return lambda: int(used())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="asks the shared libsqlite3")
async def test_release_memory_gives_back_what_a_large_read_cached(tmp_path: Path):
    memory_used = _sqlite_memory_used()
    db = tmp_path / "db.sqlite3"
    store = await Store.open(db)
    try:
        with sqlite3.connect(db) as conn:  # ~6 MB of files rows, written elsewhere
            conn.executemany(
                "INSERT INTO files (path, size, mtime_ns, hash, status, seen_at, parser_version)"
                " VALUES (?, 1, 1, 'h', 'ok', 0, 1)",
                ((f"/articles/{'x' * 200}/{n:06d}.md",) for n in range(20_000)),
            )
        _generation, known = await store.files.states()
        assert len(known) == 20_000
        del known
        cached = memory_used()
        await store.release_memory()
        # the reader's cache held the table (its pages are all that was read)
        assert cached - memory_used() > 4 << 20, (cached, memory_used())
    finally:
        await store.close()


async def test_a_large_run_releases_after_the_states_and_trims_after_each_batch(
    tmp_path: Path, monkeypatch
):
    write_tree(tmp_path / "tree", COUNT)
    monkeypatch.setattr(ingestor_module, "BATCH_FILES", 100)
    monkeypatch.setattr(ingestor_module, "TAIL_BATCH_FILES", 100)
    monkeypatch.setattr(ingestor_module, "CHUNK_FILES", 50)
    monkeypatch.setattr(ingestor_module, "RELEASE_AFTER_STATES", COUNT)
    events: list[str] = []
    monkeypatch.setattr(ingestor_module, "heap_trimmer", lambda: lambda: events.append("trim"))

    def walk(*args: Any) -> Scan:
        events.append("walk")
        return scan_roots(*args)

    monkeypatch.setattr(ingestor_module, "scan_roots", walk)
    store = await Store.open(tmp_path / "db.sqlite3")
    release = store.release_memory

    async def released() -> None:
        events.append("release")
        await release()

    monkeypatch.setattr(store, "release_memory", released)
    try:
        ingestor = Ingestor(store, max_file_bytes=1 << 20, workers=2)
        report = await ingestor.run([tmp_path / "tree"])
        assert report.added == COUNT
        # nothing known yet: no release before the walk; one after it (a large run), a trim
        # after each of the 5 batches, then the release and trim at the end of the run
        assert events == ["walk", "release", "trim", *["trim"] * 5, "release", "trim"]
        events.clear()
        (tmp_path / "tree" / "d0000" / "000000.md").unlink()
        report = await ingestor.run([tmp_path / "tree"])
        assert report.gone == 1
        # COUNT files known: their states' cache goes back before the walk; nothing parsed
        assert events == ["release", "trim", "walk"]
    finally:
        await store.close()
