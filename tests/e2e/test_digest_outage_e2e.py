"""A crash between Discord taking a digest message and the bot recording it, followed by an
outage longer than Discord remembers a nonce: the restarted bot finds the message in the
channel's history instead of posting it again."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.discord_stub import DiscordStub
from tests.discord_stub.process import ROOT, NewsbotProcess
from tests.discord_stub.world import (
    ADMIN,
    BOT_TOKEN,
    DIGEST_CHANNEL_ID,
    GUILD_ID,
    OWNER,
    default_guild,
)

NONCE_WINDOW_S = 1.0
POSTS = rf"^/channels/{DIGEST_CHANNEL_ID}/messages$"


@pytest.fixture
async def discord_stub() -> AsyncIterator[DiscordStub]:
    async with DiscordStub(
        guilds=[default_guild()], token=BOT_TOKEN, owner=OWNER, nonce_window=NONCE_WINDOW_S
    ) as stub:
        yield stub


async def test_resume_after_nonce_expiry_posts_nothing_twice(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, tmp_path: Path
):
    articles = tmp_path / "articles"
    shutil.copytree(ROOT / "seeds", articles)
    await newsbot.start(articles_dir=articles)
    await newsbot.wait_for_log(r"ingest: ", timeout=20)
    reply = await discord_stub.invoke(
        "digest subscribe", {"channel": DIGEST_CHANNEL_ID}, guild_id=GUILD_ID, user=ADMIN
    )
    await reply.wait(timeout=30)
    discord_stub.delay(
        "POST", POSTS, 10.0, response=True
    )  # Discord has it; the bot dies before recording it
    await discord_stub.invoke(
        "digest now", {"channel": DIGEST_CHANNEL_ID}, guild_id=GUILD_ID, user=ADMIN
    )
    await discord_stub.wait_for_message(DIGEST_CHANNEL_ID, timeout=30)
    await newsbot.kill()
    await asyncio.sleep(NONCE_WINDOW_S * 2)  # Discord no longer drops a repeat of that nonce
    await newsbot.start()
    await newsbot.wait_for_log(r"resumed digest for channel \d+: delivered", timeout=30)
    titles = Counter(
        e.get("title") for m in discord_stub.messages(DIGEST_CHANNEL_ID) for e in m["embeds"]
    )
    assert titles == {"AI Startup Pilots Digital Masks That Counter Facial Recognition": 1}
