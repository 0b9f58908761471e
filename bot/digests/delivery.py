"""Digest runs: record, send, confirm, resume. Exactly once per channel (DESIGN §4).

A run is written (items, messages, nonces) before anything is sent; each message goes out with
a nonce derived from (run, chunk), so a resend after a crash is dropped by Discord; the ledger
is marked for a message's stories when Discord confirms it. Server errors leave the run pending
with a retry delay on the outcome; a missing channel or permission counts as a failed run, and
``PAUSE_AFTER`` of those in a row pause the subscription. One run per channel at a time in a
process; across processes (two Delivery objects on one database), selecting is optimistic: the
store records a run only when its cursor is still where the selection started and no other run
holds its stories (RunConflict otherwise), and the run that lost selects again.

The channel's kind (DESIGN §4b) adds two steps. A forum run first makes its post, with the
first message, and records the post before the rest go into its thread; a post has no nonce,
so an interrupted run looks for the post it made before making one. In an announcement
channel each posted message is then published, recorded apart from posting: a publication
that fails or is held back by Discord's hourly limit is recorded with its reason and never
sends the message again.

This is the state machine only: it sends through a ``Sender`` and reports a ``RunOutcome``;
the digest service reacts to it (schedules the retry, re-jobs a paused subscription).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from bot.config import Config
from bot.digests.model import (
    ChannelKind,
    ChannelUnavailable,
    DeliveryError,
    ForumPost,
    PublishError,
    RunOutcome,
    RunStatus,
    TransientError,
    Trigger,
)
from bot.digests.posts import ForumTags, forum_title, pick_tags, run_topics
from bot.digests.selection import plan_run
from bot.render import Payload
from bot.store import DigestRunRecord, Publication, RunConflict, StoreInterface, Subscription

log = logging.getLogger(__name__)

__all__ = [
    "CLAIM_ATTEMPTS",
    "PAUSE_AFTER",
    "PUBLISH_PER_HOUR",
    "RETRY_DELAYS_S",
    "Delivery",
    "Sender",
    "run_nonce",
]

CLAIM_ATTEMPTS = 5  # selections a run makes when other runs of its channel keep recording first
PAUSE_AFTER = 3
RETRY_DELAYS_S = (30.0, 120.0, 600.0, 1800.0, 3600.0)
NONCE_MAX = 25
PUBLISH_PER_HOUR = 10  # Discord publishes at most 10 messages an hour per channel
HOUR_S = 3600.0


class Sender(Protocol):
    """Where messages go; raises ChannelUnavailable or TransientError when they cannot."""

    async def send(self, channel_id: int, payload: Payload, nonce: str) -> int:
        """Post one message; return its id once Discord confirms it."""
        ...

    async def find_sent(self, channel_id: int, payload: Payload, since: float) -> int | None:
        """The id of a message of ours with this payload posted after `since`, if any."""
        ...

    def guild_of(self, channel_id: int) -> int | None:
        """The guild of a channel, when known."""
        ...

    def role_exists(self, channel_id: int, role_id: int) -> bool:
        """False when the role is known to be gone from the channel's guild (deleted)."""
        ...

    async def kind(self, channel_id: int) -> ChannelKind:
        """What the channel is, once the bot is known to have what that kind needs."""
        ...

    async def forum_tags(self, channel_id: int) -> ForumTags:
        """A forum's tags and whether a post needs one."""
        ...

    async def create_post(
        self, channel_id: int, title: str, tag_ids: list[int], payload: Payload
    ) -> ForumPost:
        """A new forum post whose first message is the payload."""
        ...

    async def find_post(self, channel_id: int, payload: Payload, since: float) -> ForumPost | None:
        """A post of ours made after `since` whose first message is this payload, if any."""
        ...

    async def publish(self, channel_id: int, message_id: int) -> None:
        """Publish a message to the channel's followers; PublishError when Discord did not."""
        ...


def run_nonce(channel_id: int, run_id: int, chunk: int, selected_at: float) -> str:
    """Deterministic per (run, chunk), at most 25 characters, distinct across databases."""
    seed = f"{channel_id}:{run_id}:{chunk}:{selected_at!r}".encode()
    nonce = "nb" + hashlib.blake2b(seed, digest_size=11).hexdigest()
    return nonce[:NONCE_MAX]


def _payload_json(payload: Payload) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True)


