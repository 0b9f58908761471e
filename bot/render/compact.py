"""The compact digest: one line per story in embed descriptions, as few messages as the limits
allow, and under each message a select that opens a listed story's related articles.

A line is ``n. [title](url) · provider · quality 87 · also: A, B``. Every part is cut to a fixed
budget after escaping, so no line is longer than ``LINE_MAX`` and 25 stories always fit in two
messages (each holding embeds of <= 4,096 description characters, <= 6,000 in all). Titles,
providers and names are markdown-escaped and their mentions broken, so an article can neither
break the list nor ping; a URL goes in only when it is http(s), with the characters that would
end a markdown link percent-encoded, and short enough for the budget.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.articles import StoryEntry
from bot.render.buttons import stories_select
from bot.render.embeds import BLUE, VIDEO_MARK, _http_url, _provider_name
from bot.render.limits import LIMITS
from bot.render.shapes import AllowedMentions, Embed, Payload
from bot.render.text import (
    SEP,
    clean,
    escape_markdown,
    message_content,
    neutralise_mentions,
    quality_text,
)

__all__ = ["LINE_MAX", "compact_payloads"]

TITLE_MAX = 100
PROVIDER_MAX = 40
ALSO_MAX = 60
URL_MAX = 160  # a longer URL is left out of the line (the select still opens the article)
QUALITY_MAX = 28
# number (4) + "[" "](" ")" (4) + title + url + 3 separators (9) + provider + quality + "also: "
# (6) + names: the longest a line can be (411: 9 + 5 lines a message, 14 stories)
LINE_MAX = 4 + 4 + TITLE_MAX + URL_MAX + 9 + PROVIDER_MAX + QUALITY_MAX + 6 + ALSO_MAX
_ELLIPSIS = "…"
_LINK_UNSAFE = {"(": "%28", ")": "%29", "<": "%3C", ">": "%3E", "[": "%5B", "]": "%5D"}


def escaped(text: str | None, limit: int) -> str | None:
    """One line of ``text``, markdown-escaped and mention-broken, within ``limit`` characters
    (cut between escapes, never through one), or None when nothing visible is left."""
    cleaned = clean(text, one_line=True)
    if cleaned is None:
        return None
    parts = [escape_markdown(ch) for ch in neutralise_mentions(cleaned)]
    if sum(map(len, parts)) <= limit:
        return "".join(parts)
    kept: list[str] = []
    used = len(_ELLIPSIS)
    for part in parts:
        if used + len(part) > limit:
            break
        kept.append(part)
        used += len(part)
    return "".join(kept).rstrip() + _ELLIPSIS


def _link_url(url: str | None) -> str | None:
    http = _http_url(url)
    if http is None:
        return None
    for char, code in _LINK_UNSAFE.items():
        http = http.replace(char, code)
    return http if len(http) <= URL_MAX else None


def story_line(number: int, entry: StoryEntry) -> str:
    """``n. [title](url) · provider · quality q · also: A, B``, at most ``LINE_MAX`` long."""
    article = entry.article
    mark = f"{VIDEO_MARK}{SEP}" if article.is_video else ""
    title = mark + (escaped(article.title, TITLE_MAX - len(mark)) or "(untitled)")
    url = _link_url(article.url)
    parts = [f"[{title}]({url})" if url else title]
    provider = escaped(_provider_name(article), PROVIDER_MAX)
    if provider:
        parts.append(provider)
    if article.quality is not None:
        parts.append(escaped(f"quality {quality_text(article.quality)}", QUALITY_MAX) or "")
    names = [name for name in (clean(n, one_line=True) for n in entry.also) if name]
    also = escaped(", ".join(names), ALSO_MAX) if names else None
    if also:
        parts.append(f"also: {also}")
    return f"{number}. " + SEP.join(p for p in parts if p)


def _embeds_of(lines: Sequence[str]) -> list[list[str]]:
    """Lines packed into messages of embeds: each description <= 4,096, each message <= 6,000
    characters and <= 10 embeds, greedily, in order."""
    messages: list[list[str]] = []  # each: the descriptions of one message's embeds
    descriptions: list[str] = []
    current = ""
    used = 0  # characters in the finished descriptions of this message
    for line in lines:
        joined = f"{current}\n{line}" if current else line
        if len(joined) <= LIMITS.description and used + len(joined) <= LIMITS.embed_total:
            current = joined
            continue
        # this line starts a new embed, in this message when it fits there
        descriptions.append(current)
        used += len(current)
        if len(descriptions) >= LIMITS.embeds or used + len(line) > LIMITS.embed_total:
            messages.append(descriptions)
            descriptions, used = [], 0
        current = line
    if current:
        descriptions.append(current)
    if descriptions:
        messages.append(descriptions)
    return messages


def compact_payloads(
    entries: Sequence[StoryEntry],
    *,
    more: int,
    heading: str,
    mention_role_id: int | None = None,
) -> list[tuple[Payload, int]]:
    """A compact digest: each message with how many of ``entries`` it lists, in order. The
    first message's content starts with the role mention (and allows that role alone); the
    last one's ends with "and N more" when ``more`` > 0. No entries: no messages."""
    if not entries:
        return []
    heading = (heading or "").strip() or "News digest"
    lines = [story_line(number, entry) for number, entry in enumerate(entries, 1)]
    groups = _embeds_of(lines)
    result: list[tuple[Payload, int]] = []
    position = 0
    for number, descriptions in enumerate(groups, 1):
        count = sum(d.count("\n") + 1 for d in descriptions)
        listed = entries[position : position + count]
        suffix = f"{SEP}{number}/{len(groups)}" if len(groups) > 1 else ""
        if number == len(groups) and more > 0:
            suffix += f"\nand {more} more"
        prefix = ""
        mentions: AllowedMentions = {"parse": [], "replied_user": False}
        if number == 1 and mention_role_id is not None:
            prefix = f"<@&{int(mention_role_id)}> "
            mentions = {"parse": [], "roles": [str(int(mention_role_id))], "replied_user": False}
        embeds: list[Embed] = [
            {"type": "rich", "description": text, "color": BLUE} for text in descriptions
        ]
        payload: Payload = {
            "content": message_content(heading, suffix, prefix),
            "embeds": embeds,
            "components": [stories_select(listed, number - 1)],
            "allowed_mentions": mentions,
        }
        result.append((payload, count))
        position += count
    return result
