"""Keyword filters of a digest: parse what an admin typed, match it on a story's words. Pure.

Beside bot.schedules: the config validates keywords with it and the digests match with it.

``keywords`` and ``exclude`` are comma-separated words or quoted phrases (``AI, "open source"``),
at most ``MAX_TERMS`` each. A term matches when its words appear in a row among the words of the
article's title and excerpt, compared case-insensitively (casefold, NFKC). No regular
expression is ever built from what a user typed: the text is cut into words once, and terms
are compared as word sequences, so no pattern can stall the bot.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_TERMS",
    "MAX_TERM_LENGTH",
    "KeywordError",
    "KeywordFilter",
    "parse_terms",
    "words",
]

MAX_TERMS = 20
MAX_TERM_LENGTH = 100


class KeywordError(ValueError):
    """A keyword list that cannot be used; str(exc) says why."""


def words(text: str) -> tuple[str, ...]:
    """``text`` cut into case-folded words: runs of letters and digits. Apostrophes and
    hyphens split too, the same in a term as in the text, so "crypto" finds "Crypto's" and
    "open source" finds "open-source"."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    result: list[str] = []
    current: list[str] = []
    for ch in folded:
        if ch.isalnum():
            current.append(ch)
        elif current:
            result.append("".join(current))
            current = []
    if current:
        result.append("".join(current))
    return tuple(result)


def _split(text: str) -> list[str]:
    """Comma-separated items; a comma inside double quotes belongs to its phrase."""
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch in '"“”':
            quoted = not quoted
        elif ch == "," and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quoted:
        raise KeywordError('a quote is not closed; write phrases like "open source"')
    items.append("".join(current))
    return items


def parse_terms(value: str | Iterable[str], what: str = "keywords") -> tuple[str, ...]:
    """What an admin typed (``'AI, "open source"'``) or a config list, as terms written
    plainly (``('AI', 'open source')``): blanks and duplicates (case-insensitive) dropped.
    KeywordError when a term has no word in it, is too long, or there are more than 20."""
    raw = _split(value) if isinstance(value, str) else list(value)
    unique: dict[tuple[str, ...], str] = {}
    for item in raw:
        term = " ".join(str(item).replace('"', " ").split())
        if not term:
            continue
        if len(term) > MAX_TERM_LENGTH:
            raise KeywordError(
                f"{what}: {term[:40]!r}… is longer than {MAX_TERM_LENGTH} characters"
            )
        key = words(term)
        if not key:
            raise KeywordError(f"{what}: {term!r} has no letters or digits to match")
        unique.setdefault(key, term)
    if len(unique) > MAX_TERMS:
        raise KeywordError(f"give at most {MAX_TERMS} {what}; you gave {len(unique)}")
    return tuple(unique.values())


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    size = len(needle)
    first = needle[0]
    return any(
        haystack[start] == first and tuple(haystack[start : start + size]) == tuple(needle)
        for start in range(len(haystack) - size + 1)
    )


@dataclass(frozen=True, slots=True)
class KeywordFilter:
    """A subscription's keywords and exclusions, ready to test stories against."""

    keywords: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.keywords or self.exclude)

    def first_match(self, terms: Sequence[str], text_words: Sequence[str]) -> str | None:
        for term in terms:
            if _contains(text_words, words(term)):
                return term
        return None

    def reason(self, title: str, excerpt: str | None) -> str | None:
        """Why a story with this title and excerpt is left out, or None when it is kept:
        ``excluded: "crypto"`` or ``no keyword matched``."""
        if not self.active:
            return None
        text_words = (*words(title), "", *words(excerpt or ""))  # "" keeps phrases apart
        excluded = self.first_match(self.exclude, text_words)
        if excluded is not None:
            return f'excluded: "{excluded}"'
        if self.keywords and self.first_match(self.keywords, text_words) is None:
            return "no keyword matched"
        return None
