"""The line scanner: YAML in the plain block style article files are written in (nested
``key: value`` and ``- item`` lines of one-line plain or quoted scalars), read without libyaml.

It declines (None) any other document, and every broken one, which ``yaml_events`` then reads;
what it does return is exactly what ``yaml_events`` would build (fuzzed against libyaml).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.articles.yaml_events import MAX_DEPTH
from bot.articles.yaml_scalars import plain_scalar

# What YAML reads as text, less tab, CR, NEL, LS, PS and BOM, whose rules this path leaves
# to libyaml (a character outside this set makes the event parser read the document).
_NOT_SIMPLE_CHAR = re.compile(
    r"[^\n -~\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_PRINTABLE_ASCII_AND_LF = bytes([0x0A, *range(0x20, 0x7F)])
_DOUBLE_QUOTED = re.compile(
    r'"((?:[^"\\]++|\\(?:[0abtnvfre "/\\N_LP]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}))*+)"'
)
_ESCAPE = re.compile(r"\\(?:([^xuU])|x(..)|u(....)|U(........))")
_ESCAPED = dict(
    zip('0abtnvfre "/\\N_LP', '\0\a\b\t\n\v\f\r\x1b "/\\\x85\xa0\u2028\u2029', strict=True)
)
_MAX_SIMPLE_KEY = 128  # libyaml drops a simple key after 1024 characters; article keys are short
_MISSING: Any = object()
_MEMO_SIZE = 4096
_MEMO_TEXT_LENGTH = 100  # longer texts are not kept, so a memo holds kilobytes, whatever the files


class _NotSimple(Exception):
    """The document is outside what simple_yaml reads."""


class _Memo:
    """Text -> value of the keys and short values seen before (most recur in every file),
    cleared when full. The scanner looks a text up in ``known`` (a plain dict: a hit is one
    look-up) and calls ``add`` on a miss. The values are immutable (PyYAML's .nan too is one
    object)."""

    __slots__ = ("_build", "known")

    def __init__(self, build: Callable[[str], object]) -> None:
        self._build = build
        self.known: dict[str, object] = {}

    def add(self, text: str) -> object:
        """The value of ``text``, built, and kept when the text is short."""
        value = self._build(text)  # _NotSimple passes through, and nothing is kept
        if len(text) <= _MEMO_TEXT_LENGTH:
            if len(self.known) >= _MEMO_SIZE:
                self.known.clear()
            self.known[text] = value
        return value


def simple_yaml(doc: str) -> object:
    """The value of a document in plain block style (nested ``key: value`` mappings and ``- ``
    sequences of one-line plain or quoted scalars), equal to what ``yaml_events`` builds from
    libyaml's events; None for anything else, which the event parser then reads (and rejects
    with its message where it must). Never raises."""
    try:
        return _read_simple(doc)
    except Exception:  # _NotSimple, or anything unforeseen: the event parser decides
        return None


def _read_simple(doc: str) -> object:
    # the characters other than printable ASCII and line feeds, found in C, then judged
    rest = doc.encode().translate(None, _PRINTABLE_ASCII_AND_LF)
    if rest and _NOT_SIMPLE_CHAR.search(rest.decode()) is not None:
        raise _NotSimple
    keys = _KEYS.known
    scalars = _SCALARS.known
    top: list[Any] = [None]  # holds the root collection, as a pending item at column -1
    cols = [-1]  # the column of each open collection (a sequence's "-", a mapping's keys)
    opened: list[Any] = [top]  # the open collections, innermost last
    cur: Any = top  # opened[-1]
    cur_col = -1  # cols[-1]
    pending: Any = top  # the collection whose last entry may still become a nested block
    pending_key: Any = None  # that entry's key, when pending is a mapping
    for line in doc.split("\n"):
        text = line.lstrip(" ")
        if not text:
            continue
        first = text[0]
        if first == "#":
            continue
        col = len(line) - len(text)
        if col != cur_col or pending is not None or first in "-." or cur.__class__ is not dict:
            # not simply the next key of the open mapping
            entry = first == "-" and (len(text) == 1 or text[1] == " ")
            if col == cur_col and pending is None and entry and cur.__class__ is list:
                pass  # the next item of the open sequence
            elif pending is not None and (
                col > cur_col or (entry and col == cur_col and pending.__class__ is dict)
            ):
                # a nested block: deeper, or a sequence at its key's own column ("topics:\n- AI")
                if len(cols) > MAX_DEPTH:
                    raise _NotSimple
                cur = [] if entry else {}
                if pending.__class__ is dict:
                    pending[pending_key] = cur
                else:
                    pending[-1] = cur
                cols.append(col)
                opened.append(cur)
            else:
                if col == 0 and first in "-." and text[:3] in ("---", "..."):
                    raise _NotSimple  # a document marker, or text libyaml may take for one
                while cols[-1] > col:
                    cols.pop()
                    opened.pop()
                if cols[-1] != col:
                    raise _NotSimple  # an indentation no open collection has
                cur = opened[-1]
                if not entry and cur.__class__ is list and cols[-2] == col:
                    cols.pop()  # a key at the column of a sequence with no key of its own ends it
                    opened.pop()
                    cur = opened[-1]
            cur_col = col
            pending = None
            if entry:
                if cur.__class__ is not list:
                    raise _NotSimple
                text = text[1:].lstrip(" ")
                if not text or text[0] == "#":
                    cur.append(None)
                    pending = cur
                    continue
                split = text.find(": ")
                if split == -1 and text[-1] == ":":
                    split = len(text) - 1
                if split == -1 or text[0] in "\"'" or " #" in text[:split]:
                    # not "- key: value", or the ": " is in a comment
                    value = scalars.get(text, _MISSING)
                    if value is _MISSING:
                        value = _SCALARS.add(text)
                    cur.append(value)
                    continue
                # "- key: value" opens a mapping whose further keys align with this one
                if len(cols) > MAX_DEPTH:
                    raise _NotSimple
                mapping: dict[Any, Any] = {}
                cur.append(mapping)
                cur = mapping
                cur_col = len(line) - len(text)
                cols.append(cur_col)
                opened.append(cur)
            elif cur.__class__ is not dict:
                raise _NotSimple
        key_text, colon, value_text = text.partition(": ")
        if not colon:
            if text[-1] != ":":
                raise _NotSimple
            key_text = text[:-1]
        key = keys.get(key_text, _MISSING)
        if key is _MISSING:
            key = _KEYS.add(key_text)
        if not value_text:
            cur[key] = None
            pending = cur
            pending_key = key
            continue
        first = value_text[0]
        if first == '"':
            inner = value_text[1:-1]
            closed = value_text[-1] == '"' and value_text != '"'
            if closed and '"' not in inner and "\\" not in inner:
                cur[key] = inner  # the usual "text": no escapes, nothing after it
                continue
        elif first not in " #":
            value = scalars.get(value_text, _MISSING)
            if value is _MISSING:
                value = _SCALARS.add(value_text)
            cur[key] = value
            continue
        value_text = value_text.lstrip(" ")
        if not value_text or value_text[0] == "#":
            cur[key] = None
            pending = cur
            pending_key = key
        else:
            cur[key] = _scalar(value_text)
    return top[0]


def _simple_key(text: str) -> object:
    """The value of a plain mapping key; _NotSimple for a key this path leaves alone."""
    first = text[:1]
    if (
        not first
        or (first in _INDICATORS and (first != "-" or text[1:2] in ("", " ")))
        or len(text) > _MAX_SIMPLE_KEY
        or text[-1] in " :"
        or " #" in text
    ):
        raise _NotSimple
    return plain_scalar(text)


def _scalar(text: str) -> object:
    """The value of a one-line scalar that ends its line (``text`` starts at the scalar)."""
    first = text[0]
    if first in "\"'":
        return _quoted(text)
    if first in _INDICATORS and (first != "-" or text[1:2] in ("", " ")):
        raise _NotSimple
    return _plain(text)


def _plain(text: str) -> object:
    comment = text.find(" #")
    if comment != -1:
        text = text[:comment]
    if ": " in text or text[-1] == ":":
        raise _NotSimple  # a mapping value where libyaml allows none
    return plain_scalar(text.rstrip(" "))


def _quoted(text: str) -> str:
    """A one-line single- or double-quoted scalar followed only by spaces or a comment."""
    if text[0] == "'":
        end = text.find("'", 1)
        while end != -1 and text[end + 1 : end + 2] == "'":
            end = text.find("'", end + 2)
        if end == -1:
            raise _NotSimple
        value = text[1:end].replace("''", "'")
    else:
        end = text.find('"', 1)
        if end == -1:
            raise _NotSimple
        if text.find("\\", 1, end) == -1:
            value = text[1:end]
        else:
            match = _DOUBLE_QUOTED.match(text)
            if match is None:
                raise _NotSimple
            end = match.end() - 1
            value = _ESCAPE.sub(_unescape, match[1])
    rest = text[end + 1 :]
    if rest and (rest[0] != " " or rest.lstrip(" ")[:1] not in ("", "#")):
        raise _NotSimple
    return value


def _unescape(match: re.Match[str]) -> str:
    if match[1] is not None:
        return _ESCAPED[match[1]]
    code = int(match[2] or match[3] or match[4], 16)
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        raise _NotSimple  # libyaml refuses these; the pure-Python reader does not
    return chr(code)


# One pair per process: the scanner's keys, and its values as they follow "key: " or "- ".
_KEYS = _Memo(_simple_key)
_SCALARS = _Memo(_scalar)
