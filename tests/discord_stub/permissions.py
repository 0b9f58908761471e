"""Permission bits and the computation Discord does (guild roles, then channel overwrites)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CHANGE_NICKNAME = 1 << 26
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
SEND_MESSAGES_IN_THREADS = 1 << 38

ALL = (1 << 53) - 1

DEFAULT_EVERYONE = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)

# Permissions that only make sense when the member can send messages at all.
_NEEDS_SEND = EMBED_LINKS | ATTACH_FILES | MENTION_EVERYONE | SEND_MESSAGES_IN_THREADS


def base_permissions(
    *,
    guild_id: int,
    owner_id: int,
    user_id: int,
    member_roles: Iterable[int],
    role_permissions: dict[int, int],
) -> int:
    if user_id == owner_id:
        return ALL
    perms = role_permissions.get(guild_id, 0)
    for role_id in member_roles:
        perms |= role_permissions.get(role_id, 0)
    if perms & ADMINISTRATOR:
        return ALL
    return perms


def channel_permissions(
    base: int,
    *,
    guild_id: int,
    user_id: int,
    member_roles: Iterable[int],
    overwrites: Iterable[Any],
) -> int:
    """Apply overwrites in Discord's order: @everyone, then all role overwrites together,
    then the member overwrite. `overwrites` holds OverwriteSpec-like objects."""
    if base & ADMINISTRATOR or base == ALL:
        return ALL
    perms = base
    ows = list(overwrites)
    roles = set(member_roles)
    for ow in ows:
        if ow.type == 0 and ow.id == guild_id:
            perms &= ~ow.deny
            perms |= ow.allow
    allow = deny = 0
    for ow in ows:
        if ow.type == 0 and ow.id != guild_id and ow.id in roles:
            allow |= ow.allow
            deny |= ow.deny
    perms &= ~deny
    perms |= allow
    for ow in ows:
        if ow.type == 1 and ow.id == user_id:
            perms &= ~ow.deny
            perms |= ow.allow
    if not perms & VIEW_CHANNEL:
        return 0
    if not perms & SEND_MESSAGES:
        perms &= ~_NEEDS_SEND
    return perms
