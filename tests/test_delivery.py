"""Delivery state machine with a fake sender: record, send, confirm, crash, resume, fail, pause;
and the digest service's reactions to a run's outcome (retry job, re-job when paused)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest

from bot.articles import Article, canonical_url
from bot.config import Config
from bot.digests.delivery import PAUSE_AFTER, Delivery, run_nonce
from bot.digests.model import (
    ChannelUnavailable,
    RunOutcome,
    RunStatus,
    TransientError,
    Trigger,
    payload_fingerprint,
)
from bot.digests.service import DigestService
from bot.errors import UserError
from bot.render import LIMITS, Payload, embed_length
from bot.store import FileRecord, StoreInterface, SubscriptionSpec
from tests.test_digest import T0

CH = 42
SPEC = SubscriptionSpec(schedule="0 9 * * *", timezone="UTC", min_quality=60, max_items=25)


class Crash(BaseException):
    """The process dies (after Discord took the message, before the bot recorded it)."""


class FakeDiscord:
    """Keeps messages per channel and drops a repeated nonce, as Discord does."""

    def __init__(self) -> None:
        self.messages: list[tuple[int, Payload, str]] = []
        self.by_nonce: dict[str, int] = {}
        self.fail: list[BaseException] = []  # raised before posting, one per send
        self.crash_after_post = False
        self.history_readable = True

    async def send(self, channel_id: int, payload: Payload, nonce: str) -> int:
        if self.fail:
            raise self.fail.pop(0)
        if nonce not in self.by_nonce:
            self.messages.append((channel_id, payload, nonce))
            self.by_nonce[nonce] = len(self.messages)
        if self.crash_after_post:
            self.crash_after_post = False
            raise Crash
        return self.by_nonce[nonce]

    async def find_sent(self, channel_id: int, payload: Payload, since: float) -> int | None:
        if not self.history_readable:
            return None
        wanted = payload_fingerprint(payload)
        for index, (channel, sent, _) in enumerate(self.messages, start=1):
            if channel == channel_id and payload_fingerprint(sent) == wanted:
                return index
        return None

    def guild_of(self, channel_id: int) -> int | None:
        return None

    def forget_nonces(self) -> None:
        """Discord keeps a nonce only for minutes; after a long outage it is forgotten."""
        self.by_nonce.clear()

    def titles(self) -> list[str]:
        return [e["title"] for _, p, _ in self.messages for e in p["embeds"]]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


RunJob = Callable[[int], Awaitable[object]]


class Jobs:
    """The scheduler's digest jobs, kept in dicts; a retry job fires when the test says so."""

    def __init__(self) -> None:
        self.jobs: dict[int, str] = {}
        self.retries: list[tuple[int, float]] = []
        self._retry_runs: dict[int, RunJob] = {}

    def set_digest_job(self, channel_id, schedule, timezone, **_kw) -> None:
        self.jobs[channel_id] = schedule

    def remove_digest_job(self, channel_id: int) -> None:
        self.jobs.pop(channel_id, None)
        self._retry_runs.pop(channel_id, None)

    def next_digest_run(self, channel_id: int):
        return None

    def schedule_retry(self, channel_id: int, delay_seconds: float, run: RunJob) -> None:
        self.retries.append((channel_id, delay_seconds))
        self._retry_runs[channel_id] = run

    async def fire_retry(self, channel_id: int) -> object:
        return await self._retry_runs.pop(channel_id)(channel_id)


