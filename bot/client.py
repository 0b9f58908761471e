"""NewsBot: the discord.py client. It is handed the App (bot.app) by whoever opened it, and starts
and stops only its own background work: the scheduler and the resume of interrupted digests."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import signal
import sys
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.app import App, build_digests, open_app
from bot.config import Config, ConfigError
from bot.config.model import url_passwords
from bot.digests.jobs import Scheduler
from bot.digests.sender import DIGEST_REQUESTS_PER_S, DiscordSender
from bot.errors import UserError
from bot.feeds.poller import FeedPoller
from bot.ingest import IngestReport
from bot.news.service import NewsService
from bot.shards import COMMANDS_SHARD, ShardPlan
from bot.store import DatabaseInUse, FeedMove, FeedState, StoreInterface
from bot.tree import NewsTree, log_command
from bot.ui.pager import answer_expired_pager

log = logging.getLogger(__name__)

EXTENSIONS = ("bot.news.cog", "bot.digests.cog", "bot.admin.cog")
NO_TOKEN = """\
newsbot: no Discord token.
  Set DISCORD_TOKEN (or [discord] token in config.toml). To get one: open
  https://discord.com/developers/applications, create an application, open Bot, press
  Reset Token, and copy it. See README.md, "Run it on Discord".
  To try the bot without Discord, run `make demo` (ingest and previews in the terminal)."""
# Testing only: "1" lets this `newsbot run` share its database with another one (the lock of
# bot.store.lock is not taken), for the test that shows two bots on one database still post
# every story once. Logged as a warning; one bot per SQLite database is the supported setup.
UNSAFE_SHARED_DATABASE = "NEWSBOT_UNSAFE_SHARED_DATABASE"


class NewsBot(commands.Bot):
    def __init__(self, app: App, *, shards: ShardPlan | None = None):
        intents = discord.Intents.none()
        intents.guilds = True  # channels, roles and permissions of the guilds we serve
        # Fixed for the life of the process: a reload does not move it to other shards.
        self.shard_plan = shards or ShardPlan()
        sharding: dict[str, Any] = {}
        if self.shard_plan.sharded:
            sharding = {
                "shard_count": self.shard_plan.count,
                "shard_ids": list(self.shard_plan.shard_ids),
            }
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=NewsTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **sharding,
        )
        self.app = app
        self.scheduler = Scheduler()
        # each process paces at its shards' part of the one global limit all processes share
        per_second = DIGEST_REQUESTS_PER_S * self.shard_plan.global_share
        sender = DiscordSender(self, per_second=per_second)
        # Digests: runs and the ledger (delivery), the /digest commands and jobs (service),
        # of the guilds on this process's shards.
        self.digests = build_digests(app, sender, self.scheduler, self.shard_plan.owns)
        self._digest_resume: asyncio.Task[None] | None = None
        # each feed on its interval, fetched by the leader only (bot.feeds, bot.leader)
        self.feed_poller = FeedPoller(app.feeds, leads=app.leader.is_leader)
        self.live_pagers: set[str] = set()  # keys of the pagers this process holds (bot.ui.pager)

    # What the extensions take from the bot (their setup() checks it by Protocol).
    @property
    def config(self) -> Config:
        return self.app.config.current()

    @property
    def store(self) -> StoreInterface:
        return self.app.store

    @property
    def news(self) -> NewsService:
        return self.app.news

    # ------------------------------------------------------------ start-up
    async def setup_hook(self) -> None:
        config = self.config
        await self.store.articles.apply_aliases(config.topics.canonical)
        # The leader ingests (at its start and on the interval); the others skip the job and
        # ingest at once when they take over.
        await self.app.leader.start()
        self.app.leader.on_change(self._leadership_changed)
        self.scheduler.add_ingest_job(self._scheduled_ingest, config.ingest.interval_minutes)
        # Digests: the file's subscriptions into the store, jobs from the store.
        await self.digests.sync_config(config)
        await self.digests.rebuild_jobs()
        await self.load_extensions()
        await self.sync_commands()
        # Only now do jobs fire (digests due during downtime among them), so their sends never
        # compete with the command sync; interrupted runs resume in the background.
        self.scheduler.start()
        self._digest_resume = asyncio.create_task(self._resume_digests())
        self.feed_poller.start()

    async def load_extensions(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)  # a failure stops start-up

    async def on_ready(self) -> None:
        log.info(
            "ready as %s in %d guilds (%s)", self.user, len(self.guilds), self.shard_plan.describe()
        )
        # File-managed subscriptions whose guild was unknown: the process that sees the
        # channel records it, and schedules it when the guild is on its shards.
        for channel_id in await self.digests.resolve_guilds(self._guild_of_channel):
            log.info("digest for channel %s: guild recorded", channel_id)

    def _guild_of_channel(self, channel_id: int) -> int | None:
        guild = getattr(self.get_channel(channel_id), "guild", None)
        return guild.id if guild is not None else None

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await answer_expired_pager(interaction, self.live_pagers)

    async def on_app_command_completion(
        self, interaction: discord.Interaction, command: app_commands.Command[Any, ..., Any]
    ) -> None:
        log_command(interaction, "ok")

    def command_payload(self) -> list[dict[str, Any]]:
        return [c.to_dict(self.tree) for c in self.tree.get_commands()]

    async def sync_commands(self, *, force: bool = False) -> str:
        """Sync the command tree when it changed since the last sync (or when forced), in the
        process serving shard 0 only (``ShardPlan.syncs_commands``)."""
        if not self.shard_plan.syncs_commands:
            log.info("commands are synced by the process serving shard %d", COMMANDS_SHARD)
            return "left to shard 0"
        payload = json.dumps(self.command_payload(), sort_keys=True)
        digest = hashlib.sha256(payload.encode()).hexdigest()
        guild_ids = self.config.discord.guild_ids
        scope = ",".join(map(str, guild_ids)) or "global"
        key = f"command_hash:{scope}"
        if not force and await self.store.get_meta(key) == digest:
            log.info("commands unchanged since last sync (%s); not syncing", scope)
            return "unchanged"
        if guild_ids:
            for guild_id in guild_ids:
                guild = discord.Object(guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
                self.tree.clear_commands(guild=guild)
        else:
            await self.tree.sync()
        await self.store.set_meta(key, digest)
        log.info("commands synced (%s)", scope)
        return "synced"

    # ------------------------------------------------------------ work
    async def _resume_digests(self) -> None:
        try:
            for outcome in await self.digests.resume_pending():
                log.info("resumed digest for channel %s: %s", outcome.channel_id, outcome.status)
        except Exception:
            log.exception("resuming interrupted digests failed")

    def process_summary(self) -> str:
        """Its shards, and whether it does the once-only work (/newsbot status)."""
        role = "leads" if self.app.leader.is_leader() else "follows (another process leads)"
        return f"{self.shard_plan.describe()}; {role}: file ingest, feed fetching"

    async def _leadership_changed(self, leader: bool) -> None:
        if leader:
            self.scheduler.ingest_now()
            self.feed_poller.wake()  # the feeds the old leader left due are fetched now

    async def _scheduled_ingest(self) -> IngestReport | None:
        """The ingest job: the leader's work only (an owner's /newsbot ingest runs anywhere)."""
        if not self.app.leader.is_leader():
            log.debug("ingest skipped: another process leads")
            return None
        return await self.ingest()

    async def ingest(self) -> IngestReport:
        report = await self.app.ingestor.run(list(self.config.ingest.paths))
        for path, reason in report.rejected[:20]:
            log.warning("ingest rejected %s: %s", path, reason)
        return report

    async def feed_health(self) -> tuple[list[FeedState], list[FeedMove]]:
        """Each configured feed's state and moves (/newsbot feeds)."""
        health = await self.app.feeds.health()
        return [h.state for h in health], [m for h in health for m in h.moves]

    async def reload(self) -> str:
        """Re-read the config file; a file that does not validate is refused and nothing changes.

        Raises UserError with the reason when refused; returns a one-line summary otherwise.
        """
        try:
            fresh = await self.app.reload()
        except ConfigError as exc:
            log.warning("reload refused, running config kept: %s", exc)
            raise UserError(f"Config not reloaded, the running config stays: {exc}") from None
        self.scheduler.add_ingest_job(
            self._scheduled_ingest, fresh.ingest.interval_minutes, run_now=False
        )
        await self.digests.sync_config(fresh)
        self.feed_poller.wake()  # feeds added by the file are fetched now
        logging.getLogger().setLevel(fresh.logging.level)
        source = self.app.config.path or "built-in defaults"
        log.info("config reloaded from %s", source)
        return f"Config reloaded from {source}."

    # ------------------------------------------------------------ shut-down
    async def close(self) -> None:
        """Stop what setup_hook started; the App's store and ingestor are its opener's to close."""
        self.scheduler.shutdown()
        await self.feed_poller.stop()
        await super().close()
        if self._digest_resume is not None:
            self._digest_resume.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._digest_resume


