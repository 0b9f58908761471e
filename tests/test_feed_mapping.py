"""item_article: each rule of DESIGN.md §3b (Item -> article), on hand-made items and on the
fixture feeds."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.articles import Article, Provider, canonical_url
from bot.config.model import TopicsConfig
from bot.feeds.mapping import EXCERPT_CHARS, FUTURE_SLACK, TITLE_CHARS, item_article
from bot.feeds.model import FeedItem, ParsedFeed
from bot.feeds.parse import parse_feed
from tests.fixtures.feed_files import CONTENT_TYPES, feed_body

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
FEED_URL = "https://feeds.example/feed.xml"
FEED = ParsedFeed(title="Example Ledger", site_url="https://www.ledger.example/", items=())
ITEM = FeedItem(
    link="https://www.ledger.example/story?utm_source=rss",
    guid="guid-1",
    title="A story",
    summary="What happened.",
    published=datetime(2026, 11, 29, 8, 0, tzinfo=UTC),
    categories=("AI",),
    image_url="https://cdn.ledger.example/a.jpg",
)


def article(
    item: FeedItem = ITEM,
    *,
    feed: ParsedFeed = FEED,
    feed_url: str = FEED_URL,
    provider_name: str | None = None,
    topics: Sequence[str] = (),
    quality: int = 50,
    canonical_topic: Callable[[str], str] = str.strip,
    now: datetime = NOW,
    first_seen: datetime | None = None,
) -> Article | None:
    return item_article(
        item,
        feed=feed,
        feed_url=feed_url,
        provider_name=provider_name,
        topics=topics,
        quality=quality,
        canonical_topic=canonical_topic,
        now=now,
        first_seen=first_seen,
    )


def mapped(item: FeedItem = ITEM, **kwargs: Any) -> Article:
    result = article(item, **kwargs)
    assert result is not None
    return result


def test_an_item_becomes_a_published_article() -> None:
    got = mapped()
    assert got == Article(
        url="https://www.ledger.example/story?utm_source=rss",
        canonical_url="https://ledger.example/story",
        title="A story",
        published_at=datetime(2026, 11, 29, 8, 0, tzinfo=UTC),
        excerpt="What happened.",
        quality=50,
        published=True,
        published_field=True,
        topics=("AI",),
        provider=Provider(name="Example Ledger", domain="ledger.example"),
        image_url="https://cdn.ledger.example/a.jpg",
        type=None,
    )


# --------------------------------------------------------------------------- identity


def test_tracking_parameters_and_a_changed_guid_give_the_same_canonical_url() -> None:
    plain = mapped(dataclasses.replace(ITEM, link="https://ledger.example/story"))
    tracked = mapped(
        dataclasses.replace(
            ITEM,
            link="https://www.ledger.example/story/?utm_medium=feed&fbclid=x#comments",
            guid="a-new-guid",
        )
    )
    assert plain.canonical_url == tracked.canonical_url == "https://ledger.example/story"
    assert tracked.url == "https://www.ledger.example/story/?utm_medium=feed&fbclid=x#comments"


def test_an_http_guid_is_the_link_when_there_is_none() -> None:
    got = mapped(dataclasses.replace(ITEM, link=None, guid="https://ledger.example/?p=12"))
    assert got.url == "https://ledger.example/?p=12"
    assert got.canonical_url == canonical_url("https://ledger.example/?p=12")


@pytest.mark.parametrize("guid", [None, "guid-1", "urn:uuid:1234", "javascript:alert(1)"])
def test_no_link_and_no_http_guid_is_none(guid: str | None) -> None:
    assert article(dataclasses.replace(ITEM, link=None, guid=guid)) is None


def test_neither_title_nor_link_is_none() -> None:
    assert article(dataclasses.replace(ITEM, link=None, guid=None, title=None)) is None


def test_the_link_wins_over_an_http_guid() -> None:
    got = mapped(dataclasses.replace(ITEM, guid="https://ledger.example/?p=1"))
    assert got.url == ITEM.link


# --------------------------------------------------------------------------- dates


def test_no_date_is_the_first_seen_time_else_now() -> None:
    undated = dataclasses.replace(ITEM, published=None)
    seen = NOW - timedelta(days=2)
    assert mapped(undated, first_seen=seen).published_at == seen
    assert mapped(undated).published_at == NOW


def test_a_future_date_is_clamped_to_now_plus_the_slack() -> None:
    far = dataclasses.replace(ITEM, published=NOW + timedelta(days=365))
    assert mapped(far).published_at == NOW + FUTURE_SLACK
    near = dataclasses.replace(ITEM, published=NOW + timedelta(minutes=3))
    assert mapped(near).published_at == NOW + timedelta(minutes=3)


def test_a_date_wins_over_first_seen() -> None:
    got = mapped(first_seen=NOW - timedelta(days=9))
    assert got.published_at == ITEM.published


# --------------------------------------------------------------------------- text


def test_the_excerpt_is_cut_at_a_word() -> None:
    long = " ".join(f"word{n}" for n in range(200))
    got = mapped(dataclasses.replace(ITEM, summary=long))
    assert got.excerpt is not None
    assert len(got.excerpt) <= EXCERPT_CHARS
    assert got.excerpt.endswith("…")
    assert long.startswith(got.excerpt[:-1])
    assert mapped(dataclasses.replace(ITEM, summary=None)).excerpt is None


def test_an_untitled_item_is_titled_by_its_text_else_its_link() -> None:
    post = "Just shipped the new release, with faster sync.\nMore soon."
    got = mapped(dataclasses.replace(ITEM, title=None, summary=post))
    assert got.title == "Just shipped the new release, with faster sync. More soon."
    bare = mapped(dataclasses.replace(ITEM, title=None, summary=None))
    assert bare.title == ITEM.link


def test_a_long_title_is_cut() -> None:
    got = mapped(dataclasses.replace(ITEM, title="t" * 1000))
    assert len(got.title) == TITLE_CHARS
    assert got.title.endswith("…")


# --------------------------------------------------------------------------- topics


def test_topics_are_categories_then_feed_topics_through_aliases_deduplicated() -> None:
    aliases = TopicsConfig(aliases={"artificial intelligence": "AI", "ml": "Machine Learning"})
    item = dataclasses.replace(
        ITEM, categories=("Artificial Intelligence", "ML", "ai", "Robotics", "  ")
    )
    got = mapped(item, topics=["AI", "robotics", "News"], canonical_topic=aliases.canonical)
    assert got.topics == ("AI", "Machine Learning", "Robotics", "News")


# --------------------------------------------------------------------------- provider, quality


def test_provider_name_from_config_else_the_feed_title() -> None:
    assert mapped(provider_name="Ledger (config)").provider == Provider(
        name="Ledger (config)", domain="ledger.example"
    )
    untitled = dataclasses.replace(FEED, title=None)
    assert mapped(feed=untitled).provider == Provider(name=None, domain="ledger.example")


def test_provider_domain_from_the_site_else_the_feed_url() -> None:
    no_site = dataclasses.replace(FEED, site_url=None)
    got = mapped(feed=no_site, feed_url="https://www.feeds.ledger.example/rss")
    assert got.provider is not None
    assert got.provider.domain == "feeds.ledger.example"


def test_quality_and_image_are_carried() -> None:
    got = mapped(quality=70)
    assert got.quality == 70
    assert got.image_url == ITEM.image_url
    assert mapped(dataclasses.replace(ITEM, image_url=None)).image_url is None


# --------------------------------------------------------------------------- fixture feeds


def articles_of(name: str) -> list[Article | None]:
    feed = parse_feed(feed_body(name), url=FEED_URL, content_type=CONTENT_TYPES[name])
    return [
        article(item, feed=feed, topics=["Feeds"], first_seen=None, now=NOW) for item in feed.items
    ]


def test_fixture_rss_maps_every_item_with_a_link() -> None:
    got = articles_of("rss2_cdata_media.xml")
    assert got[-1] is None  # the javascript: link, non-http guid
    first = got[0]
    assert first is not None
    assert first.canonical_url == "https://ledger.example/2026/11/robots-laundry"
    assert first.topics == ("AI", "Robotics", "Home & Garden", "Feeds")
    assert first.image_url == "https://feeds.example/images/robots-thumb.jpg"
    assert first.provider == Provider(name="The Example Ledger", domain="ledger.example")
    hostile = got[3]
    assert hostile is not None and hostile.image_url is None


def test_fixture_without_dates_gets_now() -> None:
    assert [a.published_at for a in articles_of("no_dates.xml") if a] == [NOW, NOW]


def test_fixture_json_feed_untitled_item() -> None:
    got = articles_of("jsonfeed_1_1.json")
    untitled = got[1]
    assert untitled is not None
    assert untitled.title.startswith("An untitled microblog post")
    assert len(untitled.title) <= 100
    one = got[0]
    assert one is not None
    assert one.canonical_url == "https://dispatch.example/posts/1"  # fbclid dropped
    assert one.topics == ("AI", "Policy", "Feeds")
