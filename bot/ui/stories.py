"""The stories select under a compact digest: choosing a story opens its related articles,
ephemerally, also on a digest posted before a restart. Like the Related button, a choice is
answered by the news feature (bot.news.cog), through the same event."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.render import STORIES_TEMPLATE, STORY_VALUE_TEMPLATE, SelectMenu, stories_custom_id
from bot.ui.related import RELATED_CLICK


class StoriesSelect(
    discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]], template=STORIES_TEMPLATE
):
    def __init__(self, chunk: int, menu: SelectMenu | None = None) -> None:
        options = [
            discord.SelectOption(
                label=option["label"],
                value=option["value"],
                description=option.get("description"),
            )
            for option in (menu["options"] if menu else [])
        ]
        super().__init__(
            discord.ui.Select(
                custom_id=stories_custom_id(chunk),
                placeholder=menu["placeholder"] if menu else None,
                options=options,
            )
        )
        self.chunk = chunk

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> StoriesSelect:
        return cls(int(match["chunk"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        data: Any = interaction.data or {}
        values = data.get("values") or []
        chosen = re.fullmatch(STORY_VALUE_TEMPLATE, str(values[0])) if values else None
        if chosen is None:
            await interaction.response.send_message(
                "That story is no longer known; pick another.",
                ephemeral=True,
                allowed_mentions=discord.AllowedMentions.none(),
            )
            return
        interaction.client.dispatch(RELATED_CLICK, interaction, int(chosen["id"]), chosen["check"])
