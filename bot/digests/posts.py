"""What a digest looks like as a forum post: its title, its topics and the forum tags they pick.
Pure (DESIGN §4b): the Discord side (``targets``) hands in the forum's tags as plain records."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from bot.articles import StoryEntry, topic_key
from bot.schedules import parse_timezone

__all__ = [
    "MAX_TAGS",
    "TITLE_MAX",
    "ForumTagInfo",
    "ForumTags",
    "forum_title",
    "pick_tags",
    "run_topics",
]

MAX_TAGS = 5  # Discord applies at most 5 tags to a post
TITLE_MAX = 100  # a thread name is 1-100 characters
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ForumTagInfo(NamedTuple):
    """One of a forum's available tags; ``moderated`` ones need Manage Threads to apply."""

    id: int
    name: str
    moderated: bool = False


class ForumTags(NamedTuple):
    """A forum's tags, whether a post must have one, whether the bot may apply moderated ones."""

    tags: tuple[ForumTagInfo, ...]
    required: bool
    may_moderate: bool


def forum_title(at: float, timezone: str) -> str:
    """'News digest · 30 Nov 2026': the run's date in the subscription's time zone (English
    month names whatever the machine's locale)."""
    day = datetime.fromtimestamp(at, parse_timezone(timezone))
    return f"News digest · {day.day} {_MONTHS[day.month - 1]} {day.year}"


def run_topics(subscribed: Sequence[str], entries: Iterable[StoryEntry]) -> tuple[str, ...]:
    """A digest's topics: the subscription's (in its order), else its stories' (best story
    first), each once."""
    names = list(subscribed) or [t for e in entries for t in e.article.topics]
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(topic_key(name), name)
    return tuple(unique.values())


def pick_tags(
    available: Sequence[ForumTagInfo],
    topics: Sequence[str],
    *,
    required: bool,
    may_moderate: bool = False,
    canonical: Callable[[str], str] = lambda name: name,
) -> list[int]:
    """The ids of at most 5 tags whose names match the topics (case-insensitive, through the
    topic aliases), in topic order; a forum that requires a tag and matches none gets its
    first. Moderated tags only when the bot may apply them (Manage Threads)."""
    usable = [t for t in available if may_moderate or not t.moderated]
    by_key: dict[str, ForumTagInfo] = {}
    for tag in usable:
        by_key.setdefault(topic_key(canonical(tag.name)), tag)
    chosen: list[int] = []
    for topic in topics:
        match = by_key.get(topic_key(canonical(topic)))
        if match is not None and match.id not in chosen:
            chosen.append(match.id)
            if len(chosen) == MAX_TAGS:
                break
    if not chosen and required and usable:
        chosen.append(usable[0].id)
    return chosen
