"""Digest runs: record, send, confirm, resume. Exactly once per channel (DESIGN §4).

A run is written (items, messages, nonces) before anything is sent; each message goes out with
a nonce derived from (run, chunk), so a resend after a crash is dropped by Discord; the ledger
is marked for a message's stories when Discord confirms it. Server errors leave the run pending
with a retry delay on the outcome; a missing channel or permission counts as a failed run, and
``PAUSE_AFTER`` of those in a row pause the subscription. One run per channel at a time in a
process; across processes (two Delivery objects on one database), selecting is optimistic: the
store records a run only when its cursor is still where the selection started and no other run
holds its stories (RunConflict otherwise), and the run that lost selects again.

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
from typing import Protocol

from bot.config import Config
from bot.digests.model import ChannelUnavailable, RunOutcome, TransientError, Trigger
from bot.digests.selection import plan_run
from bot.render import Payload
from bot.store import DigestRunRecord, RunConflict, StoreInterface, Subscription

log = logging.getLogger(__name__)

__all__ = ["CLAIM_ATTEMPTS", "PAUSE_AFTER", "RETRY_DELAYS_S", "Delivery", "Sender", "run_nonce"]

CLAIM_ATTEMPTS = 5  # selections a run makes when other runs of its channel keep recording first
PAUSE_AFTER = 3
RETRY_DELAYS_S = (30.0, 120.0, 600.0, 1800.0, 3600.0)
NONCE_MAX = 25


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


def run_nonce(channel_id: int, run_id: int, chunk: int, selected_at: float) -> str:
    """Deterministic per (run, chunk), at most 25 characters, distinct across databases."""
    seed = f"{channel_id}:{run_id}:{chunk}:{selected_at!r}".encode()
    nonce = "nb" + hashlib.blake2b(seed, digest_size=11).hexdigest()
    return nonce[:NONCE_MAX]


def _payload_json(payload: Payload) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True)


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
        select, record and send a new one."""
        async with self._lock(channel_id):
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
            outcome = await self._deliver(pending, interrupted=True)
            if outcome.status != "delivered":
                return outcome
        if trigger in ("retry", "resume"):
            return outcome or RunOutcome(channel_id, "empty")
        run: DigestRunRecord | None = None
        for _attempt in range(CLAIM_ATTEMPTS):
            try:
                run = await self._record(sub, trigger)
                break
            except RunConflict as exc:  # another process's run recorded first: what is left?
                log.info("digest for channel %s: %s; selecting again", channel_id, exc)
            refreshed = await self.store.digests.subscription(channel_id)
            if refreshed is None:
                return RunOutcome(channel_id, "skipped", error="no subscription")
            sub = refreshed
        if run is None:
            log.warning("digest for channel %s: other runs kept recording first", channel_id)
            return outcome or RunOutcome(channel_id, "empty")
        if not run.messages:
            log.info("digest for channel %s: nothing new", channel_id)
            return outcome or RunOutcome(channel_id, "empty", run_id=run.id)
        return await self._deliver(run)

    async def _record(self, sub: Subscription, trigger: Trigger) -> DigestRunRecord:
        """Select and claim a run (RunConflict when another run recorded first)."""
        now = self.clock()
        config = self._config()
        plan = await plan_run(
            self.store.digests,
            sub,
            now=now,
            default_max_age_days=config.digest.max_age_days,
            canonical_topic=config.topics.canonical,
        )

        def nonce(run_id: int, chunk: int) -> str:
            return run_nonce(sub.channel_id, run_id, chunk, now)

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
        )

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
