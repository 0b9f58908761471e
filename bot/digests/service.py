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
from bot.config import DIGEST_LAYOUTS, MAX_AGE_DAYS, MAX_QUALITY_BAR, Config, DigestSettings
from bot.digests.alerts import Alerts, state_after
from bot.digests.model import ChannelKind, DigestPlan, RunOutcome, Trigger
from bot.digests.posts import forum_title, run_topics
from bot.digests.selection import age_limit_days, explanation, left_out, plan_run
from bot.errors import UserError
from bot.keywords import KeywordError, parse_terms
from bot.render import Payload
from bot.schedules import ScheduleError, describe_schedule, parse_schedule, parse_timezone
from bot.store import StoreInterface, Subscription, SubscriptionSpec

__all__ = [
    "DigestJobs",
    "DigestRunner",
    "DigestService",
    "build_spec",
    "digest_settings",
    "parse_keywords",
    "parse_topics",
    "preview_digest",
    "spec_from_settings",
]

MAX_TOPICS = 25
PUBLICATIONS_SHOWN_S = 7 * 86_400.0  # /digest list reports unpublished messages this far back


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
        layout=settings.layout,
        keywords=settings.keywords,
        exclude=settings.exclude,
        publish=settings.publish,
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
    layout: str | None = None,
    role_id: int | None = None,
    keywords: str | None = None,
    exclude: str | None = None,
    publish: bool | None = None,
) -> SubscriptionSpec:
    """``base`` with the options given, checked; UserError with the reason otherwise.
    ``keywords`` / ``exclude`` "-" (or "none") clear them; ``role_id`` 0 clears the role."""
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
    if layout is not None and layout not in DIGEST_LAYOUTS:
        raise UserError(f"`layout` must be {' or '.join(DIGEST_LAYOUTS)}; you gave {layout!r}.")
    return SubscriptionSpec(
        schedule=schedule,
        timezone=zone,
        topics=parse_topics(topics) if topics is not None else base.topics,
        min_quality=base.min_quality if min_quality is None else min_quality,
        max_items=base.max_items if max_items is None else max_items,
        only_published=base.only_published,
        role_id=base.role_id if role_id is None else (role_id or None),
        max_age_days=base.max_age_days if max_age_days is None else max_age_days,
        layout=base.layout if layout is None else layout,
        keywords=base.keywords if keywords is None else parse_keywords(keywords, "keywords"),
        exclude=base.exclude if exclude is None else parse_keywords(exclude, "exclude"),
        publish=base.publish if publish is None else publish,
    )


_CLEAR = frozenset({"-", "none", "off"})


def parse_keywords(text: str, option: str) -> tuple[str, ...]:
    """An option's comma-separated words or quoted phrases; "-" or "none" clears them."""
    if text.strip().casefold() in _CLEAR:
        return ()
    try:
        return parse_terms(text, option)
    except KeywordError as exc:
        raise UserError(f"Nothing was changed: {exc}.") from None


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
    layout: str | None = None,
    keywords: str | None = None,
    exclude: str | None = None,
    role_id: int | None = None,
) -> list[Payload]:
    """The messages a run would post now (none when nothing is new); records nothing. No
    channel: a new subscription with the [digest] defaults. With ``explain``, a last message
    says what was left out and why, for a person reading the preview. ``max_age_days`` stands
    in for the subscription's (``newsbot preview digest --max-age-days``), and so do
    ``layout``, ``keywords``, ``exclude`` and ``role_id`` (``--layout`` ...)."""
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
    overrides = (max_age_days, layout, keywords, exclude, role_id)
    if any(value is not None for value in overrides):
        spec = build_spec(
            sub.spec,
            max_age_days=max_age_days,
            layout=layout,
            keywords=keywords,
            exclude=exclude,
            role_id=role_id,
        )
        sub = replace(sub, spec=spec)
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
    note = delivery_note(sub, plan, canonical_topic=config.topics.canonical)
    if note is not None:
        payloads.append(render.notice(note))
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


def delivery_note(
    sub: Subscription, plan: DigestPlan, *, canonical_topic: Callable[[str], str]
) -> str | None:
    """How a run delivers in the subscription's kind of channel, for a preview's reader."""
    if sub.channel_kind == "announcement":
        if sub.spec.publish:
            return "Announcement channel: each message is published to followers."
        return "Announcement channel: the messages are not published to followers (publish off)."
    if sub.channel_kind == "forum" and plan.payloads:
        title = forum_title(plan.selection.selected_at, sub.spec.timezone)
        topics = [canonical_topic(t) for t in run_topics(sub.spec.topics, plan.selection.entries)]
        tags = ", ".join(topics[:10]) or "none"
        return (
            f"Forum: a new post titled “{title}”, these messages in it, tagged with up to 5 of"
            f" the forum's tags named like its topics ({tags})."
        )
    return None


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


