"""Sharded bot processes end to end (DESIGN §9) against the stub's 4 guilds, two per shard."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.discord_stub import DiscordStub, GuildSpec, StubError
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.world import (
    ADMIN,
    MEMBER,
    OWNER,
    SHARD_COUNT,
    SHARDED_GUILDS,
    sharded_digest_channel,
    sharded_guilds,
    sharded_news_channel,
    sharded_spare_channel,
)
from tests.fixtures.articles import article_file
from tests.fixtures.seeds import COINDESK


@pytest.fixture
def stub_guilds() -> list[GuildSpec]:
    return sharded_guilds()


@pytest.fixture
def stub_options() -> dict[str, Any]:
    return {"shard_count": SHARD_COUNT}


async def topic(stub: DiscordStub, guild: int) -> str:
    reply = await stub.invoke(
        "news topic",
        {"topic": "AI"},
        guild_id=guild,
        channel_id=sharded_news_channel(guild),
        user=MEMBER,
    )
    await reply.wait(timeout=30)
    return reply.content + " ".join(str(e.get("title")) for e in reply.embeds)


async def test_one_process_on_shard_0_serves_the_guilds_of_shard_0_only(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(
        articles_dir=articles, ingested=True, args=("--shard-count", "2", "--shard-ids", "0")
    )
    await newsbot.wait_for_log(r"ready as .* in 2 guilds \(shards 0 of 2\)")
    [session] = [s for s in discord_stub.gateway.sessions.values() if s.connected]
    assert session.shard == (0, SHARD_COUNT)
    for guild, shard in SHARDED_GUILDS.items():
        if shard == 0:
            assert await topic(discord_stub, guild)
        else:  # nobody serves shard 1
            with pytest.raises(StubError, match="no bot connected"):
                await topic(discord_stub, guild)
    assert "leadership taken" in newsbot.log  # SQLite: the one process leads


@pytest.fixture
async def other_bot(discord_stub: DiscordStub, tmp_path: Path) -> AsyncIterator[NewsbotProcess]:
    """The second bot process (its own config file and log)."""
    home = tmp_path / "other"
    home.mkdir()
    proc = NewsbotProcess(discord_stub, home)
    try:
        yield proc
    finally:
        await proc.stop()


async def pg_value(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def shard_args(shard: int) -> tuple[str, ...]:
    return ("--shard-count", str(SHARD_COUNT), "--shard-ids", str(shard))


def titles_by_channel(stub: DiscordStub) -> dict[int, Counter[str]]:
    return {
        sharded_digest_channel(guild): Counter(stub.embed_titles(sharded_digest_channel(guild)))
        for guild in SHARDED_GUILDS
    }


async def posted_everywhere(stub: DiscordStub, titles: set[str], timeout: float) -> None:  # noqa: ASYNC109
    """Until every guild's digest channel shows every title (a scheduled run is a minute away)."""
    deadline = time.monotonic() + timeout
    while not all(titles <= set(c) for c in titles_by_channel(stub).values()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not posted everywhere: {titles_by_channel(stub)}")
        await asyncio.sleep(0.2)


@pytest.mark.minutes
async def test_two_processes_on_postgresql_share_guilds_digests_and_leadership(
    discord_stub: DiscordStub,
    newsbot: NewsbotProcess,
    other_bot: NewsbotProcess,
    articles: Path,
    postgres_url: str,
):
    # A channel of a shard-1 guild managed by the file: its guild is unknown until the process
    # that sees the channel (the second) records it; shard 0's process runs it until then.
    file_guild = next(g for g, shard in SHARDED_GUILDS.items() if shard == 1)
    file_channel = sharded_spare_channel(file_guild)
    overrides: dict[str, Any] = {
        "database": {"url": postgres_url},
        "digest": {
            "channels": [{"channel_id": file_channel, "schedule": "* * * * *", "min_quality": 0}]
        },
    }
    first, second = newsbot, other_bot  # first serves shard 0, second shard 1
    owner = {guild: (first, second)[shard] for guild, shard in SHARDED_GUILDS.items()}
    await first.start(overrides, articles, ingested=True, args=shard_args(0))
    await first.wait_for_log("leadership taken")
    await second.start(overrides, articles, args=shard_args(1))
    await second.wait_for_log("another process leads")
    await second.wait_for_log(f"digest for channel {file_channel}: guild recorded")
    guild_sql = "SELECT guild_id FROM subscriptions WHERE channel_id = $1"
    assert await pg_value(postgres_url, guild_sql, file_channel) == file_guild
    assert second.ingests() == 0  # the follower leaves ingest to the leader

    # Every guild's command is answered by exactly one process: the one serving its shard.
    for guild in SHARDED_GUILDS:
        assert COINDESK in await topic(discord_stub, guild)
        served = f"news topic by {MEMBER.id} in guild {guild}: ok"
        assert served in owner[guild].log
        assert served not in (second if owner[guild] is first else first).log

    # Digests due at the same minute in every guild: each posted once, by its guild's process.
    for guild in SHARDED_GUILDS:
        reply = await discord_stub.invoke(
            "digest subscribe",
            {"channel": sharded_digest_channel(guild), "schedule": "* * * * *", "min_quality": 0},
            guild_id=guild,
            channel_id=sharded_news_channel(guild),
            user=ADMIN,
        )
        assert "Subscribed" in (await reply.wait(timeout=30)).content
    await posted_everywhere(discord_stub, {COINDESK}, timeout=150)
    for guild in SHARDED_GUILDS:
        posted = f"digest for channel {sharded_digest_channel(guild)}: run \\d+ posted"
        assert re.search(posted, owner[guild].log)
        assert not re.search(posted, (second if owner[guild] is first else first).log)

    # The leader dies in the middle of a run: Discord has its message, its ledger does not.
    victim = next(g for g, shard in SHARDED_GUILDS.items() if shard == 0)
    victim_posts = rf"^/channels/{sharded_digest_channel(victim)}/messages$"
    discord_stub.delay("POST", victim_posts, 60.0, response=True)
    article_file(articles, "fresh", "A fresh story for every guild", quality=90)
    ingest = await discord_stub.invoke("newsbot ingest", {}, guild_id=victim, user=OWNER)
    await ingest.wait(timeout=30)
    await discord_stub.wait_for_message(
        sharded_digest_channel(victim),
        lambda m: "A fresh story for every guild" in json.dumps(m),
        timeout=150,
    )
    article_file(articles, "later", "A story only the survivor ingests", quality=90)
    await first.kill()
    victim_channel = sharded_digest_channel(victim)
    pending = "SELECT count(*) FROM digest_runs WHERE status = 'pending' AND channel_id = $1"
    assert await pg_value(postgres_url, pending, victim_channel) == 1  # the window was hit
    # The survivor takes the ingest over (PostgreSQL dropped the dead leader's lock).
    await second.wait_for_log("leadership taken", timeout=30)
    await second.wait_for_ingests(1, timeout=30)
    discord_stub.clear_faults()
    await first.start(args=shard_args(0))
    await first.wait_for_log("another process leads", timeout=30)
    # The restarted process finishes its interrupted run (at start-up, or in the job that
    # fires first), finding the message Discord already had instead of posting it again.
    deadline = time.monotonic() + 90
    while await pg_value(postgres_url, pending, victim_channel):
        assert time.monotonic() < deadline, first.log[-5000:]
        await asyncio.sleep(0.2)

    fresh = {"A fresh story for every guild", "A story only the survivor ingests"}
    await posted_everywhere(discord_stub, {COINDESK} | fresh, timeout=150)
    await discord_stub.wait_for_message(
        file_channel, lambda m: "A story only the survivor ingests" in json.dumps(m), timeout=90
    )
    counts = titles_by_channel(discord_stub)
    counts[file_channel] = Counter(discord_stub.embed_titles(file_channel))
    assert set(counts[file_channel]) == {COINDESK} | fresh
    assert all(n == 1 for c in counts.values() for n in c.values()), counts
