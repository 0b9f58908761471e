"""Failure alerts: tell a guild's admins, in the channel they chose with ``/digest alerts``, when
a digest starts failing, when it pauses itself and when it recovers. Once per transition: the
state last alerted is stored with the subscription and moved by compare-and-set before the
message goes out, so neither a restart nor a second process repeats it. An alert never pings
anyone, and one that cannot be posted is logged; it never breaks the digest."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Literal

from bot import render
from bot.digests.delivery import Sender
from bot.digests.model import DeliveryError, RunOutcome
from bot.store import StoreInterface, Subscription

log = logging.getLogger(__name__)

__all__ = ["AlertState", "Alerts", "advice", "alert_text", "state_after"]

AlertState = Literal["healthy", "failing", "paused"]
_MISSING = re.compile(r"missing the (?P<names>.+?) permissions?\b")


def state_after(outcome: RunOutcome) -> AlertState | None:
    """The health a run's outcome shows; None when it says nothing new (pending, skipped, busy)."""
    if outcome.status in ("delivered", "empty"):
        return "healthy"
    if outcome.status == "failing":
        return "failing"
    if outcome.status == "paused":
        return "paused"
    return None


def advice(error: str, channel_id: int) -> str:
    """What an admin can do about a failed run's ``error``."""
    where = f"<#{channel_id}>"
    missing = _MISSING.search(error)
    if missing:
        return f"Give me {missing['names']} in {where}"
    if "not found" in error:
        return f"{where} seems deleted: `/digest unsubscribe` it, or subscribe another channel"
    if "cannot see" in error:
        return f"Give me View Channel in {where}"
    return f"Check my permissions in {where}"


def alert_text(sub: Subscription, state: AlertState, error: str | None) -> str:
    where = f"<#{sub.channel_id}>"
    reason = error or sub.last_error or sub.paused_reason or "unknown error"
    if state == "failing":
        return (
            f"⚠️ The digest of {where} could not be posted: {reason}.\n"
            f"{advice(reason, sub.channel_id)}; the next run tries again, and after 3 failed"
            " runs in a row the digest pauses itself."
        )
    if state == "paused":
        return (
            f"⏸️ The digest of {where} paused itself after 3 failed runs in a row: {reason}.\n"
            f"{advice(reason, sub.channel_id)}, then `/digest resume` it."
        )
    return f"✅ The digest of {where} is back: nothing it holds was lost, and it runs on schedule."


class Alerts:
    """Moves a subscription's alerted state and posts the alert for each change worth one."""

    def __init__(self, store: StoreInterface, sender: Sender):
        self.store = store
        self.sender = sender

    async def observe(self, channel_id: int, state: AlertState, error: str | None = None) -> None:
        """The subscription is now in ``state``: alert once if that is a change worth one."""
        try:
            await self._observe(channel_id, state, error)
        except Exception:  # an alert must never break the digest it is about
            log.exception("digest alert for channel %s (%s) failed", channel_id, state)

    async def _observe(self, channel_id: int, state: AlertState, error: str | None) -> None:
        sub = await self.store.digests.subscription(channel_id)
        if sub is None or sub.alert_state == state:
            return
        if state == "failing" and sub.alert_state == "paused":
            return  # still paused (a run by /digest now): no news for the admins
        if not await self.store.digests.set_alert_state(channel_id, sub.alert_state, state):
            return  # another run or process told them already
        guild_id = sub.guild_id or self.sender.guild_of(channel_id)
        target = await self.store.digests.alert_channel(guild_id) if guild_id else None
        if target is None:
            return
        payload = render.notice(alert_text(sub, state, error))
        seed = f"alert:{channel_id}:{sub.alert_state}>{state}:{sub.updated_at!r}".encode()
        nonce = "na" + hashlib.blake2b(seed, digest_size=11).hexdigest()
        try:
            await self.sender.send(target, payload, nonce)
        except DeliveryError as exc:
            log.warning(
                "could not post the digest alert for channel %s to channel %s: %s",
                channel_id,
                target,
                exc,
            )
        else:
            log.info("digest alert for channel %s: %s, posted to %s", channel_id, state, target)
