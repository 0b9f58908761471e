"""A large SQLite ingest writes in a child process (bot.ingest.writer): the same store and report
as writing in the bot, the bot never unpickles a batch, and a writer that dies fails the ingest
(no hang) with nothing of its batch written."""

from __future__ import annotations

import io
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import bot.ingest.ingestor as ingestor_module
import bot.ingest.writer as writer_module
from bot.config.model import TopicsConfig
from bot.ingest import POOL_THRESHOLD, Ingestor
from bot.ingest.batch import BatchOutcome
from bot.ingest.ingestor import same_topic
from bot.ingest.pipes import read_message, write_message
from bot.ingest.writer import WriterProcess, WriterStopped
from bot.store import Store
from tests.test_ingest import article_text, write_tree

COUNT = POOL_THRESHOLD + 150
TOPICS = TopicsConfig({"artificial intelligence": "AI"})


def write_mixed_tree(root: Path) -> None:
    """Good files, one broken, one with a warning, one whose topic is an alias."""
    write_tree(root, COUNT)
    (root / "broken.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    (root / "warned.md").write_text(
        article_text(90001).replace("quality: 70", "quality: lots"), encoding="utf-8"
    )
    (root / "alias.md").write_text(
        article_text(90002).replace("topics: [AI]", "topics: [Artificial Intelligence]"),
        encoding="utf-8",
    )


def table_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as conn:
        return {
            "articles": conn.execute(
                "SELECT canonical_url, title, topics, from_file, gone FROM articles"
                " ORDER BY canonical_url"
            ).fetchall(),
            "files": conn.execute("SELECT path, status, error FROM files ORDER BY path").fetchall(),
            "topics": conn.execute(
                "SELECT name, article_count FROM topics ORDER BY name"
            ).fetchall(),
        }


async def ingest(db: Path, root: Path, workers: int) -> dict[str, Any]:
    store = await Store.open(db)
    try:
        ingestor = Ingestor(
            store, max_file_bytes=1 << 20, canonical_topic=TOPICS.canonical, workers=workers
        )
        report = await ingestor.run([root])
    finally:
        await store.close()
    return report.as_dict() | {"duration_s": None}


async def test_the_writer_process_writes_what_the_bot_would(tmp_path: Path, monkeypatch):
    write_mixed_tree(tmp_path / "tree")
    # workers=1: parsed and written in this process; workers=2: a pool and a writer process.
    here = await ingest(tmp_path / "here.sqlite3", tmp_path / "tree", workers=1)

    def not_here(*_args: object) -> None:
        raise AssertionError("the bot unpickled a batch")

    monkeypatch.setattr(ingestor_module, "load_parsed", not_here)
    started: list[int] = []
    original = WriterProcess.__init__

    def counted(
        self: WriterProcess, database: Path, max_bytes: int, topic: Callable[[str], str]
    ) -> None:
        original(self, database, max_bytes, topic)
        started.append(self.pid)

    monkeypatch.setattr(WriterProcess, "__init__", counted)
    child = await ingest(tmp_path / "child.sqlite3", tmp_path / "tree", workers=2)
    assert len(started) == 1
    assert child == here
    assert child["added"] == COUNT + 2
    assert [r["path"] for r in child["rejected"]] == [str(tmp_path / "tree" / "broken.md")]
    assert [w["field"] for w in child["warnings"]] == ["quality"]
    assert table_rows(tmp_path / "child.sqlite3") == table_rows(tmp_path / "here.sqlite3")
    # the child writes without foreign-key look-ups: every reference it wrote holds
    with sqlite3.connect(tmp_path / "child.sqlite3") as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    # the alias crossed to the child: one topic, every article on it
    assert table_rows(tmp_path / "child.sqlite3")["topics"] == [("AI", COUNT + 2)]


async def test_a_writer_that_dies_fails_the_ingest_and_leaves_no_half_batch(
    tmp_path: Path, monkeypatch
):
    write_tree(tmp_path / "tree", COUNT)
    monkeypatch.setattr(ingestor_module, "BATCH_FILES", 100)
    monkeypatch.setattr(ingestor_module, "TAIL_BATCH_FILES", 100)
    monkeypatch.setattr(ingestor_module, "CHUNK_FILES", 50)
    original = WriterProcess.write
    batches: list[int] = []

    def dies_on_the_second(
        self: WriterProcess, chunks: list[bytes], stored_reasons: dict[str, str | None]
    ) -> BatchOutcome:
        batches.append(len(chunks))
        if len(batches) == 2:
            os.kill(self.pid, signal.SIGKILL)
        return original(self, chunks, stored_reasons)

    monkeypatch.setattr(WriterProcess, "write", dies_on_the_second)
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        with pytest.raises(WriterStopped, match="stopped"):
            await Ingestor(store, max_file_bytes=1 << 20, workers=2).run([tmp_path / "tree"])
        status = await store.status()
        assert status.files == 100  # the first batch, whole; nothing of the second
        assert status.articles == 100
        # the next run writes the rest
        report = await Ingestor(store, max_file_bytes=1 << 20, workers=2).run([tmp_path / "tree"])
        assert (report.added, report.unchanged) == (COUNT - 100, 100)
    finally:
        await store.close()


def test_the_writer_process_bounds_its_sqlite_memory(tmp_path: Path, monkeypatch):
    """serve() (the child's main loop, run here on in-memory pipes) sets both limits on its
    connection, smaller than the store's own 32 MB cache, and turns its foreign-key look-ups
    off."""
    seen: dict[str, int] = {}

    class Recording(sqlite3.Connection):
        def close(self) -> None:
            for pragma in ("cache_size", "soft_heap_limit", "foreign_keys"):
                seen[pragma] = self.execute(f"PRAGMA {pragma}").fetchone()[0]
            super().close()

    def connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, factory=Recording, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")  # as every store connection has it
        return conn

    requests, answers = io.BytesIO(), io.BytesIO()
    write_message(requests, pickle.dumps((tmp_path / "db.sqlite3", 1 << 20, same_topic)))
    requests.seek(0)  # then EOF: the ingest is over
    monkeypatch.setattr(writer_module, "child_streams", lambda: (requests, answers))
    monkeypatch.setattr(writer_module, "connect_writer", connect)
    try:
        writer_module.serve()
    finally:
        with sqlite3.connect(":memory:") as conn:
            conn.execute("PRAGMA soft_heap_limit = 0")  # process-wide: not past this test
    answers.seek(0)
    assert read_message(answers) == b"\x00"  # ready
    assert seen == {
        "cache_size": -writer_module.WRITER_CACHE_KIB,
        "soft_heap_limit": writer_module.WRITER_SOFT_HEAP_BYTES,
        "foreign_keys": 0,
    }
    assert 0 < writer_module.WRITER_CACHE_KIB * 1024 < 32_000 * 1024


def test_the_writer_process_imports_no_event_loop_nor_the_parser():
    # Its start-up is paid once per ingest, and its memory counts in the ingest's peak.
    unwanted = ("asyncio", "aiosqlite", "bot.store.db", "yaml", "bot.articles.parse")
    probe = (
        "import sys; import bot.ingest.writer; "
        f"print(','.join(m for m in {unwanted!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "", done.stdout
