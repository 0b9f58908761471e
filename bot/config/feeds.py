"""The ``[feeds]`` section and its ``[[feeds.sources]]``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bot.config.model import (
    FEED_SOURCE_KEYS,
    MAX_FEED_QUALITY,
    ConfigError,
    FeedsConfig,
    FeedSource,
)
from bot.config.values import (
    MAX_INTERVAL_MINUTES,
    invalid,
    non_empty,
    number,
    shown,
    table_entries,
    topic_list,
    whole,
)

MAX_FEED_TIMEOUT_SECONDS = 600.0
MAX_FEED_URL_CHARS = 2048


def read_feeds(section: Mapping[str, Any]) -> FeedsConfig:
    defaults = FeedsConfig()
    user_agent = non_empty(
        section.get("user_agent", defaults.user_agent),
        "feeds.user_agent",
        "a non-empty string on one line, like 'newsbot/1.0 (+https://example.org/contact)'",
    )
    if not user_agent.isprintable():
        raise invalid("feeds.user_agent", user_agent, "a string on one line")
    return FeedsConfig(
        interval_minutes=number(
            section.get("interval_minutes", defaults.interval_minutes),
            "feeds.interval_minutes",
            MAX_INTERVAL_MINUTES,
            allow_zero=False,
        ),
        quality=whole(
            section.get("quality", defaults.quality), "feeds.quality", 0, MAX_FEED_QUALITY
        ),
        timeout_seconds=number(
            section.get("timeout_seconds", defaults.timeout_seconds),
            "feeds.timeout_seconds",
            MAX_FEED_TIMEOUT_SECONDS,
            allow_zero=False,
        ),
        max_bytes=whole(section.get("max_bytes", defaults.max_bytes), "feeds.max_bytes", 1),
        user_agent=user_agent,
        sources=_feed_sources(section.get("sources")),
    )


def feed_url(value: object, key: str) -> str:
    """An absolute http(s) URL with a host, kept as written (a feed's identity)."""
    allowed = "an absolute http or https URL like 'https://example.org/feed.xml'"
    if not isinstance(value, str):
        raise invalid(key, value, allowed)
    url = value.strip()
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        ok = ok and parts.port != 0
    except ValueError:  # bad port, bad IPv6 literal
        ok = False
    if not ok or len(url) > MAX_FEED_URL_CHARS or not url.isprintable() or " " in url:
        raise invalid(key, value, allowed)
    return url


def _feed_sources(value: object) -> tuple[FeedSource, ...]:
    sources: list[FeedSource] = []
    seen: dict[str, int] = {}
    for index, prefix, entry in table_entries(
        value, "feeds.sources", FEED_SOURCE_KEYS, "url", "<the feed's address>"
    ):
        url = feed_url(entry["url"], prefix + "url")
        if url in seen:
            raise ConfigError(
                f"invalid {prefix}url = {shown(url)}: already used by"
                f" feeds.sources[{seen[url]}]; list each feed once",
                prefix + "url",
            )
        seen[url] = index
        name = entry.get("name")
        interval = entry.get("interval_minutes")
        quality = entry.get("quality")
        sources.append(
            FeedSource(
                url=url,
                name=None if name is None else non_empty(name, prefix + "name"),
                topics=topic_list(entry.get("topics", []), prefix + "topics"),
                quality=None
                if quality is None
                else whole(quality, prefix + "quality", 0, MAX_FEED_QUALITY),
                interval_minutes=None
                if interval is None
                else number(
                    interval, prefix + "interval_minutes", MAX_INTERVAL_MINUTES, allow_zero=False
                ),
            )
        )
    return tuple(sources)
