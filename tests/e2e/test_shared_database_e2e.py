"""Two `newsbot run` on one database (DESIGN §4 "Exactly once per channel").

A second bot on the same database refuses to start and names the first one's pid. With that
guard bypassed (NEWSBOT_UNSAFE_SHARED_DATABASE, for tests only), two bot processes that both
ingest and both run the digests of 9 channels still post every story once in each channel:
a run's articles are claimed in the same write transaction that records it, so no two runs,
of any process, hold the same article.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.client import UNSAFE_SHARED_DATABASE
from tests.discord_stub import DiscordStub, GuildSpec, Reply
from tests.discord_stub.gateway import GatewaySession
from tests.discord_stub.process import ROOT, NewsbotProcess
from tests.discord_stub.specs import ChannelSpec
from tests.discord_stub.world import ADMIN, GUILD_ID, OWNER, default_guild
from tests.fixtures.articles import article_file

CHANNELS = [7001 + i for i in range(9)]
BATCHES, PER_BATCH = 5, 4


@pytest.fixture
def stub_guilds() -> list[GuildSpec]:
    guild = default_guild()
    guild.channels += [
        ChannelSpec(id=channel_id, name=f"digest-{i}", position=10 + i)
        for i, channel_id in enumerate(CHANNELS)
    ]
    return [guild]


@pytest.fixture
async def second_bot(discord_stub: DiscordStub, tmp_path: Path) -> AsyncIterator[NewsbotProcess]:
    """Another bot process with its own config file and log (its database is set by the test)."""
    home = tmp_path / "second"
    home.mkdir()
    proc = NewsbotProcess(discord_stub, home)
    try:
        yield proc
    finally:
        await proc.stop()


async def test_a_second_bot_on_one_database_refuses_with_the_first_ones_pid(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(articles_dir=articles, ingested=True)
    assert newsbot.proc is not None
    identified = discord_stub.gateway.identify_count

    second = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(newsbot.config_path),  # the very same config
        cwd=str(ROOT),
        env=newsbot.env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(second.communicate(), 30)
    text = output.decode()
    assert second.returncode == 2, text
    assert f"another `newsbot run` (pid {newsbot.proc.pid}) is using {newsbot.db_path}" in text
    assert "`newsbot ingest` and the other commands may run beside it" in text
    assert discord_stub.gateway.identify_count == identified  # it never reached Discord

    # The first bot keeps serving.
    reply = await (await discord_stub.invoke("news topics", {}, guild_id=GUILD_ID)).wait()
    assert reply.content or reply.embeds, reply

    # A bot that died without a clean shutdown does not block the next start.
    await newsbot.restart(kill=True)
    assert newsbot.running


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_two_bots_on_one_database_post_every_story_once(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, second_bot: NewsbotProcess, tmp_path: Path
):
    started = time.monotonic()
    articles = tmp_path / "shared-articles"
    articles.mkdir()
    overrides: dict[str, Any] = {
        "database": {"path": str(newsbot.db_path)},
        # Each bot also ingests on its own every 3 s, racing the runs and the other's ingests.
        "ingest": {"paths": [str(articles)], "interval_minutes": 0.05},
        "digest": {
            # Runs come from /digest now, sent to both bots at once; no job fires meanwhile
            # (one that did could still be posting when the channels are counted).
            "schedule": "0 0 1 1 *",
            "min_quality": 0,
            "max_items": 25,
            "channels": [{"channel_id": channel_id} for channel_id in CHANNELS],
        },
    }
    unsafe = {UNSAFE_SHARED_DATABASE: "1"}
    await newsbot.start(overrides, articles, ingested=True, extra_env=unsafe)
    first = discord_stub.gateway.current
    await second_bot.start(overrides, articles, ingested=True, extra_env=unsafe)
    second = discord_stub.gateway.current
    assert first is not None and second is not None and first is not second
    assert f"{UNSAFE_SHARED_DATABASE}=1" in second_bot.log  # the bypass says so

    async def ask(session: GatewaySession, name: str, **options: Any) -> Reply:
        user = OWNER if name.startswith("newsbot") else ADMIN
        reply = await discord_stub.invoke(
            name, options, guild_id=GUILD_ID, user=user, session=session
        )
        return await reply.wait(timeout=60)

    def runs(session: GatewaySession) -> list[Any]:
        return [ask(session, "digest now", channel=channel_id) for channel_id in CHANNELS]

    titles: set[str] = set()
    for batch in range(BATCHES):
        for i in range(PER_BATCH):
            title = f"Batch {batch} story {i}"
            article_file(articles, f"b{batch}-{i}", title, quality=50 + i, when=_now_iso())
            titles.add(title)
        # Both bots ingest the batch while both run every channel's digest.
        await asyncio.gather(
            ask(first, "newsbot ingest"), ask(second, "newsbot ingest"), *runs(first), *runs(second)
        )
    # What the last round's runs did not see yet is due now: both run again, then one alone
    # (a run that lost its claim to the other bot too often leaves its stories due, not lost).
    await asyncio.gather(ask(first, "newsbot ingest"), ask(second, "newsbot ingest"))
    await asyncio.gather(*runs(first), *runs(second))
    for channel_id in CHANNELS:
        await ask(first, "digest now", channel=channel_id)

    posted = {channel_id: Counter(discord_stub.embed_titles(channel_id)) for channel_id in CHANNELS}
    extra = sum(n - 1 for counts in posted.values() for n in counts.values())
    missing = {
        c: sorted(titles - set(counts)) for c, counts in posted.items() if titles - set(counts)
    }
    logs = f"--- first bot ---\n{newsbot.log[-6000:]}\n--- second bot ---\n{second_bot.log[-6000:]}"
    assert (extra, missing) == (0, {}), (f"{extra} extra copies", missing, logs)
    assert all(set(counts) == titles for counts in posted.values())
    assert time.monotonic() - started < 60
