"""Digest runs: record, send, confirm, resume. Exactly once per channel (DESIGN §4).

A run is written (items, messages, nonces) before anything is sent; each message goes out with
a nonce derived from (run, chunk), so a resend after a crash is dropped by Discord; the ledger
is marked for a message's stories when Discord confirms it. Server errors leave the run pending
and it is retried with backoff; a missing channel or permission counts as a failed run, and
``PAUSE_AFTER`` of those in a row pause the subscription. One run per channel at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import aiohttp
import discord

from bot.config import Config
from bot.digests import service as digest
from bot.render import Payload
from bot.store import DigestRunRecord, Store
from bot.ui.messages import message_kwargs

if TYPE_CHECKING:
    from discord.abc import Messageable

log = logging.getLogger(__name__)

__all__ = [
    "PAUSE_AFTER",
    "RETRY_DELAYS_S",
    "ChannelUnavailable",
    "Delivery",
    "DeliveryError",
    "DiscordSender",
    "RunOutcome",
    "Sender",
    "TransientError",
    "channel_problem",
    "run_nonce",
]

PAUSE_AFTER = 3
RETRY_DELAYS_S = (30.0, 120.0, 600.0, 1800.0, 3600.0)
NONCE_MAX = 25
HISTORY_SLACK_S = 60.0  # clock skew between us and Discord when looking back for a sent message
READY_WAIT_S = 30.0  # how long a digest waits for the gateway's channel cache at start-up


class DeliveryError(Exception):
    """A message could not be delivered; str(exc) is the reason shown in /digest list."""


class ChannelUnavailable(DeliveryError):
    """The channel is gone (404) or the bot may not post there (403): a failed run."""


class TransientError(DeliveryError):
    """A server or network error that outlasted discord.py's own retries: try again later."""


class Sender(Protocol):
    async def send(self, channel_id: int, payload: Payload, nonce: str) -> int:
        """Post one message; return its id once Discord confirms it."""
        ...

    async def find_sent(self, channel_id: int, payload: Payload, since: float) -> int | None:
        """The id of a message of ours with this payload posted after `since`, if any."""
        ...


def payload_fingerprint(payload: Payload) -> tuple[object, ...]:
    """What identifies a digest message we sent: its content and its embeds' titles and links."""
    embeds = tuple((e.get("title"), e.get("url")) for e in payload.get("embeds", []))
    return (payload.get("content") or "", embeds)


def run_nonce(channel_id: int, run_id: int, chunk: int, selected_at: float) -> str:
    """Deterministic per (run, chunk), at most 25 characters, distinct across databases."""
    seed = f"{channel_id}:{run_id}:{chunk}:{selected_at!r}".encode()
    nonce = "nb" + hashlib.blake2b(seed, digest_size=11).hexdigest()
    return nonce[:NONCE_MAX]


_NEEDED = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
)


def channel_problem(permissions: discord.Permissions) -> str | None:
    """What the bot lacks to post a digest in a channel, or None."""
    missing = [name for attr, name in _NEEDED if not getattr(permissions, attr)]
    if not missing:
        return None
    return "the bot is missing the " + ", ".join(missing) + " permission" + "s" * (len(missing) > 1)


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


DIGEST_REQUESTS_PER_S = 47.0  # under Discord's 50/s global limit, with room for other requests


