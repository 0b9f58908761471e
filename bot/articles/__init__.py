"""Article files and what they say: the article model, its identity keys, file parsing. Pure.

The rules are DESIGN.md §3. A file's front matter is read by the line scanner (``yaml_fast``)
when it is in the plain block style article files are written in, and by libyaml's event parser
(``yaml_events``) otherwise; both resolve scalars as ``yaml.safe_load`` would (``yaml_scalars``).
The mapping then meets the field rules (``fields``). ``parse`` ties these together.

    model        Article, Provider, StoryEntry, ParsedFile, FieldWarning, ArticleRejected
    identity     canonical_url, story_key, topic_key
    parse        parse_article: bytes -> front matter -> YAML -> fields (parse_values: the
                 article as plain values, for the store's rows)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.articles.fields import MAX_HEAT
    from bot.articles.identity import canonical_url, story_key, topic_key
    from bot.articles.model import (
        Article,
        ArticleRejected,
        ArticleValues,
        FieldWarning,
        ParsedFile,
        Provider,
        StoryEntry,
    )
    from bot.articles.parse import DEFAULT_MAX_BYTES, parse_article, parse_values
    from bot.articles.version import PARSER_VERSION
    from bot.articles.yaml_events import MAX_DEPTH

# Each name's module, imported on first use: a cold `newsbot ingest` of an unchanged tree needs
# PARSER_VERSION, not the parser and YAML (~15 ms of imports).
_EXPORTS = {
    "MAX_HEAT": "bot.articles.fields",
    "canonical_url": "bot.articles.identity",
    "story_key": "bot.articles.identity",
    "topic_key": "bot.articles.identity",
    "Article": "bot.articles.model",
    "ArticleRejected": "bot.articles.model",
    "ArticleValues": "bot.articles.model",
    "FieldWarning": "bot.articles.model",
    "ParsedFile": "bot.articles.model",
    "Provider": "bot.articles.model",
    "StoryEntry": "bot.articles.model",
    "DEFAULT_MAX_BYTES": "bot.articles.parse",
    "parse_article": "bot.articles.parse",
    "parse_values": "bot.articles.parse",
    "PARSER_VERSION": "bot.articles.version",
    "MAX_DEPTH": "bot.articles.yaml_events",
}

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "MAX_HEAT",
    "PARSER_VERSION",
    "Article",
    "ArticleRejected",
    "ArticleValues",
    "FieldWarning",
    "ParsedFile",
    "Provider",
    "StoryEntry",
    "canonical_url",
    "parse_article",
    "parse_values",
    "story_key",
    "topic_key",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # __import__, not importlib.import_module: only the former shows in `python -X importtime`
    return getattr(__import__(module, fromlist=(name,)), name)
