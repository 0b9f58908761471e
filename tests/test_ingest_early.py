"""The parse pool and the writer of a large ingest start during its walk (bot.ingest.early): a
run that ends before using them leaves no child behind, and an early start that fails loses
nothing of the ingest."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import bot.ingest.early as early_module
import bot.ingest.ingestor as ingestor_module
import bot.ingest.pool as pool_module
import bot.ingest.writer as writer_module
from bot.ingest import POOL_THRESHOLD, Ingestor
from bot.ingest.early import EarlyStart
from bot.ingest.pipes import start_child
from bot.ingest.walk import scan_roots
from bot.store import Store
from tests.test_ingest import write_tree

COUNT = POOL_THRESHOLD + 50
WORKERS = 2
CHILDREN = WORKERS + 1  # the parse workers and the writer


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[bytes]]:
    """Every child the pool and the writer start, as started."""
    started: list[subprocess.Popen[bytes]] = []

    def recording(code: str) -> subprocess.Popen[bytes]:
        child = start_child(code)
        started.append(child)
        return child

    monkeypatch.setattr(pool_module, "start_child", recording)
    monkeypatch.setattr(writer_module, "start_child", recording)
    return started


@pytest.fixture
async def store(tmp_path: Path):
    s = await Store.open(tmp_path / "db.sqlite3")
    yield s
    await s.close()


async def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("ending", ["cancelled", "walk failed"])
async def test_children_started_during_the_walk_end_with_a_run_that_did_not_use_them(
    tmp_path: Path,
    store: Store,
    children: list[subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
    ending: str,
):
    write_tree(tmp_path / "tree", COUNT)
    walked, release = threading.Event(), threading.Event()

    def walk_then_hold(*args: Any) -> Any:
        scan = scan_roots(*args)  # finds COUNT changed files: the early start is asked for
        walked.set()
        release.wait(30)
        if ending == "walk failed":
            raise OSError("the disk went away")
        return scan

    monkeypatch.setattr(ingestor_module, "scan_roots", walk_then_hold)
    ingestor = Ingestor(store, max_file_bytes=1 << 20, workers=WORKERS)
    run = asyncio.ensure_future(ingestor.run([tmp_path / "tree"]))
    try:
        await asyncio.to_thread(walked.wait, 30)
        # The walk has not returned, and every child is up.
        await wait_for(lambda: len(children) == CHILDREN)
        assert all(child.poll() is None for child in children)
        if ending == "cancelled":
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await run
    finally:
        release.set()
    if ending == "walk failed":
        with pytest.raises(OSError, match="the disk went away"):
            await run
    assert len(children) == CHILDREN
    assert all(child.poll() is not None for child in children)  # ended and reaped
    assert (await store.status()).articles == 0


async def test_an_early_start_that_fails_leaves_the_run_to_start_its_children(
    tmp_path: Path,
    store: Store,
    children: list[subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
):
    write_tree(tmp_path / "tree", COUNT)
    failed: list[str] = []

    def no_pool(_workers: int) -> Any:
        failed.append("pool")
        raise OSError("no process for the pool")

    def no_writer() -> Any:
        failed.append("writer")
        raise OSError("no process for the writer")

    monkeypatch.setattr(early_module, "ParsePool", no_pool)
    monkeypatch.setattr(
        ingestor_module,
        "EarlyStart",
        lambda threshold, workers, _writer: EarlyStart(threshold, workers, no_writer),
    )
    report = await Ingestor(store, max_file_bytes=1 << 20, workers=WORKERS).run([tmp_path / "tree"])
    assert sorted(failed) == ["pool", "writer"]
    assert (report.added, report.rejected) == (COUNT, [])
    assert (await store.status()).articles == COUNT
    # Started by the run as without an early start, and ended with it.
    assert len(children) == CHILDREN
    assert all(child.poll() is not None for child in children)


async def test_a_small_run_starts_no_child(
    tmp_path: Path, store: Store, children: list[subprocess.Popen[bytes]]
):
    write_tree(tmp_path / "tree", POOL_THRESHOLD - 1, per_dir=10)
    report = await Ingestor(store, max_file_bytes=1 << 20, workers=WORKERS).run([tmp_path / "tree"])
    assert report.added == POOL_THRESHOLD - 1
    assert children == []


async def test_a_large_run_uses_the_children_started_during_its_walk(
    tmp_path: Path, store: Store, children: list[subprocess.Popen[bytes]]
):
    # Many small folders: the start is asked for mid-walk, once enough files were found.
    write_tree(tmp_path / "tree", COUNT, per_dir=10)
    report = await Ingestor(store, max_file_bytes=1 << 20, workers=WORKERS).run([tmp_path / "tree"])
    assert report.added == COUNT
    assert (await store.status()).articles == COUNT
    assert len(children) == CHILDREN  # none started twice
    assert all(child.poll() is not None for child in children)
