"""Stored messages and their Discord payloads."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from .specs import iso_now

EPHEMERAL = 1 << 6
LOADING = 1 << 7


def normalise_embeds(embeds: list[Any] | None) -> list[dict[str, Any]]:
    out = []
    for embed in embeds or []:
        if isinstance(embed, dict):
            e = copy.deepcopy(embed)
            e.setdefault("type", "rich")
            for key in ("image", "thumbnail"):
                if isinstance(e.get(key), dict):
                    e[key].setdefault("proxy_url", e[key].get("url"))
            out.append(e)
    return out


@dataclass
class StoredMessage:
    id: int
    channel_id: int
    guild_id: int | None
    author: dict[str, Any]
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    nonce: str | None = None
    allowed_mentions: dict[str, Any] | None = None
    type: int = 0
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_id: int | None = None
    timestamp: str = field(default_factory=iso_now)
    edited_timestamp: str | None = None
    created: float = field(default_factory=time.monotonic)
    deleted: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    def apply(self, body: dict[str, Any], *, edit: bool) -> None:
        if edit:
            self.history.append(self.payload())
            self.edited_timestamp = iso_now()
        if "content" in body:
            self.content = str(body["content"] or "")
        if "embeds" in body:
            self.embeds = normalise_embeds(body["embeds"])
        if "components" in body:
            self.components = copy.deepcopy(body["components"] or [])
        if edit:
            if body.get("flags") is not None:
                self.flags = int(body["flags"]) | (self.flags & EPHEMERAL)
            self.flags &= ~LOADING
        elif body.get("flags") is not None:
            self.flags = int(body["flags"])
        if "allowed_mentions" in body:
            self.allowed_mentions = copy.deepcopy(body["allowed_mentions"])
        self.raw = copy.deepcopy(body)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": copy.deepcopy(self.author),
            "content": self.content,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "mention_channels": [],
            "attachments": [],
            "embeds": copy.deepcopy(self.embeds),
            "components": copy.deepcopy(self.components),
            "reactions": [],
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
            # not part of Discord's payload: what the sender asked for, so tests can assert
            # that nothing pings
            "allowed_mentions": copy.deepcopy(self.allowed_mentions),
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.nonce is not None:
            data["nonce"] = self.nonce
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        return data
