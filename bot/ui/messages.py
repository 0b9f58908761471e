"""Rendered payloads -> discord.py message arguments: content, embeds, mentions and the Related
buttons and stories selects a payload carries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import discord
from discord import app_commands

from bot.render import RELATED_TEMPLATE, STORIES_TEMPLATE, AllowedMentions, Payload
from bot.ui.related import RelatedButton
from bot.ui.stories import StoriesSelect


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
    """A view holding the payload's Related buttons and stories selects (persistent, no
    timeout)."""
    items = [*related_buttons(payload), *stories_selects(payload)]
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for row, item in items:
        item.row = row
        view.add_item(item)
    return view


def stories_selects(payload: Payload) -> Iterator[tuple[int, StoriesSelect]]:
    """The payload's stories selects with the action row each fills."""
    for row_index, row in enumerate(payload.get("components", [])):
        for component in row.get("components", []):
            if component["type"] != 3:
                continue
            match = re.fullmatch(STORIES_TEMPLATE, component["custom_id"])
            if match:
                yield row_index, StoriesSelect(int(match["chunk"]), component)


def related_buttons(payload: Payload) -> Iterator[tuple[int, RelatedButton]]:
    """The payload's Related buttons with the action row each sits in."""
    for row_index, row in enumerate(payload.get("components", [])):
        for component in row.get("components", []):
            if component["type"] != 2:
                continue
            match = re.fullmatch(RELATED_TEMPLATE, component["custom_id"])
            if match:
                yield row_index, RelatedButton(int(match["id"]), match["check"], component["label"])
