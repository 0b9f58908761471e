"""1,000 digests due at once across two bot processes sharing one PostgreSQL database
(`newsbot run --shard-count 2 --shard-ids 0` and `... 1`), through tests/discord_stub with the
stub enforcing Discord's limits: the global 50 requests/s, which both processes share (it is
per bot token, as on Discord), and per-channel buckets.

    python -m bench.digests_sharded [--channels 1000] [--articles 5000] [--pg-url URL]

The subscriptions (set up as bench.digests does) are spread evenly over the stub's four
sharded guilds, two on each shard, so each process schedules half of them. They are due at a
minute boundary at least LEAD_S after they are made, when both processes are up: the jobs of
both fire at that same moment (as they do for processes that run all day); a start-up catch-up,
as in bench.digests, would time the gap between the two processes' starts too. The floor and the
duplicate and lost accounting are bench.digests'; besides, every run is attributed to the
process whose log says it posted it: a run (or a channel) posted by both is counted.
PostgreSQL: the database at --pg-url (emptied first), else a temporary server in /dev/shm.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import SCRATCH, build_store, emit
from bench.digests import FIRST_CHANNEL, PER_SECOND, delivered_posts, subscribe, tally
from bench.queries import emptied, temporary_postgres

SHARD_COUNT = 2
LEAD_S = 45.0  # the processes start and connect within this (a few seconds here)
POSTED = re.compile(r"digest for channel (\d+): run (\d+) posted")


async def _db_state(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT status, count(*) FROM digest_runs GROUP BY status")
        state = {str(r[0]): int(r[1]) for r in rows}
        state["messages"] = int(await conn.fetchval("SELECT count(*) FROM digest_messages"))
        state["confirmed"] = int(
            await conn.fetchval("SELECT count(*) FROM digest_messages WHERE message_id IS NOT NULL")
        )
        state["runs"] = sum(int(r[1]) for r in rows)
        return state
    finally:
        await conn.close()


async def _messages_per_channel(url: str) -> dict[int, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT r.channel_id, count(*) FROM digest_messages m"
            " JOIN digest_runs r ON r.id = m.run_id GROUP BY r.channel_id"
        )
        return {int(r[0]): int(r[1]) for r in rows}
    finally:
        await conn.close()


async def _runs_per_channel(url: str) -> dict[int, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT channel_id, count(*) FROM digest_runs GROUP BY channel_id")
        return {int(r[0]): int(r[1]) for r in rows}
    finally:
        await conn.close()


def attribution(logs: list[str], channel_shard: dict[int, int]) -> dict[str, Any]:
    """Who posted what, from each process's log: runs per process, runs and channels posted
    by more than one process, and runs posted by a process that does not serve their guild."""
    posted_by: dict[str, set[int]] = {}  # run id -> the processes that logged it posted
    channel_by: dict[int, set[int]] = {}
    foreign = 0
    per_process = []
    for shard, log in enumerate(logs):
        found = [(int(c), r) for c, r in POSTED.findall(log)]
        per_process.append(len(found))
        for channel, run in found:
            posted_by.setdefault(run, set()).add(shard)
            channel_by.setdefault(channel, set()).add(shard)
            foreign += channel_shard.get(channel) != shard
    return {
        "runs_posted_per_process": per_process,
        "runs_posted_by_both": sum(1 for who in posted_by.values() if len(who) > 1),
        "channels_posted_by_both": sum(1 for who in channel_by.values() if len(who) > 1),
        "runs_posted_off_shard": foreign,
    }


def per_process_span(posts: list[Any], channel_shard: dict[int, int]) -> list[list[float]]:
    """Per process: its first message request and its last accepted one, in seconds from the
    first request of either."""
    if not posts:
        return []
    start = min(r.at for r in posts)
    spans = []
    for shard in range(SHARD_COUNT):
        mine = [r for r in posts if channel_shard[int(r.path.split("/")[2])] == shard]
        done = [r.at for r in mine if 200 <= r.status < 300]
        if mine and done:
            spans.append([round(min(r.at for r in mine) - start, 2), round(max(done) - start, 2)])
    return spans


async def run(n_channels: int, n_articles: int, url: str) -> dict[str, Any]:
    from bot.store.postgres import PostgresStore
    from tests.discord_stub import DiscordStub
    from tests.discord_stub.process import NewsbotProcess
    from tests.discord_stub.specs import ChannelSpec
    from tests.discord_stub.world import BOT_TOKEN, OWNER, SHARDED_GUILDS, sharded_guilds

    result: dict[str, Any] = {
        "bench": "digests_sharded",
        "channels": n_channels,
        "limit_per_s": PER_SECOND,
        "processes": SHARD_COUNT,
        "backend": "postgresql",
    }
    guilds = sharded_guilds()
    channel_guilds: dict[int, int] = {}
    for i in range(n_channels):
        guild = guilds[i % len(guilds)]
        channel_guilds[FIRST_CHANNEL + i] = guild.id
        guild.channels.append(
            ChannelSpec(id=FIRST_CHANNEL + i, name=f"digest-{i}", position=10 + i)
        )
    channel_shard = {c: SHARDED_GUILDS[g] for c, g in channel_guilds.items()}
    result["channels_per_shard"] = [
        sum(1 for s in channel_shard.values() if s == shard) for shard in range(SHARD_COUNT)
    ]
    wanted = set(channel_guilds)
    await emptied(url)
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        tmp_path = Path(tmp)
        result["build"] = await build_store(tmp_path / "unused", n_articles, seed=3, url=url)
        due_at = (time.time() + LEAD_S) // 60 * 60 + 60
        result["due_in_s"] = round(due_at - time.time(), 1)
        store = await PostgresStore.open(url)
        try:
            await subscribe(store, channel_guilds, due_at)
        finally:
            await store.close()
        async with DiscordStub(
            guilds=guilds, token=BOT_TOKEN, owner=OWNER, shard_count=SHARD_COUNT
        ) as stub:
            stub.rate_limits(routes=True, global_limit=True, per_second=PER_SECOND)
            procs = []
            for shard in range(SHARD_COUNT):
                home = tmp_path / f"shard-{shard}"
                home.mkdir()
                procs.append(NewsbotProcess(stub, home))
            articles = tmp_path / "articles"
            overrides = {
                "database": {"url": url},
                "ingest": {"paths": [str(articles)], "interval_minutes": 600},
                "logging": {"level": "INFO"},
            }
            try:
                for shard, proc in enumerate(procs):  # both start together: all due at once
                    shard_args = ("--shard-count", str(SHARD_COUNT), "--shard-ids", str(shard))
                    await proc.start(overrides, articles, wait=False, args=shard_args)
                try:
                    await asyncio.gather(
                        *(p.wait_for_log(r"ready as .* in \d+ guilds", timeout=120) for p in procs)
                    )
                except TimeoutError as exc:  # reported, not hidden
                    result["bot_exited"] = str(exc).splitlines()[0]
                deadline = time.monotonic() + (600 if all(p.running for p in procs) else 0)
                while True:
                    state = await _db_state(url)
                    if state.get("runs", 0) >= n_channels and not state.get("pending"):
                        break
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.5)
                await asyncio.sleep(1.0)  # anything sent twice would arrive now
            finally:
                for proc in procs:
                    with contextlib.suppress(Exception):
                        await proc.stop()
            delivered = delivered_posts(stub, wanted)
        state = await _db_state(url)
        result["log_429_retries"] = sum(p.log.count("We are being rate limited") for p in procs)
        result.update(tally(delivered, state, await _messages_per_channel(url), wanted))
        runs = await _runs_per_channel(url)
        result["channels_with_more_than_one_run"] = sum(1 for n in runs.values() if n > 1)
        result.update(attribution([p.log for p in procs], channel_shard))
        result["per_process_s"] = per_process_span(delivered.posts, channel_shard)
    return result


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    if args.pg_url:
        return await run(args.channels, args.articles, args.pg_url)
    with temporary_postgres() as url:
        return await run(args.channels, args.articles, url)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.digests_sharded")
    ap.add_argument("--channels", type=int, default=1000)
    ap.add_argument("--articles", type=int, default=5000)
    ap.add_argument("--pg-url", help="a PostgreSQL database (default: a temporary server)")
    args = ap.parse_args(argv)
    emit(asyncio.run(amain(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
