"""Forum channels and their posts: POST /channels/{id}/threads with Discord's validation,
threads as channels (messages go into them with the usual limits and nonces), and the thread
listings (GET /guilds/{id}/threads/active, GET /channels/{id}/threads/archived/public)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import permissions as P
from .messages import StoredMessage
from .responses import json_response
from .specs import REQUIRE_TAG, ChannelSpec, GuildSpec, OverwriteSpec, iso_now, snowflake
from .validation import FormErrors, check_message

if TYPE_CHECKING:
    from .server import DiscordStub

JSON = dict[str, Any]
FORUM = 15
PUBLIC_THREAD = 11
NAME_MAX = 100
MAX_APPLIED_TAGS = 5
ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)


@dataclass
class ThreadSpec:
    """A forum post: a channel of type 11 whose permissions are its forum's."""

    id: int
    name: str
    parent: ChannelSpec
    guild_id: int
    owner_id: int
    applied_tags: list[int] = field(default_factory=list)
    auto_archive_duration: int = 4320
    archived: bool = False
    archive_timestamp: str = field(default_factory=iso_now)
    created: float = field(default_factory=time.time)
    message_count: int = 0
    type: int = PUBLIC_THREAD
    position: int = 0
    is_thread: bool = True

    @property
    def permission_overwrites(self) -> list[OverwriteSpec]:
        return self.parent.permission_overwrites

    def payload(self, guild_id: int | None = None) -> JSON:
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "parent_id": str(self.parent.id),
            "owner_id": str(self.owner_id),
            "name": self.name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": self.message_count,
            "total_message_sent": self.message_count,
            "member_count": 1,
            "flags": 0,
            "applied_tags": [str(t) for t in self.applied_tags],
            "thread_metadata": {
                "archived": self.archived,
                "auto_archive_duration": self.auto_archive_duration,
                "archive_timestamp": self.archive_timestamp,
                "locked": False,
                "create_timestamp": datetime.fromtimestamp(self.created, UTC).isoformat(),
            },
        }


def _bad(errors: FormErrors) -> web.Response:
    return json_response(errors.body(), 400)


