"""The article records: what a file says, its warnings, the rejection, a story as shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Provider:
    name: str | None = None
    domain: str | None = None
    icon_url: str | None = None  # provider.images[0].url when http(s)


@dataclass(frozen=True, slots=True)
class Article:
    """What one file (or one entry of a file's related list) says about an article."""

    url: str  # the link as given: webUrl, else originalUrl (validated absolute http/https)
    canonical_url: str  # identity, see canonical_url()
    title: str
    published_at: datetime | None  # aware, UTC; None only for related stubs without a date
    excerpt: str | None = None
    quality: float | None = None  # non-negative, no upper bound; an int when whole
    heat: int | None = None  # None when unknown (-1 in the file)
    published: bool = False
    published_field: bool = True  # False when the file had no `published` key
    removed: bool = False  # `removed: true`: a withdrawn item, gone like a deleted file
    topics: tuple[str, ...] = ()
    provider: Provider | None = None
    image_url: str | None = None
    category: str | None = None
    type: str | None = None
    original_url: str | None = None
    amp_url: str | None = None
    cdn_amp_url: str | None = None
    related: tuple[Article, ...] = ()  # stubs: no topics, not published, no related of their own

    @property
    def is_video(self) -> bool:
        """A ``type: video`` item (any case): shown and posted as a video."""
        return self.type is not None and self.type.casefold() == "video"


class ArticleValues(NamedTuple):
    """An Article's fields in its order, as plain values (a provider as its three values): what
    the field rules make (bot.articles.fields.read_article). A parse worker turns it into the
    store's rows without an Article (a frozen dataclass costs ~13x a tuple to build)."""

    url: str
    canonical_url: str
    title: str
    published_at: datetime | None
    excerpt: str | None
    quality: float | None
    heat: int | None
    published: bool
    published_field: bool
    removed: bool
    topics: tuple[str, ...]
    provider: tuple[str | None, str | None, str | None] | None  # (name, domain, icon_url)
    image_url: str | None
    category: str | None
    type: str | None
    original_url: str | None
    amp_url: str | None
    cdn_amp_url: str | None
    related: tuple[ArticleValues, ...]

    @classmethod
    def of(cls, article: Article) -> ArticleValues:
        """An Article's values."""
        provider = article.provider
        return cls(
            article.url,
            article.canonical_url,
            article.title,
            article.published_at,
            article.excerpt,
            article.quality,
            article.heat,
            article.published,
            article.published_field,
            article.removed,
            article.topics,
            None if provider is None else (provider.name, provider.domain, provider.icon_url),
            article.image_url,
            article.category,
            article.type,
            article.original_url,
            article.amp_url,
            article.cdn_amp_url,
            tuple(cls.of(stub) for stub in article.related),
        )

    def article(self) -> Article:
        """The Article these values are."""
        return Article(
            url=self.url,
            canonical_url=self.canonical_url,
            title=self.title,
            published_at=self.published_at,
            excerpt=self.excerpt,
            quality=self.quality,
            heat=self.heat,
            published=self.published,
            published_field=self.published_field,
            removed=self.removed,
            topics=self.topics,
            provider=None if self.provider is None else Provider(*self.provider),
            image_url=self.image_url,
            category=self.category,
            type=self.type,
            original_url=self.original_url,
            amp_url=self.amp_url,
            cdn_amp_url=self.cdn_amp_url,
            related=tuple(stub.article() for stub in self.related),
        )


@dataclass(frozen=True, slots=True)
class FieldWarning:
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedFile:
    article: Article
    warnings: tuple[FieldWarning, ...] = field(default=())


class ArticleRejected(Exception):
    """The file cannot become an article; str(exc) is the reason shown to the operator."""

    @classmethod
    def too_large(cls, size: int, max_bytes: int) -> ArticleRejected:
        """A file over ``[ingest] max_file_bytes``."""
        return cls(f"file is {size} bytes; the limit is {max_bytes} ([ingest] max_file_bytes)")


@dataclass(frozen=True, slots=True)
class StoryEntry:
    """One line of a list or digest: a story shown once, as its best article."""

    article_id: int
    article: Article
    also: tuple[str, ...] = ()  # the story's other providers (names, or domains when unnamed)
