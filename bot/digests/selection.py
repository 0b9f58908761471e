"""Digest selection: which stories a run posts, in which messages, and what was left out and why.

Selection (DESIGN §4): an article is eligible for a subscription when a file about it arrived
after the cursor, it is published (when ``only_published``), its quality is at or above
``min_quality``, it has one of the subscription's topics (none: all), and no article of its story
has reached the channel. Ranked by quality, then heat, then newest; a story once (its best
article, the other providers named); at most ``max_items``, the rest counted as "and N more".

The cursor is compared with a small slack (``ARRIVAL_SLACK_S``): ingest stamps a batch's
arrival time just before it commits, so a run could otherwise select in between and move its
cursor past articles it never saw. The ledger keeps the overlap from posting anything twice.

The rules are pure; the candidates come from the reads named by ``DigestReads``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from bot import render
from bot.articles import topic_key
from bot.digests.model import DigestPlan, LeftOut, PlanItem, Selection
from bot.render import Payload
from bot.store import DigestCandidate, Subscription, SubscriptionSpec

__all__ = [
    "ARRIVAL_SLACK_S",
    "DigestReads",
    "digest_messages",
    "explanation",
    "left_out",
    "plan_run",
    "select",
]

ARRIVAL_SLACK_S = 60.0
LEFT_OUT_SHOWN = 5


class DigestReads(Protocol):
    """The store's digest reads that selection needs (``store.digests``)."""

    async def candidates(
        self,
        channel_id: int,
        *,
        arrived_after: float,
        arrived_until: float,
        only_published: bool,
        min_quality: int,
        topic_keys: Sequence[str],
        limit: int,
    ) -> tuple[list[DigestCandidate], int]: ...

    async def pool(
        self, channel_id: int, *, arrived_after: float, limit: int
    ) -> list[DigestCandidate]: ...

    async def story_article_ids(self, article_ids: Sequence[int]) -> dict[int, list[int]]: ...


def _topic_keys(spec: SubscriptionSpec, canonical: Callable[[str], str]) -> list[str]:
    return sorted({topic_key(canonical(t)) for t in spec.topics})


async def select(
    store: DigestReads,
    channel_id: int,
    spec: SubscriptionSpec,
    *,
    cursor: float,
    now: float,
    canonical_topic: Callable[[str], str],
) -> Selection:
    """The stories a run at ``now`` would post, best first, and how many were left over."""
    candidates, stories = await store.candidates(
        channel_id,
        arrived_after=cursor - ARRIVAL_SLACK_S,
        arrived_until=now,
        only_published=spec.only_published,
        min_quality=spec.min_quality,
        topic_keys=_topic_keys(spec, canonical_topic),
        limit=spec.max_items,
    )
    entries = tuple(c.entry for c in candidates[: spec.max_items])
    return Selection(entries, max(0, stories - len(entries)), now)


def _reasons(
    candidate: DigestCandidate,
    spec: SubscriptionSpec,
    keys: Sequence[str],
    cursor: float,
) -> list[str]:
    article = candidate.entry.article
    reasons = []
    if candidate.delivered:
        reasons.append("already delivered to this channel")
    if candidate.arrived_at <= cursor - ARRIVAL_SLACK_S:
        reasons.append("arrived before the cursor (covered by an earlier run)")
    if spec.only_published and not article.published:
        reasons.append("not published")
    quality = article.quality
    if (quality or 0) < spec.min_quality:
        shown = "unknown" if quality is None else str(quality)
        reasons.append(f"quality {shown} is below min_quality {spec.min_quality}")
    if keys and not {topic_key(t) for t in article.topics} & set(keys):
        reasons.append("not on the subscription's topics")
    return reasons


async def left_out(
    store: DigestReads,
    channel_id: int,
    spec: SubscriptionSpec,
    selection: Selection,
    *,
    cursor: float,
    since: float,
    canonical_topic: Callable[[str], str],
    limit: int = LEFT_OUT_SHOWN,
) -> list[LeftOut]:
    """The best stories that arrived after ``since`` and are not in the selection, and why."""
    pool = await store.pool(channel_id, arrived_after=since, limit=limit * 4)
    chosen = {e.article_id for e in selection.entries}
    keys = _topic_keys(spec, canonical_topic)
    result: list[LeftOut] = []
    for candidate in pool:
        if candidate.entry.article_id in chosen:
            continue
        reasons = _reasons(candidate, spec, keys, cursor) or [
            f'beyond max_items ({spec.max_items}): counted in "and N more"'
        ]
        result.append(LeftOut(candidate.entry, tuple(reasons)))
        if len(result) >= limit:
            break
    return result


# --------------------------------------------------------------------------- messages


def _heading(spec: SubscriptionSpec) -> str:
    heading = "**News digest**"
    if spec.topics:
        heading += " · " + ", ".join(spec.topics)
    return heading


def digest_messages(selection: Selection, spec: SubscriptionSpec) -> list[Payload]:
    return render.digest_payloads(
        selection.entries,
        more=selection.more,
        heading=_heading(spec),
        mention_role_id=spec.role_id,
    )


async def plan_run(
    store: DigestReads,
    sub: Subscription,
    *,
    now: float,
    canonical_topic: Callable[[str], str],
) -> DigestPlan:
    """What a run at ``now`` posts, message by message, and every article it delivers."""
    selection = await select(
        store,
        sub.channel_id,
        sub.spec,
        cursor=sub.cursor,
        now=now,
        canonical_topic=canonical_topic,
    )
    if not selection.entries:  # nothing new: no message, not even "and N more"
        return DigestPlan(selection, (), ())
    payloads = digest_messages(selection, sub.spec)
    members = await store.story_article_ids([e.article_id for e in selection.entries])
    items: list[PlanItem] = []
    position = 0
    for chunk, payload in enumerate(payloads):
        for _ in payload["embeds"]:
            entry = selection.entries[position]
            position += 1
            items.extend(
                PlanItem(aid, chunk, aid == entry.article_id) for aid in members[entry.article_id]
            )
    return DigestPlan(selection, tuple(payloads), tuple(items))


# --------------------------------------------------------------------------- explanation


def _stories(count: int) -> str:
    return f"{count} stor{'y' if count == 1 else 'ies'}"


def _left_out_lines(items: Sequence[LeftOut]) -> list[str]:
    lines = []
    for item in items:
        title = render.cut(" ".join(item.entry.article.title.split()), 90)
        quality = item.entry.article.quality
        lines.append(f"- {title} (quality {quality if quality is not None else '?'}):")
        lines[-1] += " " + "; ".join(item.reasons)
    return lines


def explanation(plan: DigestPlan, missing: Sequence[LeftOut]) -> Payload:
    """For a person reading a preview: how much the run would post, what it left out and why."""
    head = (
        f"This digest would post {_stories(len(plan.selection.entries))} now."
        if plan.payloads
        else "Nothing new would be posted now."
    )
    lines = [head]
    if missing:
        lines.append("Best candidates left out:")
        lines += _left_out_lines(missing)
    else:
        lines.append("No other articles arrived recently.")
    return render.notice("\n".join(lines))
