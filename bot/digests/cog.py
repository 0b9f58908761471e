"""/digest: subscribe, unsubscribe, pause, resume, list, preview, now, alerts. Thin: options ->
DigestService -> reply. Manage Server is checked at run time, not only by default permissions."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.config import DIGEST_LAYOUTS, MAX_AGE_DAYS, MAX_QUALITY_BAR
from bot.digests.service import DigestService
from bot.digests.targets import DIGEST_CHANNEL_TYPES, kind_of_type, missing_permissions
from bot.errors import UserError
from bot.schedules import timezone_names
from bot.ui.messages import app_choices
from bot.ui.reply import send_payloads
from bot.ui.stories import StoriesSelect

_POSTABLE = DIGEST_CHANNEL_TYPES


class _TextChannelOption(app_commands.Transformer):
    """A channel option that Discord's picker limits to text, announcement and forum channels;
    the value stays the interaction's AppCommandChannel (checked at run time: guild,
    permissions)."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return list(_POSTABLE)

    async def transform(
        self, interaction: discord.Interaction, value: app_commands.AppCommandChannel, /
    ) -> app_commands.AppCommandChannel:
        return value


TextChannelOption = app_commands.Transform[app_commands.AppCommandChannel, _TextChannelOption]


class Digest(commands.Cog):
    digest = app_commands.Group(
        name="digest",
        description="Scheduled news digests for this server's channels",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: commands.Bot, service: DigestService):
        self.bot = bot
        self.service = service

    async def cog_load(self) -> None:
        # the stories select of compact digests posted before a restart answers too
        self.bot.add_dynamic_items(StoriesSelect)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(StoriesSelect)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            raise app_commands.CheckFailure("Use /digest in a server, not in direct messages.")
        if not interaction.permissions.manage_guild:
            raise app_commands.CheckFailure(
                "You need the Manage Server permission to manage digests."
            )
        return True

    async def _channel_id(
        self,
        interaction: discord.Interaction,
        channel: TextChannelOption,
        *,
        postable: bool,
    ) -> int:
        """The channel, checked: in this server, a text, announcement or forum channel, and
        (when ``postable``) one where the bot has what that kind needs."""
        known = self.bot.get_channel(channel.id)
        known_guild = getattr(getattr(known, "guild", None), "id", interaction.guild_id)
        if channel.guild_id != interaction.guild_id or known_guild != interaction.guild_id:
            raise UserError("Pick a channel of this server.")
        if postable:
            if channel.type not in _POSTABLE:
                raise UserError(
                    f"{channel.mention} is not a text, announcement or forum channel; pick one."
                )
            resolved = channel.resolve()
            guild = interaction.guild
            if resolved is None or guild is None or guild.me is None:
                raise UserError(f"The bot cannot see {channel.mention}; give it View Channel.")
            problem = missing_permissions(
                kind_of_type(channel.type), resolved.permissions_for(guild.me)
            )
            if problem:
                raise UserError(f"In {channel.mention}, {problem}; grant it and try again.")
        return channel.id

    @digest.command(name="subscribe", description="Create or change a channel's digest")
    @app_commands.describe(
        channel="The channel that gets the digest",
        schedule="When: a 5-field cron like '0 9 * * *' or 'daily 09:00'",
        timezone="IANA time zone of the schedule, e.g. Europe/Berlin",
        topics="Comma-separated topics (leave out for all topics)",
        min_quality="Only articles at or above this quality (0-1000)",
        max_items="At most this many stories per digest (1-25)",
        max_age_days="Leave out stories published more days ago than this (0: no limit)",
        layout="cards: an embed per story; compact: one line per story, with a menu",
        role="A role mentioned at the top of each digest (it must be mentionable by the bot)",
        no_role="True: stop mentioning the role",
        keywords='Only stories with one of these words or "phrases" (comma-separated; -: none)',
        exclude='Leave out stories with any of these words or "phrases" (-: none)',
        publish="Announcement channels: publish each digest message to followers (default on)",
    )
    @app_commands.choices(
        layout=[app_commands.Choice(name=name, value=name) for name in DIGEST_LAYOUTS]
    )
    async def subscribe(  # noqa: PLR0917 (discord.py passes options by name)
        self,
        interaction: discord.Interaction,
        channel: TextChannelOption,
        schedule: app_commands.Range[str, 1, 100] | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        topics: app_commands.Range[str, 1, 500] | None = None,
        min_quality: app_commands.Range[int, 0, MAX_QUALITY_BAR] | None = None,
        max_items: app_commands.Range[int, 1, 25] | None = None,
        max_age_days: app_commands.Range[int, 0, MAX_AGE_DAYS] | None = None,
        layout: str | None = None,
        role: discord.Role | None = None,
        no_role: bool = False,
        keywords: app_commands.Range[str, 1, 1000] | None = None,
        exclude: app_commands.Range[str, 1, 1000] | None = None,
        publish: bool | None = None,
    ) -> None:
        channel_id = await self._channel_id(interaction, channel, postable=True)
        role_id = 0 if no_role else None
        if role is not None:
            self._check_role(interaction, channel, role)
            role_id = role.id
        payloads = await self.service.subscribe(
            interaction.guild_id or 0,
            channel_id,
            schedule=schedule,
            timezone=timezone,
            topics=topics,
            min_quality=min_quality,
            max_items=max_items,
            max_age_days=max_age_days,
            layout=layout,
            role_id=role_id,
            keywords=keywords,
            exclude=exclude,
            publish=publish,
            kind=kind_of_type(channel.type),
        )
        await send_payloads(interaction, payloads, ephemeral=True)

    @staticmethod
    def _check_role(
        interaction: discord.Interaction,
        channel: app_commands.AppCommandChannel,
        role: discord.Role,
    ) -> None:
        """The role is this server's, not @everyone, and the bot may mention it there."""
        guild = interaction.guild
        if guild is None or role.guild.id != guild.id:
            raise UserError("Pick a role of this server.")
        if role.is_default():
            raise UserError("A digest never mentions @everyone; pick a role.")
        if role.mentionable:
            return
        resolved = channel.resolve()
        me = guild.me
        if (
            resolved is not None
            and me is not None
            and resolved.permissions_for(me).mention_everyone
        ):
            return
        raise UserError(
            f"The bot may not mention {role.mention}: make the role mentionable (Server"
            f" Settings → Roles → {role.name} → Allow anyone to @mention this role), or give"
            f" the bot Mention @everyone, @here and All Roles in {channel.mention}."
        )

    @subscribe.autocomplete("timezone")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return app_choices(render.choices((n, n) for n in timezone_names(current, 25)))

    @subscribe.autocomplete("topics")
    async def topics_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return app_choices(await self.service.topic_choices(current))

    @digest.command(name="unsubscribe", description="Stop a channel's digest")
    @app_commands.describe(channel="The channel whose digest stops")
    async def unsubscribe(
        self, interaction: discord.Interaction, channel: TextChannelOption
    ) -> None:
        channel_id = await self._channel_id(interaction, channel, postable=False)
        payloads = await self.service.unsubscribe(interaction.guild_id or 0, channel_id)
        await send_payloads(interaction, payloads, ephemeral=True)

    @digest.command(name="pause", description="Pause a channel's digest")
    @app_commands.describe(channel="The channel whose digest pauses")
    async def pause(self, interaction: discord.Interaction, channel: TextChannelOption) -> None:
        channel_id = await self._channel_id(interaction, channel, postable=False)
        payloads = await self.service.pause(interaction.guild_id or 0, channel_id)
        await send_payloads(interaction, payloads, ephemeral=True)

    @digest.command(name="resume", description="Resume a paused digest")
    @app_commands.describe(channel="The channel whose digest resumes")
    async def resume(self, interaction: discord.Interaction, channel: TextChannelOption) -> None:
        channel_id = await self._channel_id(interaction, channel, postable=True)
        payloads = await self.service.resume(interaction.guild_id or 0, channel_id)
        await send_payloads(interaction, payloads, ephemeral=True)

    @digest.command(name="list", description="This server's digests: schedule, runs, errors")
    async def list_digests(self, interaction: discord.Interaction) -> None:
        guild_id = interaction.guild_id or 0

        def in_guild(channel_id: int) -> bool:
            found = self.bot.get_channel(channel_id)
            return getattr(getattr(found, "guild", None), "id", None) == guild_id

        def role_name(role_id: int) -> str | None:
            role = interaction.guild.get_role(role_id) if interaction.guild else None
            return role.name if role is not None else None

        payloads = await self.service.list_subscriptions(guild_id, in_guild, role_name)
        await send_payloads(interaction, payloads, ephemeral=True)

    @digest.command(name="alerts", description="Where the bot reports failing or paused digests")
    @app_commands.describe(channel="The channel for alerts (leave out to turn alerts off)")
    async def alerts(
        self, interaction: discord.Interaction, channel: TextChannelOption | None = None
    ) -> None:
        channel_id = None
        if channel is not None:
            if channel.type == discord.ChannelType.forum:
                # an alert is one plain message; a forum only takes posts
                raise UserError(f"{channel.mention} is a forum; pick a text channel for alerts.")
            channel_id = await self._channel_id(interaction, channel, postable=True)
        payloads = await self.service.set_alerts(interaction.guild_id or 0, channel_id)
        await send_payloads(interaction, payloads, ephemeral=True)

    @digest.command(name="preview", description="What the digest would post now, and why not more")
    @app_commands.describe(channel="The subscribed channel")
    async def preview(self, interaction: discord.Interaction, channel: TextChannelOption) -> None:
        channel_id = await self._channel_id(interaction, channel, postable=False)
        await interaction.response.defer(ephemeral=True, thinking=True)
        payloads = await self.service.preview(interaction.guild_id or 0, channel_id)
        await send_payloads(interaction, payloads, ephemeral=True)

    @digest.command(name="now", description="Post the digest now (recorded like a scheduled one)")
    @app_commands.describe(channel="The subscribed channel")
    async def now(self, interaction: discord.Interaction, channel: TextChannelOption) -> None:
        channel_id = await self._channel_id(interaction, channel, postable=True)
        await interaction.response.defer(ephemeral=True, thinking=True)
        payloads = await self.service.now(interaction.guild_id or 0, channel_id)
        await send_payloads(interaction, payloads, ephemeral=True)


@runtime_checkable
class DigestHost(Protocol):
    """A bot that holds the digest service (bot.client.NewsBot)."""

    @property
    def digests(self) -> DigestService: ...


async def setup(bot: commands.Bot) -> None:
    if not isinstance(bot, DigestHost):
        raise TypeError("bot.digests.cog needs a bot that holds the digest service")
    await bot.add_cog(Digest(bot, bot.digests))
