"""The pager: pages of one result that only the member who asked can turn, and the answer to a
click on a pager this process no longer holds."""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Sequence
from typing import Any

import discord

from bot.render import Payload
from bot.tree import answer_error
from bot.ui.messages import message_kwargs, related_buttons, view_for

_PAGER_TEMPLATE = r"newsbot:pager:(?P<key>[0-9a-f]{16}):(?P<action>[a-z]+)"
EXPIRED_PAGES = (
    "These pages have expired (the bot restarted or they timed out);"
    " run the command again to page through fresh results."
)
PAGER_TIMEOUT_S = 600


class Pager(discord.ui.View):
    """Pages of one result; only the member who asked can turn them."""

    def __init__(self, pages: Sequence[Payload], owner_id: int, live: set[str] | None = None):
        super().__init__(timeout=PAGER_TIMEOUT_S)
        self.pages = list(pages)
        self.owner_id = owner_id
        # The keys of the pagers this process still holds; a click on any other is answered
        # by answer_expired_pager.
        self.key = secrets.token_hex(8)
        self._live = live if live is not None else set()
        self._live.add(self.key)
        self.index = 0
        self.message: discord.InteractionMessage | discord.WebhookMessage | None = None
        self._build()

    def _build(self) -> None:
        self.clear_items()
        page = self.pages[self.index]
        rows_used = 0
        for row, button in related_buttons(page):
            button.row = row
            rows_used = max(rows_used, row + 1)
            self.add_item(button)
        pager_row = min(rows_used, 4)
        previous: discord.ui.Button[Pager] = discord.ui.Button(
            label="◀ Previous",
            style=discord.ButtonStyle.primary,
            disabled=self.index == 0,
            row=pager_row,
            custom_id=self._custom_id("previous"),
        )
        counter: discord.ui.Button[Pager] = discord.ui.Button(
            label=f"{self.index + 1}/{len(self.pages)}",
            disabled=True,
            row=pager_row,
            custom_id=self._custom_id("page"),
        )
        following: discord.ui.Button[Pager] = discord.ui.Button(
            label="Next ▶",
            style=discord.ButtonStyle.primary,
            disabled=self.index >= len(self.pages) - 1,
            row=pager_row,
            custom_id=self._custom_id("next"),
        )
        # discord.py's way to give a built (not decorated) button its callback; mypy sees a method.
        previous.callback = self._previous  # type: ignore[method-assign]
        following.callback = self._next  # type: ignore[method-assign]
        for item in (previous, counter, following):
            self.add_item(item)

    def _custom_id(self, action: str) -> str:
        return f"newsbot:pager:{self.key}:{action}"

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the member who ran the command can turn these pages;"
            " run it yourself to get your own.",
            ephemeral=True,
        )
        return False

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await answer_error(interaction, error)

    async def _previous(self, interaction: discord.Interaction) -> None:
        await self._show(interaction, self.index - 1)

    async def _next(self, interaction: discord.Interaction) -> None:
        await self._show(interaction, self.index + 1)

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        self.index = max(0, min(index, len(self.pages) - 1))
        self._build()
        kwargs = message_kwargs(self.pages[self.index], view=self)
        await interaction.response.edit_message(**kwargs)

    async def on_timeout(self) -> None:
        self._live.discard(self.key)
        if self.message is None:
            return
        # Keep the Related buttons; only the pager stops.
        view = view_for(self.pages[self.index])
        with contextlib.suppress(discord.HTTPException):
            await self.message.edit(view=view)


async def answer_expired_pager(interaction: discord.Interaction, live: set[str]) -> None:
    """A pager button whose pages this process no longer holds: say so, ephemerally (without
    this, discord.py drops the click and the member sees "This interaction failed")."""
    if interaction.type is not discord.InteractionType.component:
        return
    data = interaction.data
    custom_id = str(data.get("custom_id", "")) if data is not None else ""
    match = re.fullmatch(_PAGER_TEMPLATE, custom_id)
    if match is None or match["key"] in live:
        return
    with contextlib.suppress(discord.HTTPException):
        await interaction.response.send_message(EXPIRED_PAGES, ephemeral=True)
