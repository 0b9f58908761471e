"""The channels a digest goes to, as Discord has them (DESIGN §4b): a text channel, an
announcement channel (its messages published to following servers) and a forum (a post per
run, its messages in the post's thread). What each kind is, what the bot needs there, and the
Discord calls only a kind has; ``DiscordSender`` maps their errors and paces them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
import discord

from bot.digests.model import (
    ChannelKind,
    ForumPost,
    PublishError,
    message_fingerprint,
    payload_fingerprint,
)
from bot.digests.posts import ForumTagInfo, ForumTags
from bot.render import Payload
from bot.ui.messages import message_kwargs

__all__ = [
    "DIGEST_CHANNEL_TYPES",
    "PUBLISH_WAIT_S",
    "create_post",
    "find_post",
    "forum_tags",
    "kind_of",
    "kind_of_type",
    "missing_permissions",
    "publish",
]

# what the channel pickers of /digest offer
DIGEST_CHANNEL_TYPES = (
    discord.ChannelType.text,
    discord.ChannelType.news,
    discord.ChannelType.forum,
)
# Discord answers a publication over its limit (10 an hour per channel) with a 429 that
# discord.py would sleep through for up to an hour while the channel's digest waits.
PUBLISH_WAIT_S = 10.0
ALREADY_CROSSPOSTED = 40033  # Discord's error code: the message was published already
POST_SLACK_S = 60.0  # clock skew between us and Discord when looking for a post we made
ARCHIVED_LOOKED_AT = 50  # archived posts checked, newest first, when no active one is ours

_VIEW = ("view_channel", "View Channel")
_EMBED = ("embed_links", "Embed Links")
# Publishing its own messages needs nothing beyond Send Messages (Manage Messages is for others').
_NEEDED: dict[ChannelKind, tuple[tuple[str, str], ...]] = {
    "text": (_VIEW, ("send_messages", "Send Messages"), _EMBED),
    "announcement": (_VIEW, ("send_messages", "Send Messages"), _EMBED),
    "forum": (
        _VIEW,
        ("send_messages", "Create Posts"),
        ("send_messages_in_threads", "Send Messages in Threads"),
        _EMBED,
        # after a crash the run's post is found by reading it; without this it would post twice
        ("read_message_history", "Read Message History"),
    ),
}
_THREAD_NEEDS = (_VIEW, ("send_messages_in_threads", "Send Messages in Threads"), _EMBED)


def kind_of_type(channel_type: discord.ChannelType) -> ChannelKind | None:
    """The digest kind of a channel type; None: no digest goes there."""
    if channel_type == discord.ChannelType.text:
        return "text"
    if channel_type == discord.ChannelType.news:
        return "announcement"
    if channel_type == discord.ChannelType.forum:
        return "forum"
    return None


def kind_of(channel: object) -> ChannelKind | None:
    if isinstance(channel, discord.TextChannel | discord.ForumChannel):
        return kind_of_type(channel.type)
    return None


def missing_permissions(kind: ChannelKind | None, permissions: discord.Permissions) -> str | None:
    """What the bot lacks to post a digest in a channel of this kind (None: a forum post's
    thread), or None when it lacks nothing."""
    needed = _NEEDED[kind] if kind is not None else _THREAD_NEEDS
    missing = [name for attr, name in needed if not getattr(permissions, attr)]
    if not missing:
        return None
    return "the bot is missing the " + ", ".join(missing) + " permission" + "s" * (len(missing) > 1)


# --------------------------------------------------------------------------- forums


def forum_tags(forum: discord.ForumChannel, permissions: discord.Permissions) -> ForumTags:
    return ForumTags(
        tuple(ForumTagInfo(t.id, t.name, t.moderated) for t in forum.available_tags),
        required=forum.flags.require_tag,
        may_moderate=permissions.manage_threads,
    )


async def create_post(
    forum: discord.ForumChannel, title: str, tag_ids: list[int], payload: Payload
) -> ForumPost:
    """A new post in the forum, its first message the payload."""
    tags = [tag for tag in (forum.get_tag(i) for i in tag_ids) if tag is not None]
    created = await forum.create_thread(name=title, applied_tags=tags, **message_kwargs(payload))
    return ForumPost(created.thread.id, created.message.id)


async def find_post(
    client: discord.Client, forum: discord.ForumChannel, payload: Payload, since: float
) -> ForumPost | None:
    """A post of ours in the forum, made after ``since``, whose first message is this payload.

    A forum post has no nonce: this is what keeps a run that was interrupted after Discord
    created its post from making a second one. The first message identifies the run: no two
    runs of a channel carry the same story (the ledger and the run claim see to that). Active
    posts first, then the newest archived ones."""
    me = client.user
    if me is None:
        return None
    oldest = since - POST_SLACK_S
    wanted = payload_fingerprint(payload)

    def ours(thread: discord.Thread) -> bool:
        made = discord.utils.snowflake_time(thread.id).timestamp()
        return thread.parent_id == forum.id and thread.owner_id == me.id and made >= oldest

    active = [t for t in await forum.guild.active_threads() if ours(t)]
    for thread in sorted(active, key=lambda t: t.id):
        found = await _first_message(thread, wanted)
        if found is not None:
            return found
    cutoff = datetime.fromtimestamp(oldest, UTC)
    async for thread in forum.archived_threads(limit=ARCHIVED_LOOKED_AT):
        if thread.archive_timestamp < cutoff:  # newest first: the rest are older still
            break
        if ours(thread):
            found = await _first_message(thread, wanted)
            if found is not None:
                return found
    return None


async def _first_message(
    thread: discord.Thread, wanted: tuple[str, tuple[tuple[str | None, str | None], ...]]
) -> ForumPost | None:
    try:
        first = await thread.fetch_message(thread.id)  # a post's first message has its id
    except (discord.NotFound, discord.Forbidden):
        return None
    seen = message_fingerprint(
        first.content, ((e.title, e.url) for e in first.embeds if e.type == "rich")
    )
    return ForumPost(thread.id, first.id) if seen == wanted else None


# --------------------------------------------------------------------------- announcements


async def publish(channel: discord.TextChannel, message_id: int) -> None:
    """Publish one of our messages to the channel's followers; PublishError when Discord did
    not (already published counts as done)."""
    message = channel.get_partial_message(message_id)
    try:
        await asyncio.wait_for(message.publish(), PUBLISH_WAIT_S)
    except TimeoutError:
        raise PublishError(
            "Discord held the publication back (at most 10 an hour per channel)", limited=True
        ) from None
    except discord.RateLimited as exc:
        raise PublishError(
            f"rate limited for {exc.retry_after:.0f} s (at most 10 publications an hour per"
            " channel)",
            limited=True,
        ) from None
    except discord.HTTPException as exc:
        if exc.code == ALREADY_CROSSPOSTED:
            return
        raise PublishError(f"Discord refused to publish: {exc.text or exc.status}") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise PublishError(f"network error: {type(exc).__name__}") from None
