"""A local Discord (REST API v10 + gateway) on 127.0.0.1 for end-to-end tests.

async with DiscordStub(guilds=[GuildSpec(id=111, channels=[ChannelSpec(id=222)])]) as discord:
    discord.http.Route.BASE = discord.url  # or DISCORD_API_BASE for the bot
    ...
"""

from . import permissions
from .faults import Fault
from .messages import StoredMessage
from .replies import Reply, ReplyEvent
from .server import DiscordStub, RecordedRequest, StubError
from .specs import ChannelSpec, GuildSpec, MemberSpec, OverwriteSpec, RoleSpec, UserSpec, snowflake

__all__ = [
    "ChannelSpec",
    "DiscordStub",
    "Fault",
    "GuildSpec",
    "MemberSpec",
    "OverwriteSpec",
    "RecordedRequest",
    "Reply",
    "ReplyEvent",
    "RoleSpec",
    "StoredMessage",
    "StubError",
    "UserSpec",
    "permissions",
    "snowflake",
]
