"""Declarative description of the fake Discord world (users, guilds, channels, roles)."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .permissions import DEFAULT_EVERYONE

DISCORD_EPOCH_MS = 1420070400000

_counter = itertools.count()
_counter_lock = threading.Lock()


def snowflake(at: float | None = None) -> int:
    """A Discord-shaped snowflake for `at` (unix seconds; default now), unique per process."""
    ms = int((time.time() if at is None else at) * 1000)
    with _counter_lock:
        inc = next(_counter) & 0xFFF
    return ((ms - DISCORD_EPOCH_MS) << 22) | (1 << 17) | inc


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class UserSpec:
    id: int
    username: str = "user"
    global_name: str | None = None
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class RoleSpec:
    id: int
    name: str = "role"
    permissions: int = 0
    position: int = 1
    color: int = 0
    mentionable: bool = False
    managed: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": False,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class OverwriteSpec:
    """A channel permission overwrite. type 0 = role (id is a role id, or the guild id for
    @everyone), type 1 = member."""

    id: int
    type: int = 0
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass
class ForumTagSpec:
    """One of a forum's available tags; a moderated one needs Manage Threads to apply."""

    id: int
    name: str
    moderated: bool = False
    emoji_name: str | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "moderated": self.moderated,
            "emoji_id": None,
            "emoji_name": self.emoji_name,
        }


REQUIRE_TAG = 1 << 4  # a forum's flag: every post needs a tag


@dataclass
class ChannelSpec:
    id: int
    name: str = "general"
    type: int = 0  # 0 text, 2 voice, 4 category, 5 announcement, 15 forum
    permission_overwrites: list[OverwriteSpec] = field(default_factory=list)
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    nsfw: bool = False
    available_tags: list[ForumTagSpec] = field(default_factory=list)  # forums (type 15)
    flags: int = 0  # forums: REQUIRE_TAG

    def payload(self, guild_id: int) -> dict[str, Any]:
        data = self._payload(guild_id)
        if self.type == 15:
            data.update(
                available_tags=[t.payload() for t in self.available_tags],
                default_auto_archive_duration=4320,
                default_thread_rate_limit_per_user=0,
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
            )
        return data

    def _payload(self, guild_id: int) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [o.payload() for o in self.permission_overwrites],
            "topic": self.topic,
            "nsfw": self.nsfw,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": self.flags,
        }


@dataclass
class MemberSpec:
    user: UserSpec
    roles: list[int] = field(default_factory=list)
    nick: str | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "user": self.user.payload(),
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }


@dataclass
class GuildSpec:
    """A guild the bot is in. The @everyone role (id == guild id) is added automatically with
    `everyone_permissions` unless `roles` already holds a role with the guild's id."""

    id: int
    name: str = "Test Guild"
    channels: list[ChannelSpec] = field(default_factory=list)
    roles: list[RoleSpec] = field(default_factory=list)
    bot_roles: list[int] = field(default_factory=list)
    owner_id: int = 1
    members: list[MemberSpec] = field(default_factory=list)
    everyone_permissions: int = DEFAULT_EVERYONE

    def __post_init__(self) -> None:
        if not any(r.id == self.id for r in self.roles):
            self.roles.insert(
                0,
                RoleSpec(
                    id=self.id, name="@everyone", permissions=self.everyone_permissions, position=0
                ),
            )

    def role(self, role_id: int) -> RoleSpec | None:
        return next((r for r in self.roles if r.id == role_id), None)

    def channel(self, channel_id: int) -> ChannelSpec | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    def member(self, user_id: int) -> MemberSpec | None:
        return next((m for m in self.members if m.user.id == user_id), None)

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": [r.payload() for r in self.roles],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "max_members": 500000,
            "max_video_channel_users": 25,
        }
