"""The bot process: it stops cleanly on SIGTERM at any moment and never logs its token."""

from __future__ import annotations

import asyncio

from tests.discord_stub.world import BOT_TOKEN


async def test_sigterm_exits_cleanly_early_and_late(discord_stub, newsbot):
    # Right after READY (discord.py is still waiting for guilds), and once settled.
    for delay in (0.2, 1.5, 3.0):
        await newsbot.start()
        await asyncio.sleep(delay)
        code = await newsbot.stop(timeout=8)
        assert code == 0, newsbot.log[-3000:]
    assert BOT_TOKEN not in newsbot.log
