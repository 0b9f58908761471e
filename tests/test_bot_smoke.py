"""Smoke test: build NewsBot without connecting, load every extension, check the command tree
and the hash-based decision to sync it; start-up's own registrations; the one error path."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import discord
import pytest
from discord import app_commands

from bot.admin.cog import AdminHost
from bot.app import open_app
from bot.client import EXTENSIONS, NewsBot
from bot.config import Config, DatabaseConfig, DiscordConfig, IngestConfig
from bot.digests.cog import DigestHost
from bot.news.cog import NewsHost
from bot.shards import ShardPlan
from bot.ui.related import RelatedButton
from bot.ui.reply import PagerHost
from bot.ui.stories import StoriesSelect
from tests.discord_stub.validation import check_commands

NEWS_SUBCOMMANDS = {"topic", "related", "search", "latest", "topics"}
AUTOCOMPLETED = {("topic", "topic"), ("related", "article"), ("latest", "topic")}
MANAGE_GUILD = str(discord.Permissions(manage_guild=True).value)


class FakeSync:
    """Stands in for CommandTree.sync: records each call instead of calling Discord."""

    def __init__(self, tree: app_commands.CommandTree) -> None:
        self.tree = tree
        self.calls: list[tuple[int | None, list[str]]] = []

    async def __call__(self, *, guild: discord.abc.Snowflake | None = None) -> list[Any]:
        names = sorted(c.name for c in self.tree.get_commands(guild=guild))
        self.calls.append((guild.id if guild else None, names))
        return []


@asynccontextmanager
async def built(tmp_path: Path, config: Config | None = None) -> AsyncIterator[NewsBot]:
    """The bot as `newsbot run` builds it, every extension loaded, not connected."""
    config = config or Config()
    config = replace(config, database=DatabaseConfig(path=tmp_path / "db.sqlite3"))
    async with open_app(config, workers=1) as app:
        bot = NewsBot(app)
        try:
            await bot.load_extensions()
            yield bot
        finally:
            await bot.close()


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[NewsBot]:
    async with built(tmp_path) as bot:
        yield bot


def payload(bot: NewsBot) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in bot.command_payload()}


def options(command: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in command.get("options", [])}


async def test_every_extension_loads_and_the_tree_is_what_discord_accepts(bot: NewsBot):
    assert set(bot.extensions) == set(EXTENSIONS)
    commands = payload(bot)
    assert set(commands) == {"news", "digest", "newsbot"}
    assert check_commands(list(commands.values())) is None  # the stub's copy of Discord's rules


async def test_news_has_five_described_subcommands_with_autocomplete(bot: NewsBot):
    news = payload(bot)["news"]
    subs = options(news)
    assert set(subs) == NEWS_SUBCOMMANDS
    assert news.get("default_member_permissions") is None  # everyone
    for sub_name, sub in subs.items():
        assert sub["type"] == 1 and sub["description"] and sub["description"] != "…"
        for name, option in options(sub).items():
            # discord.py puts "…" where a parameter has no describe()
            assert option["description"] not in ("", "…"), (sub_name, name)
            autocompleted = (sub_name, name) in AUTOCOMPLETED
            assert bool(option.get("autocomplete")) == autocompleted, (sub_name, name)
            if option["type"] == 3:  # strings are capped, so Discord refuses an essay
                assert 1 <= option.get("max_length", 0) <= 200, (sub_name, name)
    assert set(options(subs["topic"])) == {"topic", "min_quality", "count"}
    assert options(subs["topic"])["topic"]["required"] is True
    count = options(subs["topic"])["count"]
    assert (count["min_value"], count["max_value"]) == (1, 25)
    quality = options(subs["topic"])["min_quality"]
    assert (quality["min_value"], quality["max_value"]) == (0, 1000)  # real files pass 100
    assert options(subs["search"])["query"]["max_length"] == 200
    assert options(subs["topics"]) == {}


async def test_digest_is_guild_only_for_manage_server(bot: NewsBot):
    digest = payload(bot)["digest"]
    assert str(digest["default_member_permissions"]) == MANAGE_GUILD
    assert digest.get("contexts") == [0] or digest.get("dm_permission") is False
    subs = options(digest)
    assert {"subscribe", "unsubscribe", "pause", "resume", "list", "preview", "now"} <= set(subs)
    group = bot.tree.get_command("digest")
    assert isinstance(group, app_commands.Group) and group.guild_only


async def test_newsbot_owner_tools(bot: NewsBot):
    newsbot = payload(bot)["newsbot"]
    assert set(options(newsbot)) == {"status", "ingest", "reload", "feeds"}
    group = bot.tree.get_command("newsbot")
    assert isinstance(group, app_commands.Group)
    for name in ("status", "ingest", "reload"):
        command = group.get_command(name)
        # owners only: a run-time check on each (Discord has no "owner" default permission)
        assert isinstance(command, app_commands.Command) and command.checks, name


def dynamic_items(bot: discord.Client) -> set[type]:
    # discord.py keeps the registered DynamicItem classes in its view store; no public getter.
    return set(bot._connection._view_store._dynamic_items.values())


async def test_start_up_registers_the_related_button_and_the_stories_select(tmp_path: Path):
    config = Config(
        database=DatabaseConfig(path=tmp_path / "db.sqlite3"),
        ingest=IngestConfig(paths=(tmp_path,)),
    )
    async with open_app(config, workers=1) as app:
        bot = NewsBot(app)
        bot.tree.sync = FakeSync(bot.tree)  # type: ignore[method-assign]
        async with bot:  # as `newsbot run` does, without logging in
            assert dynamic_items(bot) == set()
            await bot.setup_hook()
            assert dynamic_items(bot) == {RelatedButton, StoriesSelect}
            await bot.unload_extension("bot.news.cog")  # the news feature takes it back
            assert dynamic_items(bot) == {StoriesSelect}
            await bot.unload_extension("bot.digests.cog")  # and the digests feature its own
            assert dynamic_items(bot) == set()


def test_related_button_custom_ids():
    button = RelatedButton(42, "0a1b2c3d")
    assert button.custom_id == "newsbot:related:42:0a1b2c3d"
    template = RelatedButton.__discord_ui_compiled_template__
    assert template.fullmatch("newsbot:related:42:0a1b2c3d")
    assert template.fullmatch("newsbot:related:42")  # buttons sent before the check existed
    assert not template.fullmatch("newsbot:related:x")


async def test_the_bot_is_what_each_extension_asks_of_it(bot: NewsBot):
    # Typed: mypy fails here when NewsBot drifts from a Protocol an extension checks at setup.
    news: NewsHost = bot
    digests: DigestHost = bot
    admin: AdminHost = bot
    pagers: PagerHost = bot
    for host, protocol in ((news, NewsHost), (digests, DigestHost), (admin, AdminHost)):
        assert isinstance(host, protocol)
    assert isinstance(pagers, PagerHost)


@dataclass
class FakeResponse:
    done: bool = False
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def is_done(self) -> bool:
        return self.done

    async def send_message(self, content: str, **kwargs: Any) -> None:
        self.sent.append((content, kwargs))
        self.done = True


@dataclass
class FakeInteraction:
    """What the error path reads of an interaction."""

    command: app_commands.Command[Any, ..., Any]
    response: FakeResponse = field(default_factory=FakeResponse)
    type: discord.InteractionType = discord.InteractionType.application_command
    user: discord.Object = field(default_factory=lambda: discord.Object(4242))
    guild_id: int | None = 1
    extras: dict[str, Any] = field(default_factory=dict)


async def test_an_unexpected_error_is_logged_and_answered_with_an_apology(
    bot: NewsBot, caplog: pytest.LogCaptureFixture
):
    @app_commands.command(name="boom", description="Fails")
    async def boom(interaction: discord.Interaction) -> None: ...

    fake = FakeInteraction(command=boom)
    failure = RuntimeError("database is on fire")
    error = app_commands.CommandInvokeError(boom, failure)
    with caplog.at_level(logging.INFO, logger="bot.tree"):
        await bot.tree.on_error(cast("discord.Interaction[NewsBot]", fake), error)
    [(text, options)] = fake.response.sent
    assert text == "Something went wrong on our side; it has been logged. Try again shortly."
    assert options["ephemeral"] is True
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert logged.getMessage() == "command /boom failed"
    assert logged.exc_info is not None and logged.exc_info[1] is failure  # the traceback
    assert "database is on fire" not in text
    assert any(r.getMessage().endswith(": error (?)") for r in caplog.records)


async def test_sync_only_when_the_tree_changed(bot: NewsBot):
    fake = FakeSync(bot.tree)
    bot.tree.sync = fake  # type: ignore[method-assign]
    assert await bot.sync_commands() == "synced"
    assert fake.calls == [(None, ["digest", "news", "newsbot"])]  # global: no guild_ids
    assert await bot.sync_commands() == "unchanged"
    assert len(fake.calls) == 1
    assert await bot.sync_commands(force=True) == "synced"  # an owner asked
    assert len(fake.calls) == 2

    @app_commands.command(name="extra", description="A command added later")
    async def extra(interaction: discord.Interaction) -> None: ...

    bot.tree.add_command(extra)
    assert await bot.sync_commands() == "synced"  # the tree changed: its hash did
    assert fake.calls[-1] == (None, ["digest", "extra", "news", "newsbot"])
    assert await bot.sync_commands() == "unchanged"


async def test_sync_decision_survives_a_restart(tmp_path: Path):
    async with built(tmp_path) as first:
        first.tree.sync = FakeSync(first.tree)  # type: ignore[method-assign]
        assert await first.sync_commands() == "synced"
    async with built(tmp_path) as second:  # same database: the stored hash
        fake = FakeSync(second.tree)
        second.tree.sync = fake  # type: ignore[method-assign]
        assert await second.sync_commands() == "unchanged"
        assert fake.calls == []


async def test_a_process_not_serving_shard_0_leaves_the_sync_to_the_one_that_does(
    tmp_path: Path,
):
    """Two processes starting together would both sync and trip the route's limit."""
    config = replace(Config(), database=DatabaseConfig(path=tmp_path / "db.sqlite3"))
    async with open_app(config, workers=1) as app:
        for ids, expected in (((1,), "left to shard 0"), ((0,), "synced")):
            bot = NewsBot(app, shards=ShardPlan(2, ids))
            try:
                fake = FakeSync(bot.tree)
                bot.tree.sync = fake  # type: ignore[method-assign]
                await bot.load_extensions()
                assert await bot.sync_commands() == expected
                assert len(fake.calls) == (expected == "synced")
            finally:
                await bot.close()


