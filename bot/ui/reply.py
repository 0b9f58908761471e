"""Answer an interaction with rendered payloads: one message, or pages when there are more."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import discord

from bot.render import Payload
from bot.ui.messages import message_kwargs
from bot.ui.pager import Pager


@runtime_checkable
class PagerHost(Protocol):
    """A client that keeps the keys of the pagers it holds (bot.client.NewsBot)."""

    live_pagers: set[str]


async def send_payloads(
    interaction: discord.Interaction, payloads: Sequence[Payload], *, ephemeral: bool = False
) -> None:
    """Answer an interaction with rendered payloads: one message, paged when there are more."""
    if not payloads:
        return
    pager: Pager | None = None
    if len(payloads) == 1:
        kwargs = message_kwargs(payloads[0])
    else:
        client = interaction.client
        live = client.live_pagers if isinstance(client, PagerHost) else None
        pager = Pager(payloads, interaction.user.id, live)
        kwargs = message_kwargs(payloads[0], view=pager)
    message: discord.InteractionMessage | discord.WebhookMessage
    if interaction.response.is_done():
        message = await interaction.followup.send(ephemeral=ephemeral, wait=True, **kwargs)
    else:
        await interaction.response.send_message(ephemeral=ephemeral, **kwargs)
        message = await interaction.original_response()
    if pager is not None:
        pager.message = message
