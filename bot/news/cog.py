"""/news: topic, related, search, latest, topics. Thin: options -> NewsService -> reply."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import MAX_QUALITY_BAR
from bot.news.service import NewsService
from bot.tree import answer_error
from bot.ui.messages import app_choices
from bot.ui.related import RELATED_CLICK, RelatedButton
from bot.ui.reply import send_payloads


@runtime_checkable
class NewsHost(Protocol):
    """A bot that holds the news service (bot.client.NewsBot)."""

    @property
    def news(self) -> NewsService: ...


class News(commands.Cog):
    news = app_commands.Group(name="news", description="News articles by topic, search and links")

    def __init__(self, bot: commands.Bot, service: NewsService):
        self.bot = bot
        self.service = service

    async def cog_load(self) -> None:
        # Related buttons on messages sent before a restart answer too.
        self.bot.add_dynamic_items(RelatedButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(RelatedButton)

    @commands.Cog.listener(f"on_{RELATED_CLICK}")
    async def on_related_click(
        self, interaction: discord.Interaction, article_id: int, check: str | None
    ) -> None:
        try:
            payloads = await self.service.related_by_id(article_id, check=check)
            await send_payloads(interaction, payloads, ephemeral=True)
        except Exception as error:  # a listener's errors would only reach the log
            await answer_error(interaction, error)

    @news.command(name="topic", description="Newest articles on a topic, each story once")
    @app_commands.describe(
        topic="The topic, e.g. AI (start typing to pick one)",
        min_quality="Only articles at or above this quality (0-1000)",
        count="How many stories to show (1-25)",
    )
    async def topic(
        self,
        interaction: discord.Interaction,
        topic: app_commands.Range[str, 1, 100],
        min_quality: app_commands.Range[int, 0, MAX_QUALITY_BAR] = 0,
        count: app_commands.Range[int, 1, 25] = 10,
    ) -> None:
        payloads = await self.service.topic(topic, min_quality=min_quality, count=count)
        await send_payloads(interaction, payloads)

    @topic.autocomplete("topic")
    async def topic_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return app_choices(await self.service.topic_choices(current))

    @news.command(name="related", description="An article and the articles related to it")
    @app_commands.describe(article="The article (start typing its title to pick one)")
    async def related(
        self, interaction: discord.Interaction, article: app_commands.Range[str, 1, 200]
    ) -> None:
        payloads = await self.service.related(article)
        await send_payloads(interaction, payloads)

    @related.autocomplete("article")
    async def article_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return app_choices(await self.service.article_choices(current))

    @news.command(name="search", description="Search titles, excerpts and providers")
    @app_commands.describe(query="Words to look for, e.g. facial recognition")
    async def search(
        self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 200]
    ) -> None:
        payloads = await self.service.search(query)
        await send_payloads(interaction, payloads)

    @news.command(name="latest", description="Newest published, high-quality articles")
    @app_commands.describe(topic="Only this topic (optional)")
    async def latest(
        self,
        interaction: discord.Interaction,
        topic: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        payloads = await self.service.latest(topic)
        await send_payloads(interaction, payloads)

    @latest.autocomplete("topic")
    async def latest_topic_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return app_choices(await self.service.topic_choices(current))

    @news.command(name="topics", description="All topics with their article counts")
    async def topics(self, interaction: discord.Interaction) -> None:
        payloads = await self.service.topics()
        await send_payloads(interaction, payloads)


async def setup(bot: commands.Bot) -> None:
    if not isinstance(bot, NewsHost):
        raise TypeError("bot.news.cog needs a bot that holds the news service")
    await bot.add_cog(News(bot, bot.news))
