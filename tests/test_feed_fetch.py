"""Fetching feeds end to end in-process: the local feed server (tests/feeds_server.py), the real
Fetcher on an aiohttp session, the service, the store. Good feeds load and come back 304;
each hostile behaviour is reported with its reason while the others load."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import bot.feeds.service as feed_service
from bot.app import open_app
from bot.config import Config, parse_config
from bot.feeds.fetch import Fetcher, retry_after_seconds
from bot.feeds.health import DISABLE_AFTER_S, ONE_DAY_S
from bot.feeds.service import FeedService, UnknownFeed
from bot.store import Store
from tests.feeds_server import BIG_BYTES, RETRY_AFTER_S, FeedServer
from tests.fixtures.feed_files import feed_body, xxe_secret

GOOD = [
    "/feed/rss2_cdata_media.xml",
    "/feed/atom_xhtml.xml",
    "/feed/rss1_rdf.xml",
    "/feed/jsonfeed_1_1.json",
    "/feed/relative_links.xml",
    "/feed/no_dates.xml",
    "/feed/duplicate_guids.xml",
    "/feed/items_1000.xml",
    "/feed/wrong_content_type.xml",
]


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as running:
        yield running


def make_config(tmp_path: Path, urls: list[str], feeds: str = "") -> Config:
    sources = "".join(f'[[feeds.sources]]\nurl = "{url}"\n' for url in urls)
    text = f'[database]\npath = "{tmp_path / "db.sqlite3"}"\n[feeds]\n{feeds}\n{sources}'
    return parse_config(text, {})


def rows(tmp_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
def secret() -> Iterator[str]:
    with xxe_secret() as value:
        yield value


async def test_fixture_feeds_load_then_come_back_not_modified(server: FeedServer, tmp_path: Path):
    urls = [server.url(path) for path in GOOD]
    async with open_app(make_config(tmp_path, urls)) as app:
        first = await app.feeds.fetch()
        assert [r.status for r in first] == ["ok"] * len(GOOD), [r.line() for r in first]
        assert all(r.added > 0 for r in first), [r.line() for r in first]
        stored = await app.store.status()
        assert stored.articles == sum(r.added for r in first)
        assert (stored.feeds, stored.failing_feeds) == (len(GOOD), 0)
        second = await app.feeds.fetch()
    assert [r.status for r in second] == ["not_modified"] * len(GOOD)
    assert [r.line() for r in second] == [f"{url}: not modified" for url in urls]
    for path in GOOD:
        again = server.seen(path)[-1].headers
        assert again.get("If-None-Match") or again.get("If-Modified-Since"), path
        assert server.seen(path)[0].headers.get("If-None-Match") is None  # first: unconditional
    states = rows(
        tmp_path, "SELECT last_status, items, failures, next_fetch > last_fetch FROM feeds"
    )
    assert all(s[0] == "not_modified" and s[1] > 0 and s[2] == 0 and s[3] for s in states)
    # items are articles like any other: provider, topics, published, a change sequence value
    [(provider, domain, published, seq)] = rows(
        tmp_path,
        "SELECT provider_name, provider_domain, published, change_seq FROM articles"
        " WHERE canonical_url = 'https://many.example/story/7'",
    )
    assert (provider, domain, published) == ("Many Items", "many.example", 1)
    assert seq is not None and seq > 0


async def test_gzip_and_deflate_bodies_load_like_plain_ones(server: FeedServer, tmp_path: Path):
    urls = [server.url("/gzip/items_50.xml"), server.url("/deflate/atom_xhtml.xml")]
    async with open_app(make_config(tmp_path, urls)) as app:
        reports = await app.feeds.fetch()
    assert [(r.status, r.added) for r in reports] == [("ok", 50), ("ok", 2)]
    assert server.seen("/gzip/items_50.xml")[0].headers["Accept-Encoding"] == "gzip, deflate"


async def test_hostile_feeds_each_fail_with_their_reason_and_the_rest_load(
    server: FeedServer, tmp_path: Path, secret: str
):
    hostile = {
        "/big": "too large",
        "/big-declared": "too large: 52428800 bytes",
        "/bomb": "inflated",
        "/hang": "timed out after 5 s",
        "/loop/0": "more than 5 redirects",
        "/to-file": "non-http(s) URL: file:///etc/passwd",
        "/feed/billion_laughs.xml": "entity",
        "/feed/xxe_local_file.xml": "entity",
        "/feed/html_page.html": "not a feed: HTML page",
        "/limited": "HTTP 429",
    }
    urls = [server.url(path) for path in [*hostile, "/feed/rss2_cdata_media.xml"]]
    baseline_kib = _reset_peak_rss()
    started = time.monotonic()
    # 5 s: on loaded cores a 2 s deadline could end the big bodies before they were too large
    async with open_app(make_config(tmp_path, urls, "timeout_seconds = 5")) as app:
        reports = {r.url: r for r in await app.feeds.fetch()}
        assert (await app.store.status()).failing_feeds == len(hostile)
    assert time.monotonic() - started < 30  # the hanging server did not hold up the others
    for path, reason in hostile.items():
        report = reports[server.url(path)]
        assert report.status == "failed" and reason in (report.error or ""), report.line()
    good = reports[server.url("/feed/rss2_cdata_media.xml")]
    assert good.status == "ok" and good.added >= 3
    # nothing read the local file, the big bodies were cut off at max_bytes, memory stayed low
    dump = "\n".join(str(row) for row in rows(tmp_path, "SELECT * FROM articles"))
    dump += "\n".join(str(row) for row in rows(tmp_path, "SELECT * FROM feeds"))
    assert secret not in dump and "xxe.example" not in dump
    assert server.sent_bytes < BIG_BYTES
    # the peak since the fetch began, not the test run's: bodies were never held whole
    assert _peak_rss_kib() - baseline_kib < 80 * 1024
    errors = dict(rows(tmp_path, "SELECT url, last_error FROM feeds WHERE failures = 1"))
    assert set(errors) == {server.url(path) for path in hostile}


async def test_malformed_feed_keeps_the_items_that_parse_with_a_warning(
    server: FeedServer, tmp_path: Path
):
    async with open_app(make_config(tmp_path, [server.url("/feed/malformed.xml")])) as app:
        [report] = await app.feeds.fetch()
    assert report.status == "ok" and report.added >= 1
    assert any("malformed XML at line" in w for w in report.warnings)


async def test_permanent_redirect_moves_the_feed_and_says_so(server: FeedServer, tmp_path: Path):
    urls = [server.url("/moved"), server.url("/moved-308"), server.url("/temporary")]
    target = server.url("/feed/rss2_cdata_media.xml")
    async with open_app(make_config(tmp_path, urls)) as app:
        reports = await app.feeds.fetch()
        assert [r.moved_to for r in reports] == [target, target, None]
        assert "moved permanently to " + target in reports[0].line()
        health = await app.feeds.health()
        assert [h.state.fetch_url for h in health] == [target, target, urls[2]]
        assert [[m.status for m in h.moves] for h in health] == [[301], [308], []]
        seen = len(server.seen("/moved"))
        again = await app.feeds.fetch()
    assert len(server.seen("/moved")) == seen  # fetched from where it moved to
    assert [r.status for r in again] == ["not_modified"] * 3
    assert [r.moved_to for r in again] == [None, None, None]


async def test_a_moved_feed_is_named_by_where_it_moved_too(server: FeedServer, tmp_path: Path):
    urls = [server.url("/moved"), server.url("/moved-308"), server.url("/temporary")]
    target = server.url("/feed/rss2_cdata_media.xml")
    async with open_app(make_config(tmp_path, urls)) as app:
        with pytest.raises(UnknownFeed):  # before the move is known, the target names none
            await app.feeds.fetch([target])
        await app.feeds.fetch()
        named = await app.feeds.fetch([target])
    assert [r.url for r in named] == urls[:2]  # both moved there; the temporary one did not


async def test_validators_a_304_sends_replace_the_stored_ones(server: FeedServer, tmp_path: Path):
    async with open_app(make_config(tmp_path, [server.url("/revalidated")])) as app:
        for _ in range(3):
            await app.feeds.fetch()
    sent = [seen.headers.get("If-None-Match") for seen in server.seen("/revalidated")]
    assert sent == [None, '"v1"', '"v2"']
    assert rows(tmp_path, "SELECT etag, last_status FROM feeds") == [('"v2"', "not_modified")]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def clocked(tmp_path: Path) -> AsyncIterator[tuple[Store, aiohttp.ClientSession, Clock]]:
    async with (
        await Store.open(tmp_path / "db.sqlite3") as store,
        aiohttp.ClientSession() as session,
    ):
        yield store, session, Clock()


def clocked_service(
    store: Store, session: aiohttp.ClientSession, clock: Clock, config: Config
) -> FeedService:
    return FeedService(store, Fetcher(session), lambda: config, rng=random.Random(1), clock=clock)


async def test_a_500_backs_off_then_recovers(server: FeedServer, tmp_path: Path, clocked):
    store, session, clock = clocked
    url = server.url("/flaky")
    service = clocked_service(
        store, session, clock, make_config(tmp_path, [url], "interval_minutes = 10")
    )
    server.fail_flaky = 2
    [first] = await service.fetch(due_only=True)
    assert first.status == "failed" and first.error == "HTTP 500 Internal Server Error"
    state = await store.feeds.state(url)
    assert state is not None and state.failures == 1
    assert state.next_fetch is not None and state.next_fetch - clock.now >= 0.9 * 1200  # 2x
    assert await service.fetch(due_only=True) == []  # backing off: not due
    clock.now = state.next_fetch
    [second] = await service.fetch(due_only=True)
    state = await store.feeds.state(url)
    assert second.status == "failed" and state is not None and state.failures == 2
    assert state.next_fetch is not None and state.next_fetch - clock.now >= 0.9 * 2400  # doubled
    clock.now = state.next_fetch
    [third] = await service.fetch(due_only=True)
    assert third.status == "ok" and third.added == 2
    state = await store.feeds.state(url)
    assert state is not None and (state.failures, state.first_failure_at) == (0, None)
    assert state.last_error == "HTTP 500 Internal Server Error"  # kept for the record
    assert state.next_fetch is not None and 540 <= state.next_fetch - clock.now <= 660


async def test_retry_after_is_honoured(server: FeedServer, tmp_path: Path, clocked):
    store, session, clock = clocked
    urls = [server.url("/limited"), server.url("/unavailable")]
    service = clocked_service(
        store, session, clock, make_config(tmp_path, urls, "interval_minutes = 1")
    )
    reports = await service.fetch()
    assert [r.status for r in reports] == ["failed", "failed"]
    limited, unavailable = [await store.feeds.state(url) for url in urls]
    assert limited is not None and limited.next_fetch is not None
    assert limited.next_fetch - clock.now >= RETRY_AFTER_S
    assert unavailable is not None and unavailable.next_fetch is not None
    assert unavailable.next_fetch - clock.now >= 3500  # an HTTP date an hour ahead


def test_retry_after_header_forms() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Mon, 30 Nov 2026 12:05:00 GMT", now) == 300
    assert retry_after_seconds("Mon, 30 Nov 2026 11:00:00 GMT", now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


async def test_three_days_of_failures_disable_a_feed_until_named(
    server: FeedServer, tmp_path: Path, clocked
):
    store, session, clock = clocked
    url = server.url("/flaky")
    service = clocked_service(store, session, clock, make_config(tmp_path, [url]))
    server.fail_flaky = 100
    start = clock.now
    while clock.now - start <= DISABLE_AFTER_S:  # the last failure: 3 days after the first
        [report] = await service.fetch()
        assert report.status == "failed"
        clock.now += ONE_DAY_S / 2
    state = await store.feeds.state(url)
    assert state is not None and state.disabled_reason is not None
    assert "failing since" in state.disabled_reason and "HTTP 500" in state.disabled_reason
    assert state.next_fetch is None
    asked = len(server.seen("/flaky"))
    [report] = await service.fetch()
    assert report.status == "disabled" and report.error == state.disabled_reason
    assert len(server.seen("/flaky")) == asked  # a disabled feed is not fetched
    assert await service.seconds_until_due() is None
    server.fail_flaky = 0
    [named] = await service.fetch([url])  # named: fetched anyway, and enabled again
    assert named.status == "ok"
    state = await store.feeds.state(url)
    assert state is not None and state.disabled_reason is None and state.failures == 0


async def test_at_most_two_requests_per_host(server: FeedServer, tmp_path: Path):
    urls = [server.url(f"/slow/{n}") for n in range(6)]
    async with open_app(make_config(tmp_path, urls)) as app:
        reports = await app.feeds.fetch()
    assert [r.status for r in reports] == ["ok"] * 6
    assert server.max_in_flight == 2


async def test_an_old_expat_refuses_every_fetch(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(feed_service, "check_expat", lambda: "feeds are not fetched: old expat")
    async with open_app(make_config(tmp_path, [server.url("/feed/rss1_rdf.xml")])) as app:
        [report] = await app.feeds.fetch()
    assert report.status == "failed" and report.error == "feeds are not fetched: old expat"
    assert server.requests == []


async def test_unknown_url_is_refused(server: FeedServer, tmp_path: Path):
    async with open_app(make_config(tmp_path, [server.url("/feed/rss1_rdf.xml")])) as app:
        with pytest.raises(UnknownFeed, match=r"not in \[\[feeds\.sources\]\]"):
            await app.feeds.fetch(["https://elsewhere.example/feed"])
    assert server.requests == []


async def test_removed_feeds_leave_the_store_added_ones_join(server: FeedServer, tmp_path: Path):
    one, two = server.url("/feed/rss1_rdf.xml"), server.url("/feed/atom_xhtml.xml")
    async with open_app(make_config(tmp_path, [one])) as app:
        await app.feeds.fetch()
    async with open_app(make_config(tmp_path, [two])) as app:
        await app.feeds.sync()
        assert [s.url for s in await app.store.feeds.states()] == [two]
        assert (await app.store.status()).articles == 2  # the removed feed's articles stay


async def test_max_bytes_is_exact_for_plain_and_gzip_bodies(server: FeedServer, tmp_path: Path):
    body = feed_body("rss1_rdf.xml")
    fits = server.set("fits", body, "application/rdf+xml")
    over = server.set("over", body + b"\n", "application/rdf+xml")
    gzipped = server.url("/gzip/rss1_rdf.xml")  # inflates to len(body)
    config = make_config(tmp_path, [fits, over, gzipped], f"max_bytes = {len(body)}")
    async with open_app(config) as app:
        reports = await app.feeds.fetch()
    assert [r.status for r in reports] == ["ok", "failed", "ok"], [r.line() for r in reports]
    assert reports[1].error == f"too large: {len(body) + 1} bytes, over max_bytes ({len(body)})"
    smaller = make_config(tmp_path, [gzipped], f"max_bytes = {len(body) - 1}")
    async with open_app(smaller) as app:
        [report] = await app.feeds.fetch()
    assert report.status == "failed" and "inflated" in (report.error or "")


async def test_workers_that_cannot_start_leave_parsing_to_a_thread(
    server: FeedServer, tmp_path: Path, clocked
):
    store, session, clock = clocked
    urls = [server.url(f"/slow/{n}") for n in range(feed_service.POOL_MIN_FEEDS)]
    config = make_config(tmp_path, urls)

    def broken_pool() -> Any:
        raise OSError("no processes here")

    service = FeedService(
        store, Fetcher(session), lambda: config, make_pool=broken_pool, clock=clock
    )
    reports = await service.fetch()
    assert [r.status for r in reports] == ["ok"] * len(urls)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


def _reset_peak_rss() -> int:
    """Reset this process's peak RSS (Linux: clear_refs 5) and return the RSS now, in KiB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS")


def _peak_rss_kib() -> int:
    return _status_kib("VmHWM")
