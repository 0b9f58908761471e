"""APScheduler jobs: the periodic ingest and one digest job per subscription."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.schedules import parse_schedule

log = logging.getLogger(__name__)

INGEST_JOB = "ingest"
DIGEST_JOB = "digest:{channel_id}"
RETRY_JOB = "digest-retry:{channel_id}"


class Scheduler:
    """Owns the AsyncIOScheduler: started in setup_hook, shut down in close()."""

    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=UTC)

    def start(self) -> None:
        if not self._scheduler.running:
            self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def add_ingest_job(
        self, ingest: Callable[[], Awaitable[Any]], minutes: float, *, run_now: bool = True
    ) -> None:
        """Ingest every `minutes`; with run_now the first run is at once (start-up)."""
        trigger = IntervalTrigger(minutes=minutes, timezone=UTC)
        if not run_now and self._scheduler.get_job(INGEST_JOB) is not None:
            self._scheduler.reschedule_job(INGEST_JOB, trigger=trigger)
            return
        options: dict[str, Any] = {"next_run_time": datetime.now(UTC)} if run_now else {}
        self._scheduler.add_job(
            ingest,
            trigger,
            id=INGEST_JOB,
            name="ingest",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            **options,
        )

    def ingest_now(self) -> None:
        """Run the ingest job at once (this process just became the leader)."""
        if self._scheduler.get_job(INGEST_JOB) is not None:
            self._scheduler.modify_job(INGEST_JOB, next_run_time=datetime.now(UTC))

    # ------------------------------------------------------------ digests
    def set_digest_job(
        self,
        channel_id: int,
        schedule: str,
        timezone: str,
        *,
        grace_seconds: float,
        run: Callable[[int], Awaitable[Any]],
        last_run: datetime | None = None,
    ) -> None:
        """(Re)place the channel's digest job: cron in its time zone, coalesced, one at a time.

        The first run time is counted from ``last_run`` (the database's last run), so a run
        missed while the bot was down is caught up once when it is within the grace period.
        """
        trigger = parse_schedule(schedule, timezone)
        now = datetime.now(UTC)
        grace = max(1, int(grace_seconds))
        # never further back than the grace: older fire times would be dropped as misfires
        since = max(last_run or now, now - timedelta(seconds=grace + 1))
        first = trigger.get_next_fire_time(None, since)
        self._scheduler.add_job(
            run,
            trigger,
            args=(channel_id,),
            id=DIGEST_JOB.format(channel_id=channel_id),
            name=f"digest for channel {channel_id} ({schedule}, {timezone})",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=grace,
            next_run_time=first,
        )

    def remove_digest_job(self, channel_id: int) -> None:
        for template in (DIGEST_JOB, RETRY_JOB):
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job(template.format(channel_id=channel_id))

    def next_digest_run(self, channel_id: int) -> datetime | None:
        """When the channel's digest runs next: now for a run that is due (a missed run being
        caught up keeps its past fire time until it has run); None without a job."""
        job = self._scheduler.get_job(DIGEST_JOB.format(channel_id=channel_id))
        when: datetime | None = job.next_run_time if job is not None else None
        return None if when is None else max(when, datetime.now(UTC))

    def digest_channels(self) -> list[int]:
        prefix = DIGEST_JOB.format(channel_id="")
        return sorted(
            int(job.id.removeprefix(prefix))
            for job in self._scheduler.get_jobs()
            if job.id.startswith(prefix)
        )

    def schedule_retry(
        self, channel_id: int, delay_seconds: float, run: Callable[[int], Awaitable[Any]]
    ) -> None:
        """A one-off retry of the channel's unsent run after ``delay_seconds``."""
        when = datetime.now(UTC) + timedelta(seconds=delay_seconds)
        self._scheduler.add_job(
            run,
            DateTrigger(when, timezone=UTC),
            args=(channel_id,),
            id=RETRY_JOB.format(channel_id=channel_id),
            name=f"digest retry for channel {channel_id}",
            replace_existing=True,
            misfire_grace_time=None,
        )

    def jobs(self) -> list[tuple[str, str, datetime | None]]:
        """(id, name, next run) of every job, for /newsbot status."""
        return [(j.id, j.name, j.next_run_time) for j in self._scheduler.get_jobs()]

    @property
    def apscheduler(self) -> AsyncIOScheduler:
        return self._scheduler
