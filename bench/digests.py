"""1,000 digests due at once, delivered by the real bot through tests/discord_stub with the
stub enforcing Discord's limits (global 50 requests/s and per-channel buckets).

    python -m bench.digests [--channels 1000] [--articles 5000]

The subscriptions are in the database, made 150 s ago, each daily at the minute that just
passed, so at start-up the scheduler catches each up once: all due at the same moment.
The floor is (digest messages) / 50 per second; the figure is the time from the first digest
message request to the last one Discord accepted, over that floor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from bench.common import SCRATCH, build_store, emit

if TYPE_CHECKING:
    from bot.store import StoreInterface
    from tests.discord_stub import DiscordStub

PER_SECOND = 50
FIRST_CHANNEL = 500_000


async def subscribe(
    store: StoreInterface, channel_guilds: dict[int, int], due_at: float | None = None
) -> None:
    """Every channel (-> its guild) subscribed, daily at the minute of ``due_at`` (default: the
    minute that just passed, so a bot starting now catches each up once: all due at once)."""
    from bot.store import SubscriptionSpec

    now = time.time()
    due = datetime.fromtimestamp(now - 60 if due_at is None else due_at, UTC)
    spec = SubscriptionSpec(schedule=f"{due.minute} {due.hour} * * *", timezone="UTC",
                            min_quality=0, max_items=10, only_published=False)  # fmt: skip
    for channel_id, guild_id in channel_guilds.items():
        await store.digests.save_subscription(
            channel_id, spec, guild_id=guild_id, managed_by="command",
            since=now - 3600, now=now - 150,
        )  # fmt: skip


def _db_state(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT status, count(*) FROM digest_runs GROUP BY status").fetchall()
        state = dict(rows)
        state["messages"] = conn.execute("SELECT count(*) FROM digest_messages").fetchone()[0]
        state["confirmed"] = conn.execute(
            "SELECT count(*) FROM digest_messages WHERE message_id IS NOT NULL"
        ).fetchone()[0]
        state["runs"] = sum(n for _, n in rows)
        return state
    finally:
        conn.close()


async def run(n_channels: int, n_articles: int) -> dict[str, Any]:
    from bot.store import Store
    from tests.discord_stub import DiscordStub
    from tests.discord_stub.process import NewsbotProcess
    from tests.discord_stub.specs import ChannelSpec
    from tests.discord_stub.world import BOT_TOKEN, GUILD_ID, OWNER, default_guild

    result: dict[str, Any] = {"bench": "digests", "channels": n_channels, "limit_per_s": PER_SECOND}
    guild = default_guild()
    channels = [FIRST_CHANNEL + i for i in range(n_channels)]
    guild.channels.extend(
        ChannelSpec(id=c, name=f"digest-{i}", position=10 + i) for i, c in enumerate(channels)
    )
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        tmp_path = Path(tmp)
        db = tmp_path / "digests.sqlite3"
        result["build"] = await build_store(db, n_articles, seed=3)
        store = await Store.open(db)
        try:
            await subscribe(store, dict.fromkeys(channels, GUILD_ID))
        finally:
            await store.close()
        async with DiscordStub(guilds=[guild], token=BOT_TOKEN, owner=OWNER) as stub:
            stub.rate_limits(routes=True, global_limit=True, per_second=PER_SECOND)
            proc = NewsbotProcess(stub, tmp_path)
            articles = tmp_path / "articles"
            overrides = {
                "database": {"path": str(db)},
                "ingest": {"paths": [str(articles)], "interval_minutes": 600},
                "logging": {"level": "INFO"},
            }
            try:
                try:
                    await proc.start(overrides, articles, timeout=120)
                except RuntimeError as exc:  # the bot exited: reported, not hidden
                    result["bot_exited"] = str(exc).splitlines()[0]
                    result["bot_exit_cause"] = proc.log.strip().splitlines()[-1][-300:]
                deadline = time.monotonic() + (600 if proc.running else 0)
                while True:
                    state = _db_state(db)
                    if state.get("runs", 0) >= n_channels and not state.get("pending"):
                        break
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.5)
                await asyncio.sleep(1.0)  # anything sent twice would arrive now
            finally:
                with contextlib.suppress(Exception):
                    await proc.stop()
            delivered = delivered_posts(stub, set(channels))
        state = _db_state(db)
        result["log_429_retries"] = proc.log.count("We are being rate limited")
        result.update(tally(delivered, state, _messages_per_channel(db), set(channels)))
    return result


class Delivered(NamedTuple):
    """What the stub saw of the digest channels: message requests and messages kept."""

    posts: list[Any]  # the stub's RecordedRequest of every POST .../messages
    stored: Counter[int]  # channel -> messages the stub holds


def delivered_posts(stub: DiscordStub, wanted: set[int]) -> Delivered:
    posts = [
        r
        for r in stub.requests
        if r.method == "POST"
        and r.path.startswith("/channels/")
        and r.path.endswith("/messages")
        and int(r.path.split("/")[2]) in wanted
    ]
    stored = Counter({channel_id: len(stub.messages(channel_id)) for channel_id in wanted})
    return Delivered(posts, stored)


def tally(
    delivered: Delivered, state: dict[str, int], per_run: dict[int, int], wanted: set[int]
) -> dict[str, Any]:
    """The figures: the span from the first message request to the last one accepted over the
    floor (the runs' messages at PER_SECOND), duplicates and losses against the ledger."""
    posts, stored = delivered
    accepted = [r for r in posts if 200 <= r.status < 300]
    messages = state["messages"]
    floor = messages / PER_SECOND
    span = (max(r.at for r in accepted) - min(r.at for r in posts)) if accepted else None
    return {
        "runs": state,
        "digest_messages": messages,
        "requests": len(posts),
        "rate_limited_429": sum(1 for r in posts if r.status == 429),
        "accepted": len(accepted),
        "floor_s": round(floor, 2),
        "delivery_s": round(span, 2) if span is not None else None,
        "ratio_to_floor": round(span / floor, 3) if span and floor else None,
        # a message stored in a channel beyond the run's messages for it
        "duplicates": sum(max(0, stored[c] - n) for c, n in per_run.items()),
        # a channel whose run's messages did not all reach it
        "lost": sum(1 for c, n in per_run.items() if stored[c] < n),
        "channels_without_run": len(wanted - set(per_run)),
    }


def _messages_per_channel(db: Path) -> dict[int, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(
            conn.execute(
                "SELECT r.channel_id, count(*) FROM digest_messages m"
                " JOIN digest_runs r ON r.id = m.run_id GROUP BY r.channel_id"
            ).fetchall()
        )
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.digests")
    ap.add_argument("--channels", type=int, default=1000)
    ap.add_argument("--articles", type=int, default=5000)
    args = ap.parse_args(argv)
    emit(asyncio.run(run(args.channels, args.articles)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
