"""The `newsbot` fixture: the real bot in a subprocess against the stub."""

from __future__ import annotations

from tests.discord_stub import DiscordStub
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.world import GUILD_ID


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


async def test_bot_restart_and_kill(discord_stub: DiscordStub, newsbot: NewsbotProcess) -> None:
    await newsbot.start()
    await newsbot.restart(kill=True)
    assert discord_stub.gateway.ready_count == 2
    assert newsbot.starts == 2
    assert await newsbot.kill() is not None
