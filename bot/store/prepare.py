"""An article as the writer stores it: pure, so parse workers make it and the writer does no
per-field work."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.articles import Article, ArticleValues, story_key
from bot.store.records import PreparedArticle, RelatedStub
from bot.store.rows import TOPIC_SEP

# The columns an article file (or a related list) states about an article, in the order of
# PreparedArticle.base.
BASE_COLUMNS = (
    "url", "title", "excerpt", "published_at", "quality", "heat", "published", "published_field",
    "provider_name", "provider_domain", "provider_icon", "image_url", "category", "type",
    "original_url", "amp_url", "cdn_amp_url",
)  # fmt: skip
BASE_PUBLISHED_AT = BASE_COLUMNS.index("published_at")
BASE_QUALITY = BASE_COLUMNS.index("quality")
# The columns every upsert binds, in order: a related stub's row is these without updated_at.
BOUND_COLUMNS = (
    "canonical_url", *BASE_COLUMNS, "topics", "fingerprint", "story_key", "updated_at",
)  # fmt: skip
STUB_FINGERPRINT = BOUND_COLUMNS.index("fingerprint")
_NO_PROVIDER = (None, None, None)


def prepare_article(article: Article) -> PreparedArticle:
    """An article as the writer stores it; pure, so parse workers run it (not the writer)."""
    return prepare_values(ArticleValues.of(article))


def prepare_values(article: ArticleValues) -> PreparedArticle:
    """prepare_article of an article's values (a parse worker's form: no Article is made)."""
    base = _base_row(article)
    related: list[RelatedStub] = []
    for position, stub in enumerate(article.related):
        if stub.canonical_url == article.canonical_url:
            continue
        stub_base = _base_row(stub)
        stub_fingerprint = fingerprint(repr((stub_base, ())), ())
        row = (stub.canonical_url, *stub_base, "", stub_fingerprint, story_key(stub.title))
        related.append((position, stub.canonical_url, row))
    text = repr((base, tuple(r.canonical_url for r in article.related)))
    return (
        article.canonical_url,
        base,
        article.topics,
        hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest(),
        story_key(article.title),
        tuple(related),
        article.removed,
    )


def fingerprint(text: str, topics: Sequence[str]) -> str:
    """What a row's fingerprint column holds: a hash of its text and its topics."""
    data = (text + TOPIC_SEP + TOPIC_SEP.join(topics)).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def _base_row(article: ArticleValues) -> tuple[Any, ...]:
    name, domain, icon = article.provider or _NO_PROVIDER
    return (
        article.url,
        article.title,
        article.excerpt,
        _epoch(article.published_at),
        article.quality,
        article.heat,
        int(article.published),
        int(article.published_field),
        name,
        domain,
        icon,
        article.image_url,
        article.category,
        article.type,
        article.original_url,
        article.amp_url,
        article.cdn_amp_url,
    )


def _epoch(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())
