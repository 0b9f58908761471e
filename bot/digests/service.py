"""The /digest commands as a service, the digest jobs, and what a run does with its outcome.

``DigestService`` runs every digest through ``Delivery`` and reacts to how it ended: a pending
run gets a one-off retry job after the outcome's ``retry_in``; a paused subscription loses its
job. Subscription specs are built and checked here; previews explain what a run would post.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from bot import render
from bot.articles import topic_key
from bot.config import MAX_AGE_DAYS, MAX_QUALITY_BAR, Config, DigestSettings
from bot.digests.model import RunOutcome, Trigger
from bot.digests.selection import age_limit_days, explanation, left_out, plan_run
from bot.errors import UserError
from bot.render import Payload
from bot.schedules import ScheduleError, describe_schedule, parse_schedule, parse_timezone
from bot.store import StoreInterface, Subscription, SubscriptionSpec

__all__ = [
    "DigestJobs",
    "DigestRunner",
    "DigestService",
    "build_spec",
    "digest_settings",
    "parse_topics",
    "preview_digest",
    "spec_from_settings",
]

MAX_TOPICS = 25


# --------------------------------------------------------------------------- settings


def digest_settings(config: Config, channel_id: int) -> DigestSettings:
    """The channel's ``[[digest.channels]]`` settings when the file manages it, else [digest]."""
    channel = config.channel(channel_id)
    return channel.settings if channel is not None else config.digest


def spec_from_settings(settings: DigestSettings, *, own_max_age: bool = True) -> SubscriptionSpec:
    """A subscription spec of config settings. ``own_max_age`` False: the spec follows
    [digest] max_age_days as it is at each run (what /digest subscribe does by default)."""
    return SubscriptionSpec(
        schedule=settings.schedule,
        timezone=settings.timezone,
        topics=tuple(settings.topics),
        min_quality=settings.min_quality,
        max_items=settings.max_items,
        only_published=settings.only_published,
        role_id=settings.role_id,
        max_age_days=settings.max_age_days if own_max_age else None,
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
    max_age_days: int | None = None,
) -> SubscriptionSpec:
    """``base`` with the options given, checked; UserError with the reason otherwise."""
    schedule = " ".join(schedule.split()) if schedule is not None else base.schedule
    zone = timezone.strip() if timezone is not None else base.timezone
    try:
        parse_timezone(zone)
        parse_schedule(schedule, zone)
    except ScheduleError as exc:
        raise UserError(f"Nothing was changed: {exc}.") from None
    if min_quality is not None and not 0 <= min_quality <= MAX_QUALITY_BAR:
        raise UserError(
            f"`min_quality` must be between 0 and {MAX_QUALITY_BAR}; you gave {min_quality}."
        )
    if max_items is not None and not 1 <= max_items <= 25:
        raise UserError(f"`max_items` must be between 1 and 25; you gave {max_items}.")
    if max_age_days is not None and not 0 <= max_age_days <= MAX_AGE_DAYS:
        raise UserError(
            f"`max_age_days` must be between 0 (no limit) and {MAX_AGE_DAYS};"
            f" you gave {max_age_days}."
        )
    return SubscriptionSpec(
        schedule=schedule,
        timezone=zone,
        topics=parse_topics(topics) if topics is not None else base.topics,
        min_quality=base.min_quality if min_quality is None else min_quality,
        max_items=base.max_items if max_items is None else max_items,
        only_published=base.only_published,
        role_id=base.role_id,
        max_age_days=base.max_age_days if max_age_days is None else max_age_days,
    )


# --------------------------------------------------------------------------- preview


async def _default_subscription(
    channel_id: int, config: Config, store: StoreInterface, now: float
) -> Subscription:
    """What a new subscription with the [digest] defaults (or the file's entry) would be."""
    settings = digest_settings(config, channel_id)
    return Subscription(
        channel_id=channel_id,
        guild_id=None,
        spec=spec_from_settings(settings),
        managed_by="file" if config.channel(channel_id) is not None else "command",
        paused=False,
        paused_reason=None,
        cursor=await store.digests.change_seq_at(now - settings.backfill_hours * 3600),
        last_run_at=None,
        items_delivered=0,
        consecutive_failures=0,
        last_error=None,
        created_at=now,
        updated_at=now,
    )


