"""Digest selection: which stories a run posts, in which messages, and what was left out and why.

Selection (DESIGN §4): an article is due for a subscription when it is eligible now (published
when ``only_published``, quality at or above ``min_quality``, one of the subscription's topics
(none: all), ``publishedDateTime`` within ``max_age_days`` (0: no limit), not gone), it changed
after the subscription's cursor (a change sequence value), and no article of its story reached
the channel or waits in another run. Ranked by quality, then heat, then newest; a story once
(its best article, the other providers named); at most ``max_items``, the rest counted as
"and N more". The run selects up to the sequence value current when it read, and that value
becomes the cursor: exact, with no clock and no slack.

The rules are pure; the candidates come from the reads named by ``DigestReads``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC
from typing import Protocol

from bot import render
from bot.articles import StoryEntry, topic_key
from bot.digests.model import DigestPlan, LeftOut, PlanItem, Selection
from bot.keywords import KeywordFilter
from bot.render import DigestMessage, Payload
from bot.store import DigestCandidate, DigestCandidates, Subscription, SubscriptionSpec

__all__ = [
    "DigestReads",
    "age_limit_days",
    "digest_messages",
    "explanation",
    "left_out",
    "plan_run",
    "select",
]

LEFT_OUT_SHOWN = 5
DAY_S = 86_400
# With keywords or exclusions, a run tests this many of the best due stories against them; the
# matching ones past max_items are counted in "and N more", like any other.
FILTERED_POOL = 1000


class DigestReads(Protocol):
    """The store's digest reads that selection needs (``store.digests``)."""

    async def candidates(
        self,
        channel_id: int,
        *,
        after_seq: int,
        only_published: bool,
        min_quality: float,
        published_after: float | None,
        topic_keys: Sequence[str],
        limit: int,
    ) -> DigestCandidates: ...

    async def pool(
        self, channel_id: int, *, after_seq: int, limit: int
    ) -> list[DigestCandidate]: ...

    async def story_article_ids(self, article_ids: Sequence[int]) -> dict[int, list[int]]: ...


def keyword_filter(spec: SubscriptionSpec) -> KeywordFilter:
    return KeywordFilter(spec.keywords, spec.exclude)


def _filtered_out(entry: StoryEntry, words: KeywordFilter) -> str | None:
    return words.reason(entry.article.title, entry.article.excerpt)


def _topic_keys(spec: SubscriptionSpec, canonical: Callable[[str], str]) -> list[str]:
    return sorted({topic_key(canonical(t)) for t in spec.topics})


def age_limit_days(spec: SubscriptionSpec, default_days: int) -> int:
    """The subscription's own max_age_days, else the configured default; 0: no limit."""
    return default_days if spec.max_age_days is None else spec.max_age_days


def _oldest(days: int, now: float) -> float | None:
    """The earliest publishedDateTime a story may have at ``now`` (None: any)."""
    return now - days * DAY_S if days > 0 else None


async def select(
    store: DigestReads,
    channel_id: int,
    spec: SubscriptionSpec,
    *,
    cursor: int,
    now: float,
    default_max_age_days: int,
    canonical_topic: Callable[[str], str],
) -> Selection:
    """The stories a run at ``now`` would post, best first, how many were left over, and the
    change sequence value they were selected up to."""
    words = keyword_filter(spec)
    due = await store.candidates(
        channel_id,
        after_seq=cursor,
        only_published=spec.only_published,
        min_quality=spec.min_quality,
        published_after=_oldest(age_limit_days(spec, default_max_age_days), now),
        topic_keys=_topic_keys(spec, canonical_topic),
        limit=FILTERED_POOL if words.active else spec.max_items,
    )
    if not words.active:
        entries = tuple(c.entry for c in due.candidates[: spec.max_items])
        return Selection(entries, max(0, due.stories - len(entries)), now, due.seq)
    kept = [c.entry for c in due.candidates if _filtered_out(c.entry, words) is None]
    entries = tuple(kept[: spec.max_items])
    return Selection(entries, len(kept) - len(entries), now, due.seq)


def _days(count: int) -> str:
    return f"{count} day{'s' * (count != 1)}"


