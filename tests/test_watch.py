"""Watched ingests: an unchanged tree is not walked again; every kind of change, and every case
the watches cannot vouch for, makes the next run walk."""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

import bot.ingest.watch
from bot.ingest import Ingestor, IngestReport
from bot.store import Store
from tests.fixtures.articles import article_file

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="inotify is Linux only"
)

REPO = Path(__file__).resolve().parent.parent
PAST_NS = 1_600_000_000 * 10**9  # every file starts with this mtime: an edit always moves it


def make_tree(base: Path) -> Path:
    """in/tree/: a/one.md a/two.md b/three.md bad.md (rejected), c -> elsewhere/linked (four.md),
    a/hard.md (a hard link to outside/hard-src.md), a/soft.md -> outside/soft-src.md."""
    tree, outside, linked = base / "in" / "tree", base / "outside", base / "elsewhere" / "linked"
    for folder in (tree / "a", tree / "b", outside, linked):
        folder.mkdir(parents=True)
    article_file(tree / "a", "one", "Title one")
    article_file(tree / "a", "two", "Title two")
    article_file(tree / "b", "three", "Title three")
    (tree / "bad.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    article_file(linked, "four", "Title four")
    article_file(outside, "hard-src", "Title hard")
    article_file(outside, "soft-src", "Title soft")
    os.symlink(linked, tree / "c")
    os.link(outside / "hard-src.md", tree / "a" / "hard.md")
    os.symlink(outside / "soft-src.md", tree / "a" / "soft.md")
    for path in [*tree.rglob("*.md"), *outside.rglob("*.md"), *linked.rglob("*.md")]:
        os.utime(path, ns=(PAST_NS, PAST_NS))
    return tree


def edit_same_size(path: Path) -> None:
    """Rewrite the file in place (same inode, same size) with a different title."""
    data = path.read_bytes()
    changed = data.replace(b"Title", b"TITLE", 1)
    assert changed != data and len(changed) == len(data)
    with open(path, "r+b") as handle:
        handle.write(changed)


def comparable(report: IngestReport) -> dict[str, Any]:
    result = report.as_dict()
    del result["duration_s"]
    return result


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "db.sqlite3")
    yield s
    await s.close()


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> dict[int, int]:
    """Full walks per Ingestor (by id): every Ingestor._scan call."""
    counts: dict[int, int] = {}
    real = Ingestor._scan

    def counting(self: Ingestor, *args: Any) -> Any:
        counts[id(self)] = counts.get(id(self), 0) + 1
        return real(self, *args)

    monkeypatch.setattr(Ingestor, "_scan", counting)
    return counts


def watching(store: Store) -> Ingestor:
    return Ingestor(store, max_file_bytes=1 << 20, workers=1, watch=True)


async def test_unchanged_second_run_skips_the_walk_and_reports_the_same(
    tmp_path: Path, store: Store, walks: dict[int, int], caplog: pytest.LogCaptureFixture
):
    tree = make_tree(tmp_path)
    ingestor = watching(store)
    try:
        first = await ingestor.run([tree])
        assert first.added == 6 and len(first.rejected) == 1
        with caplog.at_level(logging.DEBUG, logger="bot.ingest"):
            again = await ingestor.run([tree])
            third = await ingestor.run([tree])
        assert walks[id(ingestor)] == 1
        assert "walk skipped" in caplog.text
        # What a full walk of the same unchanged tree reports (a fresh, unwatched Ingestor).
        full = await Ingestor(store, max_file_bytes=1 << 20, workers=1).run([tree])
        assert comparable(again) == comparable(full) == comparable(third)
        assert again.rejected == [(str(tree / "bad.md"), first.rejected[0][1])]
        assert (again.unchanged, again.files_seen) == (6, 7)
    finally:
        ingestor.close()


def _replace_the_folder_above_the_root(tree: Path) -> None:
    # in/ (not watched) moves away and a new in/tree, an edited copy, takes the root's path: no
    # event reaches the old tree's watches, but its path now leads to another folder.
    above = tree.parent
    above.rename(above.with_name("in.old"))
    shutil.copytree(above.with_name("in.old") / "tree", tree, symlinks=True)
    edit_same_size(tree / "b" / "three.md")


def _retarget_symlinked_folder_from_outside(tree: Path) -> None:
    # tree/c -> elsewhere/linked: renaming elsewhere/ (not watched) changes where c leads.
    elsewhere = tree.parent.parent / "elsewhere"
    elsewhere.rename(elsewhere.with_name("elsewhere.old"))
    (elsewhere / "linked").mkdir(parents=True)
    article_file(elsewhere / "linked", "five", "Title five")


