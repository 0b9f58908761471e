"""/newsbot status|ingest|reload|feeds, for the application's owners and [discord] owner_ids."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.config import Config
from bot.store import FeedMove, FeedState, StoreInterface
from bot.ui.reply import send_payloads


class IngestSummary(Protocol):
    @property
    def rejected(self) -> Sequence[tuple[str, str]]: ...

    def summary(self) -> str: ...


class JobList(Protocol):
    def jobs(self) -> list[tuple[str, str, datetime | None]]: ...


@runtime_checkable
class AdminHost(Protocol):
    """The running bot, as its owners drive it (bot.client.NewsBot)."""

    @property
    def config(self) -> Config: ...

    @property
    def store(self) -> StoreInterface: ...

    @property
    def scheduler(self) -> JobList: ...

    async def is_owner(self, user: discord.abc.User, /) -> bool: ...

    async def ingest(self) -> IngestSummary: ...

    async def reload(self) -> str: ...

    async def feed_health(self) -> tuple[list[FeedState], list[FeedMove]]: ...

    def process_summary(self) -> str: ...


async def _is_owner(interaction: discord.Interaction) -> bool:
    host = interaction.client
    if isinstance(host, AdminHost) and (
        interaction.user.id in host.config.discord.owner_ids
        or await host.is_owner(interaction.user)
    ):
        return True
    raise app_commands.CheckFailure("Only the bot's owners can use /newsbot.")


class Admin(commands.Cog):
    newsbot = app_commands.Group(
        name="newsbot", description="Bot owner tools: status, ingest, reload, feeds"
    )

    def __init__(self, host: AdminHost):
        self.host = host

    @newsbot.command(name="status", description="Counts, last ingest and scheduled jobs")
    @app_commands.check(_is_owner)
    async def status(self, interaction: discord.Interaction) -> None:
        status = await self.host.store.status()
        counts = status.as_dict() | {"rejected_files": len(status.rejected_files)}
        lines = [f"**{key.replace('_', ' ')}**: {value}" for key, value in counts.items()]
        lines += [f"- `{path}`: {reason}" for path, reason in status.rejected_files[:10]]
        if len(status.rejected_files) > 10:
            lines.append(f"... and {len(status.rejected_files) - 10} more rejected files")
        lines.append(f"**this process**: {self.host.process_summary()}")
        lines.append("**jobs**:")
        for job_id, name, next_run in self.host.scheduler.jobs():
            when = discord.utils.format_dt(next_run, "R") if next_run else "paused"
            lines.append(f"- {name} (`{job_id}`): next {when}")
        await send_payloads(interaction, [render.notice("\n".join(lines))], ephemeral=True)

    @newsbot.command(name="ingest", description="Rescan the article folders now")
    @app_commands.check(_is_owner)
    async def ingest(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.host.ingest()
        lines = [report.summary()]
        lines += [f"- `{path}`: {reason}" for path, reason in report.rejected[:10]]
        if len(report.rejected) > 10:
            lines.append(f"... and {len(report.rejected) - 10} more rejected files")
        await send_payloads(interaction, [render.notice("\n".join(lines))], ephemeral=True)

    @newsbot.command(name="reload", description="Reload config.toml (refused if it is invalid)")
    @app_commands.check(_is_owner)
    async def reload(self, interaction: discord.Interaction) -> None:
        message = await self.host.reload()
        await send_payloads(interaction, [render.notice(message)], ephemeral=True)

    @newsbot.command(name="feeds", description="Each feed's health: last fetch, errors, next fetch")
    @app_commands.check(_is_owner)
    async def feeds(self, interaction: discord.Interaction) -> None:
        states, moves = await self.host.feed_health()
        await send_payloads(interaction, [render.feeds_payload(states, moves)], ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    if not isinstance(bot, AdminHost):
        raise TypeError("bot.admin.cog needs a bot that offers the owner tools")
    await bot.add_cog(Admin(bot))