class ForumThreads:
    """The stub's forum posts. ``stub.threads`` is the test API: ``posts(forum_id)``,
    ``archive(thread_id)``."""

    def __init__(self, stub: DiscordStub) -> None:
        self.stub = stub
        self.by_id: dict[int, ThreadSpec] = {}

    # ------------------------------------------------------------------ test API
    def posts(self, forum_id: int) -> list[ThreadSpec]:
        """A forum's posts, oldest first."""
        return sorted((t for t in self.by_id.values() if t.parent.id == forum_id), key=_id)

    def messages(self, thread_id: int) -> list[JSON]:
        return self.stub.messages(thread_id)

    async def wait_for_post(self, forum_id: int, timeout: float = 10.0) -> ThreadSpec:  # noqa: ASYNC109
        """The forum's first post, once Discord made it (even while its answer is held)."""

        def first() -> ThreadSpec | None:
            posts = self.posts(forum_id)
            return posts[0] if posts else None

        return await self.stub._wait(first, timeout, f"a post in forum {forum_id}")

    async def archive(self, thread_id: int) -> None:
        thread = self.by_id[thread_id]
        thread.archived = True
        thread.archive_timestamp = iso_now()
        await self.stub.gateway.dispatch("THREAD_UPDATE", thread.payload())

    def find(self, channel_id: int) -> tuple[GuildSpec | None, ThreadSpec | None]:
        thread = self.by_id.get(channel_id)
        if thread is None:
            return None, None
        return self.stub.guilds.get(thread.guild_id), thread

    # ------------------------------------------------------------------ handlers
    async def h_create(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/threads: a forum post with its first message."""
        stub = self.stub
        guild, forum = stub._channel(request)
        body = stub.request_body(request)
        if forum.type != FORUM:
            return json_response(
                {"code": 50024, "message": "Cannot execute action on this channel type"},
                400,
            )
        message = body.get("message")
        needs = [P.SEND_MESSAGES]
        if isinstance(message, dict) and message.get("embeds"):
            needs.append(P.EMBED_LINKS)
        stub._require(forum, *needs)
        errors = FormErrors()
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.required(("name",))
        elif not 1 <= len(name) <= NAME_MAX:
            errors.length_between(("name",), 1, NAME_MAX)
        duration = body.get("auto_archive_duration")
        if duration is not None and duration not in ARCHIVE_DURATIONS:
            errors.add(
                ("auto_archive_duration",),
                "BASE_TYPE_CHOICES",
                f"Value must be one of {set(ARCHIVE_DURATIONS)}.",
            )
        tags = body.get("applied_tags") or []
        known = {t.id: t for t in forum.available_tags}
        if not isinstance(tags, list) or len(tags) > MAX_APPLIED_TAGS:
            errors.max_length(("applied_tags",), MAX_APPLIED_TAGS)
            tags = []
        for index, tag in enumerate(tags):
            if not str(tag).isdigit() or int(tag) not in known:
                errors.add(("applied_tags", index), "BASE_TYPE_CHOICES", "Unknown tag.")
        if message is None:
            errors.required(("message",))
        if errors:
            return _bad(errors)
        problem = check_message(message)
        if problem is not None:
            status, rejection = problem
            if "errors" in rejection:
                rejection = {**rejection, "errors": {"message": rejection["errors"]}}
            return json_response(rejection, status=status)
        applied = list(dict.fromkeys(int(t) for t in tags))
        if any(known[t].moderated for t in applied):
            stub._require(forum, P.MANAGE_THREADS)
        if forum.flags & REQUIRE_TAG and not applied:
            return json_response(
                {
                    "code": 40067,
                    "message": "A tag is required to create a forum post in this channel",
                },
                400,
            )
        thread = ThreadSpec(
            id=snowflake(),
            name=str(name),
            parent=forum,
            guild_id=guild.id,
            owner_id=stub.bot_user.id,
            applied_tags=applied,
            auto_archive_duration=duration or 4320,
            message_count=1,
        )
        self.by_id[thread.id] = thread
        # a post's first message has the post's id
        first = StoredMessage(
            id=thread.id, channel_id=thread.id, guild_id=guild.id, author=stub.bot_user.payload()
        )
        first.apply(dict(message or {}), edit=False)
        stub._messages[first.id] = first
        await stub.gateway.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True})
        await stub._announce("MESSAGE_CREATE", first)
        wire = first.payload()
        wire.pop("allowed_mentions", None)
        return json_response({**thread.payload(), "message": wire})

    async def h_active(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/threads/active: the guild's unarchived posts the bot can see."""
        guild = self.stub._guild(request)
        threads = [
            t
            for t in sorted(self.by_id.values(), key=_id)
            if t.guild_id == guild.id
            and not t.archived
            and self.stub.bot_permissions(t.parent.id) & P.VIEW_CHANNEL
        ]
        return json_response(
            {"threads": [t.payload() for t in threads], "members": [], "has_more": False}
        )

    async def h_archived_public(self, request: web.Request) -> web.Response:
        """GET /channels/{id}/threads/archived/public: newest archived first, paged by
        ``before`` (an ISO timestamp) and ``limit``."""
        _, channel = self.stub._channel(request)
        self.stub._require(channel, P.READ_MESSAGE_HISTORY)
        limit = max(1, min(100, int(request.query.get("limit", "50"))))
        before = request.query.get("before")
        threads = sorted(
            (t for t in self.by_id.values() if t.parent.id == channel.id and t.archived),
            key=lambda t: t.archive_timestamp,
            reverse=True,
        )
        if before:
            threads = [t for t in threads if t.archive_timestamp < before]
        page = threads[:limit]
        return json_response(
            {
                "threads": [t.payload() for t in page],
                "members": [],
                "has_more": len(threads) > limit,
            }
        )


def _id(thread: ThreadSpec) -> int:
    return thread.id
