"""The persistent Related button: it works on any message that carries it, also one sent before
a restart. A click is answered by the news feature (bot.news.cog), which registers the button."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.render import RELATED_TEMPLATE, related_custom_id

# The event a click dispatches, with (interaction, article_id, check); a listener answers it.
RELATED_CLICK = "related_click"


class RelatedButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=RELATED_TEMPLATE
):
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

    async def callback(self, interaction: discord.Interaction) -> None:
        # Dispatched, not answered here: the answer needs the news service, and the pages it
        # sends carry Related buttons again (bot.ui.messages), so a call would be an import cycle.
        interaction.client.dispatch(RELATED_CLICK, interaction, self.article_id, self.check)
