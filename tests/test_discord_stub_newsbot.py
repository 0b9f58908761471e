"""The `newsbot` fixture: the real bot in a subprocess against the stub."""

from __future__ import annotations

from tests.discord_stub import DiscordStub
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.world import GUILD_ID, NEWS_CHANNEL_ID
from tests.fixtures.seeds import SEED_TITLES, SEEDS


async def test_bot_connects_syncs_and_stops(
    discord_stub: DiscordStub, newsbot: NewsbotProcess
) -> None:
    await newsbot.start()
    assert discord_stub.gateway.identify_count == 1
    names = {c["name"] for c in discord_stub.commands(GUILD_ID)} | {
        c["name"] for c in discord_stub.commands()
    }
    assert "news" in names
    assert discord_stub.unknown_routes == [], discord_stub.unknown_routes
    assert discord_stub.errors == []
    assert "stub-token" not in newsbot.log
    code = await newsbot.stop()
    assert code is not None and not newsbot.running


async def ask_for_ai_news(stub: DiscordStub) -> None:
    """/news topic:AI is answered in time, once, with the seeds."""
    reply = await stub.invoke(
        "news topic", {"topic": "AI"}, guild_id=GUILD_ID, channel_id=NEWS_CHANNEL_ID
    )
    await reply.wait(timeout=15)
    assert reply.rejected == [], reply
    assert {e["title"] for e in reply.embeds} == SEED_TITLES


async def test_bot_answers_after_a_restart_and_after_a_kill(
    discord_stub: DiscordStub, newsbot: NewsbotProcess
) -> None:
    await newsbot.start(articles_dir=SEEDS, ingested=True)
    await ask_for_ai_news(discord_stub)

    await newsbot.restart(ingested=True)  # after SIGTERM: a clean shutdown
    await ask_for_ai_news(discord_stub)

    await newsbot.restart(kill=True, ingested=True)  # after SIGKILL: a crash
    await ask_for_ai_news(discord_stub)

    # each process logged in with a session of its own, and no answer was sent twice
    assert discord_stub.gateway.identify_count == 3
    assert len(discord_stub.messages(NEWS_CHANNEL_ID, include_ephemeral=True)) == 3
    assert discord_stub.errors == []