async def test_sync_to_configured_guilds_leaves_no_global_copy(tmp_path: Path):
    config = Config(discord=DiscordConfig(guild_ids=(111, 222)))
    async with built(tmp_path, config) as bot:
        fake = FakeSync(bot.tree)
        bot.tree.sync = fake  # type: ignore[method-assign]
        assert await bot.sync_commands() == "synced"
        names = ["digest", "news", "newsbot"]
        assert fake.calls == [(111, names), (222, names)]
        assert bot.tree.get_commands(guild=discord.Object(111)) == []  # copies cleared
        assert await bot.sync_commands() == "unchanged"
        stored = await bot.store.get_meta("command_hash:111,222")
        assert stored and stored != await bot.store.get_meta("command_hash:global")


async def test_command_payload_is_deterministic(tmp_path: Path, bot: NewsBot):
    async with built(tmp_path / "other") as other:
        left = json.dumps(bot.command_payload(), sort_keys=True)
        assert left == json.dumps(other.command_payload(), sort_keys=True)


async def test_pager_buttons_name_a_live_pager_until_it_times_out():
    from bot import render
    from bot.ui.pager import Pager

    live: set[str] = set()
    pages = [render.notice("one"), render.notice("two")]
    pager = Pager(pages, owner_id=4242, live=live)
    assert live == {pager.key}
    ids = [item.custom_id for item in pager.children if isinstance(item, discord.ui.Button)]
    assert ids == [f"newsbot:pager:{pager.key}:{a}" for a in ("previous", "page", "next")]
    await pager.on_timeout()  # no message to edit: only forgets its key
    assert live == set()
