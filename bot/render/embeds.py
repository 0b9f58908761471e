"""Embeds: one article (DESIGN §2), "Also told by", topics; a message's embeds fitted to 6,000.

Every URL in an embed is http(s) or left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from bot.articles import Article, StoryEntry
from bot.render.limits import LIMITS
from bot.render.shapes import Embed, EmbedAuthor
from bot.render.text import SEP, clean, cut, escape_markdown, join_lines, quality_text

_Part = Literal["description", "footer", "author", "title"]
# The order in which parts give up room when a message would pass 6,000 characters.
_SHRINK_ORDER: tuple[_Part, ...] = ("description", "footer", "author", "title")

GREEN = 0x2ECC71
BLUE = 0x3498DB
AMBER = 0xF1C40F
GREY = 0x95A5A6


def quality_colour(quality: float | None) -> int:
    """Embed colour by quality band: >=80 green, >=60 blue, >=40 amber, else (or unknown) grey."""
    if quality is None:
        return GREY
    if quality >= 80:
        return GREEN
    if quality >= 60:
        return BLUE
    if quality >= 40:
        return AMBER
    return GREY


def _http_url(url: str | None) -> str | None:
    """``url`` when it is a well-formed absolute http(s) URL Discord will accept, else None."""
    if not url or len(url) > LIMITS.url:
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return None
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    try:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat()
    except (OverflowError, ValueError):
        return None


# --------------------------------------------------------------------------- article parts


def _provider_name(article: Article) -> str | None:
    provider = article.provider
    if provider is not None:
        for candidate in (provider.name, provider.domain):
            name = clean(candidate, one_line=True)
            if name:
                return name
    http = _http_url(article.url)
    if http:
        host = urlsplit(http).hostname or ""
        host = host.removeprefix("www.")
        return clean(host, one_line=True)
    return None


def _title(article: Article) -> str:
    return clean(article.title, one_line=True) or "(untitled)"


def _footer_text(article: Article) -> str | None:
    parts: list[str] = []
    if article.quality is not None:
        parts.append(f"quality {quality_text(article.quality)}")
    if article.heat is not None:
        parts.append(f"heat {article.heat}")
    topics = [t for t in (clean(topic, one_line=True) for topic in article.topics) if t]
    if topics:
        parts.append(", ".join(topics))
    return SEP.join(parts) or None


def _also_line(also: Sequence[str], limit: int) -> str | None:
    """ "also: A, B and 3 more" within ``limit`` characters, or None."""
    names: list[str] = []
    for raw in also:
        name = clean(raw, one_line=True)
        if name and (name := cut(name, 100)) not in names:
            names.append(name)
    if not names or limit <= 0:
        return None
    for shown in range(len(names), -1, -1):
        rest = len(names) - shown
        if shown == 0:
            line = f"also: {rest} other{'s' if rest != 1 else ''}"
        else:
            line = "also: " + ", ".join(names[:shown]) + (f" and {rest} more" if rest else "")
        if len(line) <= limit:
            return line
    return None


def _description(entry: StoryEntry, limit: int) -> str | None:
    if limit <= 0:
        return None
    excerpt = clean(entry.article.excerpt)
    also = _also_line(entry.also, min(limit, 512))
    if excerpt and also:
        room = limit - len(also) - 1
        if room >= min(len(excerpt), 40):
            return cut(excerpt, room) + "\n" + also
        return cut(excerpt, limit)  # too tight for both: the excerpt matters more
    if excerpt:
        return cut(excerpt, limit)
    return also


# --------------------------------------------------------------------------- article embeds


@dataclass(slots=True)
class _Room:
    """Per-embed character allowances, lowered when a message would pass 6,000 characters."""

    description: int = LIMITS.description
    footer: int = LIMITS.footer
    author: int = LIMITS.author_name
    title: int = LIMITS.title


def _build_embed(entry: StoryEntry, room: _Room) -> Embed:
    article = entry.article
    embed: Embed = {
        "type": "rich",
        "title": cut(_title(article), max(1, room.title)),
    }
    url = _http_url(article.url)
    if url:
        embed["url"] = url
    description = _description(entry, room.description)
    if description:
        embed["description"] = description
    embed["color"] = quality_colour(article.quality)
    name = _provider_name(article)
    if name and room.author > 0:
        author: EmbedAuthor = {"name": cut(name, room.author)}
        icon = _http_url(article.provider.icon_url if article.provider else None)
        if icon:
            author["icon_url"] = icon
        embed["author"] = author
    image = _http_url(article.image_url)
    if image:
        embed["thumbnail"] = {"url": image}
    timestamp = _iso(article.published_at)
    if timestamp:
        embed["timestamp"] = timestamp
    footer = _footer_text(article)
    if footer and room.footer > 0:
        embed["footer"] = {"text": cut(footer, room.footer)}
    return embed


def embed_length(embed: Embed) -> int:
    """Characters Discord counts towards the 6,000 per message."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    for field in embed.get("fields", ()):
        total += len(field["name"]) + len(field["value"])
    if "footer" in embed:
        total += len(embed["footer"]["text"])
    if "author" in embed:
        total += len(embed["author"]["name"])
    return total


