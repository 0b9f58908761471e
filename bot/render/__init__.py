"""Articles, lists and digests -> Discord message payloads. Pure.

Everything here returns plain JSON-able dicts in the shapes of Discord's HTTP API, so the same
payloads are sent by the bot and printed by ``newsbot preview --json``. Every text is cut to
Discord's limits (counting characters as ``len`` does), every URL is http(s) or left out, no
string is ever empty (the key is left out instead), and every payload carries
``allowed_mentions`` that pings no one, except the role an admin configured for a digest.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict
from urllib.parse import urlsplit

from bot.articles import Article, StoryEntry

__all__ = [
    "LIMITS",
    "RELATED_ID",
    "Limits",
    "Payload",
    "article_embed",
    "choices",
    "cut",
    "digest_payloads",
    "embed_length",
    "list_pages",
    "neutralise_mentions",
    "notice",
    "quality_colour",
    "related_button",
    "related_check",
    "related_payloads",
    "to_terminal",
    "topics_payload",
]


class Payload(TypedDict):
    content: str | None
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    allowed_mentions: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Limits:
    """Discord's limits (https://discord.com/developers/docs/resources/message#embed-object)."""

    title: int = 256
    description: int = 4096
    fields: int = 25
    field_name: int = 256
    field_value: int = 1024
    footer: int = 2048
    author_name: int = 256
    embeds: int = 10  # per message
    embed_total: int = 6000  # characters over all embeds of one message
    content: int = 2000
    choices: int = 25
    choice_name: int = 100
    choice_value: int = 100
    button_label: int = 80
    custom_id: int = 100
    action_rows: int = 5
    row_buttons: int = 5
    url: int = 2048  # longer URLs are left out rather than risk a rejected message


LIMITS = Limits()

RELATED_ID = "newsbot:related:{article_id}:{check}"

# Rows this module may fill; the cogs add one row of pager buttons.
_OWN_ROWS = LIMITS.action_rows - 1

GREEN = 0x2ECC71
BLUE = 0x3498DB
AMBER = 0xF1C40F
GREY = 0x95A5A6

_ELLIPSIS = "…"
_ZWSP = "\u200b"
_SEP = " · "
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Cs", "Cn"})
_LINE_BREAKS = re.compile(r"\s*[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")
_MENTION_WORDS = re.compile(r"@(?=(?:everyone|here))", re.IGNORECASE)
_MENTION_TAGS = re.compile(r"<@")
_MARKDOWN = re.compile(r"([\\*_~`|\[\]()<>#])")


# --------------------------------------------------------------------------- text helpers


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending with "…" when something was cut."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    if limit == 1:
        return _ELLIPSIS
    return text[: limit - 1].rstrip() + _ELLIPSIS


def _visible(text: str) -> bool:
    """True when Discord would not see ``text`` as empty (whitespace / format characters only)."""
    return any(not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE for ch in text)


def _clean(text: str | None, *, one_line: bool = False) -> str | None:
    """Stripped text, or None when nothing visible is left (the key is then left out)."""
    if text is None:
        return None
    text = text.strip()
    if one_line:
        text = _LINE_BREAKS.sub(" ", text)
    return text if _visible(text) else None


def neutralise_mentions(text: str) -> str:
    """Break ``@everyone``, ``@here`` and ``<@…>`` forms with a zero-width space after the '@'.

    ``allowed_mentions`` already stops every ping; this keeps message content from even looking
    like one.
    """
    return _MENTION_TAGS.sub("<@" + _ZWSP, _MENTION_WORDS.sub("@" + _ZWSP, text))


