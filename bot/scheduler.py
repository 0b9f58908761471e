"""APScheduler jobs: the periodic ingest and one digest job per subscription."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

INGEST_JOB = "ingest"


class Scheduler:
    """Owns the AsyncIOScheduler: started in setup_hook, shut down in close()."""

    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=UTC)

    @property
    def running(self) -> bool:
        return self._scheduler.running

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

    def jobs(self) -> list[tuple[str, str, datetime | None]]:
        """(id, name, next run) of every job, for /newsbot status."""
        return [(j.id, j.name, j.next_run_time) for j in self._scheduler.get_jobs()]

    @property
    def apscheduler(self) -> AsyncIOScheduler:
        return self._scheduler
