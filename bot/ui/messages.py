"""Rendered payloads -> discord.py message arguments: content, embeds, mentions and the Related
buttons a payload carries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import discord
from discord import app_commands

from bot.render import RELATED_TEMPLATE, AllowedMentions, Payload
from bot.ui.related import RelatedButton


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
    buttons = list(related_buttons(payload))
    if not buttons:
        return None
    view = discord.ui.View(timeout=None)
    for row, button in buttons:
        button.row = row
        view.add_item(button)
    return view


def related_buttons(payload: Payload) -> Iterator[tuple[int, RelatedButton]]:
    """The payload's Related buttons with the action row each sits in."""
    for row_index, row in enumerate(payload.get("components", [])):
        for component in row.get("components", []):
            match = re.fullmatch(RELATED_TEMPLATE, str(component.get("custom_id", "")))
            if match:
                label = component.get("label", "Related")
                yield row_index, RelatedButton(int(match["id"]), match["check"], label)