def _escape_md(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


def _content(text: str, suffix: str = "", prefix: str = "") -> str:
    """prefix + neutralised ``text`` + suffix, cut (in ``text``) to the content limit."""
    room = LIMITS.content - len(prefix) - len(suffix)
    return prefix + cut(neutralise_mentions(text), room) + suffix


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


def quality_colour(quality: int | None) -> int:
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


# --------------------------------------------------------------------------- article embeds


def _provider_name(article: Article) -> str | None:
    provider = article.provider
    if provider is not None:
        for candidate in (provider.name, provider.domain):
            name = _clean(candidate, one_line=True)
            if name:
                return name
    http = _http_url(article.url)
    if http:
        host = urlsplit(http).hostname or ""
        host = host.removeprefix("www.")
        return _clean(host, one_line=True)
    return None


def _title(article: Article) -> str:
    return _clean(article.title, one_line=True) or "(untitled)"


def _footer_text(article: Article) -> str | None:
    parts: list[str] = []
    if article.quality is not None:
        parts.append(f"quality {article.quality}")
    if article.heat is not None:
        parts.append(f"heat {article.heat}")
    topics = [t for t in (_clean(topic, one_line=True) for topic in article.topics) if t]
    if topics:
        parts.append(", ".join(topics))
    return _SEP.join(parts) or None


def _also_line(also: Sequence[str], limit: int) -> str | None:
    """ "also: A, B and 3 more" within ``limit`` characters, or None."""
    names: list[str] = []
    for raw in also:
        name = _clean(raw, one_line=True)
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
    excerpt = _clean(entry.article.excerpt)
    also = _also_line(entry.also, min(limit, 512))
    if excerpt and also:
        room = limit - len(also) - 1
        if room >= min(len(excerpt), 40):
            return cut(excerpt, room) + "\n" + also
        return cut(excerpt, limit)  # too tight for both: the excerpt matters more
    if excerpt:
        return cut(excerpt, limit)
    return also


@dataclass(slots=True)
class _Room:
    """Per-embed character allowances, lowered when a message would pass 6,000 characters."""

    description: int = LIMITS.description
    footer: int = LIMITS.footer
    author: int = LIMITS.author_name
    title: int = LIMITS.title


def _build_embed(entry: StoryEntry, room: _Room) -> dict[str, Any]:
    article = entry.article
    embed: dict[str, Any] = {
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
        author: dict[str, Any] = {"name": cut(name, room.author)}
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


def embed_length(embed: dict[str, Any]) -> int:
    """Characters Discord counts towards the 6,000 per message."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for field in embed.get("fields") or ():
        total += len(field.get("name") or "") + len(field.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def _part_length(embed: dict[str, Any], part: str) -> int:
    if part == "description":
        return len(embed.get("description") or "")
    if part == "footer":
        return len((embed.get("footer") or {}).get("text") or "")
    if part == "author":
        return len((embed.get("author") or {}).get("name") or "")
    return len(embed.get("title") or "")


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


def _fit(entries: Sequence[StoryEntry], budget: int = LIMITS.embed_total) -> list[dict[str, Any]]:
    """Embeds for ``entries`` whose lengths sum to at most ``budget``.

    Descriptions are shortened first (longest first, evenly), then footers, author names, titles.
    """
    rooms = [_Room() for _ in entries]
    embeds = [_build_embed(entry, room) for entry, room in zip(entries, rooms, strict=True)]
    for part in ("description", "footer", "author", "title"):
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


def article_embed(entry: StoryEntry) -> dict[str, Any]:
    """The embed for one article (DESIGN §2), within every limit, alone under 6,000 characters."""
    return _fit([entry])[0]


# --------------------------------------------------------------------------- components


def related_check(canonical_url: str) -> str:
    """8 hex characters of the article's identity, carried in its Related button, so that a
    button whose row id now belongs to another article (a rebuilt database) is recognised."""
    return hashlib.blake2b(canonical_url.encode(), digest_size=4).hexdigest()


def related_button(entry: StoryEntry) -> dict[str, Any]:
    """The persistent Related button of an article: ``newsbot:related:<article_id>:<check>``."""
    custom_id = RELATED_ID.format(
        article_id=entry.article_id, check=related_check(entry.article.canonical_url)
    )
    if len(custom_id) > LIMITS.custom_id:
        raise ValueError(f"article id too long for a custom_id: {entry.article_id!r}")
    title = _clean(entry.article.title, one_line=True)
    label = f"Related: {cut(title, 40)}" if title else "Related"
    return {"type": 2, "style": 2, "label": cut(label, LIMITS.button_label), "custom_id": custom_id}


def _rows(buttons: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Action rows of up to 5 buttons, duplicates of a custom_id dropped (Discord rejects them)."""
    unique: list[dict[str, Any]] = []
    seen: set[str] = set()
    for button in buttons:
        if button["custom_id"] not in seen:
            seen.add(button["custom_id"])
            unique.append(button)
    size = LIMITS.row_buttons
    rows = [
        {"type": 1, "components": unique[start : start + size]}
        for start in range(0, len(unique), size)
    ]
    if len(rows) > _OWN_ROWS:
        raise ValueError("too many buttons for one message")
    return rows


def _payload(
    content: str | None,
    embeds: list[dict[str, Any]] | None = None,
    components: list[dict[str, Any]] | None = None,
    allowed_mentions: dict[str, Any] | None = None,
) -> Payload:
    return {
        "content": content,
        "embeds": embeds or [],
        "components": components or [],
        "allowed_mentions": allowed_mentions or {"parse": [], "replied_user": False},
    }


def _pack(
    items: Sequence[tuple[dict[str, Any], dict[str, Any] | None]],
) -> list[list[tuple[dict[str, Any], dict[str, Any] | None]]]:
    """Greedy split of (embed, button) pairs into messages of <= 10 embeds, <= 6,000 characters."""
    groups: list[list[tuple[dict[str, Any], dict[str, Any] | None]]] = []
    current: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    used = 0
    for embed, button in items:
        length = embed_length(embed)
        if current and (len(current) >= LIMITS.embeds or used + length > LIMITS.embed_total):
            groups.append(current)
            current, used = [], 0
        current.append((embed, button))
        used += length
    if current:
        groups.append(current)
    return groups


def _group_payload(
    content: str | None,
    group: Sequence[tuple[dict[str, Any], dict[str, Any] | None]],
    allowed_mentions: dict[str, Any] | None = None,
) -> Payload:
    embeds = [embed for embed, _ in group]
    buttons = [button for _, button in group if button is not None]
    return _payload(content, embeds, _rows(buttons), allowed_mentions)


# --------------------------------------------------------------------------- payloads


def notice(text: str) -> Payload:
    """A plain text reply (errors, hints): cut to 2,000 characters, pinging no one."""
    cleaned = _clean(text) or "Nothing to show."
    return _payload(_content(cleaned))


def list_pages(entries: Sequence[StoryEntry], *, heading: str, per_page: int = 5) -> list[Payload]:
    """Paged results: ``per_page`` embeds (1-10) a page, each page within 6,000 characters.

    content is ``"<heading> · page i/n"``; components hold one Related button per embed. With no
    entries, one page that says so.
    """
    per_page = max(1, min(per_page, LIMITS.embeds, _OWN_ROWS * LIMITS.row_buttons))
    heading = (heading or "").strip()
    if not entries:
        return [_payload(_content(heading, _SEP + "no articles" if heading else "No articles"))]
    chunks = [entries[start : start + per_page] for start in range(0, len(entries), per_page)]
    pages: list[Payload] = []
    for number, chunk in enumerate(chunks, 1):
        suffix = f"page {number}/{len(chunks)}"
        content = _content(heading, _SEP + suffix) if heading else suffix
        embeds = _fit(chunk)
        pages.append(_payload(content, embeds, _rows(related_button(e) for e in chunk)))
    return pages


def _also_told_by(entry: StoryEntry, others: Sequence[StoryEntry]) -> dict[str, Any]:
    lines: list[str] = []
    for other in others:
        article = other.article
        title = _escape_md(cut(_title(article), 200))
        url = _http_url(article.url)
        if url:
            title = f"[{title}]({url.replace('(', '%28').replace(')', '%29')})"
        provider = _provider_name(article)
        line = f"• {_escape_md(provider)} — {title}" if provider else f"• {title}"
        when = article.published_at
        if when is not None:
            line += f"{_SEP}{when:%Y-%m-%d}"
        lines.append(line)
    description = _join_lines(lines, LIMITS.description)
    return {
        "type": "rich",
        "title": "Also told by",
        "description": description,
        "color": quality_colour(entry.article.quality),
    }


def _join_lines(lines: Sequence[str], limit: int) -> str:
    """Lines joined by newlines within ``limit``; what does not fit becomes "and N more"."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        rest = len(lines) - index - 1
        tail = len(f"\nand {rest} more") if rest else 0
        extra = len(line) + (1 if kept else 0)
        if used + extra + tail > limit:
            # what was kept so far left room for exactly this tail when it was added
            return "\n".join([*kept, f"and {len(lines) - index} more"])
        kept.append(line)
        used += extra
    return "\n".join(kept)


def related_payloads(
    entry: StoryEntry, related: Sequence[StoryEntry], same_story: Sequence[StoryEntry]
) -> list[Payload]:
    """The article, then its related articles, then "Also told by" the story's other URLs.

    The first message's content says how many related articles there are, or that none are known.
    Related articles carry their own Related buttons; the article itself does not (it would open
    this same view again).
    """
    seen = {entry.article_id}
    unique_related: list[StoryEntry] = []
    for item in related:
        if item.article_id not in seen:
            seen.add(item.article_id)
            unique_related.append(item)
    others = [
        item
        for item in {item.article_id: item for item in same_story}.values()
        if item.article_id != entry.article_id
    ]

    items: list[tuple[dict[str, Any], dict[str, Any] | None]] = [(article_embed(entry), None)]
    items += [(article_embed(item), related_button(item)) for item in unique_related]
    if others:
        items.append((_also_told_by(entry, others), None))
    groups = _pack(items)

    count = len(unique_related)
    if count:
        first = f"{count} related article{'s' if count != 1 else ''}"
    else:
        first = "No related articles are known for this article."
    payloads: list[Payload] = []
    for number, group in enumerate(groups, 1):
        suffix = f"{_SEP}{number}/{len(groups)}" if len(groups) > 1 else ""
        content = (first if number == 1 else "Related articles (continued)") + suffix
        payloads.append(_group_payload(content, group))
    return payloads


def topics_payload(topics: Sequence[tuple[str, int]]) -> Payload:
    """One embed listing topics with their article counts ("and N more" when they do not fit)."""
    lines = []
    for name, count in topics:
        shown = _clean(name, one_line=True)
        if shown:
            lines.append(f"{_escape_md(cut(shown, 100))}{_SEP}{count}")
    embed: dict[str, Any] = {"type": "rich", "title": "Topics", "color": BLUE}
    if lines:
        embed["description"] = _join_lines(lines, LIMITS.description)
        embed["footer"] = {"text": f"{len(lines)} topic{'s' if len(lines) != 1 else ''}"}
    else:
        embed["description"] = "No topics yet."
    return _payload(None, [embed])


def digest_payloads(
    entries: Sequence[StoryEntry],
    *,
    more: int,
    heading: str,
    mention_role_id: int | None = None,
) -> list[Payload]:
    """A digest split over messages of <= 10 embeds and <= 6,000 characters, every entry once.

    The last message's content ends with "and N more" when ``more`` > 0. With ``mention_role_id``
    the first message starts with ``<@&id>`` and allows that role (and nothing else) to be pinged.
    No entries and nothing more: no messages.
    """
    more = max(0, more)
    heading = (heading or "").strip() or "News digest"
    if not entries and not more:
        return []
    items = [(article_embed(entry), related_button(entry)) for entry in entries]
    groups = _pack(items) or [[]]
    payloads: list[Payload] = []
    for number, group in enumerate(groups, 1):
        suffix = f"{_SEP}{number}/{len(groups)}" if len(groups) > 1 else ""
        if number == len(groups) and more:
            suffix += f"\nand {more} more"
        prefix, mentions = "", None
        if number == 1 and mention_role_id is not None:
            prefix = f"<@&{int(mention_role_id)}> "
            mentions = {"parse": [], "roles": [str(int(mention_role_id))], "replied_user": False}
        payloads.append(_group_payload(_content(heading, suffix, prefix), group, mentions))
    return payloads


def choices(items: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Autocomplete choices: at most 25; names one line, 1-100 characters; values <= 100."""
    result: list[dict[str, str]] = []
    for name, raw_value in items:
        if len(result) >= LIMITS.choices:
            break
        value = raw_value[: LIMITS.choice_value]
        shown = _clean(name, one_line=True) or _clean(value, one_line=True)
        if not shown or not value:
            continue
        result.append({"name": cut(shown, LIMITS.choice_name), "value": value})
    return result


# --------------------------------------------------------------------------- terminal


def _wrap(text: str, indent: str = "  ", width: int = 78) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        wrapped = textwrap.wrap(
            paragraph, width=width, initial_indent=indent, subsequent_indent=indent
        )
        lines.extend(wrapped or [indent.rstrip()])
    return lines


def _terminal_embed(embed: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    title = embed.get("title")
    if title:
        lines.append(f"■ {title}")
    if embed.get("url"):
        lines.append(f"  {embed['url']}")
    meta = []
    author = (embed.get("author") or {}).get("name")
    if author:
        meta.append(author)
    timestamp = embed.get("timestamp")
    if timestamp:
        try:
            meta.append(f"{datetime.fromisoformat(timestamp).astimezone(UTC):%Y-%m-%d %H:%M} UTC")
        except ValueError:
            meta.append(timestamp)
    if meta:
        lines.append("  " + _SEP.join(meta))
    description = embed.get("description")
    if description:
        lines.extend(_wrap(description))
    for field in embed.get("fields") or ():
        lines.append(f"  {field.get('name', '')}: {field.get('value', '')}")
    footer = (embed.get("footer") or {}).get("text")
    if footer:
        lines.append(f"  [{footer}]")
    return lines


def to_terminal(payloads: Sequence[Payload]) -> str:
    """Payloads as readable plain text, for ``newsbot preview`` without ``--json``."""
    out: list[str] = []
    for number, payload in enumerate(payloads, 1):
        if len(payloads) > 1:
            out.append(f"── message {number}/{len(payloads)} ──")
        if payload.get("content"):
            out.append(str(payload["content"]))
        for embed in payload.get("embeds") or ():
            out.append("")
            out.extend(_terminal_embed(embed))
        buttons = [
            button
            for row in payload.get("components") or ()
            for button in row.get("components") or ()
        ]
        if buttons:
            out.append("")
            out.append(
                "  ".join(f"[{b.get('label', '')}] ({b.get('custom_id', '')})" for b in buttons)
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"
