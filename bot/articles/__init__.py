"""One article file's bytes -> an Article plus warnings, or the reasons it is rejected. Pure.

The rules are DESIGN.md §3. YAML in the plain block style article files are written in (nested
``key: value`` and ``- item`` lines of one-line plain or quoted scalars) is read by a line scanner
here, ``_simple_yaml``; any other document, and every broken one, goes to libyaml's event parser
(``yaml.CSafeLoader``, or ``yaml.SafeLoader`` where libyaml is missing), whose events are built
into Python values in one iterative pass: anchors and aliases are refused at the first one (a
billion-laughs file never expands), nesting deeper than ``MAX_DEPTH`` is refused before libyaml
reads further (a 20,000-deep ``[[[[`` cannot recurse anywhere), and errors name their line. Both
resolve scalars with PyYAML's own safe resolver and constructors, so values are what
``yaml.safe_load`` would give; both are faster than ``yaml.load(..., Loader=CSafeLoader)``,
which composes a node tree first.
"""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit

import yaml
from yaml import events as _ev
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode


@dataclass(frozen=True, slots=True)
class Provider:
    name: str | None = None
    domain: str | None = None
    icon_url: str | None = None  # provider.images[0].url when http(s)


@dataclass(frozen=True, slots=True)
class Article:
    """What one file (or one entry of a file's related list) says about an article."""

    url: str  # webUrl as given (validated absolute http/https)
    canonical_url: str  # identity, see canonical_url()
    title: str
    published_at: datetime | None  # aware, UTC; None only for related stubs without a date
    excerpt: str | None = None
    quality: int | None = None  # 0-100
    heat: int | None = None  # None when unknown (-1 in the file)
    published: bool = False
    published_field: bool = True  # False: the file has no `published` key (so not published)
    topics: tuple[str, ...] = ()
    provider: Provider | None = None
    image_url: str | None = None
    category: str | None = None
    type: str | None = None
    original_url: str | None = None
    amp_url: str | None = None
    cdn_amp_url: str | None = None
    related: tuple[Article, ...] = ()  # stubs: no topics, not published, no related of their own


@dataclass(frozen=True, slots=True)
class FieldWarning:
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedFile:
    article: Article
    warnings: tuple[FieldWarning, ...] = field(default=())


class ArticleRejected(Exception):
    """The file cannot become an article; str(exc) is the reason shown to the operator."""

    @classmethod
    def too_large(cls, size: int, max_bytes: int) -> ArticleRejected:
        """A file over ``[ingest] max_file_bytes``."""
        return cls(f"file is {size} bytes; the limit is {max_bytes} ([ingest] max_file_bytes)")


@dataclass(frozen=True, slots=True)
class StoryEntry:
    """One line of a list or digest: a story shown once, as its best article."""

    article_id: int
    article: Article
    also: tuple[str, ...] = ()  # the story's other providers (names, or domains when unnamed)


# --------------------------------------------------------------------------------------------
# Limits and tables

DEFAULT_MAX_BYTES = 1_048_576
MAX_DEPTH = 64  # nesting of YAML collections; article files need 4
MAX_HEAT = 2**63 - 1  # fits an SQLite INTEGER

_Loader: Any = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
_SCALARS = SafeConstructor()  # only its scalar constructors are used; they keep no state
_SCALAR_CONSTRUCTORS = {
    tag: SafeConstructor.yaml_constructors[tag]
    for tag in (
        f"tag:yaml.org,2002:{name}"
        for name in ("str", "int", "float", "bool", "null", "timestamp", "binary")
    )
}
_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_UTC_SECONDS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
# PyYAML's implicit typing of plain scalars (YAML 1.1), by first character ("" for empty).
_IMPLICIT_RESOLVERS: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    first: tuple(resolvers)
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    if first is not None
}
_MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
_SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")

