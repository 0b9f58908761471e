"""What keeps a hostile feed harmless before any XML parser sees it. Pure.

No external entity or DTD is ever fetched: feedparser turns external general entities off in
xml.sax and strips the DOCTYPE itself. On top of that a feed that declares its own entities is
refused here, by a bounded scan of the prolog, so neither an entity-expansion bomb nor an
external entity reaches a parser; and expat older than 2.4.1 (no amplification limits) is
refused at start-up.
"""

from __future__ import annotations

import pyexpat
import re

from bot.feeds.model import FeedError

MIN_EXPAT = (2, 4, 1)  # the first expat that refuses entity-expansion bombs on its own
PROLOG_SCAN_BYTES = 65_536  # real prologs are a few hundred bytes
_EBCDIC_XML_DECL = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC, which feedparser also reads
# What ends a stretch of a markup declaration: a quote, its end, or an internal subset.
_DECLARATION_STOP = re.compile(r"[\"'>\[]")
# The encoding an XML declaration names; bounded, searched in its first 512 characters only.
_XML_ENCODING = re.compile(
    r"""<\?xml\s[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:\-]{1,40})["']"""
)
_NAME_END = re.compile(r"[\s>/\[\"']")


def check_expat(version: str = pyexpat.EXPAT_VERSION) -> str | None:
    """None when expat (``pyexpat.EXPAT_VERSION``, "expat_2.5.0") is 2.4.1 or newer, else the
    reason fetching feeds is refused."""
    numbers = version.removeprefix("expat_").split(".")
    try:
        found = tuple(int(number) for number in numbers)
    except ValueError:
        found = ()
    if not 1 <= len(found) <= 3:
        return f"feeds are not fetched: cannot tell the expat version from {version!r}"
    found += (0,) * (3 - len(found))  # "2.5" is 2.5.0
    if found < MIN_EXPAT:
        return (
            f"feeds are not fetched: Python links {version}, older than expat 2.4.1, which"
            " would not refuse an entity-expansion bomb; use a Python built with a newer expat"
        )
    return None


def root_element(body: bytes, content_type: str | None = None) -> str | None:
    """The name of the document's first element, after a prolog checked to be safe; None when
    the body has no element (not XML). FeedError when the prolog declares an entity, or is
    longer than PROLOG_SCAN_BYTES (a prolog padded to hide one).

    The prolog is read as the parser may read it: as an ASCII-compatible encoding (UTF-16 and
    UTF-32 too, their zero bytes dropped; EBCDIC by its signature), and also in each encoding
    the Content-Type's charset or the XML declaration names (UTF-7 can spell "<!ENTITY" in
    letters and digits)."""
    head = body[:PROLOG_SCAN_BYTES]
    truncated = len(body) > PROLOG_SCAN_BYTES
    plain = _plain_view(head)
    root = _scanned_root(plain, truncated)
    for encoding in _declared_encodings(plain, content_type):
        view = _decoded(head, encoding)
        if view is not None:
            _scanned_root(view, truncated)
    return root


def _plain_view(head: bytes) -> str:
    if head.startswith(_EBCDIC_XML_DECL):
        return head.decode("cp037")
    return head.replace(b"\x00", b"").decode("latin-1")


def _declared_encodings(plain: str, content_type: str | None) -> set[str]:
    names = set()
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            names.add(value.strip().strip("\"'").lower())
    declared = _XML_ENCODING.search(plain, 0, 512)
    if declared:
        names.add(declared[1].lower())
    return names


def _decoded(head: bytes, encoding: str) -> str | None:
    """head in encoding, unreadable bytes replaced; None for an encoding Python cannot
    decode with (unknown, or not a text encoding)."""
    try:
        return head.decode(encoding, "replace")
    except (LookupError, UnicodeError, ValueError):
        return None


def _scanned_root(head: str, truncated: bool) -> str | None:
    size = len(head)
    pos = 0
    while True:
        start = head.find("<", pos)
        if start < 0 or start + 1 >= size:
            break
        if head.startswith("<?", start):
            end = head.find("?>", start + 2)
            pos = end + 2 if end >= 0 else size
        elif head.startswith("<!--", start):
            end = head.find("-->", start + 4)
            pos = end + 3 if end >= 0 else size
        elif head.startswith("<!", start):
            keyword = _name_at(head, start + 2).upper()
            if keyword == "ENTITY":
                raise FeedError("entity declarations are refused (the feed's DOCTYPE declares one)")
            pos = _declaration_end(head, start + 2)
        elif head[start + 1].isalpha() or head[start + 1] in "_:":
            return _name_at(head, start + 1)
        else:
            pos = start + 1
    if truncated:
        raise FeedError(f"not a feed: no XML element in the first {PROLOG_SCAN_BYTES} bytes")
    return None


def _name_at(head: str, pos: int) -> str:
    match = _NAME_END.search(head, pos)
    return head[pos : match.start() if match else len(head)]


def _declaration_end(head: str, pos: int) -> int:
    """Where scanning goes on after the markup declaration whose name starts at pos: after its
    ">", or just inside a DOCTYPE's internal subset "[", so the declarations there are seen."""
    size = len(head)
    while pos < size:
        stop = _DECLARATION_STOP.search(head, pos)
        if stop is None:
            break
        pos = stop.start()
        char = head[pos]
        if char in "\"'":
            end = head.find(char, pos + 1)
            pos = end + 1 if end >= 0 else size
        else:  # ">" or "["
            return pos + 1
    return size
