"""The Discord side of digest delivery: find the channel, check the bot may post there, send
paced, look back in history; forum posts and publications through ``targets``; discord.py's
errors become ChannelUnavailable or TransientError."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import discord

from bot.digests import targets
from bot.digests.model import (
    ChannelKind,
    ChannelUnavailable,
    ForumPost,
    TransientError,
    embed_key,
    message_fingerprint,
    payload_fingerprint,
)
from bot.digests.posts import ForumTags
from bot.render import Payload
from bot.ui.messages import message_kwargs

__all__ = ["DIGEST_REQUESTS_PER_S", "DiscordSender", "Pacer", "channel_problem"]

DIGEST_REQUESTS_PER_S = 47.0  # under Discord's 50/s global limit, with room for other requests
HISTORY_SLACK_S = 60.0  # clock skew between us and Discord when looking back for a sent message
READY_WAIT_S = 30.0  # how long a digest waits for the gateway's channel cache at start-up


def channel_problem(permissions: discord.Permissions) -> str | None:
    """What the bot lacks to post a digest in a text channel, or None."""
    return targets.missing_permissions("text", permissions)


class Pacer:
    """Spaces requests evenly at ``per_second``: many digests due at once go out at a steady
    rate under Discord's global limit (50 requests/s) instead of a burst that 429s, retries
    in a herd and starves everything else the bot sends (command sync, interaction replies)."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class DiscordSender:
    """Sends through discord.py: bot.get_channel, else fetch_channel; message_kwargs(payload).
    Every request it makes is paced (``Pacer``)."""

    def __init__(self, client: discord.Client, *, per_second: float = DIGEST_REQUESTS_PER_S):
        self.client = client
        self.pacer = Pacer(per_second)

    async def _resolve(self, channel_id: int) -> object:
        channel: object = self.client.get_channel(channel_id)
        if channel is None and not self.client.is_ready():
            # Digests due at start-up run before the gateway filled the channel cache; a
            # fetch per channel would double the requests.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.client.wait_until_ready(), READY_WAIT_S)
            channel = self.client.get_channel(channel_id)
        if channel is None:
            await self.pacer.wait()
            try:
                channel = await self.client.fetch_channel(channel_id)
            except discord.NotFound:
                raise ChannelUnavailable(f"channel {channel_id} not found (deleted?)") from None
            except discord.Forbidden:
                raise ChannelUnavailable(f"the bot cannot see channel {channel_id}") from None
            except discord.DiscordServerError as exc:
                raise TransientError(f"Discord server error {exc.status}") from None
        return channel

    def _check(self, channel: discord.abc.GuildChannel | discord.Thread) -> discord.Permissions:
        """The bot's permissions in the channel; ChannelUnavailable when its kind needs more."""
        me: discord.Member | None = channel.guild.me
        if me is None:  # not known yet: Discord's own answer will say what is missing
            return discord.Permissions.all_channel()
        permissions = channel.permissions_for(me)
        problem = targets.missing_permissions(targets.kind_of(channel), permissions)
        if problem:
            raise ChannelUnavailable(problem)
        return permissions

    async def _channel(self, channel_id: int) -> discord.abc.Messageable:
        """A channel (or forum post) to post messages in, checked."""
        channel = await self._resolve(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise ChannelUnavailable(f"channel {channel_id} is not a text channel")
        if isinstance(channel, discord.abc.GuildChannel | discord.Thread):
            self._check(channel)
        return channel

    async def _forum(self, channel_id: int) -> tuple[discord.ForumChannel, discord.Permissions]:
        channel = await self._resolve(channel_id)
        if not isinstance(channel, discord.ForumChannel):
            raise ChannelUnavailable(f"channel {channel_id} is no longer a forum")
        return channel, self._check(channel)

    async def kind(self, channel_id: int) -> ChannelKind:
        """What the channel is, once the bot is known to have what that kind needs."""
        channel = await self._resolve(channel_id)
        kind = targets.kind_of(channel)
        if kind is None or not isinstance(channel, discord.TextChannel | discord.ForumChannel):
            raise ChannelUnavailable(
                f"channel {channel_id} is not a text, announcement or forum channel"
            )
        self._check(channel)
        return kind

    async def forum_tags(self, channel_id: int) -> ForumTags:
        forum, permissions = await self._forum(channel_id)
        return targets.forum_tags(forum, permissions)

    async def create_post(
        self, channel_id: int, title: str, tag_ids: list[int], payload: Payload
    ) -> ForumPost:
        forum, _ = await self._forum(channel_id)
        await self.pacer.wait()
        try:
            async with _discord_errors(channel_id):
                return await targets.create_post(forum, title, tag_ids, payload)
        except discord.HTTPException as exc:  # e.g. a tag the forum requires went away
            raise ChannelUnavailable(f"Discord refused the post: {exc.text or exc}") from None

    async def find_post(self, channel_id: int, payload: Payload, since: float) -> ForumPost | None:
        forum, _ = await self._forum(channel_id)
        await self.pacer.wait()
        try:
            async with _discord_errors(channel_id):
                return await targets.find_post(self.client, forum, payload, since)
        except ChannelUnavailable:  # cannot read the threads: the post cannot be looked for
            return None

    async def publish(self, channel_id: int, message_id: int) -> None:
        channel = await self._resolve(channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise ChannelUnavailable(f"channel {channel_id} is not an announcement channel")
        await self.pacer.wait()
        await targets.publish(channel, message_id)

    def guild_of(self, channel_id: int) -> int | None:
        channel = self.client.get_channel(channel_id)
        guild = getattr(channel, "guild", None)
        return guild.id if guild is not None else None

    def role_exists(self, channel_id: int, role_id: int) -> bool:
        """False only when the channel's guild is known and has no such role (deleted)."""
        channel = self.client.get_channel(channel_id)
        guild = getattr(channel, "guild", None)
        if not isinstance(guild, discord.Guild) or not guild.roles:
            return True
        return guild.get_role(role_id) is not None

    async def find_sent(self, channel_id: int, payload: Payload, since: float) -> int | None:
        """Look in the channel's recent history for a message of ours with this payload.

        Discord drops a repeated nonce only for a few minutes; after a longer outage this is
        what keeps a resumed run from posting twice. Without Read Message History it finds
        nothing and the nonce is the only guard.
        """
        channel = await self._channel(channel_id)
        me = self.client.user
        if me is None:
            return None
        wanted = payload_fingerprint(payload)
        after = datetime.fromtimestamp(since - HISTORY_SLACK_S, UTC)
        await self.pacer.wait()
        try:
            async for message in channel.history(limit=100, after=after):
                if message.author.id != me.id:
                    continue
                # only our own (rich) embeds: Discord adds one for each video URL it unfurls
                seen = message_fingerprint(
                    message.content,
                    (
                        embed_key(e.title, e.url, e.description)
                        for e in message.embeds
                        if e.type == "rich"
                    ),
                )
                if seen == wanted:
                    return message.id
        except discord.Forbidden:
            return None
        except discord.DiscordServerError as exc:
            raise TransientError(f"Discord server error {exc.status}") from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransientError(f"network error: {type(exc).__name__}") from None
        return None

    async def send(self, channel_id: int, payload: Payload, nonce: str) -> int:
        channel = await self._channel(channel_id)
        await self.pacer.wait()
        async with _discord_errors(channel_id):
            message = await channel.send(nonce=nonce, **message_kwargs(payload))
        return message.id


@contextlib.asynccontextmanager
async def _discord_errors(channel_id: int) -> AsyncIterator[None]:
    """discord.py's errors as a run sees them: gone or refused, or worth trying again."""
    try:
        yield
    except discord.NotFound:
        raise ChannelUnavailable(f"channel {channel_id} not found (deleted?)") from None
    except discord.Forbidden as exc:
        raise ChannelUnavailable(f"Discord refused the message: {exc.text or exc}") from None
    except discord.DiscordServerError as exc:
        raise TransientError(f"Discord server error {exc.status}") from None
    except discord.HTTPException as exc:
        if exc.status >= 500 or exc.status == 429:
            raise TransientError(f"Discord error {exc.status}") from None
        raise
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise TransientError(f"network error: {type(exc).__name__}") from None
