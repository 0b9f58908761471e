"""Fetching and storing many feeds served locally (DESIGN §8): the first fetch of N feeds of 50
items against feedparser's single-core parse of the same bytes, the all-304 refetch against the
first, and the resident memory; then the real bot (against tests/discord_stub) fetching the same
feeds at start-up, with the latency of autocompletes answered meanwhile.

The feeds are served by a separate process on 32 loopback addresses (127.0.1.1-32), so the
fetcher's 2-per-host limit works as it would across real sites.

    python -m bench.feeds --feeds 1000 [--items 50] [--no-bot]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bench.common import SCRATCH, emit, rss_kb

HOSTS = 32
WORDS = (
    "model", "chip", "robot", "market", "climate", "vaccine", "rocket", "battery", "quantum",
    "court", "election", "startup", "privacy", "network", "satellite", "reactor", "genome",
    "drone", "fusion", "browser",
)  # fmt: skip


def feed_body(number: int, items: int) -> bytes:
    """A realistic RSS 2.0 feed: HTML summaries, categories, thumbnails, dates."""
    site = f"https://site{number}.example"
    parts = []
    for n in range(items):
        words = " ".join(WORDS[(number * 7 + n * 3 + k) % len(WORDS)] for k in range(6))
        minute, hour = n % 60, (number + n) % 24
        summary = escape(
            f"<p>{words.capitalize()}: what happened, who said what, and why it matters "
            f"for <b>{WORDS[n % len(WORDS)]}</b> watchers.</p><p>More in the article.</p>"
        )
        parts.append(
            f"<item><title>{words.title()} ({number}-{n})</title>"
            f"<link>{site}/{hour:02d}/{n}-{WORDS[n % len(WORDS)]}?utm_source=rss</link>"
            f'<guid isPermaLink="false">{site}#{n}</guid>'
            f"<pubDate>Mon, 30 Nov 2026 {hour:02d}:{minute:02d}:00 GMT</pubDate>"
            f"<description>{summary}</description>"
            f"<category>{WORDS[(number + n) % len(WORDS)].title()}</category>"
            f'<media:thumbnail url="{site}/img/{n}.jpg" width="640" height="360"/></item>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"<title>Site {number}</title><link>{site}/</link><description>news</description>"
        + "\n".join(parts)
        + "</channel></rss>\n"
    ).encode()


def host(number: int) -> str:
    return f"127.0.1.{1 + number % HOSTS}"


def _serve(feeds: int, items: int, port_out: Any, stop: Any) -> None:
    from aiohttp import web

    bodies = {n: feed_body(n, items) for n in range(feeds)}
    etags = {n: '"' + hashlib.sha1(body).hexdigest()[:16] + '"' for n, body in bodies.items()}

    async def handle(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if request.headers.get("If-None-Match") == etags[n]:
            return web.Response(status=304, headers={"ETag": etags[n]})
        return web.Response(
            body=bodies[n], headers={"ETag": etags[n], "Content-Type": "application/rss+xml"}
        )

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        first = web.TCPSite(runner, host(0), 0)
        await first.start()
        port = int(runner.addresses[0][1])
        for n in range(1, HOSTS):
            await web.TCPSite(runner, host(n), port).start()
        port_out.put(port)
        await asyncio.to_thread(stop.wait)  # a multiprocessing Event: wait on a thread
        await runner.cleanup()

    asyncio.run(main())


def baseline_parse(feeds: int, items: int) -> float:
    """feedparser.parse of every body, one after the other, on one core."""
    import feedparser

    bodies = [feed_body(n, items) for n in range(feeds)]
    started = time.perf_counter()
    for body in bodies:
        feedparser.parse(io.BytesIO(body))
    return time.perf_counter() - started


async def fetch_twice(feeds: int, items: int, port: int, db: Path) -> dict[str, Any]:
    from bot.app import open_app
    from bot.config import parse_config

    sources = "".join(
        f'[[feeds.sources]]\nurl = "http://{host(n)}:{port}/feed/{n}.xml"\n' for n in range(feeds)
    )
    config = parse_config(f'[database]\npath = "{db}"\n[feeds]\n{sources}', {})
    async with open_app(config) as app:
        started = time.perf_counter()
        first = await app.feeds.fetch()
        first_s = time.perf_counter() - started
        rss_after_first = rss_kb(os.getpid())
        started = time.perf_counter()
        again = await app.feeds.fetch()
        again_s = time.perf_counter() - started
        status = await app.store.status()
    return {
        "first_s": round(first_s, 3),
        "again_s": round(again_s, 3),
        "first_statuses": _count(r.status for r in first),
        "again_statuses": _count(r.status for r in again),
        "added": sum(r.added for r in first),
        "articles": status.articles,
        "rss_mb_after_first": round(rss_after_first / 1024, 1),
        "rss_mb_end": round(rss_kb(os.getpid()) / 1024, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


async def bot_fetching(feeds: int, port: int, work: Path) -> dict[str, Any]:
    """The bot starts with N due feeds; autocompletes through the stub until all are stored."""
    from bench.common import summary_ms
    from bench.interactions import PREFIXES, TITLE_PREFIXES, _choices
    from tests.discord_stub import DiscordStub
    from tests.discord_stub.process import NewsbotProcess
    from tests.discord_stub.world import BOT_TOKEN, OWNER, default_guild

    sources = [{"url": f"http://{host(n)}:{port}/feed/{n}.xml"} for n in range(feeds)]
    seconds: dict[str, list[float]] = {"topic_autocomplete": [], "title_autocomplete": []}
    async with DiscordStub(guilds=[default_guild()], token=BOT_TOKEN, owner=OWNER) as stub:
        proc = NewsbotProcess(stub, work)
        overrides = {"feeds": {"sources": sources}, "logging": {"level": "INFO"}}
        try:
            started = time.monotonic()
            await proc.start(overrides, work / "articles", timeout=300)
            i = 0
            while proc.query("SELECT count(*) FROM feeds WHERE last_status = 'ok'")[0][0] < feeds:
                seconds["topic_autocomplete"].append(
                    await _choices(stub, "news topic", "topic", PREFIXES[i % len(PREFIXES)])
                )
                seconds["title_autocomplete"].append(
                    await _choices(
                        stub, "news related", "article", TITLE_PREFIXES[i % len(TITLE_PREFIXES)]
                    )
                )
                i += 1
                if time.monotonic() - started > 900:
                    raise TimeoutError("the bot did not fetch every feed in 15 minutes")
            fetched_s = time.monotonic() - started
            assert proc.proc is not None
            rss_mb = round(rss_kb(proc.proc.pid) / 1024, 1)
        finally:
            await proc.stop()
    return {
        "bot_start_to_all_fetched_s": round(fetched_s, 2),
        "bot_rss_mb_after": rss_mb,
        **{kind: summary_ms(values) for kind, values in seconds.items()},
    }


def _count(values: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for value in values:
        found[value] = found.get(value, 0) + 1
    return found


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.feeds")
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--no-bot", action="store_true", help="skip the bot's phase")
    args = ap.parse_args()
    context = multiprocessing.get_context("spawn")
    port_out, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve, args=(args.feeds, args.items, port_out, stop))
    server.start()
    work = Path(tempfile.mkdtemp(prefix="newsbot-bench-feeds-", dir=SCRATCH))
    try:
        port = port_out.get(timeout=120)
        baseline_s = baseline_parse(args.feeds, args.items)
        result = asyncio.run(fetch_twice(args.feeds, args.items, port, work / "feeds.sqlite3"))
        if not args.no_bot:
            (work / "bot").mkdir()
            result["bot"] = asyncio.run(bot_fetching(args.feeds, port, work / "bot"))
    finally:
        stop.set()
        server.join(10)
        if server.is_alive():
            server.kill()
        shutil.rmtree(work, ignore_errors=True)
    result.update(
        feeds=args.feeds,
        items_per_feed=args.items,
        bytes_per_feed=len(feed_body(0, args.items)),
        baseline_feedparser_s=round(baseline_s, 3),
        first_ratio=round(baseline_s / result["first_s"], 2),
        again_ratio=round(result["first_s"] / max(result["again_s"], 1e-6), 1),
    )
    emit(result)


if __name__ == "__main__":
    main()
