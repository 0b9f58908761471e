"""The digest feature's own vocabulary: what a run plans, how it ended, why a send failed. Pure.

The stored records (SubscriptionSpec, Subscription, DigestCandidate, DigestRunRecord) belong to
the store and are imported from ``bot.store``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from bot.articles import StoryEntry
from bot.render import Payload

__all__ = [
    "ChannelKind",
    "ChannelUnavailable",
    "DeliveryError",
    "DigestPlan",
    "ForumPost",
    "LeftOut",
    "MessageFingerprint",
    "PlanItem",
    "PublishError",
    "RunOutcome",
    "RunStatus",
    "Selection",
    "TransientError",
    "Trigger",
    "embed_key",
    "message_fingerprint",
    "payload_fingerprint",
]

# schedule: the cron job; now: /digest now; retry: after a server error; resume: at start-up
Trigger = Literal["schedule", "now", "retry", "resume"]
# busy: another run of the channel was posting (in this process or another)
RunStatus = Literal["delivered", "empty", "pending", "failing", "paused", "skipped", "busy"]
# what a digest channel is: a text channel, an announcement channel (type 5), a forum (type 15)
ChannelKind = Literal["text", "announcement", "forum"]


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True, slots=True)
class Selection:
    entries: tuple[StoryEntry, ...]
    more: int  # eligible stories beyond max_items
    selected_at: float
    selected_seq: int  # the change sequence value it selected up to: the next cursor


@dataclass(frozen=True, slots=True)
class LeftOut:
    entry: StoryEntry
    reasons: tuple[str, ...]


class PlanItem(NamedTuple):
    """One article a run delivers: the story's shown article and the others of its story."""

    article_id: int
    chunk: int  # the message it goes out in
    shown: bool


@dataclass(frozen=True, slots=True)
class DigestPlan:
    selection: Selection
    payloads: tuple[Payload, ...]
    items: tuple[PlanItem, ...]  # every article of every selected story


# --------------------------------------------------------------------------- sending


class DeliveryError(Exception):
    """A message could not be delivered; str(exc) is the reason shown in /digest list."""


class ChannelUnavailable(DeliveryError):
    """The channel is gone (404) or the bot may not post there (403): a failed run."""


class TransientError(DeliveryError):
    """A server or network error that outlasted discord.py's own retries: try again later."""


class PublishError(DeliveryError):
    """Discord did not publish a message: ``limited`` when its hourly limit held it back."""

    def __init__(self, reason: str, *, limited: bool = False):
        super().__init__(reason)
        self.limited = limited


@dataclass(frozen=True, slots=True)
class ForumPost:
    """A forum run's post: the thread and its first message (the same id on Discord)."""

    thread_id: int
    message_id: int


MessageFingerprint = tuple[str, tuple[tuple[str | None, str | None], ...]]


def message_fingerprint(
    content: str | None, links: Iterable[tuple[str | None, str | None]]
) -> MessageFingerprint:
    """What identifies a digest message we sent: its content and its embeds' titles and links."""
    return (content or "", tuple(links))


def embed_key(
    title: str | None, url: str | None, description: str | None
) -> tuple[str | None, str | None]:
    """What identifies one embed of ours: its title and link; a compact digest's embeds have
    neither, so their list of stories (the description) stands in for the link."""
    return (title, url if url is not None or title is not None else description)


def payload_fingerprint(payload: Payload) -> MessageFingerprint:
    embeds = payload.get("embeds", [])
    return message_fingerprint(
        payload.get("content"),
        (embed_key(e.get("title"), e.get("url"), e.get("description")) for e in embeds),
    )


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a run ended; the digest service reacts to it (retry when pending, re-job when paused)."""

    channel_id: int
    status: RunStatus
    titles: tuple[str, ...] = ()
    more: int = 0
    error: str | None = None
    run_id: int | None = None
    retry_in: float | None = None  # pending: seconds until the run is tried again

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
        if self.status == "busy":
            return (
                f"Another run of the digest of {where} is posting right now; its stories will"
                " appear there. Use `/digest now` again once it is done to post anything newer."
            )
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
