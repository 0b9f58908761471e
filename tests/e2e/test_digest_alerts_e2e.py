"""Failure alerts end to end: a digest channel loses Send Messages; the alert channel hears
once when it starts failing, once when it pauses itself (after 3 failed scheduled runs) and
once when /digest resume brings it back; never while healthy; no digest lost or doubled."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.discord_stub import DiscordStub, Reply
from tests.discord_stub import permissions as P
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.specs import OverwriteSpec
from tests.discord_stub.world import (
    ADMIN,
    DIGEST_CHANNEL_ID,
    GUILD_ID,
    NEWS_CHANNEL_ID,
    NO_SEND_CHANNEL_ID,
    OWNER,
)
from tests.fixtures.articles import article_file
from tests.fixtures.seeds import COINDESK

ALERTS_CHANNEL_ID = NEWS_CHANNEL_ID


async def cmd(stub: DiscordStub, name: str, **options: Any) -> Reply:
    reply = await stub.invoke(f"digest {name}", options, guild_id=GUILD_ID, user=ADMIN)
    return await reply.wait(timeout=60)


def state(newsbot: NewsbotProcess) -> tuple[Any, ...]:
    [row] = newsbot.query(
        "SELECT paused, consecutive_failures, alert_state FROM subscriptions"
        f" WHERE channel_id = {DIGEST_CHANNEL_ID}"
    )
    return tuple(row)


async def until(check: Any, timeout: float) -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.5)


@pytest.mark.minutes
async def test_alerts_on_failing_paused_and_recovered_only(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(articles_dir=articles, ingested=True)
    refused = await cmd(discord_stub, "alerts", channel=NO_SEND_CHANNEL_ID)
    assert refused.ephemeral and "Send Messages" in refused.content, refused.content
    set_up = await cmd(discord_stub, "alerts", channel=ALERTS_CHANNEL_ID)
    assert f"<#{ALERTS_CHANNEL_ID}>" in set_up.content, set_up.content
    await cmd(discord_stub, "subscribe", channel=DIGEST_CHANNEL_ID, schedule="* * * * *")

    # healthy: a run posts (this one, or the scheduled one if it came first), nobody is alerted
    await cmd(discord_stub, "now", channel=DIGEST_CHANNEL_ID)
    await discord_stub.wait_for_message(DIGEST_CHANNEL_ID, timeout=60)
    await until(lambda: newsbot.query("SELECT count(*) FROM deliveries") != [(0,)], 30)
    assert discord_stub.messages(ALERTS_CHANNEL_ID) == []

    # the channel loses Send Messages while a new story is due
    await discord_stub.set_overwrites(
        DIGEST_CHANNEL_ID, [OverwriteSpec(id=GUILD_ID, type=0, deny=P.SEND_MESSAGES)]
    )
    article_file(articles, "fresh", "A fresh published story", quality=90)
    ingest = await discord_stub.invoke("newsbot ingest", {}, guild_id=GUILD_ID, user=OWNER)
    await ingest.wait(timeout=60)
    await until(lambda: state(newsbot)[1] >= 1, 150)  # scheduled runs fail: nobody is watching
    await until(lambda: len(discord_stub.messages(ALERTS_CHANNEL_ID)) == 1, 30)
    [failing] = discord_stub.messages(ALERTS_CHANNEL_ID)
    assert "could not be posted" in failing["content"], failing["content"]
    assert "Send Messages" in failing["content"]
    await until(lambda: state(newsbot)[0] == 1, 200)  # paused after 3 failed runs in a row
    await until(lambda: len(discord_stub.messages(ALERTS_CHANNEL_ID)) == 2, 30)
    paused = discord_stub.messages(ALERTS_CHANNEL_ID)[1]
    assert "paused itself" in paused["content"] and "/digest resume" in paused["content"]
    assert "Send Messages" in paused["content"]
    assert "PAUSED" in (await cmd(discord_stub, "list")).content

    # a restart repeats nothing
    await newsbot.restart()
    await discord_stub.set_overwrites(DIGEST_CHANNEL_ID, [])
    resumed = await cmd(discord_stub, "resume", channel=DIGEST_CHANNEL_ID)
    assert "Resumed" in resumed.content, resumed.content
    await until(lambda: len(discord_stub.messages(ALERTS_CHANNEL_ID)) == 3, 30)
    back = discord_stub.messages(ALERTS_CHANNEL_ID)[2]
    assert "is back" in back["content"], back["content"]
    for alert in discord_stub.messages(ALERTS_CHANNEL_ID):
        assert alert["allowed_mentions"]["parse"] == [] and discord_stub.pings(alert).nobody

    # the story that was due arrives once; the digest stays healthy, no more alerts
    now = await cmd(discord_stub, "now", channel=DIGEST_CHANNEL_ID)
    assert "A fresh published story" in now.content or "Nothing new" in now.content, now.content
    await until(
        lambda: "A fresh published story" in discord_stub.embed_titles(DIGEST_CHANNEL_ID), 90
    )
    assert sorted(discord_stub.embed_titles(DIGEST_CHANNEL_ID)) == sorted(
        [COINDESK, "A fresh published story"]
    )
    assert state(newsbot) == (0, 0, "healthy")
    assert len(discord_stub.messages(ALERTS_CHANNEL_ID)) == 3
