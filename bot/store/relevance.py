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
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return text.casefold()


class Relevance:
    """Scores articles for one query; higher is better, 0 when no query word is in the text."""

    __slots__ = ("_pattern",)

    def __init__(self, query_words: Sequence[str]):
        alternatives = "|".join(re.escape(w) for w in sorted(set(query_words), key=len)[::-1])
        # a whole word: not inside a longer run of letters and digits
        self._pattern = (
            re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])") if alternatives else None
        )

    def score(self, title: str | None, excerpt: str | None, provider: str | None) -> float:
        if self._pattern is None:
            return 0.0
        total = 0.0
        for weight, average, text in zip(
            (TITLE_WEIGHT, EXCERPT_WEIGHT, PROVIDER_WEIGHT),
            _AVERAGE_WORDS,
            (title, excerpt, provider),
            strict=True,
        ):
            if not text:
                continue
            folded = _folded(text)
            found = self._pattern.findall(folded)
            if not found:
                continue
            # words counted by spaces: close enough for length normalisation, and cheap
            norm = _K1 * (1 - _B + _B * (folded.count(" ") + 1) / average)
            counts: dict[str, int] = {}
            for word in found:
                counts[word] = counts.get(word, 0) + 1
            total += weight * sum(tf * (_K1 + 1) / (tf + norm) for tf in counts.values())
        return total
