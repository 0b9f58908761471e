"""Files that change over time (DESIGN §3, issue 11 items 5 and 8): a deleted file's article is
gone and comes back with its file, `removed: true`, a broken edit keeps the last good article,
and the parser version (and the size limit) make the next ingest read files again."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import App, open_app
from bot.articles import PARSER_VERSION, Article, Provider, canonical_url
from bot.config import Config, DatabaseConfig
from bot.digests.selection import select
from bot.errors import UserError
from bot.ingest import Ingestor, IngestReport
from bot.news.service import NewsService
from bot.render import Payload
from bot.store import UNREAD_TOO_LARGE, FileRecord, Store, StoreInterface, SubscriptionSpec
from tests.fixtures.articles import article_file
from tests.postgres import create_database, execute_sql, fetch_sql

DOOMED = "Doomed robots learn to juggle"
DOOMED_URL = "https://example.org/doomed"
CH = 42
SPEC = SubscriptionSpec(
    schedule="0 9 * * *", timezone="UTC", topics=("AI",), min_quality=0, max_items=25
)


def titles(payloads: list[Payload]) -> list[str]:
    return [e["title"] for p in payloads for e in p["embeds"]]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three AI articles: the doomed one (its own topic Juggling too), another telling the same
    story at another URL (so each names the other in "also"), and one unrelated."""
    articles = tmp_path / "articles"
    articles.mkdir()
    article_file(
        articles,
        "doomed",
        DOOMED,
        url=DOOMED_URL,
        topics=("AI", "Juggling"),
        quality=80,
        provider="Doomed News",
        when="2024-05-01T12:00:00Z",  # newer than its twin: the story's first line on AI
    )
    article_file(articles, "twin", DOOMED, url="https://twin.example/doomed", provider="Twin Times")
    article_file(articles, "other", "Quiet article about compilers", quality=75)
    return articles


@pytest.fixture
async def app(
    tmp_path: Path, folder: Path, backend: str, request: pytest.FixtureRequest
) -> AsyncIterator[App]:
    """The app on each store backend (tests/postgres.py), the folder ingested."""
    url = None
    if backend == "postgresql":
        url = await create_database(request.getfixturevalue("postgres_server"))
    config = Config(database=DatabaseConfig(path=tmp_path / "db.sqlite3", url=url))
    async with open_app(config, workers=1) as app:
        report = await app.ingestor.run([folder])
        assert report.ok and report.added == 3, report.as_dict()
        yield app


async def ingest(app: App, *roots: Path) -> IngestReport:
    """As `newsbot ingest` runs: a fresh Ingestor (no cached states, no watches)."""
    return await Ingestor(app.store, max_file_bytes=1 << 20).run(list(roots))


async def due(store: StoreInterface, cursor: int = 0) -> list[str]:
    selection = await select(
        store.digests,
        CH,
        SPEC,
        cursor=cursor,
        now=1e10,
        default_max_age_days=0,
        canonical_topic=lambda n: n,
    )
    return [e.article.title + " @ " + e.article.url for e in selection.entries]


async def doomed_row(store: StoreInterface) -> tuple[int, int, int]:
    """(id, gone, change_seq) of the doomed article."""

    [row] = await fetch_sql(
        store, "SELECT id, gone, change_seq FROM articles WHERE url = ?", DOOMED_URL
    )
    return int(row[0]), int(row[1]), int(row[2])


async def full_text_intact(store: StoreInterface) -> None:
    """The full-text indexes are sound: FTS5's own check (an entry deleted that was never
    there breaks it); in PostgreSQL, a vector for every article that is not gone, and none for
    one that is."""
    if isinstance(store, Store):

        def work(conn: sqlite3.Connection) -> None:
            for table in ("articles_fts", "titles_fts"):
                conn.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")

        await store.run_write(work)
        assert await store.integrity_check() == "ok"
        return
    wrong = await fetch_sql(
        store,
        "SELECT id FROM articles WHERE (gone = 1) != (search IS NULL)"
        " OR (gone = 1) != (title_search IS NULL)",
    )
    assert wrong == []


