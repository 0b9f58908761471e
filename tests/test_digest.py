"""Digest selection: eligibility, ranking, one story once, cursors, reasons, preview, specs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.articles import Article, Provider, canonical_url
from bot.config import ChannelConfig, Config, DigestSettings, TopicsConfig
from bot.digests.selection import left_out, plan_run, select
from bot.digests.service import build_spec, parse_topics, preview_digest
from bot.errors import UserError
from bot.render import Payload
from bot.store import FileRecord, StoreInterface, Subscription, SubscriptionSpec

T0 = datetime(2020, 6, 25, 21, 0, tzinfo=UTC)
NOW = 1_000_000.0
CH = 42
MAX_AGE = Config().digest.max_age_days  # NOW is in 1970: T0 (2020) is never too old
SPEC = SubscriptionSpec(schedule="0 9 * * *", timezone="UTC", min_quality=60, max_items=10)


def art(url: str, title: str, *, when: datetime = T0, **kw: object) -> Article:
    kw.setdefault("published", True)
    kw.setdefault("quality", 70)
    kw.setdefault("topics", ("AI",))
    return Article(url=url, canonical_url=canonical_url(url), title=title, published_at=when, **kw)  # type: ignore[arg-type]


def rec(article: Article) -> FileRecord:
    return FileRecord("/f/" + article.canonical_url, 10, 1, article.canonical_url, article=article)


@pytest.fixture
def store(backend_store: StoreInterface) -> StoreInterface:
    """The store of each backend (tests/postgres.py)."""
    return backend_store


async def ingest(store: StoreInterface, *articles: Article, at: float = NOW - 100) -> None:
    await store.articles.apply_batch(
        [rec(a) for a in articles], now=at, canonical_topic=lambda n: n
    )


async def pick(
    store: StoreInterface, spec: SubscriptionSpec = SPEC, *, since: float = NOW - 3600, **kw
):
    """The selection of a subscription whose cursor is the last batch written by ``since``."""
    return await select(
        store.digests,
        CH,
        spec,
        cursor=await store.digests.change_seq_at(since),
        now=kw.get("now", NOW),
        default_max_age_days=kw.get("max_age", MAX_AGE),
        canonical_topic=kw.get("canon", lambda n: n),
    )


def titles(selection) -> list[str]:
    return [e.article.title for e in selection.entries]


def content_of(payload: Payload) -> str:
    assert payload["content"] is not None
    return payload["content"]


async def subscription(store: StoreInterface, channel_id: int = CH) -> Subscription:
    sub = await store.digests.subscription(channel_id)
    assert sub is not None
    return sub


async def test_eligibility_filters(store: StoreInterface):
    await ingest(
        store,
        art("https://a.com/1", "good"),
        art("https://a.com/2", "unpublished", published=False),
        art("https://a.com/3", "low", quality=59),
        art("https://a.com/4", "no quality", quality=None),
        art("https://a.com/5", "other topic", topics=("Robotics",)),
        art("https://a.com/6", "at the bar", quality=60),
    )
    spec = replace(SPEC, topics=("ai",))
    assert titles(await pick(store, spec)) == ["good", "at the bar"]
    everything = replace(SPEC, only_published=False, min_quality=0)
    assert len(titles(await pick(store, everything))) == 6


async def test_topic_aliases_resolve(store: StoreInterface):
    await ingest(store, art("https://a.com/1", "nlp", topics=("Natural Language Processing",)))
    topics = TopicsConfig(aliases={"NLP": "Natural Language Processing"})
    spec = replace(SPEC, topics=("nlp",))
    assert titles(await pick(store, spec, canon=topics.canonical)) == ["nlp"]
    assert titles(await pick(store, spec)) == []


async def test_ranked_by_quality_heat_newest(store: StoreInterface):
    await ingest(
        store,
        art("https://a.com/1", "q70 old", quality=70, heat=5, when=T0),
        art("https://a.com/2", "q90", quality=90, heat=1),
        art("https://a.com/3", "q70 hot", quality=70, heat=50),
        art("https://a.com/4", "q70 new", quality=70, heat=5, when=T0 + timedelta(hours=1)),
    )
    assert titles(await pick(store)) == ["q90", "q70 hot", "q70 new", "q70 old"]


async def test_one_story_once_best_article_names_others(store: StoreInterface):
    await ingest(
        store,
        art("https://a.com/x", "Same story", quality=70, provider=Provider("Alpha")),
        art("https://b.com/x", "Same Story!", quality=80, provider=Provider("Beta")),
        art("https://c.com/y", "Different", quality=65),
    )
    selection = await pick(store)
    assert titles(selection) == ["Same Story!", "Different"]
    assert selection.entries[0].also == ("Alpha",)
    assert selection.more == 0


async def test_max_items_and_more(store: StoreInterface):
    await ingest(
        store, *(art(f"https://a.com/{i}", f"story {i}", quality=60 + i) for i in range(7))
    )
    selection = await pick(store, replace(SPEC, max_items=3))
    assert titles(selection) == ["story 6", "story 5", "story 4"]
    assert selection.more == 4


async def test_cursor_and_stubs(store: StoreInterface):
    stub = art("https://stub.com/s", "stub only", quality=99)
    await ingest(store, art("https://a.com/old", "old", related=(stub,)), at=NOW - 7200)
    await ingest(store, art("https://a.com/new", "new"), at=NOW - 60)
    # the related stub was never seen from a file: never eligible, even from the first value
    assert titles(await pick(store, replace(SPEC, only_published=False), since=0)) == [
        "new",
        "old",
    ]
    assert titles(await pick(store, since=NOW - 3600)) == ["new"]
    # the cursor is the batch, not a moment: no slack, and the batch at the cursor is behind it
    assert titles(await pick(store, since=NOW - 61)) == ["new"]
    assert titles(await pick(store, since=NOW - 60)) == []
    # a run selects up to the value it read: the next batch is after its cursor
    assert (await pick(store, since=0)).selected_seq == 2


async def test_delivered_story_never_again(store: StoreInterface):
    await ingest(store, art("https://a.com/x", "Story"), at=NOW - 500)
    await store.digests.save_subscription(
        CH, SPEC, guild_id=1, managed_by="command", since=NOW - 3600, now=NOW - 3600
    )
    sub = await subscription(store)
    plan = await plan_run(
        store.digests, sub, now=NOW, default_max_age_days=MAX_AGE, canonical_topic=lambda n: n
    )
    run = await store.digests.record_run(
        CH,
        trigger="now",
        cursor=sub.cursor,
        selected_at=NOW,
        selected_seq=plan.selection.selected_seq,
        more=0,
        items=plan.items,
        payloads=["{}"],
        nonce=lambda r, c: f"n{r}.{c}",
    )
    # while the run is unsent its story is claimed already
    assert titles(await pick(store, since=0)) == []
    await store.digests.confirm_message(run.id, 0, 555, NOW)
    # another URL of the same story arrives later: still not posted again
    await ingest(store, art("https://b.com/x", "story"), at=NOW - 10)
    selection = await pick(store, since=0)
    assert titles(selection) == []
    # and it is the ledger that keeps it out: it is eligible on every other count
    [late] = await left_out(
        store.digests,
        CH,
        SPEC,
        selection,
        cursor=0,
        since_seq=0,
        default_max_age_days=MAX_AGE,
        canonical_topic=lambda n: n,
    )
    assert late.reasons == ("already delivered to this channel",)
    assert len(await store.digests.delivered_article_ids(CH)) == 1
    # another channel is another ledger
    other = await select(
        store.digests,
        CH + 1,
        SPEC,
        cursor=0,
        now=NOW,
        default_max_age_days=MAX_AGE,
        canonical_topic=lambda n: n,
    )
    assert len(other.entries) == 1


async def test_plan_items_cover_every_article_of_each_story(store: StoreInterface):
    await ingest(
        store,
        art("https://a.com/x", "Story", quality=90),
        art("https://b.com/x", "Story", quality=10, published=False),
        *(art(f"https://c.com/{i}", f"other {i}") for i in range(12)),
    )
    await store.digests.save_subscription(
        CH, replace(SPEC, max_items=13), guild_id=1, managed_by="command", since=0, now=0
    )
    sub = await subscription(store)
    plan = await plan_run(
        store.digests, sub, now=NOW, default_max_age_days=MAX_AGE, canonical_topic=lambda n: n
    )
    assert len(plan.payloads) == 2  # 13 embeds: 10 + 3
    assert [len(p["embeds"]) for p in plan.payloads] == [10, 3]
    shown = [(aid, chunk) for aid, chunk, is_shown in plan.items if is_shown]
    assert len(shown) == 13
    assert len(plan.items) == 14  # the unpublished URL of the first story rides along
    assert {chunk for _, chunk, _ in plan.items} == {0, 1}


async def test_left_out_reasons(store: StoreInterface):
    await ingest(store, art("https://a.com/7", "ancient", quality=99), at=NOW - 90_000)
    await ingest(
        store,
        art("https://a.com/1", "chosen", quality=95),
        art("https://a.com/2", "draft", published=False, quality=90),
        art("https://a.com/3", "weak", quality=30),
        art("https://a.com/4", "robots", topics=("Robotics",), quality=85),
        art("https://a.com/5", "surplus", quality=61),
        art("https://a.com/6", "surplus 2", quality=62),
    )
    spec = replace(SPEC, topics=("AI",), max_items=2)
    selection = await pick(store, spec)
    reasons = {
        item.entry.article.title: item.reasons
        for item in await left_out(
            store.digests,
            CH,
            spec,
            selection,
            cursor=await store.digests.change_seq_at(NOW - 3600),
            since_seq=0,
            default_max_age_days=MAX_AGE,
            canonical_topic=lambda n: n,
            limit=10,
        )
    }
    assert "chosen" not in reasons
    assert reasons["draft"] == ("not published",)
    assert reasons["weak"] == ("quality 30 is below min_quality 60",)
    assert reasons["robots"] == ("not on the subscription's topics",)
    assert any("before the cursor" in r for r in reasons["ancient"])
    assert any("beyond max_items" in r for r in reasons["surplus"])


async def test_preview_records_nothing_and_uses_defaults(store: StoreInterface):
    await ingest(
        store,
        art("https://a.com/1", "fresh", quality=76),
        art("https://a.com/2", "draft", published=False, quality=90),
    )
    config = Config()
    payloads = await preview_digest(config, store, None, now=NOW)
    assert len(payloads) == 1
    assert [e["title"] for e in payloads[0]["embeds"]] == ["fresh"]
    explained = await preview_digest(config, store, None, explain=True, now=NOW)
    assert "draft" in content_of(explained[-1]) and "not published" in content_of(explained[-1])
    assert await store.digests.runs() == []
    assert await store.digests.subscriptions() == []
    with pytest.raises(UserError):
        await preview_digest(config, store, 999, now=NOW)
    # a channel the file manages previews with its own settings
    strict = ChannelConfig(7, DigestSettings(min_quality=80))
    strict_config = replace(config, channels=(strict,))
    assert await preview_digest(strict_config, store, 7, now=NOW) == []  # nothing to send
    none = await preview_digest(strict_config, store, 7, explain=True, now=NOW)
    assert none[0]["embeds"] == [] and "Nothing new" in content_of(none[0])


async def test_preview_backfill_from_config(store: StoreInterface):
    await ingest(store, art("https://a.com/1", "two days old"), at=NOW - 2 * 86400)
    assert await preview_digest(Config(), store, None, now=NOW) == []
    explained = await preview_digest(Config(), store, None, explain=True, now=NOW)
    assert "Nothing new" in content_of(explained[0])
    wide = replace(Config(), digest=DigestSettings(backfill_hours=72))
    assert (await preview_digest(wide, store, None, now=NOW))[0]["embeds"]


def test_build_spec_validates_and_keeps_base():
    spec = build_spec(SPEC, schedule="daily  07:30", timezone="Europe/Berlin", topics="AI, ai,NLP")
    assert (spec.schedule, spec.timezone, spec.topics) == (
        "daily 07:30",
        "Europe/Berlin",
        ("AI", "NLP"),
    )
    assert spec.min_quality == SPEC.min_quality
    with pytest.raises(UserError, match=r"Nothing was changed.*time zone"):
        build_spec(SPEC, timezone="Mars/Olympus")
    with pytest.raises(UserError, match=r"Nothing was changed.*cron"):
        build_spec(SPEC, schedule="61 * * * *")
    with pytest.raises(UserError, match="max_items"):
        build_spec(SPEC, max_items=26)
    assert parse_topics(" , ") == ()
