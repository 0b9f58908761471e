"""A crash between Discord taking a digest message and the bot recording it, followed by an
outage longer than Discord remembers a nonce: the restarted bot finds the message in the
channel's history instead of posting it again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.discord_stub import DiscordStub
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.world import ADMIN, DIGEST_CHANNEL_ID, GUILD_ID
from tests.fixtures.seeds import COINDESK

NONCE_WINDOW_S = 1.0
POSTS = rf"^/channels/{DIGEST_CHANNEL_ID}/messages$"


@pytest.fixture
def stub_options() -> dict[str, Any]:
    return {"nonce_window": NONCE_WINDOW_S}


async def test_resume_after_nonce_expiry_posts_nothing_twice(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
) -> None:
    await newsbot.start(articles_dir=articles, ingested=True)
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
    assert discord_stub.embed_titles(DIGEST_CHANNEL_ID) == [COINDESK]
