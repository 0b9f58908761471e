"""Fixtures for end-to-end tests: a local Discord (`discord_stub`) and the real bot in a
subprocess (`newsbot`). Keep this file limited to those.

    async def test_topic(discord_stub, newsbot):
        await newsbot.start(articles_dir=SEEDS)
        reply = await (await discord_stub.invoke("news topic", {"topic": "AI"})).wait()
        assert reply.embeds
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest

from tests.discord_stub import DiscordStub, GuildSpec
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.world import BOT_TOKEN, OWNER, default_guild


@pytest.fixture
def guild_spec() -> GuildSpec:
    """The guild the stub serves; override this fixture in a test module to change the world."""
    return default_guild()


@pytest.fixture
async def discord_stub(guild_spec: GuildSpec) -> AsyncIterator[DiscordStub]:
    async with DiscordStub(guilds=[guild_spec], token=BOT_TOKEN, owner=OWNER) as stub:
        yield stub


@pytest.fixture
async def newsbot(
    discord_stub: DiscordStub, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[NewsbotProcess]:
    """A factory for the bot process: `await newsbot.start(config_overrides=..., articles_dir=...)`,
    `.stop()`, `.kill()`, `.restart()`, `.log`. Stopped after the test; its log is attached to
    the report of a failing test."""
    proc = NewsbotProcess(discord_stub, tmp_path)
    request.node.stash[_NEWSBOT_KEY] = proc
    try:
        yield proc
    finally:
        await proc.stop()


_NEWSBOT_KEY = pytest.StashKey[NewsbotProcess]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    proc = item.stash.get(_NEWSBOT_KEY, None)
    if proc is not None and report.failed and proc.log:
        report.sections.append(("newsbot log", proc.log[-20000:]))
    return report
