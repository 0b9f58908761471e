"""The tree fingerprint (bot.ingest.fingerprint): a cold `newsbot ingest` answers "unchanged" from
it without reading the file states only when the full path would say exactly the same; every
change on disk, in the settings or in the files table sends it to the full path, and an ingest
stamps it only when the store holds exactly what its walk saw."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import bot.cli
import bot.ingest.fingerprint
import bot.ingest.ingestor
import bot.ingest.unchanged
from bot.cli import main
from bot.ingest import Ingestor
from bot.ingest.report import IngestReport
from bot.ingest.unchanged import unchanged_ingest
from bot.ingest.walk import ColdScan, scan_roots
from bot.store import Store
from bot.store.files import TREE_FINGERPRINT, bump_files_generation, stamped_fingerprint
from tests.test_ingest_unchanged import CHANGES, NS, Outcome, article, database, make_tree

LIMIT = 1 << 20  # [ingest] max_file_bytes by default


@dataclass
class World:
    tree: Path
    roots: list[Path]  # as the config names them: the tree and a missing folder
    db: Path
    config: Path
    saved: Path  # the database right after the first ingest
    capsys: pytest.CaptureFixture[str]
    # what each _fingerprinted call answered (None: the full path ran)
    answers: list[IngestReport | None]

    def restore(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.db}{suffix}").unlink(missing_ok=True)
        shutil.copy(self.saved, self.db)

    def run(self, fast: bool, extra: tuple[str, ...] = ()) -> Outcome:
        """`newsbot ingest --json` on the saved database: exit code, report, what it holds."""
        self.restore()
        with pytest.MonkeyPatch.context() as patch:
            if not fast:
                patch.setattr(bot.cli, "_ingest_unchanged", lambda *args: None)
            code = main(["ingest", *extra, "--config", str(self.config), "--json"])
        report = json.loads(self.capsys.readouterr().out)
        assert isinstance(report.pop("duration_s"), float)
        return code, report, database(self.db)

    def fingerprint(self) -> str | None:
        conn = sqlite3.connect(self.db)
        try:
            return stamped_fingerprint(conn)[1]
        finally:
            conn.close()


def write_config(world_dir: Path, roots: list[str], extra: str = "") -> Path:
    config = world_dir / "config.toml"
    config.write_text(
        f'[database]\npath = "{world_dir / "db.sqlite3"}"\n'
        f"[ingest]\npaths = {json.dumps(roots)}\n{extra}",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> World:
    """A tree ingested by `newsbot ingest` (a rejected file, a missing root), with a spy on the
    fingerprint check."""
    make_tree(tmp_path / "tree")
    config = write_config(tmp_path, [str(tmp_path / "tree"), str(tmp_path / "nowhere")])
    assert main(["ingest", "--config", str(config)]) == 1  # bad.md, nowhere
    capsys.readouterr()
    shutil.copy(tmp_path / "db.sqlite3", tmp_path / "saved.sqlite3")
    answers: list[IngestReport | None] = []
    check = bot.ingest.unchanged._fingerprinted

    def spy(*args: Any) -> IngestReport | None:
        answers.append(check(*args))
        return answers[-1]

    monkeypatch.setattr(bot.ingest.unchanged, "_fingerprinted", spy)
    return World(
        tmp_path / "tree",
        [tmp_path / "tree", tmp_path / "nowhere"],
        tmp_path / "db.sqlite3",
        config,
        tmp_path / "saved.sqlite3",
        capsys,
        answers,
    )


def no_states(*args: object) -> None:
    raise AssertionError("the file states were read")


def test_an_unchanged_tree_is_answered_by_its_fingerprint_alone(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    assert world.fingerprint() is not None  # stamped by the first ingest
    full = world.run(False)
    monkeypatch.setattr(bot.ingest.unchanged, "file_states", no_states)
    monkeypatch.setattr(bot.ingest.unchanged, "scan_roots", no_states)
    fast = world.run(True)
    assert isinstance(world.answers[-1], IngestReport)
    assert fast == full
    code, report, _db = fast
    assert code == 1 and report["missing_paths"] == [str(world.tree.parent / "nowhere")]
    assert report["unchanged"] == report["files"] - 1 == 9 and len(report["rejected"]) == 1


def swap_files(tree: Path) -> None:
    """Two files trade names: the same names, sizes and set of mtimes, on other files."""
    more = tree / "more"
    (more / "a0.md").rename(more / "swap.md")
    (more / "a1.md").rename(more / "a0.md")
    (more / "swap.md").rename(more / "a1.md")


def rename_folder(tree: Path) -> None:
    (tree / "more").rename(tree / "other")


def add_folder(tree: Path) -> None:
    (tree / "new").mkdir()
    (tree / "new" / "n.md").write_text(article("in a new folder", 60), encoding="utf-8")


def remove_tree(tree: Path) -> None:
    shutil.rmtree(tree)


def grow_same_mtime(tree: Path) -> None:
    """A file that grew, its mtime set back to what it was."""
    path = tree / "more" / "a0.md"
    st = path.stat()
    path.write_text(article("story 0, longer now", 50), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


MORE_CHANGES: dict[str, Callable[[Path], None]] = {
    **CHANGES,
    "swapped": swap_files,
    "folder renamed": rename_folder,
    "folder added": add_folder,
    "root removed": remove_tree,
    "grown, same mtime": grow_same_mtime,
}


@pytest.mark.parametrize("name", list(MORE_CHANGES))
def test_every_change_on_disk_goes_to_the_full_path(world: World, name: str):
    before = world.run(False)
    MORE_CHANGES[name](world.tree)
    fast = world.run(True)
    assert world.answers == [None]
    assert fast == world.run(False)
    assert fast != before  # it was a change


def test_a_folder_that_cannot_be_read_goes_to_the_full_path(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    unreadable = str(world.tree / "more")
    real_open = os.open

    def refusing(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        # as chmod 0 would, but also when the tests run as root (who reads any folder)
        if os.fspath(path) == unreadable:
            raise PermissionError(13, "Permission denied", unreadable)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing)
    fast = world.run(True)
    assert world.answers == [None]
    assert fast == world.run(False)
    assert fast[1]["files"] == 5  # the seeds: the unreadable folder's files are not counted


def test_the_settings_that_decide_an_ingest_are_in_the_fingerprint(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    roots = world.roots
    world.restore()
    assert isinstance(unchanged_ingest(world.db, roots, max_file_bytes=LIMIT), IngestReport)
    assert isinstance(world.answers.pop(), IngestReport)
    # another size limit
    world.restore()
    unchanged_ingest(world.db, roots, max_file_bytes=LIMIT // 2)
    assert world.answers.pop() is None
    # another parser version
    world.restore()
    with monkeypatch.context() as patch:
        patch.setattr(bot.ingest.fingerprint, "PARSER_VERSION", 10_000)
        unchanged_ingest(world.db, roots, max_file_bytes=LIMIT)
    assert world.answers.pop() is None
    # the same folder named another way: the report shows the paths as the operator named them
    world.restore()
    monkeypatch.chdir(world.tree.parent)
    relative = unchanged_ingest(world.db, [Path("tree"), Path("nowhere")], max_file_bytes=LIMIT)
    assert world.answers.pop() is None
    assert isinstance(relative, IngestReport)
    assert relative.rejected == [(os.path.join("tree", "more", "bad.md"), relative.rejected[0][1])]


def test_a_write_to_the_files_table_voids_the_fingerprint(world: World):
    roots = world.roots

    def answered_after(write: Callable[[sqlite3.Connection], object]) -> IngestReport | None:
        world.restore()
        conn = sqlite3.connect(world.db)
        with conn:
            write(conn)
        conn.close()
        unchanged_ingest(world.db, roots, max_file_bytes=LIMIT)
        return world.answers.pop()

    assert answered_after(lambda conn: None) is not None
    # each guard alone: the generation every writer bumps, and the triggers of migration 010
    assert answered_after(lambda conn: conn.execute("UPDATE files SET seen_at = 0")) is None

    def bump_only(conn: sqlite3.Connection) -> None:
        for trigger in ("insert", "update", "delete"):
            conn.execute(f"DROP TRIGGER files_{trigger}_drops_fingerprint")
        conn.execute("UPDATE files SET seen_at = 0")
        kept = conn.execute("SELECT count(*) FROM meta WHERE key = ?", (TREE_FINGERPRINT,))
        assert kept.fetchone()[0] == 1
        bump_files_generation(conn)

    assert answered_after(bump_only) is None
    # a hand edit that loses an update: the full path reads the file again
    world.restore()
    conn = sqlite3.connect(world.db)
    with conn:
        conn.execute("UPDATE files SET size = size + 1 WHERE path LIKE '%a0.md'")
    conn.close()
    stale = unchanged_ingest(world.db, roots, max_file_bytes=LIMIT)
    assert isinstance(stale, ColdScan)
    assert [f.path for f in stale.scan.changed] == [str(world.tree / "more" / "a0.md")]


def test_an_ingest_with_a_file_it_could_not_store_stamps_nothing(world: World):
    world.restore()
    conn = sqlite3.connect(world.db)
    with conn:
        conn.execute("DELETE FROM meta WHERE key = ?", (TREE_FINGERPRINT,))
    conn.close()
    shutil.copy(world.db, world.saved)
    odd = os.path.join(os.fsencode(world.tree / "more"), b"caf\xe9.md")  # not UTF-8
    with open(odd, "wb") as fh:
        fh.write(article("odd", 50).encode())
    world.run(False)
    assert world.fingerprint() is None  # its name cannot be stored: rejected on every run
    world.run(True)
    assert world.answers == [None]


def test_an_ingest_that_met_another_writer_stamps_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    CHANGES["content"](world.tree)
    generation = bot.store.files.Files.generation
    calls = 0

    async def other_writer_first(self: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:  # between the run's writes and its check
            conn = sqlite3.connect(world.db)
            with conn:
                bump_files_generation(conn)
            conn.close()
        return await generation(self)

    monkeypatch.setattr(bot.store.files.Files, "generation", other_writer_first)
    world.run(False)
    assert calls and world.fingerprint() is None


async def ingest_changing_after_walk(
    world: World, monkeypatch: pytest.MonkeyPatch, path: Path, data: bytes
) -> None:
    """An ingest of the tree by the bot's Ingestor, with ``path`` rewritten (a new mtime) right
    after its walk."""

    def walk_then_write(*args: Any) -> Any:
        scan = scan_roots(*args)
        path.write_bytes(data)
        os.utime(path, ns=(1_900_000_000 * NS, 1_900_000_000 * NS))
        return scan

    monkeypatch.setattr(bot.ingest.ingestor, "scan_roots", walk_then_write)
    store = await Store.open(world.db)
    try:
        await Ingestor(store, max_file_bytes=LIMIT, workers=1).run([world.tree])
    finally:
        await store.close()


async def test_a_run_cut_short_or_a_file_changed_during_it_leaves_no_false_fingerprint(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    world.restore()
    roots = [world.tree]
    CHANGES["content"](world.tree)
    CHANGES["removed"](world.tree)

    async def crash(*args: object) -> None:
        raise RuntimeError("killed")

    store = await Store.open(world.db)
    try:
        ingestor = Ingestor(store, max_file_bytes=LIMIT, workers=1)
        monkeypatch.setattr(ingestor, "_remove", crash)
        with pytest.raises(RuntimeError):  # a0.md written, a1.md not forgotten
            await ingestor.run(roots)
    finally:
        await store.close()
    cut = unchanged_ingest(world.db, roots, max_file_bytes=LIMIT)
    assert world.answers.pop() is None
    assert isinstance(cut, ColdScan) and cut.scan.vanished == [str(world.tree / "more" / "a1.md")]

    # A file edited after the walk saw it: the store holds what the walk saw (stamped as such),
    # and the next cold run reads it again.
    world.restore()
    edited = world.tree / "more" / "a2.md"
    await ingest_changing_after_walk(
        world, monkeypatch, edited, article("story 2, edited", 52).encode("utf-8")
    )
    assert world.fingerprint() is not None
    again = unchanged_ingest(world.db, roots, max_file_bytes=LIMIT)
    assert world.answers.pop() is None
    assert isinstance(again, ColdScan) and [f.path for f in again.scan.changed] == [str(edited)]


async def test_a_file_that_changed_size_under_its_read_stamps_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    """The walk saw a changed file, which grew before it was read: the store holds the size it
    read, so no stamp (the walk's digest) may say unchanged once the file is put back as
    walked."""
    world.restore()
    roots = [world.tree]
    CHANGES["content"](world.tree)
    grown = world.tree / "more" / "a0.md"
    walked = grown.read_bytes(), grown.stat().st_mtime_ns
    await ingest_changing_after_walk(world, monkeypatch, grown, walked[0] + b"\nmore body\n")
    assert world.fingerprint() is None
    grown.write_bytes(walked[0])
    os.utime(grown, ns=(walked[1], walked[1]))
    back = unchanged_ingest(world.db, roots, max_file_bytes=LIMIT)
    assert world.answers.pop() is None
    assert isinstance(back, ColdScan) and [f.path for f in back.scan.changed] == [str(grown)]


async def test_the_bots_own_ingests_stamp_it(world: World, monkeypatch: pytest.MonkeyPatch):
    world.restore()
    conn = sqlite3.connect(world.db)
    with conn:
        conn.execute("DELETE FROM meta WHERE key = ?", (TREE_FINGERPRINT,))
    conn.close()
    roots = [world.tree]
    CHANGES["added"](world.tree)
    store = await Store.open(world.db)
    try:
        ingestor = Ingestor(store, max_file_bytes=LIMIT, workers=1, watch=True)
        try:
            first = await ingestor.run(roots)
            again = await ingestor.run(roots)  # the watches skip the walk
        finally:
            ingestor.close()
    finally:
        await store.close()
    assert (first.added, again.unchanged) == (1, 10)
    monkeypatch.setattr(bot.ingest.unchanged, "file_states", no_states)
    cold = unchanged_ingest(world.db, roots, max_file_bytes=LIMIT)
    assert isinstance(world.answers.pop(), IngestReport)
    assert isinstance(cold, IngestReport)
    assert (cold.files_seen, cold.unchanged, cold.rejected) == (11, 10, again.rejected)


def test_a_full_path_that_finds_nothing_changed_stamps_it(world: World):
    world.restore()
    conn = sqlite3.connect(world.db)
    with conn:
        conn.execute("DELETE FROM meta WHERE key = ?", (TREE_FINGERPRINT,))
    conn.close()
    roots = [world.tree]
    assert isinstance(unchanged_ingest(world.db, roots, max_file_bytes=LIMIT), IngestReport)
    assert world.answers.pop() is None
    assert world.fingerprint() is not None
    assert isinstance(unchanged_ingest(world.db, roots, max_file_bytes=LIMIT), IngestReport)
    assert isinstance(world.answers.pop(), IngestReport)