def _part_length(embed: Embed, part: _Part) -> int:
    if part == "description":
        return len(embed.get("description", ""))
    if part == "footer":
        return len(embed["footer"]["text"]) if "footer" in embed else 0
    if part == "author":
        return len(embed["author"]["name"]) if "author" in embed else 0
    return len(embed.get("title", ""))


def _water_level(lengths: Sequence[int], allowed: int) -> int:
    """The largest cap with sum(min(length, cap)) <= allowed."""
    low, high = 0, max(lengths, default=0)
    while low < high:
        mid = (low + high + 1) // 2
        if sum(min(length, mid) for length in lengths) <= allowed:
            low = mid
        else:
            high = mid - 1
    return low


def fit_embeds(entries: Sequence[StoryEntry], budget: int = LIMITS.embed_total) -> list[Embed]:
    """Embeds for ``entries`` whose lengths sum to at most ``budget``.

    Descriptions are shortened first (longest first, evenly), then footers, author names, titles.
    """
    rooms = [_Room() for _ in entries]
    embeds = [_build_embed(entry, room) for entry, room in zip(entries, rooms, strict=True)]
    for part in _SHRINK_ORDER:
        total = sum(embed_length(embed) for embed in embeds)
        if total <= budget:
            return embeds
        lengths = [_part_length(embed, part) for embed in embeds]
        level = _water_level(lengths, max(0, budget - (total - sum(lengths))))
        if part == "title":
            level = max(1, level)  # titles are never left empty
        for index, length in enumerate(lengths):
            if length > level:
                setattr(rooms[index], part, level)
                embeds[index] = _build_embed(entries[index], rooms[index])
    total = sum(embed_length(embed) for embed in embeds)
    if total > budget:  # only when budget < one character per embed
        raise ValueError(f"cannot fit {len(entries)} embeds in {budget} characters")
    return embeds


def article_embed(entry: StoryEntry) -> Embed:
    """The embed for one article (DESIGN §2), within every limit, alone under 6,000 characters."""
    return fit_embeds([entry])[0]


# --------------------------------------------------------------------------- other embeds


def also_told_by_embed(entry: StoryEntry, others: Sequence[StoryEntry]) -> Embed:
    """The story's other articles, one line each: provider, linked title, date."""
    lines: list[str] = []
    for other in others:
        article = other.article
        title = escape_markdown(cut(_title(article), 200))
        url = _http_url(article.url)
        if url:
            title = f"[{title}]({url.replace('(', '%28').replace(')', '%29')})"
        provider = _provider_name(article)
        line = f"• {escape_markdown(provider)} — {title}" if provider else f"• {title}"
        when = article.published_at
        if when is not None:
            line += f"{SEP}{when:%Y-%m-%d}"
        lines.append(line)
    return {
        "type": "rich",
        "title": "Also told by",
        "description": join_lines(lines, LIMITS.description),
        "color": quality_colour(entry.article.quality),
    }


def topics_embed(topics: Sequence[tuple[str, int]]) -> Embed:
    """Topics with their article counts ("and N more" when they do not fit)."""
    lines = []
    for name, count in topics:
        shown = clean(name, one_line=True)
        if shown:
            lines.append(f"{escape_markdown(cut(shown, 100))}{SEP}{count}")
    embed: Embed = {"type": "rich", "title": "Topics", "color": BLUE}
    if lines:
        embed["description"] = join_lines(lines, LIMITS.description)
        embed["footer"] = {"text": f"{len(lines)} topic{'s' if len(lines) != 1 else ''}"}
    else:
        embed["description"] = "No topics yet."
    return embed
