"""Feed items as articles: one canonical URL is one article whatever the guid or tracking
parameters say, a file's own article wins over a feed's item, items and files merge into
stories, and an undated item keeps the moment it was first seen; on each store backend."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import aiohttp
import pytest

from bot.app import open_app
from bot.config import Config, parse_config
from bot.feeds.fetch import Fetcher
from bot.feeds.service import FeedService
from bot.store import open_store
from tests.feeds_server import FeedServer
from tests.fixtures.articles import article_file
from tests.postgres import create_database, drop_database, fetch_sql


def rss(*items: dict[str, str]) -> bytes:
    """An RSS 2.0 feed of items given as {tag: text}."""
    parts = []
    for item in items:
        inner = "".join(f"<{tag}>{escape(text)}</{tag}>" for tag, text in item.items())
        parts.append(f"<item>{inner}</item>")
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Test Wire</title>'
        "<link>https://wire.example/</link>" + "".join(parts) + "</channel></rss>"
    ).encode()


async def rows(config: Config, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of one query (``?`` placeholders) in the config's database."""
    store = await open_store(config.database)
    try:
        return await fetch_sql(store, sql, *params)
    finally:
        await store.close()


@pytest.fixture
async def database(backend: str, tmp_path: Path, request: pytest.FixtureRequest):
    """The [database] section of the backend under test (tests/postgres.py)."""
    if backend != "postgresql":
        yield f'[database]\npath = "{tmp_path / "db.sqlite3"}"\n'
        return
    server = request.getfixturevalue("postgres_server")
    url = await create_database(server)
    yield f'[database]\nurl = "{url}"\n'
    await drop_database(server, url)


def config_text(database: str, tmp_path: Path, urls: list[str], extra: str = "") -> str:
    sources = "".join(f'[[feeds.sources]]\nurl = "{url}"\ntopics = ["Wire"]\n' for url in urls)
    return f'{database}[ingest]\npaths = ["{tmp_path / "articles"}"]\n{extra}\n{sources}'


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as running:
        yield running


async def test_a_changed_guid_or_tracking_parameters_never_duplicate(
    server: FeedServer, tmp_path: Path, database: str
):
    story = {
        "title": "Robots learn to fold laundry",
        "link": "https://wire.example/robots",
        "guid": "wire-1",
        "pubDate": "Mon, 30 Nov 2026 09:00:00 GMT",
    }
    url = server.set("wire", rss(story))
    config = parse_config(config_text(database, tmp_path, [url]), {})
    async with open_app(config) as app:
        [first] = await app.feeds.fetch()
        assert (first.status, first.added) == ("ok", 1)
        [(article_id, seq)] = await rows(config, "SELECT id, change_seq FROM articles")
        changed = story | {
            "guid": "urn:uuid:0b7c-new",
            "link": "https://www.wire.example/robots/?utm_source=rss&utm_medium=feed#top",
        }
        server.set("wire", rss(changed))
        [second] = await app.feeds.fetch()
    assert (second.status, second.added) == ("ok", 0)
    assert await rows(config, "SELECT id, change_seq FROM articles") == [(article_id, seq)]


async def test_a_file_article_wins_over_a_feed_item_and_stories_merge(
    server: FeedServer, tmp_path: Path, database: str
):
    folder = tmp_path / "articles"
    folder.mkdir()
    article_file(folder, "own", "The file's own title", url="https://wire.example/own", quality=90)
    article_file(
        folder,
        "same-story",
        "Markets rally on chip news",
        url="https://other.example/markets",
        when="2026-11-30T08:00:00Z",
        provider="Other Paper",
    )
    url = server.set(
        "wire",
        rss(
            {
                "title": "A feed's title for the same URL",
                "link": "https://wire.example/own?utm_campaign=x",
                "pubDate": "Mon, 30 Nov 2026 09:00:00 GMT",
            },
            {
                "title": "Markets rally on chip news",
                "link": "https://wire.example/markets",
                "pubDate": "Mon, 30 Nov 2026 10:00:00 GMT",
            },
        ),
    )
    config = parse_config(config_text(database, tmp_path, [url]), {})
    async with open_app(config) as app:
        await app.ingestor.run([folder])
        [report] = await app.feeds.fetch()
        assert (report.added, report.updated) == (1, 0)
    [(title, quality, topics)] = await rows(
        config,
        "SELECT title, quality, topics FROM articles WHERE canonical_url = ?",
        "https://wire.example/own",
    )
    assert (title, quality) == ("The file's own title", 90)
    assert "Wire" not in topics
    stories = await rows(
        config,
        "SELECT DISTINCT story_id FROM articles WHERE canonical_url IN (?, ?)",
        "https://other.example/markets",
        "https://wire.example/markets",
    )
    assert len(stories) == 1  # the file's and the feed's article are one story


async def test_a_file_that_arrives_later_takes_over_the_feed_item(
    server: FeedServer, tmp_path: Path, database: str
):
    url = server.set(
        "wire",
        rss(
            {
                "title": "Feed words",
                "link": "https://wire.example/later",
                "pubDate": "Mon, 30 Nov 2026 09:00:00 GMT",
            }
        ),
    )
    folder = tmp_path / "articles"
    folder.mkdir()
    config = parse_config(config_text(database, tmp_path, [url]), {})
    async with open_app(config) as app:
        await app.feeds.fetch()
        article_file(folder, "later", "File words", url="https://wire.example/later/")
        report = await app.ingestor.run([folder])
        assert report.ok
        server.set(
            "wire",
            rss(
                {
                    "title": "Feed words, edited",
                    "link": "https://wire.example/later",
                    "pubDate": "Mon, 30 Nov 2026 09:00:00 GMT",
                }
            ),
        )
        await app.feeds.fetch()
    assert await rows(config, "SELECT title FROM articles") == [("File words",)]


async def test_an_undated_item_keeps_the_moment_it_was_first_seen(
    server: FeedServer, tmp_path: Path, database: str
):
    url = server.set("wire", rss({"title": "Undated one", "link": "https://wire.example/u1"}))
    config = parse_config(config_text(database, tmp_path, [url]), {})
    now = [1_800_000_000.0]
    store = await open_store(config.database)
    try:
        async with aiohttp.ClientSession() as session:
            service = FeedService(
                store, Fetcher(session), lambda: config, rng=random.Random(1), clock=lambda: now[0]
            )
            await service.fetch()
            now[0] += 3600
            server.set(
                "wire",
                rss(
                    {"title": "Undated one", "link": "https://wire.example/u1"},
                    {"title": "Undated two", "link": "https://wire.example/u2"},
                ),
            )
            [report] = await service.fetch()
        stored = await fetch_sql(store, "SELECT title, published_at FROM articles")
    finally:
        await store.close()
    assert report.added == 1
    assert dict(stored) == {
        "Undated one": 1_800_000_000,
        "Undated two": 1_800_003_600,
    }
