"""NewsTree: the one error path of every app command and component, and the command log."""

from __future__ import annotations

import logging
import time

import discord
from discord import app_commands

from bot.errors import UserError

log = logging.getLogger(__name__)


class NewsTree(app_commands.CommandTree):
    """The command tree whose errors take the one error path (answer_error)."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        interaction.extras["started"] = time.perf_counter()
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        await answer_error(interaction, error)


async def answer_error(interaction: discord.Interaction, error: Exception) -> None:
    """The one error path of commands, buttons and pagers: user errors become ephemeral replies,
    anything else is logged with its traceback and answered with an apology."""
    cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(cause, UserError):
        message = str(cause)
    elif isinstance(cause, app_commands.CheckFailure):
        message = str(cause) or "You cannot use this command here."
    elif isinstance(cause, app_commands.TransformerError):
        message = f"{cause}; check the option and try again."
    else:
        log.error("command %s failed", _command_name(interaction), exc_info=cause)
        message = "Something went wrong on our side; it has been logged. Try again shortly."
    refused = isinstance(cause, UserError | app_commands.CheckFailure)
    log_command(interaction, f"refused: {message}" if refused else "error")
    await reply_error(interaction, message)


async def reply_error(interaction: discord.Interaction, message: str) -> None:
    """An ephemeral reply, as a response or a followup, whichever is still possible."""
    text = message[:2000]
    mentions = discord.AllowedMentions.none()
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=mentions)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=mentions)
    except discord.HTTPException:
        log.warning("could not deliver an error reply for %s", _command_name(interaction))


def _command_name(interaction: discord.Interaction) -> str:
    command = interaction.command
    return f"/{command.qualified_name}" if command else f"interaction {interaction.type.name}"


def log_command(interaction: discord.Interaction, outcome: str) -> None:
    started = interaction.extras.get("started")
    took = f"{(time.perf_counter() - started) * 1000:.0f} ms" if started else "?"
    log.info(
        "%s by %s in guild %s: %s (%s)",
        _command_name(interaction),
        interaction.user.id,
        interaction.guild_id,
        outcome,
        took,
    )
