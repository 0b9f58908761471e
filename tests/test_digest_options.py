"""Digest options without Discord: config validation of layout/keywords/exclude, /digest
subscribe's checks, the role that is gone, /digest now finding another run posting, resume's
next run, failure alerts once per transition, and the health counts of /newsbot status."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.config import Config, ConfigError, parse_config
from bot.digests.alerts import Alerts, advice
from bot.digests.delivery import PAUSE_AFTER, Delivery
from bot.digests.model import ChannelUnavailable, payload_fingerprint
from bot.digests.service import DigestService, build_spec
from bot.errors import UserError
from bot.render import Payload
from bot.store import StoreInterface
from tests.postgres import execute_sql, fetch_sql
from tests.test_delivery import SPEC, Clock, FakeDiscord, Jobs, add, art

CH = 42
GUILD = 1
ALERTS = 77


# --------------------------------------------------------------------------- config


def test_config_takes_layout_keywords_and_exclude_per_channel():
    config = parse_config(
        '[digest]\nlayout = "compact"\nkeywords = \'AI, "open source"\'\n'
        '[[digest.channels]]\nchannel_id = 5\nexclude = ["crypto"]\nlayout = "cards"\n',
        {},
    )
    assert config.digest.layout == "compact"
    assert config.digest.keywords == ("AI", "open source")
    [channel] = config.channels
    assert channel.settings.layout == "cards" and channel.settings.exclude == ("crypto",)
    assert channel.settings.keywords == ("AI", "open source")  # inherited from [digest]


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ('[digest]\nlayout = "grid"', "digest.layout", "'cards' or 'compact'"),
        ("[digest]\nkeywords = [1]", "digest.keywords", "list of words"),
        (
            "[[digest.channels]]\nchannel_id = 5\nexclude = '"
            + ", ".join(f"w{n}" for n in range(21))
            + "'",
            "digest.channels[0].exclude",
            "at most 20",
        ),
        ('[digest]\nkeywords = ["ok", "!!"]', "digest.keywords", "no letters"),
    ],
)
def test_bad_options_name_the_key(toml: str, key: str, words: str):
    with pytest.raises(ConfigError) as caught:
        parse_config(toml, {})
    assert caught.value.key == key and words in str(caught.value), str(caught.value)


def test_subscribe_options_are_checked_and_cleared():
    spec = build_spec(SPEC, layout="compact", keywords='ai, "open source"', exclude="crypto")
    assert (spec.layout, spec.keywords, spec.exclude) == (
        "compact",
        ("ai", "open source"),
        ("crypto",),
    )
    assert build_spec(spec, keywords="-", exclude="none").keywords == ()
    assert build_spec(spec, role_id=5).role_id == 5 and build_spec(spec, role_id=0).role_id is None
    with pytest.raises(UserError, match="at most 20"):
        build_spec(SPEC, keywords=",".join(f"w{n}" for n in range(21)))
    with pytest.raises(UserError, match="layout"):
        build_spec(SPEC, layout="grid")


# --------------------------------------------------------------------------- delivery


class Discord(FakeDiscord):
    """The fake Discord, with roles that can be deleted and channels that can refuse."""

    def __init__(self) -> None:
        super().__init__()
        self.deleted_roles: set[int] = set()
        self.refusing: set[int] = set()

    def role_exists(self, channel_id: int, role_id: int) -> bool:
        return role_id not in self.deleted_roles

    def guild_of(self, channel_id: int) -> int | None:
        return GUILD

    async def send(self, channel_id: int, payload: Payload, nonce: str) -> int:
        if channel_id in self.refusing:
            raise ChannelUnavailable("the bot is missing the Send Messages permission")
        return await super().send(channel_id, payload, nonce)

    def posted(self, channel_id: int) -> list[Payload]:
        return [p for c, p, _ in self.messages if c == channel_id]


@pytest.fixture
async def world(backend_store: StoreInterface):
    store = backend_store  # each backend (tests/postgres.py), closed by its fixture
    fake = Discord()
    clock = Clock()
    delivery = Delivery(store, fake, config=Config, clock=clock)
    jobs = Jobs()
    service = DigestService(
        store,
        config=Config,
        delivery=delivery,
        jobs=jobs,
        alerts=Alerts(store, fake),
        clock=clock,
    )
    await service.subscribe(GUILD, CH, max_items=SPEC.max_items)
    yield store, fake, clock, service


async def test_a_deleted_role_posts_without_the_mention(world):
    store, fake, clock, service = world
    await service.subscribe(GUILD, CH, role_id=9)
    await add(store, clock, art(1))
    assert (await service.run(CH)).status == "delivered"
    assert fake.posted(CH)[0]["content"].startswith("<@&9>")
    fake.deleted_roles.add(9)
    await add(store, clock, art(2))
    assert (await service.run(CH)).status == "delivered"
    second = fake.posted(CH)[1]
    assert "<@&" not in second["content"] and "roles" not in second["allowed_mentions"]
    listing = (await service.list_subscriptions(GUILD, role_name=lambda _: None))[0]
    assert "no longer exists" in (listing["content"] or "")


async def test_compact_run_records_every_story_in_its_message(world):
    store, fake, clock, service = world
    await service.subscribe(GUILD, CH, layout="compact", max_items=25)
    await add(store, clock, *(art(n) for n in range(25)))
    outcome = await service.run(CH)
    assert outcome.status == "delivered" and len(outcome.titles) == 25
    assert 1 <= len(fake.posted(CH)) <= 2
    [(delivered,)] = await fetch_sql(store, "SELECT count(*) FROM deliveries")
    assert delivered == 25
    # a compact message is recognised in history by its list, not only its heading
    one, *_ = fake.posted(CH)
    other = one.copy()
    other["embeds"] = [{**one["embeds"][0], "description": "1. elsewhere"}]
    assert payload_fingerprint(one) != payload_fingerprint(other)


async def test_now_says_another_run_is_posting(world):
    store, fake, clock, service = world
    await add(store, clock, art(1))
    lock = service.delivery._lock(CH)
    async with lock:  # a scheduled run of the channel is posting
        outcome = await service.run(CH, trigger="now")
    assert outcome.status == "busy" and "posting right now" in outcome.summary()
    assert fake.messages == []


async def test_resume_says_the_next_run_after_now(backend_store: StoreInterface):
    from bot.digests.jobs import Scheduler

    store = backend_store
    scheduler = Scheduler()
    scheduler.start()
    try:
        fake = Discord()
        delivery = Delivery(store, fake, config=Config)
        service = DigestService(store, config=Config, delivery=delivery, jobs=scheduler)
        await service.subscribe(GUILD, CH, schedule="* * * * *")
        # it last ran long ago: a catch-up time would lie in the past
        await execute_sql(store, "UPDATE subscriptions SET last_run_at = 1000")
        await service.pause(GUILD, CH)
        [reply] = await service.resume(GUILD, CH)
        nxt = scheduler.next_digest_run(CH)
        assert nxt is not None and nxt > datetime.now(UTC)
        assert f"<t:{int(nxt.timestamp())}:f>" in (reply["content"] or "")
    finally:
        scheduler.shutdown()


# --------------------------------------------------------------------------- alerts


async def test_alerts_once_per_transition_and_never_while_healthy(world):
    store, fake, clock, service = world
    await service.set_alerts(GUILD, ALERTS)
    await add(store, clock, art(1))
    assert (await service.run(CH)).status == "delivered"
    assert fake.posted(ALERTS) == []  # healthy: nothing to say

    fake.refusing.add(CH)
    await add(store, clock, art(2))
    statuses = []
    for _ in range(PAUSE_AFTER):
        clock.now += 60
        statuses.append((await service.run(CH)).status)
    assert statuses == ["failing", "failing", "paused"]
    alerts = [p["content"] for p in fake.posted(ALERTS)]
    assert len(alerts) == 2
    assert "could not be posted" in alerts[0] and "Give me Send Messages in <#42>" in alerts[0]
    assert "paused itself" in alerts[1] and "/digest resume" in alerts[1]
    # a run by /digest now while paused and still refused: no news
    assert (await service.run(CH, trigger="now")).status == "paused"
    assert len(fake.posted(ALERTS)) == 2

    fake.refusing.clear()
    await service.resume(GUILD, CH)
    assert "is back" in fake.posted(ALERTS)[2]["content"]
    assert (await service.run(CH)).status == "delivered"
    assert len(fake.posted(ALERTS)) == 3
    assert all(p["allowed_mentions"]["parse"] == [] for p in fake.posted(ALERTS))
    assert [len(fake.posted(CH))] == [2]  # each story once
    assert (await store.status()).failing_subscriptions == 0


async def test_an_alert_that_cannot_be_posted_never_breaks_the_run(world, caplog):
    store, fake, clock, service = world
    await service.set_alerts(GUILD, ALERTS)
    fake.refusing.update({CH, ALERTS})
    await add(store, clock, art(1))
    assert (await service.run(CH)).status == "failing"
    assert "could not post the digest alert" in caplog.text
    status = await store.status()
    assert (status.failing_subscriptions, status.paused_subscriptions) == (1, 0)
    # the transition was told (or tried) once: the next failure does not try again
    caplog.clear()
    assert (await service.run(CH)).status == "failing"
    assert "digest alert" not in caplog.text


async def test_alerts_off_tells_nobody_but_keeps_the_state(world):
    store, fake, clock, service = world
    await service.set_alerts(GUILD, ALERTS)
    await service.set_alerts(GUILD, None)
    fake.refusing.add(CH)
    await add(store, clock, art(1))
    await service.run(CH)
    assert fake.posted(ALERTS) == []
    assert (await store.digests.subscription(CH)).alert_state == "failing"


def test_advice_names_what_to_do():
    assert advice("the bot is missing the Send Messages, Embed Links permissions", 5) == (
        "Give me Send Messages, Embed Links in <#5>"
    )
    assert "unsubscribe" in advice("channel 5 not found (deleted?)", 5)


async def test_concurrent_observers_alert_once(world):
    _store, fake, _clock, service = world
    await service.set_alerts(GUILD, ALERTS)
    await asyncio.gather(*(service.alerts.observe(CH, "failing", "boom") for _ in range(5)))
    assert len(fake.posted(ALERTS)) == 1
