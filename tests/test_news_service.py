"""NewsService over a store with the seeds ingested: /news options in, payloads out."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, open_app
from bot.config import Config, DatabaseConfig, TopicsConfig, load_config
from bot.errors import UserError
from bot.news.service import NewsService
from bot.render import LIMITS, Embed, Payload, related_check
from bot.store import StoreInterface
from tests.fixtures.articles import article_file
from tests.postgres import create_database, fetch_sql

ROOT = Path(__file__).resolve().parent.parent
COINDESK = "AI Startup Pilots Digital Masks That Counter Facial Recognition"
GIZMODO = "Let's Kill Facial Recognition For Good"
GIZMODO_URL = "https://gizmodo.com/lets-kill-facial-recognition-for-good-1844168367"
AI_TITLES = {
    COINDESK,
    GIZMODO,
    "Silicon Valley has admitted facial recognition technology is toxic – about time",
    "Opinion | The futile withdrawal of facial recognition software by Big Tech",
    "Ban dangerous facial recognition technology that reinforces racist police work",
}
ALIASES = {"Artificial Intelligence": "AI", "Machine Vision": "Computer Vision"}


def titles(payloads: list[Payload]) -> list[str]:
    return [e["title"] for p in payloads for e in p["embeds"]]


def embed(payloads: list[Payload], title: str) -> Embed:
    [found] = [e for p in payloads for e in p["embeds"] if e["title"] == title]
    return found


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(ROOT / "seeds", folder)
    # The Gizmodo story's Australian URL as a file of its own on AI: one story, two AI articles.
    article_file(
        folder,
        "gizmodo_au",
        "Let’s Kill Facial Recognition For Good",
        url="https://www.gizmodo.com.au/2020/06/lets-kill-facial-recognition-for-good/",
        quality=60,
        published=False,
        when="2020-06-25T21:00:00Z",
        provider="Gizmodo Australia",
    )
    article_file(folder, "robots", "Robots learn to fold laundry", topics=("Robotics",))
    article_file(
        folder, "alias", "A story filed under the long name", topics=("Artificial Intelligence",)
    )
    return folder


def at(database: Path, **settings: Any) -> Config:
    return Config(database=DatabaseConfig(path=database), **settings)


@pytest.fixture
async def app(
    tmp_path: Path, articles: Path, backend: str, request: pytest.FixtureRequest
) -> AsyncIterator[App]:
    """The app on each store backend (tests/postgres.py), the articles ingested."""
    config = at(tmp_path / "db.sqlite3", topics=TopicsConfig(aliases=ALIASES))
    if backend == "postgresql":
        url = await create_database(request.getfixturevalue("postgres_server"))
        config = replace(config, database=replace(config.database, url=url))
    async with open_app(config, workers=1) as app:
        report = await app.ingestor.run([articles])
        assert report.ok and report.added == 8, report.as_dict()
        yield app


@pytest.fixture
def store(app: App) -> StoreInterface:
    return app.store


@pytest.fixture
def news(app: App) -> NewsService:
    return app.news


# --------------------------------------------------------------------------- topic


async def test_topic_lists_each_story_once_naming_the_other_providers(news: NewsService):
    payloads = await news.topic("AI")
    shown = titles(payloads)
    # the Gizmodo story is on AI twice (gizmodo.com and gizmodo.com.au): it is listed once
    assert sorted(shown) == sorted({*AI_TITLES, "A story filed under the long name"})
    gizmodo = embed(payloads, GIZMODO)
    assert gizmodo["url"] == GIZMODO_URL  # its best article (quality 74 over 60)
    also = gizmodo["description"].splitlines()[-1]
    assert also.startswith("also: ") and "Gizmodo Australia" in also and "paleofuture" in also
    assert (payloads[0]["content"] or "").startswith("**AI**")
    assert payloads[0]["allowed_mentions"]["parse"] == []
    # every article carries its persistent Related button
    ids = [c["custom_id"] for p in payloads for row in p["components"] for c in row["components"]]
    assert len(ids) == len(shown) and all(i.startswith("newsbot:related:") for i in ids)


async def test_topic_resolves_aliases_and_case(news: NewsService):
    by_alias = titles(await news.topic("artificial intelligence"))
    assert "A story filed under the long name" in by_alias  # the file's alias was mapped too
    assert sorted(by_alias) == sorted(titles(await news.topic("  ai ")))
    vision = titles(await news.topic("MACHINE VISION"))
    assert COINDESK in vision and GIZMODO not in vision


async def test_topic_min_quality_and_count(news: NewsService):
    assert sorted(titles(await news.topic("AI", min_quality=70))) == sorted(
        [COINDESK, GIZMODO, "A story filed under the long name"]
    )
    assert len(titles(await news.topic("AI", count=2))) == 2
    with pytest.raises(UserError, match="min_quality"):
        await news.topic("AI", min_quality=100)


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"count": 0}, "count"),
        ({"count": 26}, "count"),
        ({"min_quality": -1}, "min_quality"),
        ({"min_quality": 1001}, "min_quality"),
    ],
)
async def test_topic_out_of_range_is_a_user_error(
    news: NewsService, options: dict[str, int], name: str
):
    with pytest.raises(UserError, match=f"`{name}` must be between"):
        await news.topic("AI", **options)


async def test_unknown_topic_suggests_the_near_one(news: NewsService):
    with pytest.raises(UserError) as caught:
        await news.topic("Robotcs")
    message = str(caught.value)
    assert "'Robotcs'" in message and "did you mean Robotics?" in message
    with pytest.raises(UserError, match="see `/news topics`"):
        await news.topic("Underwater basket weaving")
    assert titles(await news.topic("robotics")) == ["Robots learn to fold laundry"]


# --------------------------------------------------------------------------- related


async def test_related_by_url_names_the_gizmodo_story_with_its_providers(news: NewsService):
    # canonical URL: scheme/host case, utm_*, fragment and trailing slash do not matter
    payloads = await news.related(
        "HTTPS://coindesk.com/ai-startup-pilots-digital-masks-that-counter-facial-recognition/"
        "?utm_source=x#top"
    )
    shown = titles(payloads)
    assert shown[0] == COINDESK
    assert payloads[0]["content"] == "1 related article"
    gizmodo = embed(payloads, GIZMODO)
    also = gizmodo["description"].splitlines()[-1]
    assert also.startswith("also: ") and "Gizmodo" in also
    # a related article has its own Related button; the article itself does not
    [row] = payloads[0]["components"]
    assert len(row["components"]) == 1


async def test_related_reverse_direction_and_also_told_by(news: NewsService, store: StoreInterface):
    payloads = await news.related(GIZMODO_URL)
    shown = titles(payloads)
    assert shown[0] == GIZMODO and COINDESK in shown
    told = embed(payloads, "Also told by")["description"]
    assert "paleofuture.gizmodo.com" in told and "gizmodo.com.au" in told


async def test_related_by_id_and_by_title(news: NewsService, store: StoreInterface):
    coindesk = await store.reads.entry_by_url(
        "https://coindesk.com/ai-startup-pilots-digital-masks-that-counter-facial-recognition"
    )
    assert coindesk is not None
    assert titles(await news.related(str(coindesk.article_id)))[0] == COINDESK
    assert titles(await news.related_by_id(coindesk.article_id))[0] == COINDESK
    assert titles(await news.related("digital masks"))[0] == COINDESK
    with pytest.raises(UserError, match="no longer in the database"):
        await news.related_by_id(10**12)
    # A button's check: right for this article; wrong once its id means another article.
    check = related_check(coindesk.article.canonical_url)
    assert titles(await news.related_by_id(coindesk.article_id, check=check))[0] == COINDESK
    with pytest.raises(UserError, match="no longer in the database"):
        await news.related_by_id(coindesk.article_id, check="00000000")
    for nothing in ("999999999", "https://example.org/missing", "zzzz qqqq"):
        with pytest.raises(UserError, match="pick one from the list"):
            await news.related(nothing)


@pytest.mark.parametrize("typed", ['"', "*", ")(", "\u200b", "-", "%"])
async def test_related_by_a_title_without_words_matches_nothing(news: NewsService, typed: str):
    """A hand-typed reference with no word in it is no title: not some arbitrary article."""
    with pytest.raises(UserError, match="pick one from the list"):
        await news.related(typed)


# --------------------------------------------------------------------------- search


async def test_search_best_match_first_and_quoted(news: NewsService):
    shown = titles(await news.search("digital masks"))
    assert shown[0] == COINDESK
    assert titles(await news.search('"digital masks"'))[0] == COINDESK
    assert titles(await news.search("CoinDesk"))[0] == COINDESK  # provider is searched too
    assert "Robots learn to fold laundry" in titles(await news.search("laundry"))


HOSTILE = [
    "'; DROP TABLE articles; --",
    '"',
    '"facial',
    "NEAR(a b)",
    "NEAR(facial recognition)",
    "title:*",
    "title:facial",
    "facial*",
    "* OR *",
    "a AND NOT b",
    "{title excerpt}: facial",
    "^facial",
    "\u200b",
    "\u202efacial",
    "facial\x00recognition",
    "%_\\",
]


@pytest.mark.parametrize("query", HOSTILE)
async def test_search_syntax_is_plain_text(news: NewsService, store: StoreInterface, query: str):
    try:
        payloads = await news.search(query)
    except UserError as exc:
        assert "No articles match" in str(exc) or "Type some words" in str(exc)
    else:
        assert payloads and all(p["embeds"] for p in payloads)
    assert (await store.status()).articles > 8  # the table is still there
    [(count,)] = await fetch_sql(store, "SELECT count(*) FROM articles")
    assert count > 8


async def test_search_operators_are_words_not_syntax(news: NewsService):
    # "NEAR(facial recognition)" as FTS5 syntax would match; as words, "near" is in no article
    with pytest.raises(UserError, match="No articles match"):
        await news.search("NEAR(facial recognition)")
    # "title:facial" as a column filter would match titles; as words, "title" is in none
    with pytest.raises(UserError, match="No articles match"):
        await news.search("title:facial")


async def test_search_empty_and_too_long(news: NewsService):
    with pytest.raises(UserError, match="Type some words"):
        await news.search("   ")
    with pytest.raises(UserError, match="at most 200"):
        await news.search("x" * 6000)


async def test_user_text_in_replies_cannot_ping_or_format(news: NewsService):
    with pytest.raises(UserError) as caught:
        await news.search("@everyone <@&444> `code`")
    message = str(caught.value)
    assert "@everyone" not in message and "<@&" not in message and "`code`" not in message
    with pytest.raises(UserError) as caught:
        await news.topic("\u202escitoboR\u200b **x**")
    message = str(caught.value)
    assert "\u202e" not in message and "\u200b" not in message  # no bidi override, no hiding
    assert "**x**" not in message  # user text is not markdown in our reply


async def test_topic_names_from_files_cannot_look_like_mentions(tmp_path: Path):
    folder = tmp_path / "bait"
    folder.mkdir()
    article_file(folder, "bait", "Bait", topics=("@everyone <@&444>",), quality=10)
    async with open_app(at(tmp_path / "bait.sqlite3"), workers=1) as app:
        await app.ingestor.run([folder])
        news = app.news
        for call in (
            news.topic("@everyone <@&445>"),  # a suggestion names the file's topic
            news.topic("@everyone <@&444>", min_quality=50),
            news.latest("@everyone <@&444>"),
        ):
            with pytest.raises(UserError) as caught:
                await call
            message = str(caught.value)
            assert "@everyone" not in message and "<@&" not in message, message


# --------------------------------------------------------------------------- latest, topics


async def test_latest_only_published_at_the_quality_bar(news: NewsService):
    shown = titles(await news.latest())
    # published and quality >= 60; the unpublished Gizmodo (74) is left out
    assert set(shown) == {
        COINDESK,
        "Robots learn to fold laundry",
        "A story filed under the long name",
    }
    assert titles(await news.latest("Robotics")) == ["Robots learn to fold laundry"]
    assert COINDESK in titles(await news.latest("artificial intelligence"))
    with pytest.raises(UserError, match="did you mean Robotics"):
        await news.latest("Robotcs")


async def test_a_reload_changes_the_bar_and_the_aliases(tmp_path: Path, articles: Path):
    path = tmp_path / "config.toml"
    database = f'[database]\npath = "{tmp_path / "db.sqlite3"}"\n'
    path.write_text(database, encoding="utf-8")
    async with open_app(load_config(path, {}), workers=1) as app:
        await app.ingestor.run([articles])
        assert COINDESK in titles(await app.news.latest())
        with pytest.raises(UserError, match="'Bots'"):
            await app.news.topic("Bots")
        path.write_text(
            database + '[digest]\nmin_quality = 90\n[topics.aliases]\nBots = "Robotics"\n',
            encoding="utf-8",
        )
        await app.reload()
        with pytest.raises(UserError, match="quality 90"):
            await app.news.latest()
        assert titles(await app.news.topic("bots")) == ["Robots learn to fold laundry"]


async def test_topics_with_counts(news: NewsService):
    [payload] = await news.topics()
    [topics] = payload["embeds"]
    lines = topics["description"].splitlines()
    assert lines[0] == "AI · 7"  # 5 seeds, the Australian Gizmodo and the alias file
    assert "Robotics · 1" in lines and "Computer Vision · 4" in lines
    assert not any("Artificial Intelligence" in line for line in lines)


async def test_topics_empty_store_says_what_to_do(tmp_path: Path):
    async with open_app(at(tmp_path / "empty.sqlite3"), workers=1) as app:
        with pytest.raises(UserError, match="run an ingest"):
            await app.news.topics()


# --------------------------------------------------------------------------- autocomplete


async def test_topic_choices(news: NewsService):
    choices = await news.topic_choices("a")
    assert choices[0] == {"name": "AI (7)", "value": "AI"}  # prefix match first
    assert all("a" in c["value"].casefold() for c in choices)
    assert await news.topic_choices("'; DROP TABLE topics; --") == []


async def test_article_choices_values_are_ids(news: NewsService, store: StoreInterface):
    choices = await news.article_choices("digital mas")  # the last word as a prefix
    assert choices and choices[0]["name"] == COINDESK
    entry = await store.reads.entry(int(choices[0]["value"]))
    assert entry is not None and entry.article.title == COINDESK
    for typed in ("NEAR(", '" OR title:*', "'; DROP TABLE articles; --"):
        assert await news.article_choices(typed) == []  # syntax is no crash, and no match


async def test_choices_capped_at_25(tmp_path: Path):
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(40):
        article_file(folder, f"bot{n}", f"Robot arm number {n}", topics=(f"Arm topic {n}",))
    async with open_app(at(tmp_path / "many.sqlite3"), workers=1) as app:
        await app.ingestor.run([folder])
        news = app.news
        for choices in (
            await news.topic_choices(""),
            await news.topic_choices("arm"),
            await news.article_choices("robot"),
            await news.article_choices(""),
        ):
            assert len(choices) == LIMITS.choices
            assert all(1 <= len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)
