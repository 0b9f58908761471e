"""The article records: what a file says, its warnings, the rejection, a story as shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Provider:
    name: str | None = None
    domain: str | None = None
    icon_url: str | None = None  # provider.images[0].url when http(s)


@dataclass(frozen=True, slots=True)
class Article:
    """What one file (or one entry of a file's related list) says about an article."""

    url: str  # webUrl as given (validated absolute http/https)
    canonical_url: str  # identity, see canonical_url()
    title: str
    published_at: datetime | None  # aware, UTC; None only for related stubs without a date
    excerpt: str | None = None
    quality: int | None = None  # 0-100
    heat: int | None = None  # None when unknown (-1 in the file)
    published: bool = False
    published_field: bool = True  # False when the file had no `published` key
    topics: tuple[str, ...] = ()
    provider: Provider | None = None
    image_url: str | None = None
    category: str | None = None
    type: str | None = None
    original_url: str | None = None
    amp_url: str | None = None
    cdn_amp_url: str | None = None
    related: tuple[Article, ...] = ()  # stubs: no topics, not published, no related of their own


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