async def preview_digest(
    config: Config,
    store: StoreInterface,
    channel_id: int | None,
    *,
    explain: bool = False,
    now: float | None = None,
    max_age_days: int | None = None,
) -> list[Payload]:
    """The messages a run would post now (none when nothing is new); records nothing. No
    channel: a new subscription with the [digest] defaults. With ``explain``, a last message
    says what was left out and why, for a person reading the preview. ``max_age_days`` stands
    in for the subscription's (``newsbot preview digest --max-age-days``)."""
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
        sub = await _default_subscription(channel_id or 0, config, store, now)
    if max_age_days is not None:
        sub = replace(sub, spec=build_spec(sub.spec, max_age_days=max_age_days))
    plan = await plan_run(
        store.digests,
        sub,
        now=now,
        default_max_age_days=config.digest.max_age_days,
        canonical_topic=config.topics.canonical,
    )
    payloads = list(plan.payloads)
    if not explain:
        return payloads
    backfill = digest_settings(config, sub.channel_id).backfill_hours * 3600
    missing = await left_out(
        store.digests,
        sub.channel_id,
        sub.spec,
        plan.selection,
        cursor=sub.cursor,
        since_seq=min(sub.cursor, await store.digests.change_seq_at(now - backfill)),
        default_max_age_days=config.digest.max_age_days,
        canonical_topic=config.topics.canonical,
    )
    return [*payloads, explanation(plan, missing)]


# --------------------------------------------------------------------------- the commands


class DigestRunner(Protocol):
    """Runs one digest and says how it ended (``Delivery``)."""

    async def run(self, channel_id: int, *, trigger: Trigger = "schedule") -> RunOutcome: ...