def _new_subfolder_with_a_file(tree: Path) -> None:
    (tree / "a" / "sub").mkdir()
    article_file(tree / "a" / "sub", "deep", "Title deep")


CHANGES: dict[str, Callable[[Path], object]] = {
    "edited in place, same size": lambda t: edit_same_size(t / "a" / "one.md"),
    "new file in a folder": lambda t: article_file(t / "a", "new", "Title new"),
    "new subfolder with a file": _new_subfolder_with_a_file,
    "deleted file": lambda t: (t / "b" / "three.md").unlink(),
    "renamed file": lambda t: (t / "a" / "two.md").rename(t / "a" / "two-renamed.md"),
    "touched (mtime only)": lambda t: os.utime(t / "a" / "one.md"),
    "file in a symlinked folder": lambda t: edit_same_size(
        t.parent.parent / "elsewhere" / "linked" / "four.md"
    ),
    "hard-linked file edited through its other name": lambda t: edit_same_size(
        t.parent.parent / "outside" / "hard-src.md"
    ),
    "symlinked file's target edited": lambda t: edit_same_size(
        t.parent.parent / "outside" / "soft-src.md"
    ),
    "rejected file fixed": lambda t: article_file(t, "bad", "Now a good one"),
    "root replaced from above": _replace_the_folder_above_the_root,
    "symlinked folder retargeted from outside the tree": _retarget_symlinked_folder_from_outside,
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_each_change_is_picked_up_by_the_next_run(
    tmp_path: Path, store: Store, walks: dict[int, int], change: str
):
    tree = make_tree(tmp_path)
    ingestor = watching(store)
    # The reference: an unwatched Ingestor on its own store, walking the same tree every time.
    reference_store = await Store.open(tmp_path / "reference.sqlite3")
    reference = Ingestor(reference_store, max_file_bytes=1 << 20, workers=1)
    try:
        await ingestor.run([tree])
        await reference.run([tree])
        assert (await ingestor.run([tree])).unchanged == 6
        assert walks[id(ingestor)] == 1  # armed: an unchanged run skips
        CHANGES[change](tree)
        after = await ingestor.run([tree])
        assert walks[id(ingestor)] == 2
        expected = await reference.run([tree])
        assert comparable(after) == comparable(expected)
        assert after.added + after.updated + after.unchanged + len(after.rejected) > 0
        # Re-armed by that walk: the next unchanged run skips again and reports the same.
        settled = await ingestor.run([tree])
        assert walks[id(ingestor)] == 2
        assert comparable(settled) == comparable(await reference.run([tree]))
    finally:
        ingestor.close()
        await reference_store.close()


@pytest.fixture(
    params=[0x6969, 0xFF534D42, 0xFE534D42, 0x517B, 0x65735546, 0x01021997, 0x12345678, None],
    ids=["nfs", "cifs", "smb2", "smb", "fuse", "9p", "unknown", "statfs-failed"],
)
def untrusted_filesystem(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every folder reports this statfs f_type."""
    monkeypatch.setattr(bot.ingest.watch, "filesystem_type", lambda fd, libc: request.param)


@pytest.mark.usefixtures("untrusted_filesystem")
async def test_untrusted_filesystem_always_walks(
    tmp_path: Path, store: Store, walks: dict[int, int], caplog: pytest.LogCaptureFixture
):
    tree = make_tree(tmp_path)
    ingestor = watching(store)
    try:
        with caplog.at_level(logging.INFO, logger="bot.ingest.watch"):
            for _ in range(3):
                assert (await ingestor.run([tree])).files_seen == 7
        assert walks[id(ingestor)] == 3
        notes = [r for r in caplog.records if "inotify; ingests walk it" in r.getMessage()]
        assert len(notes) == 1  # once, not per run
    finally:
        ingestor.close()


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs another filesystem: /dev/shm")
async def test_a_folder_on_an_untrusted_filesystem_inside_a_local_tree_walks(
    tmp_path: Path, store: Store, walks: dict[int, int], monkeypatch: pytest.MonkeyPatch
):
    tree = make_tree(tmp_path)
    mounted = Path(tempfile.mkdtemp(dir="/dev/shm"))  # another device, standing in for NFS
    try:
        article_file(mounted, "remote", "Title remote")
        os.symlink(mounted, tree / "remote")
        assert os.stat(mounted).st_dev != os.stat(tree).st_dev
        real = bot.ingest.watch.filesystem_type
        remote_dev = os.stat(mounted).st_dev
        monkeypatch.setattr(
            bot.ingest.watch,
            "filesystem_type",
            lambda fd, libc: 0x6969 if os.fstat(fd).st_dev == remote_dev else real(fd, libc),
        )
        ingestor = watching(store)
        try:
            await ingestor.run([tree])
            await ingestor.run([tree])
            assert walks[id(ingestor)] == 2
        finally:
            ingestor.close()
    finally:
        shutil.rmtree(mounted)


async def test_no_inotify_always_walks(
    tmp_path: Path, store: Store, walks: dict[int, int], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(bot.ingest.watch, "_load_libc", lambda: None)  # as on macOS
    tree = make_tree(tmp_path)
    ingestor = watching(store)
    try:
        first = await ingestor.run([tree])
        again = await ingestor.run([tree])
        assert walks[id(ingestor)] == 2
        assert (first.added, again.unchanged) == (6, 6)
    finally:
        ingestor.close()


async def test_watch_limit_reached_walks_and_warns_once(
    tmp_path: Path,
    store: Store,
    walks: dict[int, int],
    caplog: pytest.LogCaptureFixture,
):
    tree = make_tree(tmp_path)
    ingestor = watching(store)
    libc = ingestor._watch._libc  # type: ignore[union-attr]
    assert libc is not None

    def no_more_watches(fd: int, path: bytes, mask: int) -> int:
        ctypes.set_errno(errno.ENOSPC)  # what max_user_watches gives
        return -1

    libc.inotify_add_watch = no_more_watches
    try:
        with caplog.at_level(logging.INFO, logger="bot.ingest.watch"):
            for _ in range(3):
                await ingestor.run([tree])
        assert walks[id(ingestor)] == 3
        warnings = [r for r in caplog.records if "max_user_watches" in r.getMessage()]
        assert [r.levelno for r in warnings] == [logging.WARNING]
    finally:
        ingestor.close()


async def test_event_queue_overflow_walks(
    tmp_path: Path, store: Store, walks: dict[int, int], caplog: pytest.LogCaptureFixture
):
    limit = _max_queued_events()
    if limit > 100_000:
        pytest.skip(f"max_queued_events is {limit}: too many files to overflow it")
    tree = make_tree(tmp_path)
    ingestor = watching(store)
    try:
        await ingestor.run([tree])
        # Each new file queues IN_CREATE and IN_CLOSE_WRITE; not article files, so none is parsed.
        for n in range(limit // 2 + 100):
            os.close(os.open(tree / "b" / f"{n}.dat", os.O_CREAT | os.O_WRONLY, 0o644))
        with caplog.at_level(logging.DEBUG, logger="bot.ingest"):
            report = await ingestor.run([tree])
        assert walks[id(ingestor)] == 2
        assert "queue overflowed" in caplog.text
        assert report.unchanged == 6
    finally:
        ingestor.close()


def _max_queued_events() -> int:
    return int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())


def test_an_overflow_event_is_named():
    header = (-1).to_bytes(4, sys.byteorder, signed=True)
    event = header + bot.ingest.watch.IN_Q_OVERFLOW.to_bytes(4, sys.byteorder) + bytes(8)
    assert bot.ingest.watch._describe_events(event) == "inotify queue overflowed"
    modify = (1).to_bytes(4, sys.byteorder) + bot.ingest.watch.IN_MODIFY.to_bytes(4, sys.byteorder)
    named = modify + bytes(4) + (16).to_bytes(4, sys.byteorder) + b"one.md".ljust(16, b"\0")
    assert bot.ingest.watch._describe_events(named + named) == "2 inotify events"


async def test_other_roots_or_a_missing_root_walk(
    tmp_path: Path, store: Store, walks: dict[int, int]
):
    tree = make_tree(tmp_path)
    ingestor = watching(store)
    try:
        await ingestor.run([tree])
        await ingestor.run([tree / "a"])  # other roots: walk
        await ingestor.run([tree])  # back to the first: walk (the watches were re-armed)
        assert walks[id(ingestor)] == 3
        missing = [tree, tmp_path / "not-yet"]
        for _ in range(2):
            assert (await ingestor.run(missing)).missing_paths == [str(tmp_path / "not-yet")]
        assert walks[id(ingestor)] == 5  # a root that may appear is not watched: walk
    finally:
        ingestor.close()


async def test_a_single_file_root_is_watched(tmp_path: Path, store: Store, walks: dict[int, int]):
    tree = make_tree(tmp_path)
    root = tree / "a" / "one.md"
    ingestor = watching(store)
    try:
        await ingestor.run([root])
        assert (await ingestor.run([root])).unchanged == 1
        assert walks[id(ingestor)] == 1
        edit_same_size(root)
        assert (await ingestor.run([root])).updated == 1
        assert walks[id(ingestor)] == 2
    finally:
        ingestor.close()


async def test_another_writer_of_the_files_table_makes_the_next_run_walk(
    tmp_path: Path, store: Store, walks: dict[int, int]
):
    tree = make_tree(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    article_file(other, "elsewhere", "Title elsewhere")
    ingestor = watching(store)
    try:
        await ingestor.run([tree])
        # `newsbot ingest other` from the shell, on the same database, while the bot runs.
        async with await Store.open(tmp_path / "db.sqlite3") as cli_store:
            await Ingestor(cli_store, max_file_bytes=1 << 20, workers=1).run([other])
        await ingestor.run([tree])
        assert walks[id(ingestor)] == 2
        await ingestor.run([tree])
        assert walks[id(ingestor)] == 2
    finally:
        ingestor.close()


async def test_a_walk_at_least_every_max_trust_s(
    tmp_path: Path, store: Store, walks: dict[int, int], monkeypatch: pytest.MonkeyPatch
):
    tree = make_tree(tmp_path)
    ingestor = watching(store)
    try:
        await ingestor.run([tree])
        await ingestor.run([tree])
        assert walks[id(ingestor)] == 1
        monkeypatch.setattr(bot.ingest.watch, "MAX_TRUST_S", 0.0)
        await ingestor.run([tree])
        assert walks[id(ingestor)] == 2
    finally:
        ingestor.close()


def _inotify_fds() -> int:
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            count += os.readlink(fd) == "anon_inode:inotify"
        except OSError:
            continue
    return count


async def test_close_releases_the_inotify_instance(
    tmp_path: Path, store: Store, walks: dict[int, int]
):
    tree = make_tree(tmp_path)
    before = _inotify_fds()
    ingestor = watching(store)
    await ingestor.run([tree])
    assert _inotify_fds() == before + 1
    ingestor.close()
    ingestor.close()  # idempotent
    assert _inotify_fds() == before
    await ingestor.run([tree])  # still works; walks, and watches nothing any more
    assert walks[id(ingestor)] == 2
    assert _inotify_fds() == before


async def test_a_run_cut_short_is_not_trusted(
    tmp_path: Path, store: Store, walks: dict[int, int], monkeypatch: pytest.MonkeyPatch
):
    tree = make_tree(tmp_path)
    ingestor = watching(store)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    try:
        await ingestor.run([tree])
        edit_same_size(tree / "a" / "one.md")
        with monkeypatch.context() as patch:
            patch.setattr(store.articles, "apply_batch", broken)
            with pytest.raises(RuntimeError):
                await ingestor.run([tree])  # walks (the event), then fails writing
        # That walk armed fresh watches, but its changes never reached the store.
        assert (await ingestor.run([tree])).updated == 1
        assert walks[id(ingestor)] == 3
    finally:
        ingestor.close()


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare(1)"
)
def test_a_mount_over_a_watched_folder_makes_the_next_run_walk(tmp_path: Path):
    # In a private mount namespace, so the mount is seen by nothing else.
    script = textwrap.dedent(
        f"""
        import asyncio, subprocess
        from pathlib import Path
        from bot.ingest import Ingestor
        from bot.store import Store
        from tests.test_watch import make_tree

        async def main():
            tree = make_tree(Path({str(tmp_path)!r}))
            async with await Store.open(Path({str(tmp_path)!r}) / "db.sqlite3") as store:
                ingestor = Ingestor(store, max_file_bytes=1 << 20, workers=1, watch=True)
                walks = []
                real = ingestor._scan
                ingestor._scan = lambda *a: walks.append(1) or real(*a)
                await ingestor.run([tree])
                await ingestor.run([tree])
                subprocess.run(["mount", "-t", "tmpfs", "none", str(tree / "b")], check=True)
                report = await ingestor.run([tree])
                ingestor.close()
                print(len(walks), report.files_seen)

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if (
        done.returncode != 0
        and "unshare" in done.stderr
        and "Operation not permitted" in done.stderr
    ):
        pytest.skip("unshare not permitted here")
    assert done.returncode == 0, done.stderr
    # Two walks (the first, and the one after the mount), and b/ is now an empty tmpfs.
    assert done.stdout.split() == ["2", "6"]