def _titles(run: DigestRunRecord) -> tuple[str, ...]:
    """The stories' titles: a card's embed title, or the options of a compact digest's select."""
    titles: list[str] = []
    for message in run.messages:
        payload = json.loads(message.payload)
        selects = [c for row in payload.get("components", []) for c in row.get("components", [])]
        options = [o for c in selects if c.get("type") == 3 for o in c.get("options", [])]
        if options:
            titles.extend(str(option.get("label", "")) for option in options)
            continue
        for embed in payload.get("embeds", []):
            titles.append(str(embed.get("title", "")))
    return tuple(titles)


class Delivery:
    """Runs digests for subscriptions: the only writer of runs and the ledger."""

    def __init__(
        self,
        store: StoreInterface,
        sender: Sender,
        *,
        config: Callable[[], Config],
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.sender = sender
        self._config = config  # read at call time: reload can change it
        self.clock = clock
        self._locks: dict[int, asyncio.Lock] = {}

    def _lock(self, channel_id: int) -> asyncio.Lock:
        return self._locks.setdefault(channel_id, asyncio.Lock())

    async def run(self, channel_id: int, *, trigger: Trigger = "schedule") -> RunOutcome:
        """One digest run: finish an unsent run first; then (unless a retry or a resume)
        select, record and send a new one. ``now`` does not wait for a run of the channel
        that is posting: it says so (``busy``) instead."""
        lock = self._lock(channel_id)
        if trigger == "now" and lock.locked():
            return RunOutcome(channel_id, "busy")
        async with lock:
            try:
                return await self._run(channel_id, trigger)
            except Exception:
                log.exception("digest run for channel %s failed", channel_id)
                raise

    async def _run(self, channel_id: int, trigger: Trigger) -> RunOutcome:
        sub = await self.store.digests.subscription(channel_id)
        if sub is None:
            return RunOutcome(channel_id, "skipped", error="no subscription")
        if sub.paused and trigger != "now":
            return RunOutcome(channel_id, "skipped", error=sub.paused_reason or "paused")
        if sub.guild_id is None:
            guild_id = self.sender.guild_of(channel_id)
            if guild_id is not None:
                await self.store.digests.set_subscription_guild(channel_id, guild_id)
        outcome: RunOutcome | None = None
        for pending in await self.store.digests.runs(channel_id=channel_id, pending=True):
            outcome = await self._deliver(pending, interrupted=True, seen=sub.channel_kind)
            if outcome.status != "delivered":
                return outcome
        if trigger in ("retry", "resume"):
            return outcome or RunOutcome(channel_id, "empty")
        run: DigestRunRecord | None = None
        conflicted = False
        for _attempt in range(CLAIM_ATTEMPTS):
            try:
                run = await self._record(sub, trigger)
                break
            except RunConflict as exc:  # another process's run recorded first: what is left?
                log.info("digest for channel %s: %s; selecting again", channel_id, exc)
                conflicted = True
            refreshed = await self.store.digests.subscription(channel_id)
            if refreshed is None:
                return RunOutcome(channel_id, "skipped", error="no subscription")
            sub = refreshed
        if run is None:
            log.warning("digest for channel %s: other runs kept recording first", channel_id)
            return outcome or RunOutcome(channel_id, "busy" if trigger == "now" else "empty")
        if not run.messages:
            log.info("digest for channel %s: nothing new", channel_id)
            # what this run would have posted went out with the run that recorded first
            status: RunStatus = "busy" if conflicted and trigger == "now" else "empty"
            return outcome or RunOutcome(channel_id, status, run_id=run.id)
        return await self._deliver(run, seen=sub.channel_kind)

    async def _record(self, sub: Subscription, trigger: Trigger) -> DigestRunRecord:
        """Select and claim a run (RunConflict when another run recorded first)."""
        now = self.clock()
        config = self._config()
        role_id = sub.spec.role_id
        if role_id is not None and not self.sender.role_exists(sub.channel_id, role_id):
            log.warning(
                "digest for channel %s: role %s is gone; posting without the mention",
                sub.channel_id,
                role_id,
            )
            sub = replace(sub, spec=replace(sub.spec, role_id=None))
        plan = await plan_run(
            self.store.digests,
            sub,
            now=now,
            default_max_age_days=config.digest.max_age_days,
            canonical_topic=config.topics.canonical,
        )

        def nonce(run_id: int, chunk: int) -> str:
            return run_nonce(sub.channel_id, run_id, chunk, now)

        topics = run_topics(sub.spec.topics, plan.selection.entries)

        return await self.store.digests.record_run(
            sub.channel_id,
            trigger=trigger,
            cursor=sub.cursor,
            selected_at=now,
            selected_seq=plan.selection.selected_seq,
            more=plan.selection.more,
            items=plan.items,
            payloads=[_payload_json(p) for p in plan.payloads],
            nonce=nonce,
            topics=[config.topics.canonical(t) for t in topics],
        )

    async def _deliver(
        self, run: DigestRunRecord, *, interrupted: bool = False, seen: str | None = None
    ) -> RunOutcome:
        """Send the run's unconfirmed messages. For a run that was interrupted, a message may
        already be in the channel without our record of it: look before sending again."""
        channel_id = run.channel_id
        try:
            kind = await self.sender.kind(channel_id)
            if kind != seen:  # the stored kind (``seen``) feeds /digest list and previews
                await self.store.digests.set_channel_kind(channel_id, kind)
            where = run.thread_id or channel_id  # a forum run's messages go into its post
            if kind == "forum" and run.thread_id is None:
                where = await self._open_post(run, interrupted=interrupted)
            for message in run.messages:
                if message.message_id is not None or (message.chunk == 0 and where != channel_id):
                    continue
                payload: Payload = json.loads(message.payload)
                message_id = None
                if interrupted:
                    message_id = await self.sender.find_sent(where, payload, run.selected_at)
                if message_id is None:
                    message_id = await self.sender.send(where, payload, message.nonce)
                await self.store.digests.confirm_message(
                    run.id, message.chunk, message_id, self.clock()
                )
        except TransientError as exc:
            return await self._transient(run, str(exc))
        except ChannelUnavailable as exc:
            return await self._unavailable(run, str(exc))
        if kind == "announcement":
            await self._publish(run.id, channel_id)
        await self.store.digests.finish_run(run.id, self.clock())
        titles = _titles(run)
        log.info("digest for channel %s: run %s posted %d stories", channel_id, run.id, len(titles))
        return RunOutcome(channel_id, "delivered", titles, run.more, run_id=run.id)

    async def _open_post(self, run: DigestRunRecord, *, interrupted: bool) -> int:
        """Make the forum run's post with its first message (or find the one an interrupted
        run made) and record it; the post's thread, where the other messages go."""
        first: Payload = json.loads(run.messages[0].payload)
        post = None
        if interrupted:
            post = await self.sender.find_post(run.channel_id, first, run.selected_at)
        if post is None:
            sub = await self.store.digests.subscription(run.channel_id)
            title = forum_title(run.selected_at, sub.spec.timezone if sub else "UTC")
            forum = await self.sender.forum_tags(run.channel_id)
            tag_ids = pick_tags(
                forum.tags,
                run.topics,
                required=forum.required,
                may_moderate=forum.may_moderate,
                canonical=self._config().topics.canonical,
            )
            post = await self.sender.create_post(run.channel_id, title, tag_ids, first)
        await self.store.digests.confirm_post(run.id, post.thread_id, post.message_id, self.clock())
        return post.thread_id

    async def _publish(self, run_id: int, channel_id: int) -> None:
        """Publish the run's posted messages not published yet (a run interrupted after
        posting publishes at resume), within Discord's hourly limit; each answer recorded."""
        sub = await self.store.digests.subscription(channel_id)
        if sub is None or not sub.spec.publish:
            return
        done = {p.chunk for p in await self.store.digests.publications(run_id=run_id)}
        [run] = await self.store.digests.runs(run_id=run_id)
        for message in run.messages:
            if message.message_id is None or message.chunk in done:
                continue
            now = self.clock()
            recent = await self.store.digests.publications(
                channel_id=channel_id, since=now - HOUR_S
            )
            status, reason = "published", None
            if sum(p.status == "published" for p in recent) >= PUBLISH_PER_HOUR:
                status = "skipped"
                reason = f"over Discord's limit of {PUBLISH_PER_HOUR} publications an hour"
            else:
                try:
                    await self.sender.publish(channel_id, message.message_id)
                except PublishError as exc:
                    status = "skipped" if exc.limited else "failed"
                    reason = str(exc)
                except DeliveryError as exc:
                    status, reason = "failed", str(exc)
            if reason:
                log.warning(
                    "digest run %s for channel %s: message %s not published: %s",
                    run_id,
                    channel_id,
                    message.message_id,
                    reason,
                )
            await self.store.digests.record_publication(
                Publication(
                    run_id, message.chunk, channel_id, message.message_id, status, reason, now
                )
            )

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
        return RunOutcome(run.channel_id, "pending", error=error, run_id=run.id, retry_in=delay)

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
        return RunOutcome(
            run.channel_id, "paused" if paused else "failing", error=error, run_id=run.id
        )
