"""A cold walk split among forked processes finds exactly what one process walking alone finds."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from bot.ingest.walk import Scan, scan_roots, survey_roots
from bot.store import FileState

# The module, not bot.ingest.walk (the package exports a function of that name).
WALK = importlib.import_module("bot.ingest.walk")


def _tree(root: Path) -> dict[str, FileState]:
    """A tree with every case the walk has rules for, and what the store knows of it."""
    for folder in range(6):
        for n in range(40):
            (root / "r" / f"d{folder}" / "deeper").mkdir(parents=True, exist_ok=True)
            (root / "r" / f"d{folder}" / f"{n:03d}.md").write_text(f"{folder} {n}")
    (root / "r" / "d0" / "deeper" / "x.yaml").write_text("x")
    (root / "r" / ".hidden.md").write_text("hidden")
    (root / "r" / "notes.pdf").write_text("not an article")
    (root / "other").mkdir()
    (root / "other" / "o.md").write_text("o")
    os.symlink(root / "other", root / "r" / "link")  # o.md is reached twice
    os.symlink(root / "r", root / "r" / "d1" / "loop")  # a loop, cut by inode
    os.symlink(root / "r" / "d2" / "000.md", root / "r" / "linked.md")
    odd = os.path.join(os.fsencode(root / "r"), b"caf\xe9.md")  # not UTF-8
    with open(odd, "wb") as fh:
        fh.write(b"odd")
    known: dict[str, FileState] = {}
    for dirpath, _dirs, names in os.walk(root / "r", followlinks=False):
        for name in names:
            path = os.path.join(dirpath, name)
            if name.startswith(".") or not name.endswith((".md", ".yaml")):
                continue
            st = os.stat(path)
            known[path] = (path, st.st_size, st.st_mtime_ns, None)
    return known


def _same(one: Scan, other: Scan) -> None:
    assert other.files == one.files
    assert other.unchanged == one.unchanged
    assert other.changed == one.changed  # in walk order
    assert other.rejected == one.rejected
    assert other.missing == one.missing
    assert sorted(other.vanished) == sorted(one.vanished)
    assert other.tree == one.tree  # the same digest however the walk was split


@pytest.mark.parametrize("shares", [2, 3])
def test_shared_walk_reports_what_a_lone_walk_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shares: int
):
    known = _tree(tmp_path)
    r = tmp_path / "r"
    # Changed (size, mtime), rejected and vanished files, a known file outside the roots, a
    # folder that cannot be read, a file root also inside a folder root, a missing root.
    known[str(r / "d0" / "001.md")] = (str(r / "d0" / "001.md"), 999, 1, None)
    for n in (2, 3, 4):
        path = str(r / "d3" / f"{n:03d}.md")
        known[path] = (*known[path][:3], "no title")
    for n in (5, 6, 7):
        os.remove(r / "d4" / f"{n:03d}.md")
    known[str(tmp_path / "elsewhere" / "e.md")] = (str(tmp_path / "elsewhere" / "e.md"), 1, 1, None)
    del known[str(r / "d5" / "010.md")]  # new to the store
    unreadable = r / "d5" / "deeper"
    (unreadable / "u.md").write_text("u")
    known[str(unreadable / "u.md")] = (str(unreadable / "u.md"), 1, 1, None)
    unreadable.chmod(0)
    monkeypatch.chdir(tmp_path)
    roots = [r / "d2" / "005.md", r, tmp_path / "nope", Path("r/d3")]  # d3: reached twice
    try:
        monkeypatch.setattr(WALK, "_shares", lambda files, watch: 1)
        alone = scan_roots(roots, known)
        monkeypatch.setattr(WALK, "_shares", lambda files, watch: shares)
        shared = scan_roots(roots, known)
        surveyed = survey_roots(roots, len(known))
        monkeypatch.setattr(WALK, "_shares", lambda files, watch: 1)
        surveyed_alone = survey_roots(roots, len(known))
    finally:
        unreadable.chmod(0o755)
    if os.geteuid() != 0:  # root reads any folder
        assert str(unreadable / "u.md") not in alone.vanished
    assert alone.changed and alone.rejected and alone.vanished and alone.missing
    _same(alone, shared)
    # A survey compares nothing, and digests the tree as the comparing walk does.
    for survey in (surveyed, surveyed_alone):
        assert (survey.files, survey.missing, survey.tree) == (
            alone.files,
            alone.missing,
            alone.tree,
        )
        assert (survey.changed, survey.rejected, survey.vanished) == ([], [], [])


def test_an_unchanged_large_tree_is_walked_by_several_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    known = _tree(tmp_path)
    monkeypatch.setattr(WALK, "FORK_MIN_KNOWN", len(known))
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    monkeypatch.setattr(WALK, "_busy_cores", lambda: 0)  # this process alone
    started: list[Scan | None] = []
    forked = WALK._forked_scan

    def spy(*args: object) -> Scan | None:
        scan: Scan | None = forked(*args)
        started.append(scan)
        return scan

    monkeypatch.setattr(WALK, "_forked_scan", spy)
    scan = scan_roots([tmp_path / "r"], known)
    assert started and started[0] is scan
    # Every known file unchanged; the linked folder's o.md is new to the store.
    assert (scan.files, scan.unchanged, scan.vanished) == (len(known) + 1, len(known), [])
    assert [f.path for f in scan.changed] == [str(tmp_path / "r" / "link" / "o.md")]
    # Both cores busy, or a small tree: one process walks.
    monkeypatch.setattr(WALK, "_busy_cores", lambda: 1)
    assert WALK._shares(len(known), None) == 1
    monkeypatch.setattr(WALK, "_busy_cores", lambda: 0)
    assert WALK._shares(len(known), None) == 2
    monkeypatch.setattr(WALK, "FORK_MIN_KNOWN", len(known) + 1)
    assert WALK._shares(len(known), None) == 1


def test_a_child_that_dies_leaves_the_walk_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    known = _tree(tmp_path)
    monkeypatch.setattr(WALK, "_shares", lambda files, watch: 2)

    def die(*_args: object, **_kwargs: object) -> None:
        os._exit(3)

    monkeypatch.setattr(WALK, "_walk_share", die)
    scan = scan_roots([tmp_path / "r"], known)
    assert scan.unchanged == len(known) and scan.vanished == []


def test_busy_cores_are_the_other_runnable_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # this test's own process is runnable while it reads: it does not count itself
    assert WALK._busy_cores() >= 0
    loadavg = tmp_path / "loadavg"
    loadavg.write_bytes(b"0.50 0.40 0.30 3/512 4242\n")
    assert WALK._busy_cores(str(loadavg)) == 2
    loadavg.write_bytes(b"garbled")  # the last minute's load instead
    monkeypatch.setattr(os, "getloadavg", lambda: (2.5, 1.0, 1.0))
    assert WALK._busy_cores(str(loadavg)) == 1.5


def test_the_tree_digest_changes_with_what_the_walk_sees(tmp_path: Path):
    _tree(tmp_path)
    roots = [tmp_path / "r"]
    a, b = tmp_path / "r" / "d0" / "000.md", tmp_path / "r" / "d0" / "001.md"
    os.utime(a, ns=(1, 1_700_000_000_000_000_000))
    os.utime(b, ns=(1, 1_700_000_000_000_000_001))
    st_a, st_b = a.stat(), b.stat()
    digest = survey_roots(roots, 0).tree
    assert survey_roots(roots, 0).tree == digest
    os.utime(a, ns=(st_a.st_atime_ns, st_a.st_mtime_ns + 1))
    assert survey_roots(roots, 0).tree != digest
    # the two files trade their sizes and mtimes: the same multiset, on other names
    a.write_text("0 1")
    b.write_text("0 0")
    os.utime(a, ns=(st_b.st_atime_ns, st_b.st_mtime_ns))
    os.utime(b, ns=(st_a.st_atime_ns, st_a.st_mtime_ns))
    assert survey_roots(roots, 0).tree != digest
    os.utime(a, ns=(st_a.st_atime_ns, st_a.st_mtime_ns))
    os.utime(b, ns=(st_b.st_atime_ns, st_b.st_mtime_ns))
    a.write_text("0 0")
    b.write_text("0 1")
    os.utime(a, ns=(st_a.st_atime_ns, st_a.st_mtime_ns))
    os.utime(b, ns=(st_b.st_atime_ns, st_b.st_mtime_ns))
    assert survey_roots(roots, 0).tree == digest  # back as it was
    assert survey_roots([*roots, tmp_path / "nope"], 0).tree != digest  # a root more
    assert survey_roots([Path(os.path.relpath(roots[0]))], 0).tree != digest  # named otherwise
