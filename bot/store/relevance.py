"""How well a search matches an article's text: BM25's term saturation and column weights,
without its inverse document frequency. Pure.

FTS5's bm25() first counts every document that holds each query word (about 20 ms for "the"
at 1M articles), and search already keeps only articles that hold every word, where the IDF
changes little. Words are cut like FTS5's ``unicode61 remove_diacritics 2`` tokenizer cuts them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

TITLE_WEIGHT, EXCERPT_WEIGHT, PROVIDER_WEIGHT = 10.0, 2.0, 1.0
_K1 = 1.2  # BM25's saturation: the second "robot" in a title counts less than the first
_B = 0.75  # BM25's length normalisation
_AVERAGE_WORDS = (10.0, 30.0, 2.0)  # title, excerpt, provider: for length normalisation
_WORD = re.compile(r"[^\W_]+")
# Every combining mark is at U+0300 or above, and none is General Punctuation (U+2000-U+206F:
# curly quotes, dashes): only the others are looked up (a Python test of every character cost
# ~8 us per excerpt with a curly quote in it).
_MAYBE_COMBINING = re.compile("[^\x00-\u02ff\u2000-\u206f]")
# Dropped from a search that has other words: nearly every article holds them, so they only
# slow FTS5's merge of the words' lists (and rank nothing).
STOP_WORDS = frozenset(
    ("a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "how",
     "in", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "what",
     "when", "where", "which", "who", "why", "will", "with")
)  # fmt: skip


def words(text: str | None) -> list[str]:
    """The words FTS5 indexes for a text: letters and digits, case-folded, accents removed."""
    if not text:
        return []
    return _WORD.findall(_folded(text))


def fts5_words(text: str | None) -> list[str]:
    """The words SQLite's FTS5 ``unicode61 remove_diacritics 2`` makes of a text, for queries
    it tokenizes no further: as words(), but only Latin letters lose their marks (other
    scripts keep theirs: й, έ, ボ) and case is folded one letter to one (ß stays ß)."""
    if not text:
        return []
    if text.isascii():
        return _WORD.findall(text.lower())
    kept: list[str] = []
    latin = False
    for char in unicodedata.normalize("NFKD", text):
        if not unicodedata.combining(char):
            latin = unicodedata.name(char, "").startswith("LATIN ")
        elif latin:
            continue
        kept.append(char)
    composed = unicodedata.normalize("NFC", "".join(kept))
    # each letter folded alone: Σ and ς are σ (str.lower() would end a word with ς)
    return _WORD.findall("".join(f if len(f := c.casefold()) == 1 else c.lower() for c in composed))


def _folded(text: str) -> str:
    if not text.isascii():
        text = _MAYBE_COMBINING.sub(_without_combining, unicodedata.normalize("NFKD", text))
    return text.casefold()


def _without_combining(found: re.Match[str]) -> str:
    mark = found.group()
    return "" if unicodedata.combining(mark) else mark


class Relevance:
    """Scores articles for one query; higher is better, 0 when no query word is in the text."""

    __slots__ = ("_words",)

    def __init__(self, query_words: Sequence[str]):
        self._words = tuple(set(query_words))

    def score(self, title: str | None, excerpt: str | None, provider: str | None) -> float:
        return self.score_after(self.title_score(title), excerpt, self.provider_score(provider))

    def score_after(self, title_score: float, excerpt: str | None, provider_score: float) -> float:
        """score() of a text whose title_score() and provider_score() are known."""
        # the fields in this order; adding 0.0 for a field without the words changes no bit
        total = title_score
        total += self._field(EXCERPT_WEIGHT, _AVERAGE_WORDS[1], excerpt)
        total += provider_score
        return total

    def title_score(self, title: str | None) -> float:
        """The title's part of score(): what it adds first."""
        return self._field(TITLE_WEIGHT, _AVERAGE_WORDS[0], title)

    def provider_score(self, provider: str | None) -> float:
        """The provider's part of score(): what it adds last."""
        return self._field(PROVIDER_WEIGHT, _AVERAGE_WORDS[2], provider)

    def excerpt_ceiling(self) -> float:
        """More than an excerpt can add to a score (each word's part of a field is under K1 + 1
        times its weight), with room for rounding."""
        return EXCERPT_WEIGHT * (_K1 + 1) * len(self._words) * (1 + 1e-9) + 1e-9

    def _field(self, weight: float, average: float, text: str | None) -> float:
        if not text:
            return 0.0
        folded = _folded(text)
        found = _occurrences(folded, self._words)
        if not found:
            return 0.0
        # words counted by spaces: close enough for length normalisation, and cheap
        norm = _K1 * (1 - _B + _B * (folded.count(" ") + 1) / average)
        return weight * sum(tf * (_K1 + 1) / (tf + norm) for _first, tf in found)


def _occurrences(folded: str, query_words: tuple[str, ...]) -> list[tuple[int, int]]:
    """(where it is first, how often) of each query word found as a whole word in the folded
    text, in the order of first occurrence (so a score sums in the same order whatever the
    query's order). str.find and a look at the two neighbours: several times faster than a
    regular expression over the text."""
    found = []
    size = len(folded)
    for word in query_words:
        at = folded.find(word)
        first, tf, length = -1, 0, len(word)
        while at >= 0:
            end = at + length
            # a whole word: not inside a longer run of letters and digits ([^\W_] is isalnum)
            if (at == 0 or not folded[at - 1].isalnum()) and (
                end == size or not folded[end].isalnum()
            ):
                if not tf:
                    first = at
                tf += 1
            at = folded.find(word, at + 1)
        if tf:
            found.append((first, tf))
    if len(found) > 1:
        found.sort()
    return found
