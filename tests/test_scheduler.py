"""Scheduler: one digest job per subscription, cron in its time zone, catch-up within the grace."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digests.jobs import Scheduler
from bot.schedules import ScheduleError


@pytest.fixture
async def scheduler():
    s = Scheduler()
    s.start()
    yield s
    s.shutdown()


async def _noop(channel_id: int) -> None:
    return None


def next_run(scheduler: Scheduler, channel_id: int) -> datetime:
    when = scheduler.next_digest_run(channel_id)
    assert when is not None
    return when


async def test_digest_job_shape(scheduler: Scheduler):
    scheduler.set_digest_job(
        7, "daily 09:30", "Europe/Berlin", grace_seconds=3600, run=_noop, last_run=None
    )
    job = scheduler.apscheduler.get_job("digest:7")
    assert job is not None
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 3600)
    assert job.args == (7,)
    local = job.next_run_time.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) == (9, 30)
    assert job.next_run_time > datetime.now(UTC)
    assert scheduler.next_digest_run(7) == job.next_run_time
    assert scheduler.digest_channels() == [7]
    # changed at once: the same id is replaced, not duplicated
    scheduler.set_digest_job(7, "0 6 * * 1-5", "UTC", grace_seconds=60, run=_noop)
    assert scheduler.digest_channels() == [7]
    nxt = next_run(scheduler, 7)
    assert (nxt.hour, nxt.minute) == (6, 0) and nxt.weekday() < 5
    scheduler.remove_digest_job(7)
    assert scheduler.next_digest_run(7) is None
    scheduler.remove_digest_job(7)  # removing twice is fine


async def test_invalid_schedule_adds_no_job(scheduler: Scheduler):
    with pytest.raises(ScheduleError):
        scheduler.set_digest_job(1, "61 * * * *", "UTC", grace_seconds=60, run=_noop)
    with pytest.raises(ScheduleError):
        scheduler.set_digest_job(1, "* * * * *", "Mars/Base", grace_seconds=60, run=_noop)
    assert scheduler.digest_channels() == []


async def test_missed_run_within_grace_is_caught_up_once(scheduler: Scheduler):
    fired: list[int] = []
    done = asyncio.Event()

    async def run(channel_id: int) -> None:
        fired.append(channel_id)
        done.set()

    now = datetime.now(UTC)
    # down since 3 minutes ago: three minutely runs missed, one catch-up run
    scheduler.set_digest_job(
        5, "* * * * *", "UTC", grace_seconds=600, run=run, last_run=now - timedelta(minutes=3)
    )
    job = scheduler.apscheduler.get_job("digest:5")
    assert job is not None and job.next_run_time <= now  # the missed run, caught up at once
    assert now <= next_run(scheduler, 5) <= datetime.now(UTC)  # shown as due now, not past
    await asyncio.wait_for(done.wait(), 5)
    await asyncio.sleep(0.2)
    assert fired == [5]
    assert next_run(scheduler, 5) > now


async def test_missed_run_beyond_grace_is_not_caught_up(scheduler: Scheduler):
    now = datetime.now(UTC)
    later = (now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    # a daily run 22 hours ago, far outside a 10-minute grace: next is the regular one
    scheduler.set_digest_job(
        6,
        f"{later.minute} {later.hour} * * *",
        "UTC",
        grace_seconds=600,
        run=_noop,
        last_run=now - timedelta(days=3),
    )
    assert scheduler.next_digest_run(6) == later


async def test_retry_is_one_off(scheduler: Scheduler):
    scheduler.schedule_retry(9, 30, _noop)
    job = scheduler.apscheduler.get_job("digest-retry:9")
    assert job is not None
    assert 25 <= (job.next_run_time - datetime.now(UTC)).total_seconds() <= 31
    scheduler.remove_digest_job(9)
    assert scheduler.apscheduler.get_job("digest-retry:9") is None
