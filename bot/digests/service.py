"""Digest selection, pure over the store, and the /digest commands as a service.

Selection (DESIGN §4): an article is eligible for a subscription when a file about it arrived
after the cursor, it is published (when ``only_published``), its quality is at or above
``min_quality``, it has one of the subscription's topics (none: all), and no article of its story
has reached the channel. Ranked by quality, then heat, then newest; a story once (its best
article, the other providers named); at most ``max_items``, the rest counted as "and N more".

The cursor is compared with a small slack (``ARRIVAL_SLACK_S``): ingest stamps a batch's
arrival time just before it commits, so a run could otherwise select in between and move its
cursor past articles it never saw. The ledger keeps the overlap from posting anything twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from bot import render
from bot.articles import StoryEntry, topic_key
from bot.config import Config, DigestSettings
from bot.digests.schedules import ScheduleError, describe_schedule, parse_schedule, parse_timezone
from bot.errors import UserError
from bot.render import Payload
from bot.store import DigestCandidate, Store, Subscription, SubscriptionSpec

if TYPE_CHECKING:
    from bot.digests.delivery import RunOutcome

__all__ = [
    "ARRIVAL_SLACK_S",
    "DigestPlan",
    "DigestService",
    "LeftOut",
    "Selection",
    "build_spec",
    "left_out",
    "plan_run",
    "preview_digest",
    "select",
    "spec_from_settings",
]

ARRIVAL_SLACK_S = 60.0
LEFT_OUT_SHOWN = 5
MAX_TOPICS = 25


# --------------------------------------------------------------------------- settings


def spec_from_settings(settings: DigestSettings) -> SubscriptionSpec:
    return SubscriptionSpec(
        schedule=settings.schedule,
        timezone=settings.timezone,
        topics=tuple(settings.topics),
        min_quality=settings.min_quality,
        max_items=settings.max_items,
        only_published=settings.only_published,
        role_id=settings.role_id,
    )


def parse_topics(text: str | None) -> tuple[str, ...]:
    """'AI, Robotics' -> ('AI', 'Robotics'); duplicates (case-insensitive) dropped."""
    if not text:
        return ()
    unique: dict[str, str] = {}
    for part in text.split(","):
        name = " ".join(part.split())
        if name:
            unique.setdefault(topic_key(name), name)
    if len(unique) > MAX_TOPICS:
        raise UserError(f"Give at most {MAX_TOPICS} topics; you gave {len(unique)}.")
    return tuple(unique.values())


def build_spec(
    base: SubscriptionSpec,
    *,
    schedule: str | None = None,
    timezone: str | None = None,
    topics: str | None = None,
    min_quality: int | None = None,
    max_items: int | None = None,
) -> SubscriptionSpec:
    """``base`` with the options given, checked; UserError with the reason otherwise."""
    schedule = " ".join(schedule.split()) if schedule is not None else base.schedule
    zone = timezone.strip() if timezone is not None else base.timezone
    try:
        parse_timezone(zone)
        parse_schedule(schedule, zone)
    except ScheduleError as exc:
        raise UserError(f"Nothing was changed: {exc}.") from None
    if min_quality is not None and not 0 <= min_quality <= 100:
        raise UserError(f"`min_quality` must be between 0 and 100; you gave {min_quality}.")
    if max_items is not None and not 1 <= max_items <= 25:
        raise UserError(f"`max_items` must be between 1 and 25; you gave {max_items}.")
    return SubscriptionSpec(
        schedule=schedule,
        timezone=zone,
        topics=parse_topics(topics) if topics is not None else base.topics,
        min_quality=base.min_quality if min_quality is None else min_quality,
        max_items=base.max_items if max_items is None else max_items,
        only_published=base.only_published,
        role_id=base.role_id,
    )


# --------------------------------------------------------------------------- selection


@dataclass(frozen=True, slots=True)
class Selection:
    entries: tuple[StoryEntry, ...]
    more: int  # eligible stories beyond max_items
    selected_at: float


@dataclass(frozen=True, slots=True)
class LeftOut:
    entry: StoryEntry
    reasons: tuple[str, ...]


def _topic_keys(spec: SubscriptionSpec, canonical: Callable[[str], str]) -> list[str]:
    return sorted({topic_key(canonical(t)) for t in spec.topics})


async def select(
    store: Store,
    channel_id: int,
    spec: SubscriptionSpec,
    *,
    cursor: float,
    now: float,
    canonical_topic: Callable[[str], str],
) -> Selection:
    """The stories a run at ``now`` would post, best first, and how many were left over."""
    candidates, stories = await store.digests.candidates(
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
    store: Store,
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
    pool = await store.digests.pool(channel_id, arrived_after=since, limit=limit * 4)
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


@dataclass(frozen=True, slots=True)
class DigestPlan:
    selection: Selection
    payloads: tuple[Payload, ...]
    items: tuple[tuple[int, int, bool], ...]  # (article id, chunk, shown) for every story article


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
    store: Store,
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
    members = await store.digests.story_article_ids([e.article_id for e in selection.entries])
    items: list[tuple[int, int, bool]] = []
    position = 0
    for chunk, payload in enumerate(payloads):
        for _ in payload["embeds"]:
            entry = selection.entries[position]
            position += 1
            items.extend((aid, chunk, aid == entry.article_id) for aid in members[entry.article_id])
    return DigestPlan(selection, tuple(payloads), tuple(items))


# --------------------------------------------------------------------------- preview


def _default_subscription(channel_id: int, config: Config, now: float) -> Subscription:
    """What a new subscription with the [digest] defaults (or the file's entry) would be."""
    channel = config.channel(channel_id)
    settings = channel.settings if channel is not None else config.digest
    return Subscription(
        channel_id=channel_id,
        guild_id=None,
        spec=spec_from_settings(settings),
        managed_by="file" if channel is not None else "command",
        paused=False,
        paused_reason=None,
        cursor=now - settings.backfill_hours * 3600,
        last_run_at=None,
        items_delivered=0,
        consecutive_failures=0,
        last_error=None,
        created_at=now,
        updated_at=now,
    )


def _left_out_lines(items: Sequence[LeftOut]) -> list[str]:
    lines = []
    for item in items:
        title = render.cut(" ".join(item.entry.article.title.split()), 90)
        quality = item.entry.article.quality
        lines.append(f"- {title} (quality {quality if quality is not None else '?'}):")
        lines[-1] += " " + "; ".join(item.reasons)
    return lines


async def preview_digest(
    config: Config,
    store: Store,
    channel_id: int | None,
    *,
    explain: bool = False,
    now: float | None = None,
) -> list[Payload]:
    """The messages a run would post now (none when nothing is new); records nothing. No
    channel: a new subscription with the [digest] defaults. With ``explain``, a last message
    says what was left out and why, for a person reading the preview."""
    now = time.time() if now is None else now
    sub: Subscription | None = None
    if channel_id is not None:
        sub = await store.digests.subscription(channel_id)
        if sub is None and config.channel(channel_id) is None:
            raise UserError(
                f"channel {channel_id} has no digest subscription; leave out --channel for the"
                " digest a new subscription would get"
            )
    if sub is None:
        sub = _default_subscription(channel_id or 0, config, now)
    plan = await plan_run(store, sub, now=now, canonical_topic=config.topics.canonical)
    payloads = list(plan.payloads)
    if not explain:
        return payloads
    settings = config.channel(sub.channel_id)
    backfill = (settings.settings if settings else config.digest).backfill_hours * 3600
    missing = await left_out(
        store,
        sub.channel_id,
        sub.spec,
        plan.selection,
        cursor=sub.cursor,
        since=min(sub.cursor - ARRIVAL_SLACK_S, now - backfill),
        canonical_topic=config.topics.canonical,
    )
    head = (
        f"This digest would post {_stories(len(plan.selection.entries))} now."
        if payloads
        else "Nothing new would be posted now."
    )
    lines = [head]
    if missing:
        lines.append("Best candidates left out:")
        lines += _left_out_lines(missing)
    else:
        lines.append("No other articles arrived recently.")
    return [*payloads, render.notice("\n".join(lines))]


# --------------------------------------------------------------------------- the commands


class DigestRunner(Protocol):
    async def run(self, channel_id: int, *, trigger: str = "schedule") -> RunOutcome: ...


class DigestJobs(Protocol):
    def set_digest_job(
        self,
        channel_id: int,
        schedule: str,
        timezone: str,
        *,
        grace_seconds: float,
        run: Callable[[int], Awaitable[object]],
        last_run: datetime | None = None,
    ) -> None: ...

    def remove_digest_job(self, channel_id: int) -> None: ...

    def next_digest_run(self, channel_id: int) -> datetime | None: ...


def _when(moment: float | datetime | None) -> str:
    if moment is None:
        return "never"
    if isinstance(moment, float | int):
        moment = datetime.fromtimestamp(moment, UTC)
    return f"<t:{int(moment.timestamp())}:f>"


class DigestService:
    """/digest subscribe, unsubscribe, pause, resume, list, preview, now; and the jobs."""

    def __init__(
        self,
        store: Store,
        *,
        config: Callable[[], Config],
        runner: DigestRunner,
        jobs: DigestJobs,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self._config = config  # read at call time: reload can change it
        self.runner = runner
        self.jobs = jobs
        self.clock = clock

    # ------------------------------------------------------------ jobs
    def _settings(self, channel_id: int) -> DigestSettings:
        config = self._config()
        channel = config.channel(channel_id)
        return channel.settings if channel is not None else config.digest

    async def _scheduled(self, channel_id: int) -> RunOutcome:
        return await self.runner.run(channel_id, trigger="schedule")

    async def refresh_job(self, channel_id: int) -> None:
        """Make the channel's job what the database says (none when paused or gone)."""
        sub = await self.store.digests.subscription(channel_id)
        if sub is None or sub.paused:
            self.jobs.remove_digest_job(channel_id)
            return
        last = sub.last_run_at or sub.created_at
        self.jobs.set_digest_job(
            channel_id,
            sub.spec.schedule,
            sub.spec.timezone,
            grace_seconds=self._settings(channel_id).misfire_grace_minutes * 60,
            run=self._scheduled,
            last_run=datetime.fromtimestamp(last, UTC),
        )

    async def rebuild_jobs(self) -> int:
        """One job per active subscription, from the database (start-up)."""
        count = 0
        for sub in await self.store.digests.subscriptions():
            await self.refresh_job(sub.channel_id)
            count += not sub.paused
        return count

    async def sync_config(self, config: Config) -> list[int]:
        """Bring `[[digest.channels]]` into the store; re-job what changed."""
        now = self.clock()
        specs = [(c.channel_id, spec_from_settings(c.settings)) for c in config.channels]
        backfill = config.digest.backfill_hours * 3600
        changed = await self.store.digests.sync_file_subscriptions(
            specs, cursor=now - backfill, now=now
        )
        # misfire grace can change without the subscription changing
        for channel in config.channels:
            if channel.channel_id not in changed:
                changed.append(channel.channel_id)
        for channel_id in changed:
            await self.refresh_job(channel_id)
        return changed

    # ------------------------------------------------------------ commands
    async def _own(self, guild_id: int, channel_id: int, *, change: str | None) -> Subscription:
        sub = await self.store.digests.subscription(channel_id)
        if sub is None:
            raise UserError(
                f"<#{channel_id}> has no digest; `/digest subscribe channel:` creates one."
            )
        if sub.guild_id is None:
            await self.store.digests.set_subscription_guild(channel_id, guild_id)
        if change is not None and sub.managed_by == "file":
            raise UserError(
                f"The digest of <#{channel_id}> is managed by the config file, so {change} is"
                " not possible from Discord; ask the operator to edit `[[digest.channels]]`"
                " in config.toml."
            )
        return sub

    async def subscribe(
        self,
        guild_id: int,
        channel_id: int,
        *,
        schedule: str | None = None,
        timezone: str | None = None,
        topics: str | None = None,
        min_quality: int | None = None,
        max_items: int | None = None,
    ) -> list[Payload]:
        existing = await self.store.digests.subscription(channel_id)
        if existing is not None and existing.managed_by == "file":
            await self._own(guild_id, channel_id, change="changing it")
        base = existing.spec if existing else spec_from_settings(self._config().digest)
        spec = build_spec(
            base,
            schedule=schedule,
            timezone=timezone,
            topics=topics,
            min_quality=min_quality,
            max_items=max_items,
        )
        now = self.clock()
        backfill = self._config().digest.backfill_hours * 3600
        sub = await self.store.digests.save_subscription(
            channel_id,
            spec,
            guild_id=guild_id,
            managed_by="command",
            cursor=now - backfill,
            now=now,
        )
        await self.refresh_job(channel_id)
        verb = "Changed" if existing else "Subscribed"
        return [render.notice(f"{verb}: {self._describe(sub)}")]

    async def unsubscribe(self, guild_id: int, channel_id: int) -> list[Payload]:
        await self._own(guild_id, channel_id, change="unsubscribing")
        await self.store.digests.delete_subscription(channel_id, self.clock())
        self.jobs.remove_digest_job(channel_id)
        return [render.notice(f"<#{channel_id}> no longer gets a digest.")]

    async def pause(self, guild_id: int, channel_id: int) -> list[Payload]:
        sub = await self._own(guild_id, channel_id, change="pausing it")
        if sub.paused:
            return [render.notice(f"The digest of <#{channel_id}> is already paused.")]
        await self.store.digests.set_subscription_paused(
            channel_id, True, "paused by an admin", self.clock()
        )
        await self.refresh_job(channel_id)
        return [
            render.notice(f"Paused the digest of <#{channel_id}>; `/digest resume` restarts it.")
        ]

    async def resume(self, guild_id: int, channel_id: int) -> list[Payload]:
        sub = await self._own(guild_id, channel_id, change=None)
        if not sub.paused:
            return [render.notice(f"The digest of <#{channel_id}> is not paused.")]
        await self.store.digests.set_subscription_paused(channel_id, False, None, self.clock())
        await self.refresh_job(channel_id)
        nxt = self.jobs.next_digest_run(channel_id)
        return [render.notice(f"Resumed the digest of <#{channel_id}>; next run {_when(nxt)}.")]

    def _describe(self, sub: Subscription) -> str:
        spec = sub.spec
        topics = ", ".join(spec.topics) if spec.topics else "all topics"
        return (
            f"<#{sub.channel_id}> · {describe_schedule(spec.schedule, spec.timezone)}"
            f" · {topics} · quality ≥ {spec.min_quality} · up to {spec.max_items} stories"
            f" · next run {_when(self.jobs.next_digest_run(sub.channel_id))}"
        )

    async def list(
        self, guild_id: int, in_guild: Callable[[int], bool] = lambda _: False
    ) -> list[Payload]:
        """The guild's subscriptions; ``in_guild`` places file-managed ones not seen yet."""
        subs = [
            s
            for s in await self.store.digests.subscriptions(guild_id)
            if s.guild_id == guild_id or in_guild(s.channel_id)
        ]
        if not subs:
            return [render.notice("No digests in this server; `/digest subscribe` adds one.")]
        blocks = []
        for sub in subs:
            lines = [f"**{self._describe(sub)}**"]
            managed = "config file" if sub.managed_by == "file" else "command"
            lines.append(
                f"managed by the {managed} · last run {_when(sub.last_run_at)}"
                f" · {sub.items_delivered} items delivered"
            )
            if sub.paused:
                lines.append(f"PAUSED: {sub.paused_reason or 'paused'}")
            if sub.last_error:
                lines.append(f"last error: {sub.last_error} ({sub.consecutive_failures} in a row)")
            blocks.append("\n".join(lines))
        return [render.notice("\n\n".join(blocks))]

    async def preview(self, guild_id: int, channel_id: int) -> list[Payload]:
        await self._own(guild_id, channel_id, change=None)
        return await preview_digest(
            self._config(), self.store, channel_id, explain=True, now=self.clock()
        )

    async def now(self, guild_id: int, channel_id: int) -> list[Payload]:
        await self._own(guild_id, channel_id, change=None)
        outcome = await self.runner.run(channel_id, trigger="now")
        return [render.notice(outcome.summary())]

    async def topic_choices(self, current: str) -> list[dict[str, str]]:
        """Complete the last item of a comma-separated list from the store's topics."""
        done, _, last = current.rpartition(",")
        chosen = {topic_key(t) for t in done.split(",") if t.strip()}
        prefix = (done + ", ") if done.strip() else ""
        found = await self.store.reads.topics(last.strip(), limit=25 + len(chosen))
        return render.choices(
            ((prefix + name), prefix + name)
            for name, _count in found
            if topic_key(name) not in chosen
        )


def payload_json(payload: Payload) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True)


def _stories(count: int) -> str:
    return f"{count} stor{'y' if count == 1 else 'ies'}"
