"""Payloads -> discord.py message arguments, the persistent Related button, and the pager."""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.render import RELATED_TEMPLATE, AllowedMentions, Payload, related_custom_id

if TYPE_CHECKING:
    from bot.client import NewsBot

_PAGER_TEMPLATE = r"newsbot:pager:(?P<key>[0-9a-f]{16}):(?P<action>[a-z]+)"
EXPIRED_PAGES = (
    "These pages have expired (the bot restarted or they timed out);"
    " run the command again to page through fresh results."
)
PAGER_TIMEOUT_S = 600


class RelatedButton(discord.ui.DynamicItem[discord.ui.Button], template=RELATED_TEMPLATE):
    """Works on any message that carries it, also one sent before a restart."""

    def __init__(self, article_id: int, check: str | None, label: str = "Related") -> None:
        custom_id = related_custom_id(article_id, check)
        super().__init__(
            discord.ui.Button(
                label=label[:80] or "Related",
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id,
            )
        )
        self.article_id = article_id
        self.check = check

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RelatedButton:
        return cls(int(match["id"]), match["check"])

    async def callback(self, interaction: discord.Interaction[NewsBot]) -> None:  # type: ignore[override]
        try:
            news = interaction.client.news
            payloads = await news.related_by_id(self.article_id, check=self.check)
            await send_payloads(interaction, payloads, ephemeral=True)
        except Exception as error:  # a dynamic item's errors would only reach the log
            await _on_error(interaction, error)


async def _on_error(interaction: discord.Interaction, error: Exception) -> None:
    """Buttons share the command tree's one error path: user errors answered ephemerally."""
    await interaction.client.tree.on_error(interaction, error)  # type: ignore[arg-type]


def app_choices(items: list[dict[str, str]]) -> list[app_commands.Choice[str]]:
    """Rendered autocomplete choices (already cut to Discord's limits) as discord.py choices."""
    return [app_commands.Choice(name=c["name"], value=c["value"]) for c in items]


def message_kwargs(payload: Payload, view: discord.ui.View | None = None) -> dict[str, Any]:
    """The keyword arguments for send/edit that carry one rendered payload."""
    mentions = payload["allowed_mentions"]
    kwargs: dict[str, Any] = {
        "content": payload.get("content") or None,
        "embeds": [discord.Embed.from_dict(e) for e in payload.get("embeds", [])],
        "allowed_mentions": _allowed_mentions(mentions),
    }
    built = view if view is not None else view_for(payload)
    if built is not None:
        kwargs["view"] = built
    return kwargs


def _allowed_mentions(data: AllowedMentions) -> discord.AllowedMentions:
    roles = [discord.Object(int(r)) for r in data.get("roles", [])]
    return discord.AllowedMentions(
        everyone=False, users=False, roles=roles or False, replied_user=False
    )


def view_for(payload: Payload) -> discord.ui.View | None:
    """A view holding the payload's Related buttons (persistent, no timeout)."""
    buttons = list(_related_buttons(payload))
    if not buttons:
        return None
    view = discord.ui.View(timeout=None)
    for row, button in buttons:
        button.row = row
        view.add_item(button)
    return view


def _related_buttons(payload: Payload):
    for row_index, row in enumerate(payload.get("components", [])):
        for component in row.get("components", []):
            match = re.fullmatch(RELATED_TEMPLATE, str(component.get("custom_id", "")))
            if match:
                label = component.get("label", "Related")
                yield row_index, RelatedButton(int(match["id"]), match["check"], label)


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
        for row, button in _related_buttons(page):
            button.row = row
            rows_used = max(rows_used, row + 1)
            self.add_item(button)
        pager_row = min(rows_used, 4)
        previous = discord.ui.Button(
            label="◀ Previous",
            style=discord.ButtonStyle.primary,
            disabled=self.index == 0,
            row=pager_row,
            custom_id=self._custom_id("previous"),
        )
        counter = discord.ui.Button(
            label=f"{self.index + 1}/{len(self.pages)}",
            disabled=True,
            row=pager_row,
            custom_id=self._custom_id("page"),
        )
        following = discord.ui.Button(
            label="Next ▶",
            style=discord.ButtonStyle.primary,
            disabled=self.index >= len(self.pages) - 1,
            row=pager_row,
            custom_id=self._custom_id("next"),
        )
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
        await _on_error(interaction, error)

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


async def send_payloads(
    interaction: discord.Interaction, payloads: Sequence[Payload], *, ephemeral: bool = False
) -> None:
    """Answer an interaction with rendered payloads: one message, paged when there are more."""
    if not payloads:
        return
    if len(payloads) == 1:
        kwargs = message_kwargs(payloads[0])
    else:
        pager = Pager(
            payloads, interaction.user.id, getattr(interaction.client, "live_pagers", None)
        )
        kwargs = message_kwargs(payloads[0], view=pager)
    if interaction.response.is_done():
        message = await interaction.followup.send(ephemeral=ephemeral, wait=True, **kwargs)
    else:
        await interaction.response.send_message(ephemeral=ephemeral, **kwargs)
        message = await interaction.original_response()
    if len(payloads) > 1:
        pager.message = message


async def answer_expired_pager(interaction: discord.Interaction, live: set[str]) -> None:
    """A pager button whose pages this process no longer holds: say so, ephemerally (without
    this, discord.py drops the click and the member sees "This interaction failed")."""
    if interaction.type is not discord.InteractionType.component:
        return
    custom_id = str((interaction.data or {}).get("custom_id", ""))
    match = re.fullmatch(_PAGER_TEMPLATE, custom_id)
    if match is None or match["key"] in live:
        return
    with contextlib.suppress(discord.HTTPException):
        await interaction.response.send_message(EXPIRED_PAGES, ephemeral=True)