class DiscordSender:
    """Sends through discord.py: bot.get_channel, else fetch_channel; message_kwargs(payload).
    Every request it makes is paced (``Pacer``)."""

    def __init__(self, client: discord.Client, *, per_second: float = DIGEST_REQUESTS_PER_S):
        self.client = client
        self.pacer = Pacer(per_second)

    async def _channel(self, channel_id: int) -> Messageable:
        channel = self.client.get_channel(channel_id)
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
        if not hasattr(channel, "send"):
            raise ChannelUnavailable(f"channel {channel_id} is not a text channel")
        guild = getattr(channel, "guild", None)
        if guild is not None and guild.me is not None and hasattr(channel, "permissions_for"):
            problem = channel_problem(channel.permissions_for(guild.me))  # type: ignore[union-attr]
            if problem:
                raise ChannelUnavailable(problem)
        return channel  # type: ignore[return-value]

    def guild_of(self, channel_id: int) -> int | None:
        channel = self.client.get_channel(channel_id)
        guild = getattr(channel, "guild", None)
        return guild.id if guild is not None else None

    async def find_sent(self, channel_id: int, payload: Payload, since: float) -> int | None:
        """Look in the channel's recent history for a message of ours with this payload.

        Discord drops a repeated nonce only for a few minutes; after a longer outage this is
        what keeps a resumed run from posting twice. Without Read Message History it finds
        nothing and the nonce is the only guard.
        """
        channel = await self._channel(channel_id)
        me = self.client.user
        if me is None or not hasattr(channel, "history"):
            return None
        wanted = payload_fingerprint(payload)
        after = datetime.fromtimestamp(since - HISTORY_SLACK_S, UTC)
        await self.pacer.wait()
        try:
            async for message in channel.history(limit=100, after=after):  # type: ignore[attr-defined]
                if message.author.id != me.id:
                    continue
                seen: Payload = {
                    "content": message.content,
                    "embeds": [e.to_dict() for e in message.embeds],
                    "components": [],
                    "allowed_mentions": {},
                }
                if payload_fingerprint(seen) == wanted:
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
        try:
            message = await channel.send(nonce=nonce, **message_kwargs(payload))
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
        return message.id


@dataclass(frozen=True, slots=True)
class RunOutcome:
    channel_id: int
    status: str  # delivered, empty, pending, failing, paused, skipped
    titles: tuple[str, ...] = ()
    more: int = 0
    error: str | None = None
    run_id: int | None = None

    def summary(self) -> str:
        where = f"<#{self.channel_id}>"
        if self.status == "delivered":
            count = len(self.titles)
            lines = [f"Posted {count} stor{'y' if count == 1 else 'ies'} to {where}:"]
            lines += [f"- {t}" for t in self.titles[:20]]
            if len(self.titles) > 20:
                lines.append(f"- ... {len(self.titles) - 20} more")
            if self.more:
                lines.append(f"and {self.more} more eligible (over max_items)")
            return "\n".join(lines)
        if self.status == "empty":
            return f"Nothing new to post in {where}."
        if self.status == "pending":
            return (
                f"Discord did not take the digest for {where} ({self.error}); it stays queued"
                " and will be retried shortly."
            )
        if self.status in ("failing", "paused"):
            tail = " The digest is now paused; fix it and `/digest resume`." * (
                self.status == "paused"
            )
            return f"Could not post to {where}: {self.error}.{tail}"
        return f"The digest of {where} did not run: {self.error or 'skipped'}."


def _titles(run: DigestRunRecord) -> tuple[str, ...]:
    titles = []
    for message in run.messages:
        for embed in json.loads(message.payload).get("embeds", []):
            titles.append(str(embed.get("title", "")))
    return tuple(titles)


