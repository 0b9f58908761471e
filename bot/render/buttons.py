"""The Related button and the stories select of a compact digest (their custom_id and value
formats, defined only here) and action rows of buttons."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from bot.articles import StoryEntry
from bot.render.limits import LIMITS, OWN_ROWS
from bot.render.shapes import ActionRow, Button, SelectMenu, SelectOption, SelectRow
from bot.render.text import SEP, clean, cut, quality_text

_RELATED_PREFIX = "newsbot:related:"
# What the Related button's handler matches; the check is optional because buttons sent before
# it existed carry only the id.
RELATED_TEMPLATE = _RELATED_PREFIX + r"(?P<id>[0-9]{1,19})(?::(?P<check>[0-9a-f]{8}))?"


def related_check(canonical_url: str) -> str:
    """8 hex characters of the article's identity, carried in its Related button, so that a
    button whose row id now belongs to another article (a rebuilt database) is recognised."""
    return hashlib.blake2b(canonical_url.encode(), digest_size=4).hexdigest()


def related_custom_id(article_id: int, check: str | None) -> str:
    """``newsbot:related:<article_id>:<check>``, or without ``:<check>`` when there is none."""
    return f"{_RELATED_PREFIX}{article_id}" + (f":{check}" if check else "")


def related_button(entry: StoryEntry) -> Button:
    """The persistent Related button of an article."""
    custom_id = related_custom_id(entry.article_id, related_check(entry.article.canonical_url))
    if len(custom_id) > LIMITS.custom_id:
        raise ValueError(f"article id too long for a custom_id: {entry.article_id!r}")
    title = clean(entry.article.title, one_line=True)
    label = f"Related: {cut(title, 40)}" if title else "Related"
    return {"type": 2, "style": 2, "label": cut(label, LIMITS.button_label), "custom_id": custom_id}


_STORIES_PREFIX = "newsbot:stories:"
# What the stories select's handler matches: one select per message of a compact digest.
STORIES_TEMPLATE = _STORIES_PREFIX + r"(?P<chunk>[0-9]{1,2})"
# A chosen option's value: the story's article id and its check, as in the Related button.
STORY_VALUE_TEMPLATE = r"(?P<id>[0-9]{1,19})(?::(?P<check>[0-9a-f]{8}))?"
STORIES_PLACEHOLDER = "Related articles of a story…"


def stories_custom_id(chunk: int) -> str:
    """``newsbot:stories:<message number>``."""
    return f"{_STORIES_PREFIX}{int(chunk)}"


def _story_option(entry: StoryEntry) -> SelectOption:
    article = entry.article
    value = f"{entry.article_id}:{related_check(article.canonical_url)}"
    label = cut(clean(article.title, one_line=True) or "(untitled)", LIMITS.select_text)
    option: SelectOption = {"label": label, "value": value}
    parts = []
    provider = article.provider
    name = clean(provider.name or provider.domain, one_line=True) if provider else None
    if name:
        parts.append(name)
    if article.quality is not None:
        parts.append(f"quality {quality_text(article.quality)}")
    if parts:
        option["description"] = cut(SEP.join(parts), LIMITS.select_text)
    return option


def stories_select(entries: Sequence[StoryEntry], chunk: int) -> SelectRow:
    """A select of the listed stories (at most 25) that opens the chosen one's related
    articles; a row of its own."""
    options: list[SelectOption] = []
    seen: set[str] = set()
    for entry in entries:
        option = _story_option(entry)
        if option["value"] not in seen and len(options) < LIMITS.select_options:
            seen.add(option["value"])
            options.append(option)
    if not options:
        raise ValueError("a stories select needs at least one story")
    menu: SelectMenu = {
        "type": 3,
        "custom_id": stories_custom_id(chunk),
        "placeholder": STORIES_PLACEHOLDER,
        "options": options,
    }
    return {"type": 1, "components": [menu]}


def action_rows(buttons: Iterable[Button]) -> list[ActionRow]:
    """Action rows of up to 5 buttons, duplicates of a custom_id dropped (Discord rejects them)."""
    unique: list[Button] = []
    seen: set[str] = set()
    for button in buttons:
        if button["custom_id"] not in seen:
            seen.add(button["custom_id"])
            unique.append(button)
    size = LIMITS.row_buttons
    rows: list[ActionRow] = [
        {"type": 1, "components": unique[start : start + size]}
        for start in range(0, len(unique), size)
    ]
    if len(rows) > OWN_ROWS:
        raise ValueError("too many buttons for one message")
    return rows
