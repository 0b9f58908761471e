"""OPML in and out (`newsbot feeds import` / `export`). Reading is safe: expat with no DTD and
no entity declaration allowed, so an OPML file can neither expand nor fetch anything. Pure."""

from __future__ import annotations

import pyexpat
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

MAX_OPML_BYTES = 10_485_760  # an OPML of 10 MiB lists some 50,000 feeds


class OpmlError(Exception):
    """The file is not OPML that can be read; str(exc) says why."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str  # the outline's xmlUrl, as written
    title: str | None  # its title, else its text


def read_opml(data: bytes) -> list[OpmlFeed]:
    """Every outline with an xmlUrl, in document order (nested folders flattened)."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"larger than {MAX_OPML_BYTES} bytes")
    parser = pyexpat.ParserCreate()
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    found: list[OpmlFeed] = []
    root: list[str] = []

    def refuse_doctype(*_args: object) -> None:
        raise OpmlError("a DOCTYPE is not allowed in OPML here (no DTD or entity is read)")

    def refuse_entity(*_args: object) -> None:
        raise OpmlError("entity declarations are not allowed")

    def refuse_external(*_args: object) -> int:
        raise OpmlError("external entities are not allowed")

    def start(name: str, attrs: dict[str, str]) -> None:
        if not root:
            root.append(name)
            if name.lower() != "opml":
                raise OpmlError(f"not OPML: the root element is <{name[:40]}>, not <opml>")
        if name == "outline":
            url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
            if url:
                title = (attrs.get("title") or attrs.get("text") or "").strip()
                found.append(OpmlFeed(url, " ".join(title.split()) or None))

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = refuse_external
    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except pyexpat.ExpatError as exc:
        reason = pyexpat.ErrorString(exc.code)
        raise OpmlError(f"malformed XML at line {exc.lineno}: {reason}") from None
    if not root:
        raise OpmlError("not OPML: no element")
    return found


def write_opml(feeds: Sequence[OpmlFeed], title: str = "newsbot feeds") -> str:
    """OPML 2.0 listing these feeds."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{escape(title)}</title></head>",
        "  <body>",
    ]
    for feed in feeds:
        text = quoteattr(feed.title or feed.url)
        lines.append(
            f'    <outline type="rss" text={text} title={text} xmlUrl={quoteattr(feed.url)}/>'
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)