class DigestJobs(Protocol):
    """The scheduler's digest jobs (``Scheduler``)."""

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

    def schedule_retry(
        self, channel_id: int, delay_seconds: float, run: Callable[[int], Awaitable[object]]
    ) -> None: ...


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
        store: StoreInterface,
        *,
        config: Callable[[], Config],
        delivery: DigestRunner,
        jobs: DigestJobs,
        clock: Callable[[], float] = time.time,
        owns: Callable[[int | None], bool] = lambda _guild_id: True,
    ):
        self.store = store
        self._config = config  # read at call time: reload can change it
        self.delivery = delivery
        self.jobs = jobs
        self.clock = clock
        # Sharded (bot.shards): whether this process schedules a guild's digests; a guild
        # not known yet (None) is shard 0's.
        self.owns = owns

    # ------------------------------------------------------------ runs
    async def run(self, channel_id: int, *, trigger: Trigger = "schedule") -> RunOutcome:
        """One digest run through delivery, then what its outcome asks of the jobs. A job whose
        guild another process serves now (its guild became known) is dropped, not run."""
        if trigger != "now" and not await self._serves(channel_id):
            self.jobs.remove_digest_job(channel_id)
            return RunOutcome(channel_id, "skipped", error="served by another shard")
        outcome = await self.delivery.run(channel_id, trigger=trigger)
        await self._react(outcome)
        return outcome

    async def _react(self, outcome: RunOutcome) -> None:
        if outcome.status == "pending" and outcome.retry_in is not None:
            self.jobs.schedule_retry(outcome.channel_id, outcome.retry_in, self.retry)
        elif outcome.status == "paused":
            await self.refresh_job(outcome.channel_id)

    async def retry(self, channel_id: int) -> RunOutcome:
        """The one-off job after a server error: send the unsent run, select nothing new."""
        return await self.run(channel_id, trigger="retry")

    async def resume_pending(self) -> list[RunOutcome]:
        """Start-up: resend the unconfirmed messages of runs a crash interrupted, of the guilds
        this process serves (a run belongs to its guild's shard, like the digest's job)."""
        channels = {r.channel_id for r in await self.store.digests.runs(pending=True)}
        return [
            await self.run(channel_id, trigger="resume")
            for channel_id in sorted(channels)
            if await self._serves(channel_id)
        ]

    async def _serves(self, channel_id: int) -> bool:
        """Whether this process runs the channel's digest (its guild is on our shards)."""
        sub = await self.store.digests.subscription(channel_id)
        return sub is None or self.owns(sub.guild_id)

    async def resolve_guilds(self, guild_of: Callable[[int], int | None]) -> list[int]:
        """Record the guild of subscriptions that had none (file-managed channels) where this
        process sees the channel, and re-job them: a sharded process then schedules them when
        their guild is its own. Returns the channels resolved."""
        resolved = []
        for sub in await self.store.digests.subscriptions():
            guild_id = guild_of(sub.channel_id) if sub.guild_id is None else None
            if guild_id is not None:
                await self.store.digests.set_subscription_guild(sub.channel_id, guild_id)
                await self.refresh_job(sub.channel_id)
                resolved.append(sub.channel_id)
        return resolved

    # ------------------------------------------------------------ jobs
    async def refresh_job(self, channel_id: int) -> None:
        """Make the channel's job what the database says (none when paused or gone)."""
        sub = await self.store.digests.subscription(channel_id)
        if sub is None or sub.paused or not self.owns(sub.guild_id):
            self.jobs.remove_digest_job(channel_id)
            return
        last = sub.last_run_at or sub.created_at
        self.jobs.set_digest_job(
            channel_id,
            sub.spec.schedule,
            sub.spec.timezone,
            grace_seconds=digest_settings(self._config(), channel_id).misfire_grace_minutes * 60,
            run=self.run,
            last_run=datetime.fromtimestamp(last, UTC),
        )

    async def rebuild_jobs(self) -> int:
        """One job per active subscription of the guilds this process serves, from the
        database (start-up)."""
        count = 0
        for sub in await self.store.digests.subscriptions():
            await self.refresh_job(sub.channel_id)
            count += not sub.paused and self.owns(sub.guild_id)
        return count

    async def sync_config(self, config: Config) -> list[int]:
        """Bring `[[digest.channels]]` into the store; re-job what changed."""
        now = self.clock()
        specs = [(c.channel_id, spec_from_settings(c.settings)) for c in config.channels]
        backfill = config.digest.backfill_hours * 3600
        changed = await self.store.digests.sync_file_subscriptions(
            specs, since=now - backfill, now=now
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
        max_age_days: int | None = None,
    ) -> list[Payload]:
        existing = await self.store.digests.subscription(channel_id)
        if existing is not None and existing.managed_by == "file":
            await self._own(guild_id, channel_id, change="changing it")
        base = (
            existing.spec
            if existing
            else spec_from_settings(self._config().digest, own_max_age=False)
        )
        spec = build_spec(
            base,
            schedule=schedule,
            timezone=timezone,
            topics=topics,
            min_quality=min_quality,
            max_items=max_items,
            max_age_days=max_age_days,
        )
        now = self.clock()
        backfill = self._config().digest.backfill_hours * 3600
        sub = await self.store.digests.save_subscription(
            channel_id,
            spec,
            guild_id=guild_id,
            managed_by="command",
            since=now - backfill,
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
            f" · {self._age_limit(spec)}"
            f" · next run {_when(self.jobs.next_digest_run(sub.channel_id))}"
        )

    def _age_limit(self, spec: SubscriptionSpec) -> str:
        days = age_limit_days(spec, self._config().digest.max_age_days)
        limit = f"published in the last {days} day{'s' * (days != 1)}" if days else "any age"
        return limit + " (default)" * (spec.max_age_days is None)

    async def list_subscriptions(
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
        outcome = await self.run(channel_id, trigger="now")
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
