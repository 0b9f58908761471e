"""The text rules: cutting to Discord's limits, escaping markdown, breaking mentions.

Lengths are counted as ``len`` counts them; a text with nothing visible left is None, so that
its key is left out rather than sent empty.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

from bot.render.limits import LIMITS

SEP = " · "
_ELLIPSIS = "…"
_ZWSP = "\u200b"
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Cs", "Cn"})
_LINE_BREAKS = re.compile(r"\s*[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")
_MENTION_WORDS = re.compile(r"@(?=(?:everyone|here))", re.IGNORECASE)
_MENTION_TAGS = re.compile(r"<@")
# Every character Discord markdown gives a meaning: emphasis, code, spoilers, links, headings.
_MARKDOWN = re.compile(r"([\\*_~`|\[\]()<>#])")
_QUOTED_LENGTH = 80


def quality_text(quality: float) -> str:
    """A quality as the file wrote it: 150 as "150", 187.5 as "187.5" (150.0 as "150")."""
    if math.isfinite(quality) and float(quality).is_integer():
        return str(int(quality))
    return repr(float(quality))


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


def clean(text: str | None, *, one_line: bool = False) -> str | None:
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


def escape_markdown(text: str) -> str:
    """``text`` shown as typed: a backslash before every markdown character."""
    return _MARKDOWN.sub(r"\\\1", text)


def quote(text: str) -> str:
    """User text quoted in a reply: short, one line, no markdown or mention tricks."""
    # Format characters (bidi overrides, zero-width) would reorder or hide the reply around it.
    visible = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    cleaned = " ".join(visible.split())[:_QUOTED_LENGTH].replace("`", "'")
    cleaned = escape_markdown(cleaned).replace("@", "@" + _ZWSP).replace("<", "<" + _ZWSP)
    return f"'{cleaned}'"


def message_content(text: str, suffix: str = "", prefix: str = "") -> str:
    """prefix + neutralised ``text`` + suffix, cut (in ``text``) to the content limit."""
    room = LIMITS.content - len(prefix) - len(suffix)
    return prefix + cut(neutralise_mentions(text), room) + suffix


def join_lines(lines: Sequence[str], limit: int) -> str:
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
