"""A cold `newsbot ingest` that finds nothing changed (bot.ingest.unchanged): it reports exactly
what the full ingest reports, hands every tree with a change to the full ingest with the walk it
made (which then does exactly what a full ingest that walks itself does), and imports neither
the event loop, aiosqlite, the parser nor the store's areas."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import bot.cli
import bot.ingest.ingestor
import bot.ingest.unchanged
from bot.cli import main
from bot.ingest.report import IngestReport
from bot.ingest.unchanged import unchanged_ingest
from bot.ingest.walk import ColdScan

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
NS = 1_000_000_000
# exit code, JSON report without its duration, what the database holds
Outcome = tuple[int, dict[str, Any], dict[str, Any]]


def article(title: str, quality: int, *, published: str = "2024-01-02T03:04:05Z") -> str:
    return (
        f"---\ntitle: {title}\nwebUrl: https://example.com/{title.replace(' ', '-')}\n"
        f"publishedDateTime: {published}\nquality: {quality}\npublished: true\n"
        "topics: [AI]\n---\n"
    )


def make_tree(tree: Path) -> None:
    """Seeds, a few files of our own in a subfolder, one rejected file, and one whose publish
    time is in the future (due later with no change to its file)."""
    shutil.copytree(SEEDS, tree)
    sub = tree / "more"
    sub.mkdir()
    for i in range(3):
        (sub / f"a{i}.md").write_text(article(f"story {i}", 50 + i), encoding="utf-8")
    (sub / "bad.md").write_text("---\ntitle: no link\n---\n", encoding="utf-8")
    (sub / "later.md").write_text(
        article("later", 70, published="2099-01-01T00:00:00Z"), encoding="utf-8"
    )
    for n, path in enumerate(sorted(p for p in tree.rglob("*") if p.is_file())):
        os.utime(path, ns=(1_700_000_000 * NS + n, 1_700_000_000 * NS + n))


def edit_content(tree: Path) -> None:
    path = tree / "more" / "a0.md"
    path.write_text(article("story 0", 90), encoding="utf-8")  # same size, new quality
    os.utime(path, ns=(1_800_000_000 * NS, 1_800_000_000 * NS))


def add_file(tree: Path) -> None:
    path = tree / "more" / "new.md"
    path.write_text(article("brand new", 60), encoding="utf-8")
    os.utime(path, ns=(1_800_000_000 * NS, 1_800_000_000 * NS))


def remove_file(tree: Path) -> None:
    (tree / "more" / "a1.md").unlink()


def rename_file(tree: Path) -> None:
    (tree / "more" / "a2.md").rename(tree / "more" / "a2-moved.md")


def touch_same_size(tree: Path) -> None:
    os.utime(tree / "more" / "a0.md", ns=(1_800_000_000 * NS, 1_800_000_000 * NS))


def fix_rejected(tree: Path) -> None:
    path = tree / "more" / "bad.md"
    path.write_text(article("fixed", 55), encoding="utf-8")
    os.utime(path, ns=(1_800_000_000 * NS, 1_800_000_000 * NS))


def nothing(tree: Path) -> None:
    pass


CHANGES: dict[str, Callable[[Path], None]] = {
    "content": edit_content,
    "added": add_file,
    "removed": remove_file,
    "renamed": rename_file,
    "touched, same size": touch_same_size,
    "rejected file fixed": fix_rejected,
}


@pytest.fixture
def world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """A function that ingests the initial tree into a fresh database, applies a change, and
    runs `newsbot ingest --json` with the unchanged path allowed or not: exit code, report and
    what the database holds. Each call starts from the same paths, so two calls compare."""
    base = tmp_path / "base"
    make_tree(base / "tree")
    config = base / "config.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "w" / "db.sqlite3"}"\n'
        f'[ingest]\npaths = ["{tmp_path / "w" / "tree"}"]\n',
        encoding="utf-8",
    )
    shutil.copytree(base, tmp_path / "w")
    assert main(["ingest", "--config", str(config)]) == 1  # bad.md
    capsys.readouterr()
    shutil.copytree(tmp_path / "w", base, dirs_exist_ok=True)  # with the ingested database

    def run(change: Callable[[Path], None], fast: bool, extra: tuple[str, ...] = ()) -> Outcome:
        shutil.rmtree(tmp_path / "w")
        shutil.copytree(base, tmp_path / "w")
        change(tmp_path / "w" / "tree")
        with pytest.MonkeyPatch.context() as patch:
            if fast:  # the full ingest starts from the cold walk: it must not walk again
                patch.setattr(bot.ingest.ingestor, "scan_roots", walked_twice)
            else:
                patch.setattr(bot.cli, "_ingest_unchanged", lambda *args: None)
            code = main(["ingest", *extra, "--config", str(config), "--json"])
        report = json.loads(capsys.readouterr().out)
        assert isinstance(report.pop("duration_s"), float)
        return code, report, database(tmp_path / "w" / "db.sqlite3")

    return run


def walked_twice(*args: object) -> None:
    raise AssertionError("the full ingest walked again after the cold walk")


def database(path: Path) -> dict[str, Any]:
    """What an ingest decides: the files table and the articles (times of writing left out)."""
    conn = sqlite3.connect(path)
    try:
        return {
            "files": conn.execute(
                "SELECT path, size, mtime_ns, hash, status, error, parser_version, article_id"
                " FROM files ORDER BY path"
            ).fetchall(),
            "articles": conn.execute(
                "SELECT canonical_url, title, quality, published, gone, change_seq, story_id"
                " FROM articles ORDER BY canonical_url"
            ).fetchall(),
            "meta": conn.execute(
                "SELECT key, value FROM meta WHERE key != 'last_ingest_at' ORDER BY key"
            ).fetchall(),
            "stamped": conn.execute(
                "SELECT count(*) FROM meta WHERE key = 'last_ingest_at'"
            ).fetchone()[0],
        }
    finally:
        conn.close()


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[IngestReport | ColdScan | None]:
    """What each unchanged_ingest call answered."""
    answers: list[IngestReport | ColdScan | None] = []

    def spying(*args, **kwargs):
        answers.append(unchanged_ingest(*args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(bot.ingest.unchanged, "unchanged_ingest", spying)
    return answers


def test_unchanged_tree_reports_what_the_full_ingest_reports(world, spy):
    fast = world(nothing, True)
    assert isinstance(spy[-1], IngestReport)  # the unchanged path answered
    full = world(nothing, False)
    assert fast == full
    code, report, _db = fast
    assert code == 1  # bad.md is still rejected, as every run says
    assert report["unchanged"] == report["files"] - 1 == 9 and len(report["rejected"]) == 1


def test_a_missing_root_is_reported_alike(world, spy, tmp_path: Path):
    extra = (str(tmp_path / "w" / "tree"), str(tmp_path / "nowhere"))
    fast = world(nothing, True, extra)
    assert isinstance(spy[-1], IngestReport)
    assert fast == world(nothing, False, extra)
    assert fast[0] == 1 and fast[1]["missing_paths"] == [str(tmp_path / "nowhere")]


@pytest.mark.parametrize("name", list(CHANGES))
def test_every_change_goes_to_the_full_ingest_with_the_walk(world, spy, name: str):
    fast = world(CHANGES[name], True)
    assert isinstance(spy[-1], ColdScan)  # handed over with its walk, nothing written
    assert fast == world(CHANGES[name], False)  # as when the full ingest walks itself


def test_a_stale_parser_version_or_an_older_schema_is_not_unchanged(world, tmp_path: Path):
    world(nothing, True)
    db = tmp_path / "w" / "db.sqlite3"
    tree = [tmp_path / "w" / "tree"]
    assert isinstance(unchanged_ingest(db, tree, max_file_bytes=1 << 20), IngestReport)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE files SET parser_version = 1 WHERE path LIKE '%a0.md'")
    stale = unchanged_ingest(db, tree, max_file_bytes=1 << 20)
    assert isinstance(stale, ColdScan)  # read again by the full ingest
    assert [f.path for f in stale.scan.changed] == [str(tree[0] / "more" / "a0.md")]
    with conn:
        conn.execute("UPDATE files SET parser_version = (SELECT max(parser_version) FROM files)")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    assert unchanged_ingest(db, tree, max_file_bytes=1 << 20) is None
    assert unchanged_ingest(tmp_path / "none.sqlite3", tree, max_file_bytes=1 << 20) is None
    assert not (tmp_path / "none.sqlite3").exists()


def test_the_unchanged_path_stamps_the_run(world, tmp_path: Path):
    world(nothing, True)
    db = tmp_path / "w" / "db.sqlite3"
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM meta WHERE key = 'last_ingest_at'")
    conn.close()
    report = unchanged_ingest(db, [tmp_path / "w" / "tree"], max_file_bytes=1 << 20)
    assert isinstance(report, IngestReport) and report.files_seen == 10
    assert database(db)["stamped"] == 1


# Modules an unchanged `newsbot ingest` has no use for: each costs start-up time.
HEAVY = (
    "asyncio",
    "aiosqlite",
    "yaml",
    "concurrent.futures",
    "bot.articles.parse",
    "bot.store.db",
    "bot.store.write",
    "bot.store.digests",
    "bot.store.records",
    "bot.ingest.ingestor",
    "bot.ingest.pool",
    "bot.app",
)


def imported_by_ingest(config: Path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", "--config", str(config), "ingest"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }


def test_an_unchanged_ingest_imports_no_heavy_module(tmp_path: Path):
    tree = tmp_path / "tree"
    shutil.copytree(SEEDS, tree)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "db.sqlite3"}"\n[ingest]\npaths = ["{tree}"]\n',
        encoding="utf-8",
    )
    first = imported_by_ingest(config)  # a fresh database: the full ingest
    assert set(HEAVY) <= first
    assert imported_by_ingest(config).isdisjoint(HEAVY)
    (tree / "000_296fba2a2fa8a840.txt").touch()  # any change: the full ingest again
    assert set(HEAVY) <= imported_by_ingest(config)
