"""Announcement channels (type 5): POST /channels/{id}/messages/{mid}/crosspost publishes a
message to following servers, at most 10 an hour per channel (a 429 beyond that, with the
seconds until a slot frees), once per message (40033 after that), as Discord does."""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

from aiohttp import web

from . import permissions as P
from .faults import rate_limit_response
from .responses import json_response

if TYPE_CHECKING:
    from .server import DiscordStub

ANNOUNCEMENT = 5
CROSSPOSTED = 1 << 0  # message flag
PER_HOUR = 10
HOUR_S = 3600.0


class Crossposts:
    """The stub's publications. Test API: ``published(channel_id)`` (message ids, in order) and
    ``use_up(channel_id)`` (the hour's publications spent, as if by someone else)."""

    def __init__(self, stub: DiscordStub, *, per_hour: int = PER_HOUR) -> None:
        self.stub = stub
        self.per_hour = per_hour
        self._log: dict[int, list[int]] = {}
        self._window: dict[int, deque[float]] = {}

    def published(self, channel_id: int) -> list[int]:
        return list(self._log.get(channel_id, []))

    def use_up(self, channel_id: int) -> None:
        window = self._window.setdefault(channel_id, deque())
        while len(window) < self.per_hour:
            window.append(time.monotonic())

    async def h_crosspost(self, request: web.Request) -> web.Response:
        stub = self.stub
        _, channel = stub._channel(request)
        stub._require(channel)
        if channel.type != ANNOUNCEMENT:
            return json_response(
                {"code": 50024, "message": "Cannot execute action on this channel type"},
                400,
            )
        msg = stub._channel_message(request, channel)
        needs = [P.SEND_MESSAGES]
        if msg.author.get("id") != str(stub.bot_user.id):
            needs.append(P.MANAGE_MESSAGES)
        stub._require(channel, *needs)
        if msg.flags & CROSSPOSTED:
            return json_response(
                {"code": 40033, "message": "This message has already been crossposted."},
                400,
            )
        now = time.monotonic()
        window = self._window.setdefault(channel.id, deque())
        while window and now - window[0] >= HOUR_S:
            window.popleft()
        if len(window) >= self.per_hour:
            body, headers = rate_limit_response(
                HOUR_S - (now - window[0]),
                is_global=False,
                bucket="crosspost",
                limit=self.per_hour,
            )
            return json_response(body, 429, headers)
        window.append(now)
        msg.flags |= CROSSPOSTED
        self._log.setdefault(channel.id, []).append(msg.id)
        await stub._announce("MESSAGE_UPDATE", msg)
        wire = msg.payload()
        wire.pop("allowed_mentions", None)
        return json_response(wire)
