"""/news: topic, related, search, latest, topics. Thin: options -> NewsService -> reply."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.ui.messages import answer_expired_pager, app_choices, send_payloads

if TYPE_CHECKING:
    from bot.client import NewsBot


class News(commands.Cog):
    news = app_commands.Group(name="news", description="News articles by topic, search and links")

    def __init__(self, bot: NewsBot):
        self.bot = bot

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await answer_expired_pager(interaction, self.bot.live_pagers)

    @news.command(name="topic", description="Newest articles on a topic, each story once")
    @app_commands.describe(
        topic="The topic, e.g. AI (start typing to pick one)",
        min_quality="Only articles at or above this quality (0-100)",
        count="How many stories to show (1-25)",
    )
    async def topic(
        self,
        interaction: discord.Interaction,
        topic: app_commands.Range[str, 1, 100],
        min_quality: app_commands.Range[int, 0, 100] = 0,
        count: app_commands.Range[int, 1, 25] = 10,
    ) -> None:
        payloads = await self.bot.news.topic(topic, min_quality=min_quality, count=count)
        await send_payloads(interaction, payloads)

    @topic.autocomplete("topic")
    async def topic_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return app_choices(await self.bot.news.topic_choices(current))

    @news.command(name="related", description="An article and the articles related to it")
    @app_commands.describe(article="The article (start typing its title to pick one)")
    async def related(
        self, interaction: discord.Interaction, article: app_commands.Range[str, 1, 200]
    ) -> None:
        payloads = await self.bot.news.related(article)
        await send_payloads(interaction, payloads)

    @related.autocomplete("article")
    async def article_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return app_choices(await self.bot.news.article_choices(current))

    @news.command(name="search", description="Search titles, excerpts and providers")
    @app_commands.describe(query="Words to look for, e.g. facial recognition")
    async def search(
        self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 200]
    ) -> None:
        payloads = await self.bot.news.search(query)
        await send_payloads(interaction, payloads)

    @news.command(name="latest", description="Newest published, high-quality articles")
    @app_commands.describe(topic="Only this topic (optional)")
    async def latest(
        self,
        interaction: discord.Interaction,
        topic: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        payloads = await self.bot.news.latest(topic)
        await send_payloads(interaction, payloads)

    @latest.autocomplete("topic")
    async def latest_topic_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return app_choices(await self.bot.news.topic_choices(current))

    @news.command(name="topics", description="All topics with their article counts")
    async def topics(self, interaction: discord.Interaction) -> None:
        payloads = await self.bot.news.topics()
        await send_payloads(interaction, payloads)


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(News(bot))
