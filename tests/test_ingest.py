"""Ingest: walking, incremental skips, bad files reported, process pool, crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.ingest import POOL_THRESHOLD, Ingestor, walk
from bot.store import Store

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"


def article_text(n: int, *, title: str | None = None, quality: int = 70) -> str:
    return (
        "---\n"
        f'title: "{title or f"Article number {n}"}"\n'
        f'webUrl: "https://example.com/articles/{n}"\n'
        "publishedDateTime: 2024-01-02T03:04:05Z\n"
        f"quality: {quality}\n"
        "published: true\n"
        "topics: [AI]\n"
        "---\n"
    )


def write_tree(root: Path, count: int, per_dir: int = 500) -> None:
    for n in range(count):
        folder = root / f"d{n // per_dir:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{n:06d}.md").write_text(article_text(n), encoding="utf-8")


def write_bytes(path: bytes, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)


@pytest.fixture
async def store(tmp_path: Path):
    s = await Store.open(tmp_path / "db.sqlite3")
    yield s
    await s.close()


async def test_seeds_load_with_related_stubs_and_rerun_is_unchanged(store: Store):
    ingestor = Ingestor(store, max_file_bytes=1 << 20)
    first = await ingestor.run([SEEDS])
    assert (first.added, first.updated, first.unchanged, first.rejected) == (5, 0, 0, [])
    assert first.related_added > 0
    status = await store.status()
    assert status.articles == 5 + first.related_added
    second = await ingestor.run([SEEDS])
    assert (second.added, second.updated, second.unchanged, second.rejected) == (0, 0, 5, [])
    assert second.related_added == 0


async def test_changed_file_updates_same_bytes_new_mtime_is_unchanged(tmp_path: Path, store):
    folder = tmp_path / "a"
    folder.mkdir()
    f = folder / "one.md"
    f.write_text(article_text(1), encoding="utf-8")
    ingestor = Ingestor(store, max_file_bytes=1 << 20)
    assert (await ingestor.run([folder])).added == 1
    os.utime(f, ns=(time.time_ns(), time.time_ns() + 10**9))
    touched = await ingestor.run([folder])
    assert (touched.added, touched.updated, touched.unchanged) == (0, 0, 1)
    f.write_text(article_text(1, title="A better title"), encoding="utf-8")
    changed = await ingestor.run([folder])
    assert (changed.added, changed.updated) == (0, 1)
    [entry] = await store.reads.topic_entries("AI")
    assert entry.article.title == "A better title"


async def test_one_bad_file_never_stops_the_run(tmp_path: Path, store):
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "good1.md").write_text(article_text(1), encoding="utf-8")
    (folder / "bad.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    (folder / "good2.md").write_text(article_text(2), encoding="utf-8")
    report = await Ingestor(store, max_file_bytes=1 << 20).run([folder])
    assert report.added == 2
    assert [p for p, _ in report.rejected] == [str(folder / "bad.md")]
    # Still rejected next time (the file is still not loaded), with its reason.
    again = await Ingestor(store, max_file_bytes=1 << 20).run([folder])
    assert [p for p, _ in again.rejected] == [str(folder / "bad.md")]
    assert again.unchanged == 2


def test_walk_skips_hidden_and_other_extensions_and_symlink_loops(tmp_path: Path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("x.md", "y.txt", "z.yaml", "w.yml", "v.markdown", "u.MD", "skip.json", ".hid.md"):
        (tmp_path / "a" / name).write_text("x")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "in.md").write_text("x")
    (tmp_path / "a" / "b" / "deep.md").write_text("x")
    os.symlink(tmp_path / "a", tmp_path / "a" / "b" / "loop")
    found, missing = walk([tmp_path, tmp_path / "nope"])
    names = sorted(Path(f.path).name for f in found)
    assert names == ["deep.md", "u.MD", "v.markdown", "w.yml", "x.md", "y.txt", "z.yaml"]
    assert missing == [str(tmp_path / "nope")]


async def test_process_pool_parses_many_files(tmp_path: Path, store: Store):
    count = POOL_THRESHOLD + 50
    write_tree(tmp_path / "many", count)
    report = await Ingestor(store, max_file_bytes=1 << 20, workers=2).run([tmp_path / "many"])
    assert report.added == count
    assert (await store.status()).articles == count


async def test_oversized_file_rejected_with_limit(tmp_path: Path, store: Store):
    big = tmp_path / "big.md"
    big.write_text(article_text(1) + "x" * 5000, encoding="utf-8")
    report = await Ingestor(store, max_file_bytes=1000).run([big])
    [(_path, reason)] = report.rejected
    assert "limit is 1000" in reason


def test_sigkill_mid_ingest_then_rerun_is_complete(tmp_path: Path):
    count = 20_000
    articles = tmp_path / "articles"
    write_tree(articles, count)
    db = tmp_path / "db.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\npath = "{db}"\n[ingest]\npaths = ["{articles}"]\n')
    cmd = [sys.executable, "-m", "bot", "ingest", "--config", str(config), "--json"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Kill once some batches are committed, but (almost surely) before the end.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists() and _count(db) > 0:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == count
        assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == count


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.Error:
        return 0


async def test_hostile_folder_reports_every_bad_file_and_keeps_the_good(tmp_path: Path, store):
    from tests.fixtures.hostile_files import write_hostile_tree

    root = tmp_path / "hostile"
    expectations = write_hostile_tree(root)
    started = time.perf_counter()
    report = await Ingestor(store, max_file_bytes=1 << 20).run([root])
    assert time.perf_counter() - started < 30  # "in seconds"; generous for a loaded CI machine
    rejected = {Path(p).relative_to(root).as_posix(): reason for p, reason in report.rejected}
    expected_rejected = {p for p, e in expectations.items() if e == "rejected"}
    assert set(rejected) == expected_rejected
    assert all(reason.strip() for reason in rejected.values())
    warned = {Path(p).relative_to(root).as_posix() for p, _, _ in report.warnings}
    expected_warned = {p for p, e in expectations.items() if e == "ok-with-warnings"}
    assert expected_warned <= warned
    distinct = {p for p, e in expectations.items() if e in ("ok", "ok-with-warnings")}
    assert (await store.status()).articles - report.related_added == len(distinct)
    assert not report.ok


def test_walk_order_shown_paths_and_roots_reached_twice(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for rel in ("r/b.md", "r/a/z.md", "r/a/y.md", "r/c.md", "r/a/sub/x.md", "other/o.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    os.symlink(tmp_path / "other", tmp_path / "r" / "link")
    # A relative root, a file root inside it given first, the symlinked folder given again.
    found, missing = walk([Path("r/c.md"), Path("r"), tmp_path / "other"])
    assert missing == []
    shown = [f.shown for f in found]
    assert shown == ["r/c.md", "r/b.md", "r/a/y.md", "r/a/z.md", "r/a/sub/x.md", "r/link/o.md"]
    assert [f.path for f in found] == [str(tmp_path / s) for s in shown]
    size_and_mtime = [(f.size, f.mtime_ns) for f in found]
    assert size_and_mtime == [(os.stat(f.path).st_size, os.stat(f.path).st_mtime_ns) for f in found]


async def test_cached_file_states_follow_another_writer(tmp_path: Path, store: Store):
    folder = tmp_path / "a"
    write_tree(folder, 3)
    ingestor = Ingestor(store, max_file_bytes=1 << 20, workers=1)
    assert (await ingestor.run([folder])).added == 3
    edited = next(folder.rglob("000001.md"))
    original, before = edited.read_bytes(), os.stat(edited)
    # `newsbot ingest` from the shell, on the same database, loads an edit ...
    edited.write_text(article_text(1, title="Edited elsewhere"), encoding="utf-8")
    async with await Store.open(tmp_path / "db.sqlite3") as other:
        assert (await Ingestor(other, max_file_bytes=1 << 20, workers=1).run([folder])).updated == 1
    # ... which is then undone, size and mtime included: only the store knows it changed.
    edited.write_bytes(original)
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))
    again = await ingestor.run([folder])
    assert (again.added, again.updated, again.unchanged) == (0, 1, 2)
    [entry] = [e for e in await store.reads.topic_entries("AI") if e.article.url.endswith("/1")]
    assert entry.article.title == "Article number 1"


async def test_a_file_name_that_is_not_utf8_is_reported_and_the_rest_loads(
    store: Store, tmp_path: Path
):
    root = tmp_path / "articles"
    root.mkdir()
    (root / "good.md").write_text(article_text(1), encoding="utf-8")
    bad = os.path.join(os.fsencode(root), b"caf\xe9.md")  # Latin-1 bytes: not UTF-8
    write_bytes(bad, article_text(2).encode())
    ingestor = Ingestor(store, max_file_bytes=1 << 20)
    for _ in range(2):  # still reported on the next run, and still not a crash
        report = await ingestor.run([root])
        assert report.added + report.unchanged == 1
        [(shown, reason)] = report.rejected
        assert shown.endswith("caf\\udce9.md") and "not valid UTF-8" in reason
        shown.encode("utf-8")  # printable as it is
    assert (await store.status()).articles == 1


def test_parse_workers_end_when_their_bot_is_killed():
    """A SIGKILLed bot must not leave its parse workers running for good (their stdin, whose
    only write end the bot held, closes)."""
    script = (
        "import sys, time\n"
        "from bot.ingest.pool import ParsePool\n"
        "pool = ParsePool(2)\n"
        "print(*pool.pids, flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    workers = [int(pid) for pid in proc.stdout.readline().split()]
    assert workers and proc.pid not in workers
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_running(pid) for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if _running(pid)]


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_a_parse_worker_that_dies_fails_the_work_instead_of_hanging(tmp_path: Path):
    from bot.ingest.pool import ParsePool

    write_tree(tmp_path / "t", 4)
    files, _missing = walk([tmp_path / "t"])
    pool = ParsePool(2)
    try:
        assert pool.submit(files, 1 << 20).result(timeout=30)  # parsed, as pickled bytes
        for pid in pool.pids:
            os.kill(pid, signal.SIGKILL)
        for pid in pool.pids:  # dead before anything is sent: the send itself fails (EPIPE)
            _wait_dead(pid)
        futures = [pool.submit(files, 1 << 20) for _ in range(6)]
        for future in futures:
            with pytest.raises(RuntimeError, match="parse"):
                future.result(timeout=30)
    finally:
        pool.close()


def _wait_dead(pid: int, timeout: float = 10.0) -> None:
    """Until the process is a zombie (killed, not yet reaped by its parent) or gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not die")