def art(n: int, **kw: object) -> Article:
    url = f"https://news.example/{n}"
    return Article(
        url=url,
        canonical_url=canonical_url(url),
        title=f"Story number {n}",
        published_at=T0,
        excerpt="x" * 900,
        quality=kw.pop("quality", 70),  # type: ignore[arg-type]
        published=True,
        topics=("AI",),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def world(backend_store: StoreInterface):
    store = backend_store  # each backend (tests/postgres.py), closed by its fixture
    fake = FakeDiscord()
    clock = Clock()
    delivery = Delivery(store, fake, config=Config, clock=clock)
    jobs = Jobs()
    service = DigestService(store, config=Config, delivery=delivery, jobs=jobs, clock=clock)
    await service.subscribe(1, CH, max_items=SPEC.max_items)
    yield store, fake, clock, delivery, service, jobs


async def add(store: StoreInterface, clock: Clock, *articles: Article) -> None:
    records = [FileRecord(f"/f/{a.url}", 1, 1, a.url, article=a) for a in articles]
    await store.articles.apply_batch(records, now=clock.now - 1)


async def test_run_posts_once_and_moves_cursor(world):
    store, fake, clock, delivery, *_ = world
    await add(store, clock, art(1, quality=70), art(2, quality=80))
    outcome = await delivery.run(CH)
    assert outcome.status == "delivered"
    best_first = ["Story number 2", "Story number 1"]  # ranked by quality
    assert fake.titles() == best_first and list(outcome.titles) == best_first
    sub = await store.digests.subscription(CH)
    # the cursor is the change sequence value of the batch it selected up to
    assert sub.cursor == 1 and sub.items_delivered == 2 and sub.last_run_at == clock.now
    clock.now += 60
    await add(store, clock, art(3, quality=10))  # a change, but not one to post
    again = await delivery.run(CH)
    assert again.status == "empty" and len(fake.messages) == 1
    assert (await store.digests.subscription(CH)).cursor == 2  # moved even with nothing new


async def test_chunks_respect_discord_limits(world):
    store, fake, clock, delivery, *_ = world
    await add(store, clock, *(art(n) for n in range(25)))
    outcome = await delivery.run(CH)
    assert outcome.status == "delivered"
    assert len(fake.titles()) == 25
    for _, payload, _ in fake.messages:
        assert len(payload["embeds"]) <= LIMITS.embeds
        assert sum(embed_length(e) for e in payload["embeds"]) <= LIMITS.embed_total
    nonces = [n for _, _, n in fake.messages]
    assert len(set(nonces)) == len(nonces) and all(len(n) <= 25 for n in nonces)


async def test_crash_after_send_resumes_with_same_nonce(world):
    store, fake, clock, delivery, service, _jobs = world
    await add(store, clock, *(art(n) for n in range(15)))
    fake.crash_after_post = True
    with pytest.raises(Crash):
        await delivery.run(CH)
    assert len(fake.messages) == 1
    [run] = await store.digests.runs(pending=True)
    assert all(m.message_id is None for m in run.messages)
    assert await store.digests.delivered_article_ids(CH) == []
    # restart: the same run is resent with the same nonces, Discord drops the repeat
    outcomes = await service.resume_pending()
    assert [o.status for o in outcomes] == ["delivered"]
    assert [n for _, _, n in fake.messages] == [m.nonce for m in run.messages]
    assert sorted(fake.titles()) == sorted(f"Story number {n}" for n in range(15))
    assert len(await store.digests.delivered_article_ids(CH)) == 15
    assert (await delivery.run(CH)).status == "empty"


@pytest.mark.parametrize("history_readable", [True, False])
async def test_crash_then_long_outage_finds_the_sent_message_in_history(world, history_readable):
    store, fake, clock, delivery, service, _jobs = world
    fake.history_readable = history_readable
    await add(store, clock, *(art(n) for n in range(15)))
    fake.crash_after_post = True
    with pytest.raises(Crash):
        await delivery.run(CH)
    fake.forget_nonces()  # down for longer than Discord remembers a nonce
    await service.resume_pending()
    titles = fake.titles()
    if history_readable:
        assert sorted(titles) == sorted(f"Story number {n}" for n in range(15))
    else:  # without Read Message History only the nonce guards, and it has expired
        assert len(titles) > 15
    assert len(await store.digests.delivered_article_ids(CH)) == 15


async def test_server_error_leaves_run_pending_and_retries(world):
    store, fake, clock, _delivery, service, jobs = world
    await add(store, clock, art(1))
    fake.fail = [TransientError("Discord server error 503")]
    outcome = await service.run(CH)
    assert outcome.status == "pending" and outcome.retry_in == 30.0
    assert jobs.retries == [(CH, 30.0)]
    sub = await store.digests.subscription(CH)
    assert sub.last_error == "Discord server error 503" and sub.consecutive_failures == 0
    fake.fail = [TransientError("Discord server error 502")]
    assert await jobs.fire_retry(CH) == RunOutcome(
        CH, "pending", error="Discord server error 502", run_id=outcome.run_id, retry_in=120.0
    )
    assert jobs.retries[-1] == (CH, 120.0)
    # a new article meanwhile waits for the next scheduled run, the retry sends the old run
    await add(store, clock, art(2))
    delivered = await jobs.fire_retry(CH)
    assert isinstance(delivered, RunOutcome) and delivered.status == "delivered"
    assert fake.titles() == ["Story number 1"]
    assert len(jobs.retries) == 2  # delivered: no further retry
    assert (await store.digests.subscription(CH)).last_error is None
    clock.now += 60
    assert (await service.run(CH)).status == "delivered"
    assert fake.titles() == ["Story number 1", "Story number 2"]


async def test_missing_channel_fails_then_pauses(world):
    store, fake, clock, delivery, service, jobs = world
    await add(store, clock, art(1))
    assert CH in jobs.jobs
    for attempt in range(1, PAUSE_AFTER + 1):
        fake.fail = [ChannelUnavailable("the bot is missing the Send Messages permission")]
        outcome = await service.run(CH)
        sub = await store.digests.subscription(CH)
        assert sub.consecutive_failures == attempt
        assert outcome.status == ("paused" if attempt == PAUSE_AFTER else "failing")
    assert sub.paused and "3 failed runs in a row" in sub.paused_reason
    assert "Send Messages" in sub.paused_reason
    assert CH not in jobs.jobs
    assert (await delivery.run(CH)).status == "skipped"
    listing = (await service.list_subscriptions(1))[0]["content"]
    assert "PAUSED" in listing and "Send Messages" in listing
    # fixed and resumed: the run that never went out is delivered, nothing lost
    await service.resume(1, CH)
    assert CH in jobs.jobs
    assert (await store.digests.subscription(CH)).consecutive_failures == 0
    assert (await delivery.run(CH)).status == "delivered"
    assert fake.titles() == ["Story number 1"]


async def test_one_run_per_channel_at_a_time(world):
    store, fake, clock, delivery, *_ = world
    await add(store, clock, *(art(n) for n in range(3)))
    first, second = await asyncio.gather(delivery.run(CH, trigger="now"), delivery.run(CH))
    assert sorted([first.status, second.status]) == ["delivered", "empty"]
    assert len(fake.titles()) == 3


async def test_commands_and_file_managed(world):
    store, _fake, _clock, _delivery, service, jobs = world
    with pytest.raises(UserError, match="Nothing was changed"):
        await service.subscribe(1, 77, schedule="every day")
    with pytest.raises(UserError, match="time zone"):
        await service.subscribe(1, 77, timezone="Nowhere/City")
    assert await store.digests.subscription(77) is None
    await service.subscribe(1, 77, schedule="daily 07:00", timezone="Europe/Berlin", topics="AI")
    sub = await store.digests.subscription(77)
    assert sub.spec.timezone == "Europe/Berlin" and sub.spec.topics == ("AI",)
    assert jobs.jobs[77] == "daily 07:00"
    await service.pause(1, 77)
    assert 77 not in jobs.jobs
    await service.unsubscribe(1, 77)
    assert await store.digests.subscription(77) is None
    # the file's channels: synced in, shown as such, not changeable by commands
    from bot.config import ChannelConfig, DigestSettings

    config = replace(Config(), channels=(ChannelConfig(88, DigestSettings(max_items=3)),))
    assert 88 in await service.sync_config(config)
    assert (await store.digests.subscription(88)).managed_by == "file"
    for call in (service.unsubscribe, service.pause):
        with pytest.raises(UserError, match="managed by the config file"):
            await call(1, 88)
    with pytest.raises(UserError, match="managed by the config file"):
        await service.subscribe(1, 88, max_items=5)
    assert (await store.digests.subscription(88)).spec.max_items == 3
    listing = (await service.list_subscriptions(1))[0]["content"]
    assert "config file" in listing
    # the file's channel has the file's age limit; the command's follows [digest]
    assert "published in the last 7 days ·" in listing
    assert "published in the last 7 days (default)" in listing
    await service.subscribe(1, CH, max_age_days=0)
    assert (await store.digests.subscription(CH)).spec.max_age_days == 0
    assert "any age ·" in (await service.list_subscriptions(1))[0]["content"]
    with pytest.raises(UserError, match="max_age_days"):
        await service.subscribe(1, CH, max_age_days=-1)
    await service.sync_config(Config())
    assert await store.digests.subscription(88) is None and 88 not in jobs.jobs


def test_nonce_is_deterministic_and_short():
    assert run_nonce(1, 2, 3, 4.0) == run_nonce(1, 2, 3, 4.0)
    assert run_nonce(1, 2, 3, 4.0) != run_nonce(1, 2, 4, 4.0)
    assert len(run_nonce(2**63, 2**40, 99, 1e12)) <= 25


class ScriptedDelivery:
    """Ends each run as the test scripted, and remembers how it was asked to run."""

    def __init__(self, *outcomes: RunOutcome) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[int, Trigger]] = []

    async def run(self, channel_id: int, *, trigger: Trigger = "schedule") -> RunOutcome:
        self.calls.append((channel_id, trigger))
        return self.outcomes.pop(0)