_BOM = b"\xef\xbb\xbf"
_CONTROLS = [*range(0x20), *range(0x7F, 0xA0)]
_CONTROL_TO_SPACE = dict.fromkeys(_CONTROLS, " ")
_EXCERPT_TABLE: dict[int, str | None] = dict.fromkeys(_CONTROLS)
_EXCERPT_TABLE[ord("\n")] = "\n"
_EXCERPT_TABLE[ord("\t")] = " "
_URL_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_HOST_OK = re.compile(r"[\w.\-:%]+")
# scheme://host[/path][?query][#fragment] with a plain host: no userinfo, port or IPv6, and
# no spaces or control characters anywhere. URLs of this shape skip urlsplit.
_URL_TAIL_CHAR = r"[^\s\x00-\x1f\x7f-\x9f"
_PLAIN_HTTP_URL = re.compile(
    r"(?i:(https?))://([\w\-]+(?:\.[\w\-]+)*)"
    rf"((?:/{_URL_TAIL_CHAR}?#]*)?)(?:\?({_URL_TAIL_CHAR}#]*))?(?:#{_URL_TAIL_CHAR}]*)?"
)
# The start of a _PLAIN_HTTP_URL up to its host: in a printable ASCII URL without spaces, what
# follows always completes the match (path, then ?query, then #fragment).
_PLAIN_HTTP_URL_HEAD = re.compile(
    r"(?i:https?)://[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*(?=[/?#]|\Z)"
)
_HAS_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_TRACKING_PARAMS = frozenset({"fbclid", "gclid"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

_QUOTES = {
    **dict.fromkeys("‘’‚‛′‵ʹʼ`´", "'"),
    **dict.fromkeys("“”„‟″‶«»〝〞〟", '"'),
    **dict.fromkeys("‹›", "'"),
    **dict.fromkeys("‐‑‒–—―−⁃﹘﹣－", "-"),
}
_PLAIN_PUNCT = str.maketrans(_QUOTES)
_NON_ALNUM_RUN = re.compile(r"[\W_]+")


# --------------------------------------------------------------------------------------------
# Public helpers


def canonical_url(url: str) -> str:
    """The identity of an article URL (DESIGN §3 Identity). ValueError unless absolute http(s).

    Scheme and host lowercased (IDNA hosts as punycode), ``www.`` and the default port dropped,
    userinfo and fragment dropped, trailing slashes dropped (the root path becomes empty),
    ``utm_*``, ``fbclid`` and ``gclid`` dropped from the query, the rest sorted by key then value.
    ``http`` and ``https`` stay distinct.
    """
    return _canonical(url, _PLAIN_HTTP_URL.fullmatch(url))


def _canonical(url: str, fast: re.Match[str] | None) -> str:
    """canonical_url(url), given ``_PLAIN_HTTP_URL.fullmatch(url)``."""
    if fast is not None and fast[2].isascii():  # the common shape, without urlsplit
        scheme, host, path, query = fast[1].lower(), fast[2].lower(), fast[3], fast[4]
        port = None
    else:
        parts = _split_http(url)
        scheme, path, query, port = parts.scheme.lower(), parts.path, parts.query, parts.port
        host = (parts.hostname or "").rstrip(".")
        if not host.isascii():
            # not IDNA 2003-encodable: keep the lowercased Unicode host
            with contextlib.suppress(UnicodeError):
                host = host.encode("idna").decode("ascii")
        if ":" in host:
            host = f"[{host}]"
    if host.startswith("www.") and "." in host[4:]:
        host = host[4:]
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = path.rstrip("/")
    if query:
        kept: list[tuple[str, str, str]] = []  # (key, value, the pair as written)
        for item in query.split("&"):
            if not item:
                continue
            key, _, value = item.partition("=")
            low = key.lower()
            if low.startswith("utm_") or low in _TRACKING_PARAMS:
                continue
            kept.append((key, value, item))
        kept.sort()
        query = "&".join(item for _, _, item in kept)
    return f"{scheme}://{netloc}{path}?{query}" if query else f"{scheme}://{netloc}{path}"


def story_key(title: str) -> str:
    """Titles that normalise alike belong to one story (DESIGN §3 Stories).

    NFKC, typographic quotes and dashes to plain ones, case-folded; apostrophes removed
    ("Let’s" and "Lets" match); every other run of punctuation or space becomes one space.
    A title with no letters or digits at all keys on its case-folded text instead of "".
    """
    if title.isascii():  # NFKC and the quote table change nothing in ASCII but "`"
        text = title.replace("`", "'").lower()
    else:
        # before NFKC too: it turns "´" into a space and a combining accent, "″" into two "′"
        text = unicodedata.normalize("NFKC", title.translate(_PLAIN_PUNCT))
        text = text.translate(_PLAIN_PUNCT).casefold()
    key = _NON_ALNUM_RUN.sub(" ", text.replace("'", "")).strip()
    return key or " ".join(text.split())


@functools.lru_cache(maxsize=4096)  # the writer keys every topic of every article: few distinct
def topic_key(name: str) -> str:
    """Case-insensitive topic identity: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


# --------------------------------------------------------------------------------------------
# Parsing


def parse_article(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedFile:
    """Read one article file. Raises ArticleRejected with the reason shown to the operator."""
    size = len(data)
    if size > max_bytes:
        raise ArticleRejected.too_large(size, max_bytes)
    if data.startswith(_BOM):
        data = data[3:]
    if b"\x00" in data:
        raise ArticleRejected("binary data (NUL bytes), not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ArticleRejected(
            f"not UTF-8 text: byte 0x{data[exc.start]:02X} at line {line} "
            f"(offset {exc.start}); save the file as UTF-8"
        ) from None
    if not text or text.isspace():
        raise ArticleRejected("empty file")
    if "\r" in text:
        text = text.replace("\r\n", "\n")

    doc, first_line = _front_matter(text)
    root = _load_yaml(doc, first_line)
    if not isinstance(root, dict):
        if root is None:
            raise ArticleRejected("front matter is empty, expected a mapping")
        if isinstance(root, str) and first_line == 1:
            raise ArticleRejected(
                "plain text, no front matter: expected a YAML mapping "
                "with title, webUrl and publishedDateTime"
            )
        raise ArticleRejected(f"front matter is {_kind(root)}, expected a mapping")
    return _build(root)


def _front_matter(text: str) -> tuple[str, int]:
    """The YAML part of a file and the line number (1-based) it starts at."""
    if text.startswith("---"):
        eol = text.find("\n")
        if eol == -1:
            eol = len(text)
        if not text[3:eol].strip(" \t"):
            pos = eol
            while (pos := text.find("\n---", pos)) != -1:
                end = text.find("\n", pos + 4)
                if not text[pos + 4 : end if end != -1 else len(text)].strip(" \t"):
                    return text[eol + 1 : pos + 1], 2
                pos += 4
            return text[eol:], 1  # no closing fence: the rest of the file is the document
    return text, 1


def _load_yaml(doc: str, first_line: int) -> object:
    """safe_load-equivalent values of one YAML document (``first_line``: its line in the file)."""
    value = _simple_yaml(doc)
    if value is not None:
        return value
    loader = None
    try:
        loader = _Loader(doc)  # the pure-Python reader checks characters here already
        return _values(loader, first_line - 1)
    except yaml.reader.ReaderError as exc:  # a character YAML does not accept
        char = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
        line = doc.count("\n", 0, max(doc.find(char), 0)) + first_line
        raise ArticleRejected(
            f"unacceptable character U+{ord(char[:1] or ' '):04X} at line {line}: {exc.reason}"
            " (not a text file?)"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark and "nesting depth" in (exc.problem or ""):
            # libyaml >= 0.2.6 (PyYAML 6.0.4 wheels) stops at 1,000 levels before our own cap
            raise ArticleRejected(
                f"YAML nested deeper than {MAX_DEPTH} levels at line {mark.line + first_line}"
            ) from None
        where = f" at line {mark.line + first_line}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ArticleRejected(f"YAML syntax error{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise ArticleRejected(f"YAML error: {' '.join(str(exc).split())}") from None
    except (RecursionError, MemoryError):
        raise ArticleRejected("YAML too complex to read") from None
    finally:
        if loader is not None:
            loader.dispose()


def _values(loader: Any, offset: int) -> object:
    """The events of one document as Python values, iteratively; no recursion at any depth."""
    stack: list[tuple[Any, Any]] = []
    cur: Any = None  # the open collection: list, or dict
    key: Any = _NO_KEY  # for a dict: the pending key, or _NO_KEY when a key comes next
    root: object = None
    documents = 0
    get_event = loader.get_event
    scalar_event = _ev.ScalarEvent
    while True:
        event = get_event()
        cls = event.__class__
        if cls is scalar_event:
            if event.anchor is not None:
                _refuse_anchor(event, offset)
            value = event.value
            tag = event.tag
            if tag is None or tag == "!":
                if event.implicit[0]:
                    value = _plain_scalar(value)
            elif tag != _STR_TAG:
                value = _construct_tagged(tag, event, offset)
        elif cls is _ev.MappingStartEvent or cls is _ev.SequenceStartEvent:
            if event.anchor is not None:
                _refuse_anchor(event, offset)
            mapping = cls is _ev.MappingStartEvent
            if event.tag not in (_MAP_TAGS if mapping else _SEQ_TAGS):
                raise ArticleRejected(
                    f"unsupported YAML tag {event.tag} at line {_line(event, offset)}"
                )
            if len(stack) >= MAX_DEPTH:
                raise ArticleRejected(
                    f"YAML nested deeper than {MAX_DEPTH} levels at line {_line(event, offset)}"
                )
            stack.append((cur, key))
            if mapping:
                cur, key = {}, _NO_KEY
            else:
                cur, key = [], None
            continue
        elif cls is _ev.MappingEndEvent or cls is _ev.SequenceEndEvent:
            value = cur
            cur, key = stack.pop()
        elif cls is _ev.AliasEvent:
            _refuse_anchor(event, offset)
        elif cls is _ev.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise ArticleRejected(
                    "expected one YAML document, found another at line "
                    f"{_line(event, offset)} (a '---' line without a leading '---' line?)"
                )
            continue
        elif cls is _ev.StreamEndEvent:
            return root
        else:
            continue
        # attach value to the open collection
        if cur is None:
            root = value
        elif cur.__class__ is list:
            cur.append(value)
        elif key is _NO_KEY:
            if value.__class__ is list or value.__class__ is dict:
                raise ArticleRejected(
                    f"a mapping key at line {_line(event, offset)} is {_kind(value)}; "
                    "keys must be plain values"
                )
            key = value
        else:
            cur[key] = value
            key = _NO_KEY


class _NoKey:
    __slots__ = ()


_NO_KEY: Any = _NoKey()


def _line(event: Any, offset: int) -> int:
    return event.start_mark.line + 1 + offset


def _refuse_anchor(event: Any, offset: int) -> None:
    raise ArticleRejected(f"YAML anchors and aliases are not allowed (line {_line(event, offset)})")


def _plain_scalar(value: str) -> object:
    """The value of a plain scalar: PyYAML's implicit resolvers (Resolver.resolve), then
    its safe constructors."""
    if len(value) == 20 and value[11:13] < "24" and _UTC_SECONDS.fullmatch(value) is not None:
        # "2020-06-25T21:16:00Z", the usual date-time: PyYAML's timestamp resolver is the one
        # that matches it, and its constructor builds what fromisoformat does (both tested)
        try:
            return datetime.fromisoformat(value)
        except ValueError:  # 2020-02-30...: left to PyYAML below
            pass
    resolvers = _IMPLICIT_RESOLVERS.get(value[:1])
    if resolvers is not None:
        for tag, regexp in resolvers:
            if regexp.match(value):
                return _construct_implicit(tag, value)
    return value


def _construct_implicit(tag: str, value: str) -> object:
    """A plain scalar PyYAML resolves to a non-string type; the text itself when it cannot
    be built (``2020-02-30``, a 5,000-digit int, ``=``), where safe_load would raise."""
    if tag == _INT_TAG and (value.isdecimal() or (value[1:].isdecimal() and value[0] in "+-")):
        digits = value.lstrip("+-")
        if digits[0] != "0" or digits == "0":  # plain decimal: no octal, no "_", no base 60
            try:
                return int(value)
            except ValueError:  # more digits than int() accepts
                return value
    elif tag == _BOOL_TAG:
        return _SCALARS.bool_values[value.lower()]
    elif tag == _NULL_TAG:
        return None
    construct = _SCALAR_CONSTRUCTORS.get(tag)
    if construct is None:
        return value
    try:  # the constructors read only the node's value
        return construct(_SCALARS, ScalarNode(tag, value))
    except (ValueError, TypeError, OverflowError, AttributeError, yaml.YAMLError):
        return value


def _construct_tagged(tag: str, event: Any, offset: int) -> object:
    """A scalar with an explicit tag: only PyYAML's safe scalar types are accepted. A value the
    tag cannot build (``!!int abc``, a timestamp with a seconds offset) stays text, so the field
    it belongs to is judged like any other wrong value."""
    construct = _SCALAR_CONSTRUCTORS.get(tag)
    if construct is None:
        raise ArticleRejected(f"unsupported YAML tag {tag} at line {_line(event, offset)}")
    node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return construct(_SCALARS, node)
    except (ValueError, TypeError, OverflowError, AttributeError, yaml.YAMLError):
        return event.value


# --------------------------------------------------------------------------------------------
# Fast path: the block YAML article files are written in, read without libyaml

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


class _NotSimple(Exception):
    """The document is outside what _simple_yaml reads."""


_MISSING: Any = object()
# Text -> value of the keys and short values seen before (most recur in every file), cleared
# when full. Values are immutable (PyYAML's .nan too is one object).
_SIMPLE_KEYS: dict[str, object] = {}
_SCALAR_VALUES: dict[str, object] = {}
_CACHE_SIZE = 4096
_CACHED_VALUE_LENGTH = 100  # so the cache holds kilobytes, whatever the files


def _simple_yaml(doc: str) -> object:
    """The value of a document in plain block style (nested ``key: value`` mappings and ``- ``
    sequences of one-line plain or quoted scalars), equal to what ``_values`` builds from
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
    keys = _SIMPLE_KEYS
    scalars = _SCALAR_VALUES
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
                        value = _scalar_value(text)
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
            key = _simple_key(key_text)
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
                value = _scalar_value(value_text)
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
    """The value of a plain mapping key (cached); _NotSimple for a key this path leaves alone."""
    first = text[:1]
    if (
        not first
        or (first in _INDICATORS and (first != "-" or text[1:2] in ("", " ")))
        or len(text) > _MAX_SIMPLE_KEY
        or text[-1] in " :"
        or " #" in text
    ):
        raise _NotSimple
    key = _plain_scalar(text)
    if len(_SIMPLE_KEYS) >= _CACHE_SIZE:
        _SIMPLE_KEYS.clear()
    _SIMPLE_KEYS[text] = key
    return key


def _scalar_value(text: str) -> object:
    """_scalar(text), cached (``text`` as it follows ``key: `` or ``- ``)."""
    value = _scalar(text)
    if len(text) <= _CACHED_VALUE_LENGTH:
        if len(_SCALAR_VALUES) >= _CACHE_SIZE:
            _SCALAR_VALUES.clear()
        _SCALAR_VALUES[text] = value
    return value


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
    return _plain_scalar(text.rstrip(" "))


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


# --------------------------------------------------------------------------------------------
# Fields


class _Invalid(Exception):
    """A field value that cannot be used; the message does not name the field."""


def _build(doc: dict[Any, Any]) -> ParsedFile:
    warnings: list[FieldWarning] = []
    try:
        title = _title(doc.get("title"))
    except _Invalid as exc:
        raise ArticleRejected(f"title: {exc}") from None
    try:
        url, canonical = _web_url(doc.get("webUrl"))
    except _Invalid as exc:
        raise ArticleRejected(f"webUrl: {exc}") from None
    try:
        published_at = _datetime(doc.get("publishedDateTime"))
    except _Invalid as exc:
        raise ArticleRejected(f"publishedDateTime: {exc}") from None
    if published_at is None:
        raise ArticleRejected("publishedDateTime: missing (required)")

    opt = _optional_fields(doc, "", warnings)
    published = _optional(doc, "published", _bool, "", warnings) or False
    topics = _topics(doc.get("topics"), "topics", warnings)
    related = _related(doc.get("related"), canonical, warnings)
    article = Article(
        url=url,
        canonical_url=canonical,
        title=title,
        published_at=published_at,
        published=published,
        topics=topics,
        related=related,
        **opt,
    )
    return ParsedFile(article, tuple(warnings))


def _optional_fields(
    doc: dict[Any, Any], prefix: str, warnings: list[FieldWarning]
) -> dict[str, Any]:
    """The optional fields an article and a related stub share, as Article keyword args
    (absent ones left to their default, None)."""
    fields: dict[str, Any] = {}
    for name, arg, check in _OPTIONAL_FIELDS:
        value = doc.get(name)
        if value is None:
            continue
        if check is None:
            fields[arg] = _provider(value, prefix + name, warnings)
            continue
        try:
            fields[arg] = check(value)
        except _Invalid as exc:
            warnings.append(FieldWarning(prefix + name, str(exc)))
    return fields


def _optional(
    doc: dict[Any, Any],
    name: str,
    check: Callable[[Any], Any],
    prefix: str,
    warnings: list[FieldWarning],
) -> Any:
    """check(value), or None with a warning naming the field; None when absent."""
    value = doc.get(name)
    if value is None:
        return None
    try:
        return check(value)
    except _Invalid as exc:
        warnings.append(FieldWarning(prefix + name, str(exc)))
        return None


def _title(value: object) -> str:
    if value is None:
        raise _Invalid("missing (required)")
    if not isinstance(value, str):
        raise _Invalid(f"must be text, got {_kind(value)}")
    title = _collapsed(value)
    if not title:
        raise _Invalid("is empty")
    return title


def _collapsed(text: str) -> str:
    """Control characters as spaces, whitespace runs as one space, stripped."""
    if text and text.isprintable() and "  " not in text and text[0] != " " and text[-1] != " ":
        return text  # already so: the only whitespace isprintable() lets through is " "
    if _HAS_CONTROL.search(text):
        text = text.translate(_CONTROL_TO_SPACE)
    return " ".join(text.split())


def _web_url(value: object) -> tuple[str, str]:
    if value is None:
        raise _Invalid("missing (required)")
    if isinstance(value, str):  # the usual shape matched once for both checks
        url = value.strip()
        fast = _PLAIN_HTTP_URL.fullmatch(url)
        if fast is not None:
            return url, _canonical(url, fast)
    url = _http_url(value)
    return url, canonical_url(url)


def _http_url(value: object) -> str:
    """An absolute http(s) URL, stripped; _Invalid otherwise."""
    if not isinstance(value, str):
        raise _Invalid(f"must be a URL, got {_kind(value)}")
    url = value.strip()
    if _is_plain_http_url(url):
        return url
    if not url:
        raise _Invalid("is empty")
    if _URL_SPACE_OR_CONTROL.search(url):
        raise _Invalid(f"{_show(url)} contains spaces or control characters")
    try:
        parts = _split_http(url)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    host = parts.hostname or ""
    if not _HOST_OK.fullmatch(host):
        raise _Invalid(f"{_show(url)} has an invalid host")
    return url


def _is_plain_http_url(url: str) -> bool:
    """Whether _PLAIN_HTTP_URL matches the whole of url; for a printable ASCII URL, faster."""
    if url.isascii() and url.isprintable() and " " not in url:
        return _PLAIN_HTTP_URL_HEAD.match(url) is not None
    return _PLAIN_HTTP_URL.fullmatch(url) is not None


def _split_http(url: str) -> SplitResult:
    """urlsplit for absolute http(s) URLs with a host and a valid port; ValueError otherwise."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ValueError(f"{_show(url)} is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        if not scheme or not url[len(scheme) :].startswith(":"):
            raise ValueError(f"{_show(url)} is not an absolute http(s) URL")
        raise ValueError(f"{_show(url)} is a {scheme}: URL, expected http or https")
    if not parts.hostname:
        raise ValueError(f"{_show(url)} has no host")
    return parts


def _datetime(value: object) -> datetime | None:
    """Aware UTC datetime; naive values are UTC. None when the value is absent."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _Invalid(f"{_show(value)} is not an ISO 8601 date-time") from None
    else:
        raise _Invalid(f"{_show(value)} is not an ISO 8601 date-time")
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _Invalid(f"{_show(value)} is out of range in UTC") from None


def _excerpt(value: object) -> str | None:
    if not isinstance(value, str):
        raise _Invalid(f"must be text, got {_kind(value)}")
    has_control = not value.isprintable() and _HAS_CONTROL.search(value)  # controls never are
    text = value.translate(_EXCERPT_TABLE) if has_control else value
    text = text.strip()
    return text or None


def _label(value: object) -> str | None:
    if not isinstance(value, str):
        raise _Invalid(f"must be text, got {_kind(value)}")
    return _collapsed(value) or None


def _whole_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"{_show(value)} is not a number")
    if isinstance(value, float):
        if not value.is_integer():
            raise _Invalid(f"{_show(value)} is not a whole number")
        return int(value)
    return value


def _quality(value: object) -> int:
    number = _whole_number(value)
    if not 0 <= number <= 100:
        raise _Invalid(f"{_show(value)} is out of range 0-100")
    return number


def _heat(value: object) -> int | None:
    number = _whole_number(value)
    if not -1 <= number <= MAX_HEAT:
        raise _Invalid(f"{_show(value)} is out of range (-1 for unknown, or 0 and up)")
    return None if number == -1 else number


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"{_show(value)} is not true or false")
    return value


