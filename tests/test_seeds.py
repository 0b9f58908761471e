"""The article files the bot ships with: every one parses cleanly, and they say what we expect."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from bot.articles import Article, ArticleRejected, parse_article, story_key

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SUFFIXES = {".txt", ".md", ".markdown", ".yaml", ".yml"}


def seed_files() -> list[Path]:
    return sorted(
        p for p in SEEDS.rglob("*") if p.is_file() and p.suffix in SUFFIXES and p.name[0] != "."
    )


def parse_seeds() -> tuple[dict[str, Article], list[str]]:
    """Every seed parsed; every problem (rejection, warning, odd value) collected, not raised."""
    articles: dict[str, Article] = {}
    problems: list[str] = []
    for path in seed_files():
        try:
            parsed = parse_article(path.read_bytes())
        except ArticleRejected as exc:
            problems.append(f"{path.name}: rejected: {exc}")
            continue
        problems += [f"{path.name}: {w.field}: {w.reason}" for w in parsed.warnings]
        a = parsed.article
        articles[path.name] = a
        for item in (a, *a.related):
            if item.published_at is None or item.published_at.tzinfo is not UTC:
                problems.append(f"{path.name}: {item.url}: published_at {item.published_at!r}")
            if item.provider is None or not item.provider.name:
                problems.append(f"{path.name}: {item.url}: no provider name")
            if item.quality is None:
                problems.append(f"{path.name}: {item.url}: no quality")
        if not a.topics:
            problems.append(f"{path.name}: no topics")
        if not a.related:
            problems.append(f"{path.name}: no related articles")
        if any(r.canonical_url == a.canonical_url for r in a.related):
            problems.append(f"{path.name}: related to itself")
    return articles, problems


def test_every_seed_parses_without_problems() -> None:
    articles, problems = parse_seeds()
    assert problems == []
    assert len(articles) == 5


def test_seed_urls_are_distinct_articles() -> None:
    articles, _ = parse_seeds()
    assert len({a.canonical_url for a in articles.values()}) == 5


def test_coindesk_seed_is_published_with_quality_76() -> None:
    articles, _ = parse_seeds()
    coindesk = [
        a for a in articles.values() if a.provider is not None and a.provider.name == "CoinDesk"
    ]
    assert len(coindesk) == 1
    (article,) = coindesk
    assert article.published is True
    assert article.quality == 76
    assert article.heat == 96
    assert article.topics == ("Natural Language Processing", "AI", "Computer Vision")
    assert article.canonical_url == (
        "https://coindesk.com/ai-startup-pilots-digital-masks-that-counter-facial-recognition"
    )


def test_only_the_coindesk_seed_is_published() -> None:
    articles, _ = parse_seeds()
    published = [a.provider.name if a.provider else None for a in articles.values() if a.published]
    assert published == ["CoinDesk"]


def test_the_gizmodo_story_has_two_urls_with_one_story_key() -> None:
    articles, _ = parse_seeds()
    everything = [x for a in articles.values() for x in (a, *a.related)]
    gizmodo = next(a for a in everything if a.canonical_url.startswith("https://gizmodo.com/"))
    australia = next(a for a in everything if a.canonical_url.startswith("https://gizmodo.com.au/"))
    assert gizmodo.title == "Let's Kill Facial Recognition For Good"
    assert australia.title == "Let’s Kill Facial Recognition For Good"
    assert gizmodo.canonical_url != australia.canonical_url
    assert story_key(gizmodo.title) == story_key(australia.title)
    assert australia.published_at is not None and gizmodo.published_at is not None
    assert abs(gizmodo.published_at - australia.published_at).days < 3


def test_heat_minus_one_in_seeds_is_unknown() -> None:
    articles, _ = parse_seeds()
    gizmodo = next(a for a in articles.values() if a.provider and a.provider.name == "Gizmodo")
    assert gizmodo.heat is None
    assert gizmodo.provider is not None
    assert gizmodo.provider.icon_url is not None
    assert gizmodo.provider.icon_url.startswith("https://")