@pytest.fixture
async def scripted(backend_store: StoreInterface):
    store = backend_store  # each backend (tests/postgres.py), closed by its fixture
    clock = Clock()
    delivery = ScriptedDelivery()
    jobs = Jobs()
    service = DigestService(store, config=Config, delivery=delivery, jobs=jobs, clock=clock)
    await service.subscribe(1, CH)
    yield store, clock, delivery, service, jobs


async def test_service_schedules_the_retry_a_pending_outcome_asks_for(scripted):
    _store, _clock, delivery, service, jobs = scripted
    delivery.outcomes = [
        RunOutcome(CH, "pending", error="Discord server error 503", retry_in=600.0),
        RunOutcome(CH, "delivered"),
    ]
    assert (await service.run(CH, trigger="now")).status == "pending"
    assert jobs.retries == [(CH, 600.0)]
    # the retry job runs the channel again as a retry: it sends the unsent run, selects nothing
    await jobs.fire_retry(CH)
    assert delivery.calls == [(CH, "now"), (CH, "retry")]
    assert jobs.retries == [(CH, 600.0)]


async def test_service_drops_the_job_of_a_subscription_the_run_paused(scripted):
    store, clock, delivery, service, jobs = scripted
    assert CH in jobs.jobs
    # what the third failed run leaves in the store; only the outcome tells the service
    await store.digests.set_subscription_paused(CH, True, "3 failed runs in a row", clock())
    delivery.outcomes = [RunOutcome(CH, "paused", error="channel 42 not found (deleted?)")]
    await service.run(CH)
    assert CH not in jobs.jobs and jobs.retries == []


@pytest.mark.parametrize("status", ["delivered", "empty", "failing", "skipped"])
async def test_service_leaves_the_jobs_alone_after_other_outcomes(scripted, status: RunStatus):
    _store, _clock, delivery, service, jobs = scripted
    delivery.outcomes = [RunOutcome(CH, status)]
    await service.run(CH)
    assert CH in jobs.jobs and jobs.retries == []


async def test_resume_at_start_up_schedules_a_retry_when_discord_is_still_down(world):
    store, fake, clock, _delivery, service, jobs = world
    await add(store, clock, art(1))
    fake.crash_after_post = True
    with pytest.raises(Crash):
        await service.run(CH)
    fake.history_readable = False
    fake.fail = [TransientError("Discord server error 503")]  # Discord still down at start-up
    [outcome] = await service.resume_pending()
    assert outcome.status == "pending" and jobs.retries == [(CH, 30.0)]
