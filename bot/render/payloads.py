"""Message payloads: notices, list pages, related articles, topics, digests; autocomplete choices.

Every payload carries ``allowed_mentions`` that pings no one, except the role an admin
configured for a digest; a message of several embeds stays within 10 embeds and 6,000
characters. A message that shows videos carries their watch URLs in its content, one a line,
so Discord plays them in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.articles import StoryEntry
from bot.render.buttons import action_rows, related_button
from bot.render.embeds import (
    also_told_by_embed,
    article_embed,
    embed_length,
    fit_embeds,
    topics_embed,
    watch_url,
)
from bot.render.limits import LIMITS, OWN_ROWS
from bot.render.shapes import ActionRow, AllowedMentions, Button, Embed, Payload, SelectRow
from bot.render.text import SEP, clean, cut, message_content

# An embed, the button that goes with it and the watch URL of a video (None for others), kept
# together when split over messages.
_Item = tuple[Embed, Button | None, str | None]
# Content keeps this much room for its own text when watch URLs are added to it.
_CONTENT_TEXT_ROOM = 200


def _payload(
    content: str | None,
    embeds: list[Embed] | None = None,
    components: Sequence[ActionRow | SelectRow] | None = None,
    allowed_mentions: AllowedMentions | None = None,
) -> Payload:
    return {
        "content": content,
        "embeds": embeds or [],
        "components": [*(components or [])],
        "allowed_mentions": allowed_mentions or {"parse": [], "replied_user": False},
    }


def _pack(items: Sequence[_Item]) -> list[list[_Item]]:
    """Greedy split of (embed, button) pairs into messages of <= 10 embeds, <= 6,000 characters."""
    groups: list[list[_Item]] = []
    current: list[_Item] = []
    used = 0
    for item in items:
        length = embed_length(item[0])
        if current and (len(current) >= LIMITS.embeds or used + length > LIMITS.embed_total):
            groups.append(current)
            current, used = [], 0
        current.append(item)
        used += length
    if current:
        groups.append(current)
    return groups


def _group_payload(
    content: str | None,
    group: Sequence[_Item],
    allowed_mentions: AllowedMentions | None = None,
) -> Payload:
    embeds = [embed for embed, _, _ in group]
    buttons = [button for _, button, _ in group if button is not None]
    return _payload(content, embeds, action_rows(buttons), allowed_mentions)


def _item(entry: StoryEntry, button: Button | None) -> _Item:
    return article_embed(entry), button, watch_url(entry.article)


def _with_watch_urls(suffix: str, group: Sequence[_Item], beside: str = "") -> str:
    """``suffix`` followed by the group's watch URLs, one a line: in a message's content Discord
    unfurls them into players, which an embed cannot carry. ``beside`` is the content's other
    fixed text; URLs that would leave the heading less than its room are left out (the embed
    still links to them)."""
    room = LIMITS.content - _CONTENT_TEXT_ROOM - len(beside) - len(suffix)
    lines: list[str] = []
    for _, _, url in group:
        if url is not None and url not in lines and len(url) + 1 <= room:
            lines.append(url)
            room -= len(url) + 1
    return suffix + "".join("\n" + url for url in lines)


def notice(text: str) -> Payload:
    """A plain text reply (errors, hints): cut to 2,000 characters, pinging no one."""
    cleaned = clean(text) or "Nothing to show."
    return _payload(message_content(cleaned))


def list_pages(entries: Sequence[StoryEntry], *, heading: str, per_page: int = 5) -> list[Payload]:
    """Paged results: ``per_page`` embeds (1-10) a page, each page within 6,000 characters.

    content is ``"<heading> · page i/n"``, then the page's video watch URLs; components hold one
    Related button per embed. With no entries, one page that says so.
    """
    per_page = max(1, min(per_page, LIMITS.embeds, OWN_ROWS * LIMITS.row_buttons))
    heading = (heading or "").strip()
    if not entries:
        return [
            _payload(message_content(heading, SEP + "no articles" if heading else "No articles"))
        ]
    chunks = [entries[start : start + per_page] for start in range(0, len(entries), per_page)]
    pages: list[Payload] = []
    for number, chunk in enumerate(chunks, 1):
        suffix = f"page {number}/{len(chunks)}"
        embeds = fit_embeds(chunk)
        group = [
            (embed, None, watch_url(e.article)) for embed, e in zip(embeds, chunk, strict=True)
        ]
        if heading:
            content = message_content(heading, _with_watch_urls(SEP + suffix, group))
        else:
            content = _with_watch_urls(suffix, group)
        pages.append(_payload(content, embeds, action_rows(related_button(e) for e in chunk)))
    return pages


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

    items: list[_Item] = [_item(entry, None)]
    items += [_item(item, related_button(item)) for item in unique_related]
    if others:
        items.append((also_told_by_embed(entry, others), None, None))
    groups = _pack(items)

    count = len(unique_related)
    if count:
        first = f"{count} related article{'s' if count != 1 else ''}"
    else:
        first = "No related articles are known for this article."
    payloads: list[Payload] = []
    for number, group in enumerate(groups, 1):
        suffix = f"{SEP}{number}/{len(groups)}" if len(groups) > 1 else ""
        text = first if number == 1 else "Related articles (continued)"
        content = message_content(text, _with_watch_urls(suffix, group))
        payloads.append(_group_payload(content, group))
    return payloads


def topics_payload(topics: Sequence[tuple[str, int]]) -> Payload:
    """One embed listing topics with their article counts ("and N more" when they do not fit)."""
    return _payload(None, [topics_embed(topics)])


def digest_payloads(
    entries: Sequence[StoryEntry],
    *,
    more: int,
    heading: str,
    mention_role_id: int | None = None,
) -> list[Payload]:
    """A digest split over messages of <= 10 embeds and <= 6,000 characters, every entry once.

    Each message's content holds the watch URLs of its videos, one a line, after the heading;
    the last one's ends with "and N more" when ``more`` > 0. With ``mention_role_id``
    the first message starts with ``<@&id>`` and allows that role (and nothing else) to be pinged.
    No entries and nothing more: no messages.
    """
    more = max(0, more)
    heading = (heading or "").strip() or "News digest"
    if not entries and not more:
        return []
    items: list[_Item] = [_item(entry, related_button(entry)) for entry in entries]
    groups = _pack(items) or [[]]
    payloads: list[Payload] = []
    for number, group in enumerate(groups, 1):
        suffix = f"{SEP}{number}/{len(groups)}" if len(groups) > 1 else ""
        more_line = f"\nand {more} more" if number == len(groups) and more else ""
        prefix = ""
        mentions: AllowedMentions | None = None
        if number == 1 and mention_role_id is not None:
            prefix = f"<@&{int(mention_role_id)}> "
            mentions = {"parse": [], "roles": [str(int(mention_role_id))], "replied_user": False}
        suffix = _with_watch_urls(suffix, group, beside=prefix + more_line) + more_line
        payloads.append(_group_payload(message_content(heading, suffix, prefix), group, mentions))
    return payloads


def choices(items: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Autocomplete choices: at most 25; names one line, 1-100 characters; values <= 100."""
    result: list[dict[str, str]] = []
    for name, raw_value in items:
        if len(result) >= LIMITS.choices:
            break
        value = raw_value[: LIMITS.choice_value]
        shown = clean(name, one_line=True) or clean(value, one_line=True)
        if not shown or not value:
            continue
        result.append({"name": cut(shown, LIMITS.choice_name), "value": value})
    return result
