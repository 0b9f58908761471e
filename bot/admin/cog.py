"""/newsbot status|ingest|reload, for the application's owners and [discord] owner_ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.ui.messages import send_payloads

if TYPE_CHECKING:
    from bot.client import NewsBot


async def _is_owner(interaction: discord.Interaction) -> bool:
    bot: NewsBot = interaction.client  # type: ignore[assignment]
    if interaction.user.id in bot.config.discord.owner_ids or await bot.is_owner(interaction.user):
        return True
    raise app_commands.CheckFailure("Only the bot's owners can use /newsbot.")


class Admin(commands.Cog):
    newsbot = app_commands.Group(
        name="newsbot", description="Bot owner tools: status, ingest, reload"
    )

    def __init__(self, bot: NewsBot):
        self.bot = bot

    @newsbot.command(name="status", description="Counts, last ingest and scheduled jobs")
    @app_commands.check(_is_owner)
    async def status(self, interaction: discord.Interaction) -> None:
        status = await self.bot.store.status()
        lines = [f"**{key.replace('_', ' ')}**: {value}" for key, value in status.as_dict().items()]
        lines.append("**jobs**:")
        for job_id, name, next_run in self.bot.scheduler.jobs():
            when = discord.utils.format_dt(next_run, "R") if next_run else "paused"
            lines.append(f"- {name} (`{job_id}`): next {when}")
        await send_payloads(interaction, [render.notice("\n".join(lines))], ephemeral=True)

    @newsbot.command(name="ingest", description="Rescan the article folders now")
    @app_commands.check(_is_owner)
    async def ingest(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.bot.ingest()
        lines = [report.summary()]
        lines += [f"- `{path}`: {reason}" for path, reason in report.rejected[:10]]
        if len(report.rejected) > 10:
            lines.append(f"... and {len(report.rejected) - 10} more rejected files")
        await send_payloads(interaction, [render.notice("\n".join(lines))], ephemeral=True)

    @newsbot.command(name="reload", description="Reload config.toml (refused if it is invalid)")
    @app_commands.check(_is_owner)
    async def reload(self, interaction: discord.Interaction) -> None:
        message = await self.bot.reload()
        await send_payloads(interaction, [render.notice(message)], ephemeral=True)


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Admin(bot))
