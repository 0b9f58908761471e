"""How well a search matches an article's text: BM25's term saturation and column weights,
without its inverse document frequency. Pure.

FTS5's bm25() first counts every document that holds each query word (about 20 ms for "the"
at 1M articles), and search already keeps only articles that hold every word, where the IDF
changes little. Words are cut like FTS5's ``unicode61 remove_diacritics 2`` tokenizer cuts them.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence

TITLE_WEIGHT, EXCERPT_WEIGHT, PROVIDER_WEIGHT = 10.0, 2.0, 1.0
_K1 = 1.2  # BM25's saturation: the second "robot" in a title counts less than the first
_B = 0.75  # BM25's length normalisation
_AVERAGE_WORDS = (10.0, 30.0, 2.0)  # title, excerpt, provider: for length normalisation
_WORD = re.compile(r"[^\W_]+")
# Every combining mark is at U+0300 or above: only those characters are looked up (a Python
# test of every character cost ~8 us per excerpt with a curly quote in it).
_MAYBE_COMBINING = re.compile("[^\x00-\u02ff]")
# Joins many texts into one for Relevance.scores: no stored text holds it (PostgreSQL's text
# cannot), it is no word character, and folding leaves it alone and keeps it a boundary.
_SEPARATOR = "\x00"
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


def _folded(text: str) -> str:
    if not text.isascii():
        text = _MAYBE_COMBINING.sub(_without_combining, unicodedata.normalize("NFKD", text))
    return text.casefold()


def _without_combining(found: re.Match[str]) -> str:
    mark = found.group()
    return "" if unicodedata.combining(mark) else mark


class Relevance:
    """Scores articles for one query; higher is better, 0 when no query word is in the text."""

    __slots__ = ("_words", "_whole")

    def __init__(self, query_words: Sequence[str]):
        self._words = tuple(set(query_words))
        # each word as a whole word ([^\W_] is str.isalnum, as _occurrences checks)
        self._whole = tuple(
            re.compile(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])") for word in self._words
        )

    def score(self, title: str | None, excerpt: str | None, provider: str | None) -> float:
        total = 0.0
        for weight, average, text in (
            (TITLE_WEIGHT, _AVERAGE_WORDS[0], title),
            (EXCERPT_WEIGHT, _AVERAGE_WORDS[1], excerpt),
            (PROVIDER_WEIGHT, _AVERAGE_WORDS[2], provider),
        ):
            if not text:
                continue
            folded = _folded(text)
            found = _occurrences(folded, self._words)
            if not found:
                continue
            # words counted by spaces: close enough for length normalisation, and cheap
            norm = _K1 * (1 - _B + _B * (folded.count(" ") + 1) / average)
            total += weight * sum(tf * (_K1 + 1) / (tf + norm) for _first, tf in found)
        return total

    def scores(
        self, texts: Sequence[tuple[str | None, str | None, str | None]]
    ) -> list[float]:
        """score() of each (title, excerpt, provider), to the bit, for many texts at once: each
        field's texts are folded and searched as one string (a regular expression per word over
        them all), so the Python work is per occurrence, not per text and word."""
        totals = [0.0] * len(texts)
        for field, (weight, average) in enumerate(
            zip((TITLE_WEIGHT, EXCERPT_WEIGHT, PROVIDER_WEIGHT), _AVERAGE_WORDS, strict=True)
        ):
            present = [i for i, t in enumerate(texts) if t[field]]
            column = [texts[i][field] or "" for i in present]
            joined = _SEPARATOR.join(column)
            if joined.count(_SEPARATOR) != len(column) - 1:  # a text holds the separator
                parts = [_folded(text) for text in column]
                hits = [_occurrences(folded, self._words) for folded in parts]
            else:
                parts = _folded(joined).split(_SEPARATOR)
                hits = self._hits(parts)
            for i, folded, found in zip(present, parts, hits, strict=True):
                if not found:
                    continue
                norm = _K1 * (1 - _B + _B * (folded.count(" ") + 1) / average)
                totals[i] += weight * sum(tf * (_K1 + 1) / (tf + norm) for _first, tf in found)
        return totals

    def _hits(self, parts: list[str]) -> list[list[tuple[int, int]]]:
        """_occurrences of each folded part, found over the parts joined by _SEPARATOR."""
        starts, at = [], 0
        for part in parts:
            starts.append(at)
            at += len(part) + 1
        joined = _SEPARATOR.join(parts)
        counts: list[dict[int, list[int]]] = [{} for _ in parts]
        for word, whole in enumerate(self._whole):
            for match in whole.finditer(joined):
                where = match.start()
                seen = counts[bisect_right(starts, where) - 1].setdefault(word, [where, 0])
                seen[1] += 1
        # (first, tf) in the order of first occurrence; two words never start at one place
        return [sorted((first, tf) for first, tf in found.values()) for found in counts]


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
