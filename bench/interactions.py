"""Interactions end to end: the real bot (`python -m bot run`) against tests/discord_stub over a
large database; `/news topic` and its autocomplete, `/news search` and the title
autocomplete of `/news related`, idle and while a large ingest runs.
Also start-up to ready, resident memory, and the gateway heartbeats the stub received.

    python -m bench.interactions --db PATH --corpus DIR [--samples 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import SCRATCH, emit, rss_kb, summary_ms
from bench.generate import TOPICS

if TYPE_CHECKING:  # the stub is imported where it runs, when the benchmark starts
    from tests.discord_stub import DiscordStub

HEARTBEAT_S = 2.0  # the stub asks for a heartbeat this often (Discord: 41.25 s)
PREFIXES = ["", "a", "ai", "ro", "quan", "ma", "co", "e", "deep", "sp"]
TITLE_PREFIXES = ["a", "op", "robot", "new chip", "quantum pro", "nvidia unveils"]
SEARCHES = ["robot", "openai model", "quantum", "the", "medical scans"]


async def _command(stub: DiscordStub, name: str, options: dict[str, str]) -> float:
    """A slash command; the moment the bot sent the embeds."""
    reply = await stub.invoke(name, options)
    await reply.wait_for(lambda r: bool(r.embeds) or bool(r.rejected), 30)
    if reply.rejected:
        raise RuntimeError(f"/{name} rejected: {reply.rejected}")
    return max(e.at for e in reply.events)


async def _choices(stub: DiscordStub, name: str, option: str, typed: str) -> float:
    """An autocomplete; the moment the bot sent the choices."""
    reply = await stub.dispatch_autocomplete(name, {option: typed}, focused=option)
    await reply.wait_for(lambda r: r.acknowledged or bool(r.rejected), 30)
    if reply.rejected:
        raise RuntimeError(f"{name} {option} autocomplete rejected: {reply.rejected}")
    return reply.events[0].at


KINDS = ("topic", "autocomplete", "search", "title_autocomplete")


async def _round(stub: DiscordStub, i: int, seconds: dict[str, list[float]]) -> None:
    topic = TOPICS[i % len(TOPICS)] if i % 3 else "AI"
    seconds["topic"].append(await _command(stub, "news topic", {"topic": topic}))
    prefix = PREFIXES[i % len(PREFIXES)]
    seconds["autocomplete"].append(await _choices(stub, "news topic", "topic", prefix))
    query = SEARCHES[i % len(SEARCHES)]
    seconds["search"].append(await _command(stub, "news search", {"query": query}))
    title = TITLE_PREFIXES[i % len(TITLE_PREFIXES)]
    seconds["title_autocomplete"].append(await _choices(stub, "news related", "article", title))


def _ingest_lines(log: str) -> int:
    return len(re.findall(r"ingest: \d+ added", log))


async def run(db: Path, corpus: Path | None, samples: int) -> dict[str, Any]:
    from tests.discord_stub import DiscordStub
    from tests.discord_stub.process import NewsbotProcess
    from tests.discord_stub.world import BOT_TOKEN, OWNER, default_guild

    result: dict[str, Any] = {"bench": "interactions", "heartbeat_interval_s": HEARTBEAT_S}
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        tmp_path = Path(tmp)
        async with DiscordStub(
            guilds=[default_guild()], token=BOT_TOKEN, owner=OWNER, heartbeat_interval=HEARTBEAT_S
        ) as stub:
            proc = NewsbotProcess(stub, tmp_path)
            articles = tmp_path / "articles"
            articles.mkdir()
            overrides = {
                "database": {"path": str(db)},
                "ingest": {"paths": [str(articles)], "interval_minutes": 600},
                "logging": {"level": "INFO"},
            }
            try:
                started = time.monotonic()
                await proc.start(overrides, articles, timeout=300)
                result["startup_to_ready_s"] = round(time.monotonic() - started, 3)
                await proc.wait_for_log(r"ingest: \d+ added", timeout=120)  # the start-up one
                result["status_articles"] = await _articles(db)
                seconds: dict[str, list[float]] = {kind: [] for kind in KINDS}
                for i in range(samples):
                    await _round(stub, i, seconds)
                result["idle"] = {kind: summary_ms(seconds[kind]) for kind in KINDS}
                assert proc.proc is not None
                result["rss_mb"] = round(rss_kb(proc.proc.pid) / 1024, 1)
                if corpus is not None:
                    for name in sorted(os.listdir(corpus)):
                        if os.path.isdir(corpus / name):  # noqa: ASYNC240
                            os.symlink(corpus / name, articles / name, target_is_directory=True)
                    before = _ingest_lines(proc.log)
                    seconds = {kind: [] for kind in KINDS}
                    ingest_started = time.monotonic()
                    await stub.invoke("newsbot ingest", user=OWNER)
                    i = 0
                    while _ingest_lines(proc.log) == before:
                        await _round(stub, i, seconds)
                        i += 1
                        if time.monotonic() - ingest_started > 900:
                            raise TimeoutError("ingest did not finish in 15 minutes")
                    result["during_ingest"] = {
                        **{kind: summary_ms(seconds[kind]) for kind in KINDS},
                        "ingest_s": round(time.monotonic() - ingest_started, 2),
                        "ingest_log": _last_ingest_line(proc.log),
                    }
                    result["rss_mb_after_ingest"] = round(rss_kb(proc.proc.pid) / 1024, 1)
                beats = [f.at for f in stub.gateway.frames if f.op == 1]
                gaps = [b - a for a, b in itertools.pairwise(beats)]
                result["heartbeats"] = {
                    "sent": len(beats),
                    "max_gap_s": round(max(gaps), 3) if gaps else None,
                    # discord.py sends one every interval; a gap past 1.5 intervals is a miss
                    "missed": sum(1 for g in gaps if g > 1.5 * HEARTBEAT_S),
                    "blocked_warnings": proc.log.count("heartbeat blocked"),
                }
            finally:
                with contextlib.suppress(Exception):
                    await proc.stop()
    return result


def _last_ingest_line(log: str) -> str:
    lines = [line for line in log.splitlines() if re.search(r"ingest: \d+ added", line)]
    return lines[-1][-200:] if lines else ""


async def _articles(db: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.interactions")
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--corpus", type=Path, help="a corpus to ingest while measuring")
    ap.add_argument("--samples", type=int, default=200)
    args = ap.parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    emit(asyncio.run(run(args.db, args.corpus, args.samples)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
