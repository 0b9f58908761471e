"""Article files and what they say: the article model, its identity keys, file parsing. Pure.

The rules are DESIGN.md §3. A file's front matter is read by the line scanner (``yaml_fast``)
when it is in the plain block style article files are written in, and by libyaml's event parser
(``yaml_events``) otherwise; both resolve scalars as ``yaml.safe_load`` would (``yaml_scalars``).
The mapping then meets the field rules (``fields``). ``parse`` ties these together.

    model        Article, Provider, StoryEntry, ParsedFile, FieldWarning, ArticleRejected
    identity     canonical_url, story_key, topic_key
    parse        parse_article: bytes -> front matter -> YAML -> fields
"""

from bot.articles.fields import MAX_HEAT
from bot.articles.identity import canonical_url, story_key, topic_key
from bot.articles.model import (
    Article,
    ArticleRejected,
    FieldWarning,
    ParsedFile,
    Provider,
    StoryEntry,
)
from bot.articles.parse import DEFAULT_MAX_BYTES, parse_article
from bot.articles.yaml_events import MAX_DEPTH

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "MAX_HEAT",
    "Article",
    "ArticleRejected",
    "FieldWarning",
    "ParsedFile",
    "Provider",
    "StoryEntry",
    "canonical_url",
    "parse_article",
    "story_key",
    "topic_key",
]