class Delivery:
    """Runs digests for subscriptions: the only writer of runs and the ledger."""

    def __init__(
        self,
        store: Store,
        sender: Sender,
        *,
        config: Callable[[], Config],
        clock: Callable[[], float] = time.time,
        schedule_retry: Callable[[int, float], None] | None = None,
        on_paused: Callable[[int], Awaitable[None]] | None = None,
        guild_of: Callable[[int], int | None] | None = None,
    ):
        self.store = store
        self.sender = sender
        self._config = config
        self.clock = clock
        self.schedule_retry = schedule_retry
        self.on_paused = on_paused
        self.guild_of = guild_of
        self._locks: dict[int, asyncio.Lock] = {}

    def lock(self, channel_id: int) -> asyncio.Lock:
        return self._locks.setdefault(channel_id, asyncio.Lock())

    async def run(self, channel_id: int, *, trigger: str = "schedule") -> RunOutcome:
        """One digest run: finish an unsent run first; then (unless a retry or a resume)
        select, record and send a new one. ``trigger``: schedule, now, retry or resume."""
        async with self.lock(channel_id):
            try:
                return await self._run(channel_id, trigger)
            except Exception:
                log.exception("digest run for channel %s failed", channel_id)
                raise

    async def _run(self, channel_id: int, trigger: str) -> RunOutcome:
        sub = await self.store.digests.subscription(channel_id)
        if sub is None:
            return RunOutcome(channel_id, "skipped", error="no subscription")
        if sub.paused and trigger != "now":
            return RunOutcome(channel_id, "skipped", error=sub.paused_reason or "paused")
        if self.guild_of is not None and sub.guild_id is None:
            guild_id = self.guild_of(channel_id)
            if guild_id is not None:
                await self.store.digests.set_subscription_guild(channel_id, guild_id)
        outcome: RunOutcome | None = None
        for pending in await self.store.digests.runs(channel_id=channel_id, pending=True):
            outcome = await self._deliver(pending, interrupted=True)
            if outcome.status != "delivered":
                return outcome
        if trigger in ("retry", "resume"):
            return outcome or RunOutcome(channel_id, "empty")
        now = self.clock()
        config = self._config()
        plan = await digest.plan_run(
            self.store, sub, now=now, canonical_topic=config.topics.canonical
        )

        def nonce(run_id: int, chunk: int) -> str:
            return run_nonce(channel_id, run_id, chunk, now)

        run = await self.store.digests.record_run(
            channel_id,
            trigger=trigger,
            selected_at=now,
            more=plan.selection.more,
            items=plan.items,
            payloads=[digest.payload_json(p) for p in plan.payloads],
            nonce=nonce,
        )
        if not run.messages:
            log.info("digest for channel %s: nothing new", channel_id)
            return outcome or RunOutcome(channel_id, "empty", run_id=run.id)
        return await self._deliver(run)

    async def _deliver(self, run: DigestRunRecord, *, interrupted: bool = False) -> RunOutcome:
        """Send the run's unconfirmed messages. For a run that was interrupted, a message may
        already be in the channel without our record of it: look before sending again."""
        channel_id = run.channel_id
        for message in run.messages:
            if message.message_id is not None:
                continue
            payload: Payload = json.loads(message.payload)
            try:
                message_id = None
                if interrupted:
                    message_id = await self.sender.find_sent(channel_id, payload, run.selected_at)
                if message_id is None:
                    message_id = await self.sender.send(channel_id, payload, message.nonce)
            except TransientError as exc:
                return await self._transient(run, str(exc))
            except ChannelUnavailable as exc:
                return await self._unavailable(run, str(exc))
            await self.store.digests.confirm_message(
                run.id, message.chunk, message_id, self.clock()
            )
        await self.store.digests.finish_run(run.id, self.clock())
        titles = _titles(run)
        log.info("digest for channel %s: run %s posted %d stories", channel_id, run.id, len(titles))
        return RunOutcome(channel_id, "delivered", titles, run.more, run_id=run.id)

    async def _transient(self, run: DigestRunRecord, error: str) -> RunOutcome:
        await self.store.digests.fail_run(
            run.id, error, self.clock(), counts=False, pause_after=PAUSE_AFTER
        )
        delay = RETRY_DELAYS_S[min(run.attempts, len(RETRY_DELAYS_S) - 1)]
        log.warning(
            "digest run %s for channel %s pending (%s); retry in %.0f s",
            run.id,
            run.channel_id,
            error,
            delay,
        )
        if self.schedule_retry is not None:
            self.schedule_retry(run.channel_id, delay)
        return RunOutcome(run.channel_id, "pending", error=error, run_id=run.id)

    async def _unavailable(self, run: DigestRunRecord, error: str) -> RunOutcome:
        sub = await self.store.digests.fail_run(
            run.id, error, self.clock(), counts=True, pause_after=PAUSE_AFTER
        )
        paused = sub is not None and sub.paused
        log.warning(
            "digest run %s for channel %s failed: %s%s",
            run.id,
            run.channel_id,
            error,
            " (subscription paused)" if paused else "",
        )
        if paused and self.on_paused is not None:
            await self.on_paused(run.channel_id)
        return RunOutcome(
            run.channel_id, "paused" if paused else "failing", error=error, run_id=run.id
        )

    async def retry(self, channel_id: int) -> RunOutcome:
        """The one-off job after a server error: send the unsent run, select nothing new."""
        return await self.run(channel_id, trigger="retry")

    async def resume_pending(self) -> list[RunOutcome]:
        """Start-up: resend the unconfirmed messages of runs a crash interrupted."""
        channels = {r.channel_id for r in await self.store.digests.runs(pending=True)}
        outcomes = []
        for channel_id in sorted(channels):
            outcomes.append(await self.run(channel_id, trigger="resume"))
        return outcomes
