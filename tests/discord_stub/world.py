"""The default world the `discord_stub` / `newsbot` fixtures use. Import the ids in tests."""

from __future__ import annotations

from . import permissions as P
from .specs import ChannelSpec, GuildSpec, MemberSpec, OverwriteSpec, RoleSpec, UserSpec

GUILD_ID = 111
NEWS_CHANNEL_ID = 222  # the bot may view, send and embed
DIGEST_CHANNEL_ID = 223  # same, a second channel for digests
NO_SEND_CHANNEL_ID = 224  # @everyone denied Send Messages
NO_EMBED_CHANNEL_ID = 225  # @everyone denied Embed Links
HIDDEN_CHANNEL_ID = 226  # @everyone denied View Channel
ADMIN_ROLE_ID = 444  # Manage Server
OWNER = UserSpec(id=999, username="owner")
MEMBER = UserSpec(id=4242, username="tester")
ADMIN = UserSpec(id=4343, username="admin")
BOT_TOKEN = "stub-token"


def default_guild() -> GuildSpec:
    def deny(bits: int) -> list[OverwriteSpec]:
        return [OverwriteSpec(id=GUILD_ID, type=0, deny=bits)]

    return GuildSpec(
        id=GUILD_ID,
        name="News Test Guild",
        owner_id=OWNER.id,
        roles=[RoleSpec(id=ADMIN_ROLE_ID, name="admins", permissions=P.MANAGE_GUILD, position=1)],
        channels=[
            ChannelSpec(id=NEWS_CHANNEL_ID, name="news", position=0),
            ChannelSpec(id=DIGEST_CHANNEL_ID, name="digest", position=1),
            ChannelSpec(
                id=NO_SEND_CHANNEL_ID,
                name="read-only",
                position=2,
                permission_overwrites=deny(P.SEND_MESSAGES),
            ),
            ChannelSpec(
                id=NO_EMBED_CHANNEL_ID,
                name="no-embeds",
                position=3,
                permission_overwrites=deny(P.EMBED_LINKS),
            ),
            ChannelSpec(
                id=HIDDEN_CHANNEL_ID,
                name="hidden",
                position=4,
                permission_overwrites=deny(P.VIEW_CHANNEL),
            ),
        ],
        members=[
            MemberSpec(user=OWNER),
            MemberSpec(user=MEMBER),
            MemberSpec(user=ADMIN, roles=[ADMIN_ROLE_ID]),
        ],
    )


# Sharding: four guilds, two on each shard of 2 ((guild_id >> 22) % 2), each with a channel for
# commands, one for digests and a spare one. Members and roles as in the default guild.
SHARD_COUNT = 2
SHARDED_GUILDS = {  # guild id -> its shard of SHARD_COUNT
    (100 << 22) | 11: 0,
    (101 << 22) | 12: 1,
    (102 << 22) | 13: 0,
    (103 << 22) | 14: 1,
}


def sharded_news_channel(guild_id: int) -> int:
    return 5000 + 10 * list(SHARDED_GUILDS).index(guild_id)


def sharded_digest_channel(guild_id: int) -> int:
    return sharded_news_channel(guild_id) + 1


def sharded_spare_channel(guild_id: int) -> int:
    return sharded_news_channel(guild_id) + 2


def sharded_guilds() -> list[GuildSpec]:
    guilds = []
    for number, guild_id in enumerate(SHARDED_GUILDS):
        admin_role = ADMIN_ROLE_ID + 1 + number
        guilds.append(
            GuildSpec(
                id=guild_id,
                name=f"Shard Test Guild {number}",
                owner_id=OWNER.id,
                roles=[
                    RoleSpec(id=admin_role, name="admins", permissions=P.MANAGE_GUILD, position=1)
                ],
                channels=[
                    ChannelSpec(id=sharded_news_channel(guild_id), name="news", position=0),
                    ChannelSpec(id=sharded_digest_channel(guild_id), name="digest", position=1),
                    ChannelSpec(id=sharded_spare_channel(guild_id), name="spare", position=2),
                ],
                members=[
                    MemberSpec(user=OWNER),
                    MemberSpec(user=MEMBER),
                    MemberSpec(user=ADMIN, roles=[admin_role]),
                ],
            )
        )
    return guilds
