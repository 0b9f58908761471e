"""Fixtures for end-to-end tests: a local Discord (`discord_stub`) and the real bot in a
subprocess (`newsbot`); and the `e2e` and `fuzz` markers. Keep this file limited to those.

    async def test_topic(discord_stub, newsbot):
        await newsbot.start(articles_dir=SEEDS)
        reply = await (await discord_stub.invoke("news topic", {"topic": "AI"})).wait()
        assert reply.embeds
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any

import pytest

from tests.discord_stub import DiscordStub, GuildSpec
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.world import BOT_TOKEN, OWNER, default_guild

# PostgreSQL for the tests (a server per session, a database per test) and `backend_store`.
pytest_plugins = ("tests.postgres",)


@pytest.fixture
def stub_guilds() -> list[GuildSpec]:
    """The guilds the stub serves; override this fixture in a test module to change the world."""
    return [default_guild()]


@pytest.fixture
def stub_options() -> dict[str, Any]:
    """More keyword arguments for `DiscordStub` (e.g. `nonce_window`); override to change them."""
    return {}


@pytest.fixture
async def discord_stub(
    stub_guilds: list[GuildSpec], stub_options: dict[str, Any]
) -> AsyncIterator[DiscordStub]:
    async with DiscordStub(stub_guilds, token=BOT_TOKEN, owner=OWNER, **stub_options) as stub:
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


_E2E_DIR = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by what a test does, so `make test-fast` (`-m "not e2e and not fuzz"`) needs no
    marker in the test files: `e2e` for tests/e2e/ and any test that starts the bot process
    (the `newsbot` fixture), `fuzz` for hypothesis property tests. Tests marked `minutes` go
    first: pytest-xdist hands the first tests out one to a worker, so those waits overlap."""
    for item in items:
        if item.path.is_relative_to(_E2E_DIR) or "newsbot" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.fuzz)
    items.sort(key=lambda item: item.get_closest_marker("minutes") is None)  # stable