class ShardedNewsBot(NewsBot, commands.AutoShardedBot):
    """NewsBot on some of Discord's shards: an AutoShardedBot with ``shard_ids`` and
    ``shard_count`` (``newsbot run --shard-count N --shard-ids 0,1``)."""


def make_bot(app: App, shards: ShardPlan) -> NewsBot:
    """The bot for this process: sharded when a shard count is set, else one connection."""
    if shards.sharded:
        return ShardedNewsBot(app, shards=shards)
    return NewsBot(app)


class TokenFilter(logging.Filter):
    """Belt and braces: the token never reaches a log line, even inside a traceback."""

    def __init__(self, token: str):
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg = message.replace(self.token, "[token]")
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if self.token in text:
                record.exc_info = None
                record.exc_text = text.replace(self.token, "[token]")
        return True


def point_at(config: Config) -> None:
    """Aim discord.py at a Discord-compatible endpoint (a proxy, or the test stub)."""
    if config.discord.api_base:
        discord.http.Route.BASE = config.discord.api_base.rstrip("/")
    if config.discord.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.discord.gateway_url)


def run_bot(config: Config) -> int:
    token = config.discord.token
    if not token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    # the database password too: nothing logs the URL unmasked, and nothing ever should
    secrets = [token, *(p for p in url_passwords(config.database.url or "") if len(p) >= 4)]
    for handler in logging.getLogger().handlers:
        for secret in secrets:
            handler.addFilter(TokenFilter(secret))
    point_at(config)
    exclusive = os.environ.get(UNSAFE_SHARED_DATABASE) != "1"
    if not exclusive:
        log.warning(
            "%s=1: %s is not locked and another `newsbot run` may share it (for tests only)",
            UNSAFE_SHARED_DATABASE,
            config.database.path,
        )
    try:
        asyncio.run(_serve(config, token, exclusive=exclusive))
    except DatabaseInUse as exc:
        print(in_use_message(exc), file=sys.stderr)
        return 2
    except discord.LoginFailure:
        print("newsbot: Discord refused the token; check DISCORD_TOKEN.", file=sys.stderr)
        return 2
    except discord.PrivilegedIntentsRequired:
        print("newsbot: Discord requires intents this bot does not use.", file=sys.stderr)
        return 2
    return 0


def in_use_message(exc: DatabaseInUse) -> str:
    holder = "another `newsbot run`" + (f" (pid {exc.pid})" if exc.pid is not None else "")
    return (
        f"newsbot: {holder} is using {exc.path}; stop it first, or give this one its own"
        " [database] path. (`newsbot ingest` and the other commands may run beside it.)"
    )


async def _hangup(bot: NewsBot) -> None:
    """SIGHUP does what /newsbot reload does; a refused file is already logged."""
    with contextlib.suppress(UserError):
        await bot.reload()


async def _serve(config: Config, token: str, *, exclusive: bool) -> None:
    # Long-running: the ingestor watches the folders it walked, so an unchanged tree is not
    # walked again; and it posts, so it holds the database's lock (one bot per database).
    async with open_app(config, watch=True, exclusive=exclusive) as app:
        bot = make_bot(app, config.discord.shards)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
        if hasattr(signal, "SIGHUP"):
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(_hangup(bot)))
        async with bot:
            await bot.start(token)