async def shows_doomed(news: NewsService, store: StoreInterface) -> dict[str, bool]:
    """Where the doomed article shows: every list a member can reach it from."""
    topic = await news.topic("AI")
    try:
        juggling = DOOMED in titles(await news.topic("Juggling"))
    except UserError:  # no such topic (any more)
        juggling = False
    article_id, _gone, _seq = await doomed_row(store)
    twin_id = (await store.reads.search("twin times"))[0].article_id
    return {
        "topic": DOOMED_URL in str(topic),
        # shown itself, or named on its twin's "also" line
        "topic_also": "Doomed News" in str(topic),
        "juggling": juggling,
        "topic_choices": any(c["value"] == "Juggling" for c in await news.topic_choices("jug")),
        "search": any(e.article_id == article_id for e in await store.reads.search("doomed news")),
        "title_choices": any(
            c["value"] == str(article_id) for c in await news.article_choices("doomed robots")
        ),
        "recent_choices": any(
            c["value"] == str(article_id) for c in await news.article_choices("")
        ),
        "latest": any(e.article_id == article_id for e in await store.reads.latest(min_quality=0)),
        "story_members": any(
            e.article_id == article_id for e in await store.reads.story_members(twin_id)
        ),
        "digest": any(DOOMED_URL in line for line in await due(store)),
    }


EVERYWHERE = dict.fromkeys(
    [
        "topic",
        "topic_also",
        "juggling",
        "topic_choices",
        "search",
        "title_choices",
        "recent_choices",
        "latest",
        "story_members",
        "digest",
    ],
    True,
)
NOWHERE = dict.fromkeys(EVERYWHERE, False)


# --------------------------------------------------------------------------- deleted files


async def test_a_deleted_file_is_gone_everywhere_and_comes_back_with_its_file(
    app: App, folder: Path
):
    store, news = app.store, app.news
    assert await shows_doomed(news, store) == EVERYWHERE
    article_id, _, seq_before = await doomed_row(store)
    await execute_sql(store, "INSERT INTO deliveries VALUES (?, ?, 1, 1.0)", CH + 1, article_id)
    before = await store.status()
    doomed = folder / "doomed.md"
    saved = doomed.read_bytes(), doomed.stat().st_mtime_ns
    doomed.unlink()

    report = await ingest(app, folder)
    assert (report.gone, report.as_dict()["gone"], report.ok) == (1, 1, True)
    assert "1 gone" in report.summary()
    assert await shows_doomed(news, store) == NOWHERE
    assert (await doomed_row(store))[1] == 1
    status = await store.status()
    assert (status.gone_files, status.files) == (1, 2)
    assert status.articles == before.articles - 1
    assert status.topics == before.topics - 1  # Juggling had only the doomed article
    assert await store.reads.topics("ai") == [("AI", 2)]  # counts leave gone articles out
    assert await store.digests.delivered_article_ids(CH + 1) == [article_id]  # the ledger stays
    again = await ingest(app, folder)
    assert (again.gone, again.unchanged) == (0, 2)  # reported once

    # The same bytes come back, even with the old mtime: the article is back, with a new
    # change sequence value (due if it was never delivered; the ledger keeps out a repeat).
    doomed.write_bytes(saved[0])
    os.utime(doomed, ns=(saved[1], saved[1]))
    back = await ingest(app, folder)
    assert (back.restored, back.added, back.gone, back.unchanged) == (1, 0, 0, 2)
    assert "1 restored" in back.summary()
    assert await shows_doomed(news, store) == EVERYWHERE
    _, gone, seq_after = await doomed_row(store)
    assert gone == 0 and seq_after > seq_before
    assert any(DOOMED_URL in line for line in await due(store, cursor=seq_before))
    status = await store.status()
    assert (status.gone_files, status.articles, status.topics) == (
        0,
        before.articles,
        before.topics,
    )
    await full_text_intact(store)


async def test_the_watched_bot_notices_a_deletion(tmp_path: Path, folder: Path):
    store = await Store.open(tmp_path / "watched.sqlite3")
    ingestor = Ingestor(store, max_file_bytes=1 << 20, workers=1, watch=True)
    try:
        assert (await ingestor.run([folder])).added == 3
        assert (await ingestor.run([folder])).unchanged == 3  # the walk skipped: nothing changed
        (folder / "doomed.md").unlink()
        report = await ingestor.run([folder])
        assert (report.gone, report.unchanged) == (1, 2)
        assert not any(e.article.url == DOOMED_URL for e in await store.reads.search("juggle"))
        assert (await ingestor.run([folder])).gone == 0
    finally:
        ingestor.close()
        await store.close()


async def test_a_renamed_file_keeps_its_article_as_it_was(app: App, folder: Path):
    _, _, seq = await doomed_row(app.store)
    (folder / "doomed.md").rename(folder / "sub_doomed.md")
    report = await ingest(app, folder)
    assert (report.gone, report.restored, report.unchanged) == (1, 0, 3)
    _, gone, seq_after = await doomed_row(app.store)
    assert (gone, seq_after) == (0, seq)