def _topics(value: object, where: str, warnings: list[FieldWarning]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[object] = [value]
        single = True
    elif isinstance(value, list):
        items = value
        single = False
    else:
        warnings.append(FieldWarning(where, f"must be a list of topics, got {_kind(value)}"))
        return ()
    topics: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        here = where if single else f"{where}[{index}]"
        if not isinstance(item, str):
            warnings.append(FieldWarning(here, f"{_show(item)} is not a topic name"))
            continue
        name = _collapsed(item)
        if not name:
            warnings.append(FieldWarning(here, "is empty"))
            continue
        key = topic_key(name)
        if key not in seen:
            seen.add(key)
            topics.append(name)
    return tuple(topics)


def _provider(value: object, where: str, warnings: list[FieldWarning]) -> Provider | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        warnings.append(FieldWarning(where, f"must be a mapping, got {_kind(value)}"))
        return None
    name = domain = icon = None
    try:
        name = None if value.get("name") is None else _label(value["name"])
    except _Invalid as exc:
        warnings.append(FieldWarning(f"{where}.name", str(exc)))
    try:
        domain = None if value.get("domain") is None else _label(value["domain"])
        domain = domain.lower() if domain else None
    except _Invalid as exc:
        warnings.append(FieldWarning(f"{where}.domain", str(exc)))
    images = value.get("images")
    if images is not None:
        try:
            if not isinstance(images, list):
                raise _Invalid(f"must be a list, got {_kind(images)}")
            if images:
                icon = _image_entry_url(images[0])
        except _Invalid as exc:
            warnings.append(FieldWarning(f"{where}.images", str(exc)))
    if name is None and domain is None and icon is None:
        return None
    return Provider(name=name, domain=domain, icon_url=icon)


def _image_entry_url(entry: object) -> str:
    url = entry.get("url") if isinstance(entry, dict) else entry
    if url is None:
        raise _Invalid("first image has no url")
    return _http_url(url)


def _images(value: object) -> str | None:
    if not isinstance(value, list):
        raise _Invalid(f"must be a list, got {_kind(value)}")
    first_problem: str | None = None
    for entry in value:
        try:
            return _image_entry_url(entry)
        except _Invalid as exc:
            first_problem = first_problem or str(exc)
    if first_problem is not None:
        raise _Invalid(f"no usable http(s) image: {first_problem}")
    return None


# (key in the file, Article field, check) in the order their warnings are given; provider's
# check (None) is _provider, which warns for its own sub-fields
_OPTIONAL_FIELDS: tuple[tuple[str, str, Callable[[Any], Any] | None], ...] = (
    ("excerpt", "excerpt", _excerpt),
    ("quality", "quality", _quality),
    ("heat", "heat", _heat),
    ("provider", "provider", None),
    ("images", "image_url", _images),
    ("category", "category", _label),
    ("type", "type", _label),
    ("originalUrl", "original_url", _http_url),
    ("ampWebUrl", "amp_url", _http_url),
    ("cdnAmpWebUrl", "cdn_amp_url", _http_url),
)


def _related(
    value: object, own_canonical: str, warnings: list[FieldWarning]
) -> tuple[Article, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        warnings.append(FieldWarning("related", f"must be a list, got {_kind(value)}"))
        return ()
    stubs: list[Article] = []
    seen = {own_canonical}
    for index, entry in enumerate(value):
        where = f"related[{index}]"
        if not isinstance(entry, dict):
            warnings.append(FieldWarning(where, f"must be a mapping, got {_kind(entry)}"))
            continue
        try:
            title = _title(entry.get("title"))
        except _Invalid as exc:
            warnings.append(FieldWarning(where, f"title: {exc}"))
            continue
        try:
            url, canonical = _web_url(entry.get("webUrl"))
        except _Invalid as exc:
            warnings.append(FieldWarning(where, f"webUrl: {exc}"))
            continue
        if canonical in seen:
            continue  # the article itself, or an entry already listed
        seen.add(canonical)
        prefix = where + "."
        try:
            published_at = _datetime(entry.get("publishedDateTime"))
        except _Invalid as exc:
            warnings.append(FieldWarning(prefix + "publishedDateTime", str(exc)))
            published_at = None
        stubs.append(
            Article(
                url=url,
                canonical_url=canonical,
                title=title,
                published_at=published_at,
                **_optional_fields(entry, prefix, warnings),
            )
        )
    return tuple(stubs)


# --------------------------------------------------------------------------------------------
# Messages


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime | date):
        return "a date"
    if isinstance(value, bytes):
        return "binary data"
    return type(value).__name__


def _show(value: object, limit: int = 60) -> str:
    """A short, quoted, single-line rendering of a value for a reason."""
    if isinstance(value, list | dict):
        return _kind(value)
    text = repr(value) if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
