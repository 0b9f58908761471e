"""NewsBot: the discord.py client, given its config, store and services by main()."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.config import Config, ConfigError, load_config, resolve_config_path
from bot.digests.delivery import Delivery, DiscordSender
from bot.digests.jobs import Scheduler
from bot.digests.service import DigestService
from bot.errors import UserError
from bot.ingest import Ingestor, IngestReport
from bot.news.service import NewsService
from bot.store import Store
from bot.tree import NewsTree, log_command
from bot.ui.messages import RelatedButton

log = logging.getLogger(__name__)

EXTENSIONS = ("bot.news.cog", "bot.digests.cog", "bot.admin.cog")
NO_TOKEN = """\
newsbot: no Discord token.
  Set DISCORD_TOKEN (or [discord] token in config.toml). To get one: open
  https://discord.com/developers/applications, create an application, open Bot, press
  Reset Token, and copy it. See README.md, "Run it on Discord".
  To try the bot without Discord, run `make demo` (ingest and previews in the terminal)."""


class NewsBot(commands.Bot):
    def __init__(
        self,
        config: Config,
        store: Store,
        ingestor: Ingestor,
        *,
        config_path: Path | None = None,
    ):
        intents = discord.Intents.none()
        intents.guilds = True  # channels, roles and permissions of the guilds we serve
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=NewsTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
        )
        self.config = config
        self.config_path = config_path
        self.store = store
        self.ingestor = ingestor
        self.news = NewsService(
            store,
            canonical_topic=self.config.topics.canonical,
            latest_min_quality=lambda: self.config.digest.min_quality,
        )
        self.scheduler = Scheduler()
        # Digests: runs and the ledger (delivery), the /digest commands and jobs (digests).
        sender = DiscordSender(self)
        self.delivery = Delivery(
            store,
            sender,
            config=lambda: self.config,
            guild_of=sender.guild_of,
            schedule_retry=lambda channel_id, delay: self.scheduler.schedule_retry(
                channel_id, delay, self.delivery.retry
            ),
        )
        self.digests = DigestService(
            store, config=lambda: self.config, runner=self.delivery, jobs=self.scheduler
        )
        self.delivery.on_paused = self.digests.refresh_job
        self._digest_resume: asyncio.Task[None] | None = None
        self.live_pagers: set[str] = set()  # keys of the pagers this process holds (views.py)
        self.ready_once = asyncio.Event()
        # Called with the new config after a successful reload (digest schedules, ...).
        self.config_listeners: list[Callable[[Config], Awaitable[None]]] = []
        self.config_listeners.append(self._sync_digests)

    # ------------------------------------------------------------ start-up
    async def setup_hook(self) -> None:
        await self.store.articles.apply_aliases(self.config.topics.canonical)
        self.add_dynamic_items(RelatedButton)
        self.scheduler.add_ingest_job(self.ingest, self.config.ingest.interval_minutes)
        # Digests: the file's subscriptions into the store, jobs from the store.
        await self.digests.sync_config(self.config)
        await self.digests.rebuild_jobs()
        for extension in EXTENSIONS:
            await self.load_extension(extension)  # a failure stops start-up
        await self.sync_commands()
        # Only now do jobs fire (digests due during downtime among them), so their sends never
        # compete with the command sync; interrupted runs resume in the background.
        self.scheduler.start()
        self._digest_resume = asyncio.create_task(self._resume_digests())

    async def on_ready(self) -> None:
        log.info("ready as %s in %d guilds", self.user, len(self.guilds))
        self.ready_once.set()

    async def on_app_command_completion(
        self, interaction: discord.Interaction, command: app_commands.Command[Any, ..., Any]
    ) -> None:
        log_command(interaction, "ok")

    def command_payload(self) -> list[dict[str, Any]]:
        return [c.to_dict(self.tree) for c in self.tree.get_commands()]

    async def sync_commands(self, *, force: bool = False) -> str:
        """Sync the command tree when it changed since the last sync (or when forced)."""
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
    async def _sync_digests(self, config: Config) -> None:
        await self.digests.sync_config(config)

    async def _resume_digests(self) -> None:
        try:
            for outcome in await self.delivery.resume_pending():
                log.info("resumed digest for channel %s: %s", outcome.channel_id, outcome.status)
        except Exception:
            log.exception("resuming interrupted digests failed")

    async def ingest(self) -> IngestReport:
        report = await self.ingestor.run(list(self.config.ingest.paths))
        for path, reason in report.rejected[:20]:
            log.warning("ingest rejected %s: %s", path, reason)
        return report

    async def reload(self) -> str:
        """Re-read the config file; a file that does not validate is refused and nothing changes.

        Raises UserError with the reason when refused; returns a one-line summary otherwise.
        """
        try:
            # Started on built-in defaults: a config.toml created since is picked up now.
            if self.config_path is None:
                self.config_path = resolve_config_path(None, os.environ, Path.cwd())
            fresh = load_config(self.config_path, os.environ)
        except ConfigError as exc:
            log.warning("reload refused, running config kept: %s", exc)
            raise UserError(f"Config not reloaded, the running config stays: {exc}") from None
        if fresh.database.path != self.config.database.path:
            log.warning("reload: [database] path changes only take effect after a restart")
            fresh = replace(fresh, database=self.config.database)
        self.config = fresh
        await self.store.articles.apply_aliases(fresh.topics.canonical)
        self.ingestor.max_file_bytes = fresh.ingest.max_file_bytes
        self.ingestor.canonical_topic = fresh.topics.canonical
        self.scheduler.add_ingest_job(self.ingest, fresh.ingest.interval_minutes, run_now=False)
        for listener in self.config_listeners:
            await listener(fresh)
        logging.getLogger().setLevel(fresh.logging.level)
        log.info("config reloaded from %s", self.config_path or "built-in defaults")
        return f"Config reloaded from {self.config_path or 'built-in defaults'}."

    # ------------------------------------------------------------ shut-down
    async def close(self) -> None:
        self.scheduler.shutdown()
        await super().close()
        self.ingestor.close()
        await self.store.close()


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
    for handler in logging.getLogger().handlers:
        handler.addFilter(TokenFilter(token))
    point_at(config)
    try:
        asyncio.run(_serve(config, token))
    except discord.LoginFailure:
        print("newsbot: Discord refused the token; check DISCORD_TOKEN.", file=sys.stderr)
        return 2
    except discord.PrivilegedIntentsRequired:
        print("newsbot: Discord requires intents this bot does not use.", file=sys.stderr)
        return 2
    return 0


async def _hangup(bot: NewsBot) -> None:
    """SIGHUP does what /newsbot reload does; a refused file is already logged."""
    with contextlib.suppress(UserError):
        await bot.reload()


async def _serve(config: Config, token: str) -> None:
    store = await Store.open(config.database.path)
    # Long-running: it watches the folders it walked, so an unchanged tree is not walked again.
    ingestor = Ingestor(
        store,
        max_file_bytes=config.ingest.max_file_bytes,
        canonical_topic=config.topics.canonical,
        watch=True,
    )
    bot = NewsBot(config, store, ingestor, config_path=config.source)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
    if hasattr(signal, "SIGHUP"):
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(_hangup(bot)))
    try:
        async with bot:
            await bot.start(token)
    finally:
        ingestor.close()
        await store.close()