async def test_an_article_two_files_hold_stays_while_one_is_left(app: App, folder: Path):
    shutil.copy(folder / "doomed.md", folder / "copy.md")
    assert (await ingest(app, folder)).unchanged == 4
    (folder / "doomed.md").unlink()
    assert (await ingest(app, folder)).gone == 1
    assert (await doomed_row(app.store))[1] == 0
    (folder / "copy.md").unlink()
    assert (await ingest(app, folder)).gone == 1
    assert (await doomed_row(app.store))[1] == 1


async def test_ingesting_another_path_marks_nothing_of_the_first_gone(
    app: App, folder: Path, tmp_path: Path
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    article_file(elsewhere, "far", "A far away article")
    single = article_file(tmp_path, "single", "A file given as a root")
    report = await ingest(app, elsewhere, single)
    assert (report.added, report.gone) == (2, 0)
    assert await shows_doomed(app.news, app.store) == EVERYWHERE
    # A folder whose name starts like the first one's is another folder.
    sibling = tmp_path / "articles2"
    sibling.mkdir()
    assert (await ingest(app, sibling)).gone == 0
    (elsewhere / "far.md").unlink()
    assert (await ingest(app, elsewhere, single)).gone == 1
    single.unlink()
    assert (await ingest(app, folder, single)).gone == 0  # a missing file root: left alone
    assert (await app.store.status()).gone_files == 1


async def test_a_missing_root_marks_nothing_gone(app: App, folder: Path):
    os.rename(folder, folder.with_name("unmounted"))
    report = await ingest(app, folder)
    assert (report.missing_paths, report.gone, report.files_seen) == ([str(folder)], 0, 0)
    assert (await doomed_row(app.store))[1] == 0
    assert (await app.store.status()).gone_files == 0


async def test_a_folder_that_cannot_be_read_marks_nothing_gone(
    app: App, folder: Path, monkeypatch: pytest.MonkeyPatch
):
    sub = folder / "sub"
    sub.mkdir()
    os.rename(folder / "doomed.md", sub / "doomed.md")
    assert (await ingest(app, folder)).gone == 1
    opened = os.open

    def refuse_sub(path: str, flags: int, *args: int) -> int:
        if os.fspath(path) == str(sub):
            raise PermissionError(13, "Permission denied", path)
        return opened(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse_sub)  # as a folder of mode 000 is to a non-root user
    report = await ingest(app, folder)
    assert (report.gone, report.files_seen) == (0, 2)
    assert (await doomed_row(app.store))[1] == 0


# --------------------------------------------------------------------------- removed: true


async def test_removed_true_is_gone_and_dropping_it_restores(app: App, folder: Path):
    store, news = app.store, app.news
    doomed = folder / "doomed.md"
    good = doomed.read_text(encoding="utf-8")
    _, _, seq = await doomed_row(store)
    doomed.write_text(good.rstrip("-\n") + "\nremoved: true\n---\n", encoding="utf-8")
    report = await ingest(app, folder)
    assert (report.updated, report.gone, report.ok) == (1, 0, True)
    assert await shows_doomed(news, store) == NOWHERE
    assert (await store.status()).gone_files == 1
    assert (await ingest(app, folder)).unchanged == 3  # still removed, nothing written

    doomed.write_text(good.rstrip("-\n") + "\nremoved: false\n---\n", encoding="utf-8")
    back = await ingest(app, folder)
    assert (back.restored, back.updated) == (1, 0)
    assert await shows_doomed(news, store) == EVERYWHERE
    assert (await doomed_row(store))[2] > seq
    await full_text_intact(store)


# --------------------------------------------------------------------------- broken edits


async def test_a_broken_edit_keeps_the_last_good_article_and_is_reported_until_fixed(
    app: App, folder: Path
):
    store, news = app.store, app.news
    doomed = folder / "doomed.md"
    good = doomed.read_text(encoding="utf-8")
    doomed.write_text(good.replace("title:", "tittle:"), encoding="utf-8")
    for _ in range(2):  # reported on every run, the file unchanged or not
        report = await ingest(app, folder)
        assert not report.ok
        assert report.rejected == [(str(doomed), "title: missing (required)")]
        assert await shows_doomed(news, store) == EVERYWHERE
    status = await store.status()
    assert status.rejected_files == ((str(doomed), "title: missing (required)"),)
    assert status.as_dict()["rejected_files"] == [
        {"path": str(doomed), "reason": "title: missing (required)"}
    ]
    # Deleted while broken: its last good article goes with it.
    doomed.unlink()
    assert (await ingest(app, folder)).gone == 1
    assert (await doomed_row(store))[1] == 1
    assert (await store.status()).rejected_files == ()
    # Fixed: back, and no longer reported.
    doomed.write_text(good, encoding="utf-8")
    fixed = await ingest(app, folder)
    assert fixed.ok and fixed.restored == 1
    assert (await store.status()).rejected_files == ()


# --------------------------------------------------------------------------- parser version


async def file_versions(store: StoreInterface) -> dict[str, int]:
    rows = await fetch_sql(store, "SELECT path, parser_version FROM files")
    return {Path(path).name: version for path, version in rows}


async def misread(store: StoreInterface) -> None:
    """The doomed article as a parser with a bug would have stored it."""
    await execute_sql(
        store,
        "UPDATE articles SET category = 'misread', fingerprint = 'older' WHERE url = ?",
        DOOMED_URL,
    )


async def test_files_read_by_an_older_parser_are_read_again(app: App, folder: Path):
    store = app.store
    assert set((await file_versions(store)).values()) == {PARSER_VERSION}
    seqs = await fetch_sql(store, "SELECT url, change_seq FROM articles ORDER BY id")
    # Files an older parser read (0: a database migrated from before parser versions), and
    # what that parser made of one of them.
    await execute_sql(store, "UPDATE files SET parser_version = 0")
    await misread(store)
    again = await ingest(app, folder)  # same bytes, size and mtime
    assert (again.updated, again.unchanged, again.added) == (1, 2, 0)
    assert set((await file_versions(store)).values()) == {PARSER_VERSION}
    entry = await store.reads.entry_by_url(DOOMED_URL)
    assert entry is not None and entry.article.category is None  # read again, as it is now
    # nothing that was already right took a new change sequence value
    assert await fetch_sql(store, "SELECT url, change_seq FROM articles ORDER BY id") == seqs
    assert (await ingest(app, folder)).unchanged == 3  # and then no more


async def test_files_read_by_this_parser_are_not_read_again(app: App, folder: Path):
    """What makes the test above read the files again is the version alone."""
    store = app.store
    await misread(store)
    assert (await ingest(app, folder)).unchanged == 3
    entry = await store.reads.entry_by_url(DOOMED_URL)
    assert entry is not None and entry.article.category == "misread"


async def test_a_file_too_large_is_read_again_when_the_limit_allows_it(app: App, folder: Path):
    store = app.store
    big = article_file(folder, "big", "A long read about AI", excerpt="words " * 100)
    size = big.stat().st_size
    small = await Ingestor(store, max_file_bytes=size - 1).run([folder])
    assert [reason for _, reason in small.rejected] == [
        f"file is {size} bytes; the limit is {size - 1} ([ingest] max_file_bytes)"
    ]
    assert (await file_versions(store))["big.md"] == UNREAD_TOO_LARGE
    # the same limit: not read again (still too large), still reported
    same = await Ingestor(store, max_file_bytes=size - 1).run([folder])
    assert (same.unchanged, len(same.rejected)) == (3, 1)
    raised = await Ingestor(store, max_file_bytes=size).run([folder])
    assert (raised.added, raised.rejected) == (1, [])
    assert (await file_versions(store))["big.md"] == PARSER_VERSION


# --------------------------------------------------------------------------- one batch


def doomed_record(path: str, *, removed: bool) -> FileRecord:
    article = Article(
        url=DOOMED_URL,
        canonical_url=canonical_url(DOOMED_URL),
        title=DOOMED,
        published_at=datetime(2024, 5, 1, 12, tzinfo=UTC),
        provider=Provider("Doomed News"),
        topics=("AI", "Juggling"),
        quality=80,
        published=True,
        removed=removed,
    )
    return FileRecord(path, 1, 1, path + str(removed), article=article)


@pytest.mark.parametrize("last_removed", [True, False])
async def test_two_files_of_one_article_in_one_batch_the_last_one_wins(
    app: App, folder: Path, last_removed: bool
):
    """Two files with one URL in one batch, one of them saying `removed: true`: the article is
    what the last one says, on topic pages and in search alike (from a gone start and a live
    one)."""
    store = app.store
    for start in (True, False):
        await store.articles.apply_batch([doomed_record("/x/start", removed=start)], now=5.0)
        batch = [
            doomed_record("/x/a", removed=not last_removed),
            doomed_record("/x/b", removed=last_removed),
        ]
        await store.articles.apply_batch(batch, now=6.0)
        shown = await shows_doomed(app.news, store)
        assert (shown["search"], shown["topic"]) == (not last_removed, not last_removed)
        await full_text_intact(store)
