"""The pings a message causes, computed from its content and allowed_mentions as Discord does.

A mention in the content pings only when allowed_mentions allows it (no allowed_mentions: all
kinds are parsed): @everyone/@here need "everyone" in ``parse`` and the author's Mention
Everyone permission in the channel; a role needs its id in ``roles`` (or "roles" in ``parse``)
and to be mentionable, or the author to have Mention Everyone; a user needs their id in
``users`` (or "users" in ``parse``). A mention escaped with a backslash, broken by a zero-width
space or inside an embed pings no one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import permissions as P

if TYPE_CHECKING:
    from .server import DiscordStub

_EVERYONE = re.compile(r"(?<!\\)@(everyone|here)\b")
_USER = re.compile(r"(?<!\\)<@!?([0-9]{15,20}|[0-9]{1,20})>")
_ROLE = re.compile(r"(?<!\\)<@&([0-9]{1,20})>")


@dataclass(frozen=True)
class Pings:
    everyone: bool
    users: frozenset[int]
    roles: frozenset[int]

    @property
    def nobody(self) -> bool:
        return not (self.everyone or self.users or self.roles)


def _allowed(mentions: dict[str, Any] | None, kind: str, ident: int) -> bool:
    if mentions is None:
        return True
    if kind in (mentions.get("parse") or []):
        return True
    return str(ident) in {str(i) for i in mentions.get(kind) or []}


def pings(stub: DiscordStub, message: dict[str, Any] | int | str) -> Pings:
    """Who a stored message pinged."""
    mid = int(message["id"]) if isinstance(message, dict) else int(message)
    stored = stub.stored_message(mid)
    if stored is None:
        raise KeyError(f"unknown message {mid}")
    content = stored.content or ""
    mentions = stored.allowed_mentions
    guild, channel = stub.find_channel(stored.channel_id)
    author_id = int(stored.author.get("id", 0))
    can_everyone = False
    if guild is not None:
        member = stub.member(guild, author_id)
        can_everyone = bool(stub.permissions_for(guild, channel, member) & P.MENTION_EVERYONE)
    everyone = (
        bool(_EVERYONE.search(content))
        and (mentions is None or "everyone" in (mentions.get("parse") or []))
        and can_everyone
    )
    users = frozenset(int(u) for u in _USER.findall(content) if _allowed(mentions, "users", int(u)))
    roles: set[int] = set()
    for raw in _ROLE.findall(content):
        role = guild.role(int(raw)) if guild is not None else None
        if role is None or role.id == getattr(guild, "id", None):
            continue
        if _allowed(mentions, "roles", role.id) and (role.mentionable or can_everyone):
            roles.add(role.id)
    return Pings(everyone, users, frozenset(roles))