def _kind_text(sub: Subscription) -> str:
    if sub.channel_kind == "announcement":
        return " · published to followers" if sub.spec.publish else " · not published (publish off)"
    if sub.channel_kind == "forum":
        return " · a forum post per run"
    return ""


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
        alerts: Alerts | None = None,
        clock: Callable[[], float] = time.time,
        owns: Callable[[int | None], bool] = lambda _guild_id: True,
    ):
        self.store = store
        self._config = config  # read at call time: reload can change it
        self.delivery = delivery
        self.jobs = jobs
        self.alerts = alerts
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
        state = state_after(outcome)
        if self.alerts is not None and state is not None:
            await self.alerts.observe(outcome.channel_id, state, outcome.error)

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
    async def refresh_job(self, channel_id: int, *, since: float | None = None) -> None:
        """Make the channel's job what the database says (none when paused or gone). Its
        first run is counted from the last run (caught up within the grace), or ``since``."""
        sub = await self.store.digests.subscription(channel_id)
        if sub is None or sub.paused or not self.owns(sub.guild_id):
            self.jobs.remove_digest_job(channel_id)
            return
        last = since if since is not None else sub.last_run_at or sub.created_at
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
        layout: str | None = None,
        role_id: int | None = None,
        keywords: str | None = None,
        exclude: str | None = None,
        publish: bool | None = None,
        kind: ChannelKind | None = None,
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
            layout=layout,
            role_id=role_id,
            keywords=keywords,
            exclude=exclude,
            publish=publish,
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
        if kind is not None:
            await self.store.digests.set_channel_kind(channel_id, kind)
            sub = replace(sub, channel_kind=kind)
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
        now = self.clock()
        await self.store.digests.set_subscription_paused(channel_id, False, None, now)
        # runs missed while paused are not caught up: the next run posts all that is due
        await self.refresh_job(channel_id, since=now)
        if self.alerts is not None:
            await self.alerts.observe(channel_id, "healthy")
        nxt = self.jobs.next_digest_run(channel_id)
        return [render.notice(f"Resumed the digest of <#{channel_id}>; next run {_when(nxt)}.")]

    def _describe(self, sub: Subscription) -> str:
        spec = sub.spec
        topics = ", ".join(spec.topics) if spec.topics else "all topics"
        return (
            f"<#{sub.channel_id}> · {describe_schedule(spec.schedule, spec.timezone)}"
            f" · {topics} · quality ≥ {spec.min_quality} · up to {spec.max_items} stories"
            f" · {self._age_limit(spec)} · {spec.layout} layout{_kind_text(sub)}"
            f" · next run {_when(self.jobs.next_digest_run(sub.channel_id))}"
        )

    @staticmethod
    def _options(
        spec: SubscriptionSpec, role_name: Callable[[int], str | None] | None
    ) -> list[str]:
        """The delivery options that are set: role, keywords, exclude. ``role_name``: a
        role's name, None when the role is gone (no callable: names unknown)."""
        lines = []
        if spec.role_id is not None:
            name = role_name(spec.role_id) if role_name is not None else str(spec.role_id)
            if name is not None:
                lines.append(f"mentions the role {render.quote(name)}")
            else:
                lines.append(
                    f"the role it mentioned ({spec.role_id}) no longer exists: digests post"
                    " without a mention; `/digest subscribe role:` picks another"
                )
        if spec.keywords:
            lines.append("keywords: " + ", ".join(render.quote(k) for k in spec.keywords))
        if spec.exclude:
            lines.append("exclude: " + ", ".join(render.quote(k) for k in spec.exclude))
        return lines

    def _age_limit(self, spec: SubscriptionSpec) -> str:
        days = age_limit_days(spec, self._config().digest.max_age_days)
        limit = f"published in the last {days} day{'s' * (days != 1)}" if days else "any age"
        return limit + " (default)" * (spec.max_age_days is None)

    async def list_subscriptions(
        self,
        guild_id: int,
        in_guild: Callable[[int], bool] = lambda _: False,
        role_name: Callable[[int], str | None] | None = None,
    ) -> list[Payload]:
        """The guild's subscriptions; ``in_guild`` places file-managed ones not seen yet;
        ``role_name`` names a role (None: deleted)."""
        subs = [
            s
            for s in await self.store.digests.subscriptions(guild_id)
            if s.guild_id == guild_id or in_guild(s.channel_id)
        ]
        if not subs:
            return [render.notice("No digests in this server; `/digest subscribe` adds one.")]
        alert_channel = await self.store.digests.alert_channel(guild_id)
        alerts = f"<#{alert_channel}>" if alert_channel else "off (`/digest alerts channel:`)"
        blocks = [f"Alerts: {alerts}"]
        for sub in subs:
            lines = [f"**{self._describe(sub)}**", *self._options(sub.spec, role_name)]
            managed = "config file" if sub.managed_by == "file" else "command"
            lines.append(
                f"managed by the {managed} · last run {_when(sub.last_run_at)}"
                f" · {sub.items_delivered} items delivered"
            )
            if sub.paused:
                lines.append(f"PAUSED: {sub.paused_reason or 'paused'}")
            if sub.last_error:
                lines.append(f"last error: {sub.last_error} ({sub.consecutive_failures} in a row)")
            if sub.channel_kind == "announcement":
                lines.extend(await self._publication_lines(sub.channel_id))
            blocks.append("\n".join(lines))
        return [render.notice("\n\n".join(blocks))]

    async def set_alerts(self, guild_id: int, channel_id: int | None) -> list[Payload]:
        """Where the guild's digest alerts go (None: off)."""
        await self.store.digests.set_alert_channel(guild_id, channel_id, self.clock())
        if channel_id is None:
            return [render.notice("Digest alerts are off for this server.")]
        return [
            render.notice(
                f"Digest alerts go to <#{channel_id}>: one message when a digest starts"
                " failing, one when it pauses itself, one when it recovers."
            )
        ]

    async def _publication_lines(self, channel_id: int) -> list[str]:
        """Messages of the last week that were posted but not published, and why."""
        since = self.clock() - PUBLICATIONS_SHOWN_S
        publications = await self.store.digests.publications(channel_id=channel_id, since=since)
        missed = [p for p in publications if p.status != "published"]
        if not missed:
            return []
        last = missed[-1]
        count = len(missed)
        return [
            f"not published to followers: {count} message{'s' * (count != 1)} in the last 7"
            f" days (posted, not sent again); last {_when(last.at)}: {last.status}: {last.reason}"
        ]

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