def _reasons(
    candidate: DigestCandidate,
    spec: SubscriptionSpec,
    keys: Sequence[str],
    *,
    cursor: int,
    now: float,
    max_age_days: int,
) -> list[str]:
    article = candidate.entry.article
    reasons = []
    if candidate.delivered:
        reasons.append("already delivered to this channel")
    if candidate.change_seq <= cursor:
        reasons.append("changed before the cursor (covered by an earlier run)")
    if spec.only_published and not article.published:
        reasons.append("not published" if article.published_field else "no published field")
    quality = article.quality
    if (quality or 0) < spec.min_quality:
        shown = "unknown" if quality is None else render.quality_text(quality)
        reasons.append(f"quality {shown} is below min_quality {spec.min_quality}")
    oldest = _oldest(max_age_days, now)
    published_at = article.published_at
    if oldest is not None and published_at is not None and published_at.timestamp() < oldest:
        reasons.append(
            f"published {published_at.astimezone(UTC):%Y-%m-%d}, older than {_days(max_age_days)}"
        )
    if keys and not {topic_key(t) for t in article.topics} & set(keys):
        reasons.append("not on the subscription's topics")
    filtered = _filtered_out(candidate.entry, keyword_filter(spec))
    if filtered is not None:
        reasons.append(filtered)
    return reasons


async def left_out(
    store: DigestReads,
    channel_id: int,
    spec: SubscriptionSpec,
    selection: Selection,
    *,
    cursor: int,
    since_seq: int,
    default_max_age_days: int,
    canonical_topic: Callable[[str], str],
    limit: int = LEFT_OUT_SHOWN,
) -> list[LeftOut]:
    """The best stories changed after ``since_seq`` that are not in the selection, and why."""
    pool = await store.pool(channel_id, after_seq=since_seq, limit=limit * 4)
    chosen = {e.article_id for e in selection.entries}
    keys = _topic_keys(spec, canonical_topic)
    max_age_days = age_limit_days(spec, default_max_age_days)
    result: list[LeftOut] = []
    for candidate in pool:
        if candidate.entry.article_id in chosen:
            continue
        reasons = _reasons(
            candidate,
            spec,
            keys,
            cursor=cursor,
            now=selection.selected_at,
            max_age_days=max_age_days,
        ) or [f'beyond max_items ({spec.max_items}): counted in "and N more"']
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


def digest_messages(selection: Selection, spec: SubscriptionSpec) -> list[DigestMessage]:
    """The run's messages in the subscription's layout, each with how many stories it carries."""
    return render.digest_messages(
        selection.entries,
        layout=spec.layout,
        more=selection.more,
        heading=_heading(spec),
        mention_role_id=spec.role_id,
    )


async def plan_run(
    store: DigestReads,
    sub: Subscription,
    *,
    now: float,
    default_max_age_days: int,
    canonical_topic: Callable[[str], str],
) -> DigestPlan:
    """What a run at ``now`` posts, message by message, and every article it delivers."""
    selection = await select(
        store,
        sub.channel_id,
        sub.spec,
        cursor=sub.cursor,
        now=now,
        default_max_age_days=default_max_age_days,
        canonical_topic=canonical_topic,
    )
    if not selection.entries:  # nothing new: no message, not even "and N more"
        return DigestPlan(selection, (), ())
    messages = digest_messages(selection, sub.spec)
    members = await store.story_article_ids([e.article_id for e in selection.entries])
    items: list[PlanItem] = []
    position = 0
    for chunk, message in enumerate(messages):
        for entry in selection.entries[position : position + message.stories]:
            items.extend(
                PlanItem(aid, chunk, aid == entry.article_id) for aid in members[entry.article_id]
            )
        position += message.stories
    return DigestPlan(selection, tuple(m.payload for m in messages), tuple(items))


# --------------------------------------------------------------------------- explanation


def _stories(count: int) -> str:
    return f"{count} stor{'y' if count == 1 else 'ies'}"


def _left_out_lines(items: Sequence[LeftOut]) -> list[str]:
    lines = []
    for item in items:
        title = render.cut(" ".join(item.entry.article.title.split()), 90)
        quality = item.entry.article.quality
        shown = render.quality_text(quality) if quality is not None else "?"
        lines.append(f"- {title} (quality {shown}):")
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
