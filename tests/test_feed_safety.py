"""Hostile feeds (DESIGN.md §3b Safety): entity-expansion bombs are refused within a few MB and
well under a second, no external entity or DTD is ever read, a local file never reaches an item,
and fetching is refused on an expat without amplification limits."""

from __future__ import annotations

import pyexpat
import time
import tracemalloc
import xml.sax
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.feeds.model import FeedError, ParsedFeed
from bot.feeds.parse import parse_feed
from bot.feeds.safety import PROLOG_SCAN_BYTES, check_expat
from bot.feeds.xmlfeed import parse_xml_feed
from tests.fixtures.feed_files import XXE_SECRET_PATH, feed_body, xxe_secret

FEED_URL = "https://feeds.example/feed.xml"
FEW_MB = 4_000_000
ENTITIES_REFUSED = r"^entity declarations are refused"
Parser = Callable[..., ParsedFeed]


def measured(parser: Parser, body: bytes) -> tuple[ParsedFeed | FeedError, float, int]:
    """What parser gives for body (the feed or the FeedError), seconds taken, peak bytes
    allocated."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        outcome: ParsedFeed | FeedError = parser(body, url=FEED_URL, content_type=None)
    except FeedError as exc:
        outcome = exc
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return outcome, elapsed, peak


# --------------------------------------------------------------------------- entity bombs


def test_billion_laughs_is_refused_quickly_in_little_memory() -> None:
    outcome, elapsed, peak = measured(parse_feed, feed_body("billion_laughs.xml"))
    assert isinstance(outcome, FeedError)
    assert str(outcome).startswith("entity declarations are refused")
    assert elapsed < 1.0
    assert peak < FEW_MB


def test_without_the_prolog_scan_the_bomb_still_does_not_expand() -> None:
    """Defence in depth: feedparser drops the DOCTYPE's entities, and expat has limits."""
    outcome, elapsed, peak = measured(parse_xml_feed, feed_body("billion_laughs.xml"))
    assert elapsed < 1.0
    assert peak < FEW_MB
    if isinstance(outcome, ParsedFeed):
        assert "lollol" not in repr(outcome)


def test_this_pythons_expat_refuses_a_bomb_on_its_own() -> None:
    """What check_expat relies on: expat 2.4.1+ stops the amplification itself."""

    started = time.perf_counter()
    with pytest.raises(xml.sax.SAXParseException, match="amplification"):
        xml.sax.parseString(feed_body("billion_laughs.xml"), xml.sax.ContentHandler())
    assert time.perf_counter() - started < 1.0


LOL = b'<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
RSS = b'<rss version="2.0"><channel><title>&lol2;</title></channel></rss>'


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE rss [" + LOL + b"]>" + RSS,
        # behind a comment and a processing instruction that hold "<a" and "<b"
        b"<?xml version='1.0'?><!-- <a> --><?pi <b ?><!DOCTYPE rss [" + LOL + b"]>" + RSS,
        # behind a quoted "]>" and "<q" in another declaration
        b'<!DOCTYPE rss [<!ATTLIST rss a CDATA "]><q">' + LOL + b"]>" + RSS,
        # lower case, parameter entities, a public id before the subset
        b"<!doctype rss [<!entity lol 'lol'>]>" + RSS,
        b'<!DOCTYPE rss [<!ENTITY % pe "<!ENTITY lol \'x\'>"> %pe;]>' + RSS,
        b'<!DOCTYPE rss PUBLIC "-//X//Y" "x.dtd" [' + LOL + b"]>" + RSS,
        # UTF-16 (both orders, with and without a byte order mark), UTF-32, EBCDIC
        ("<!DOCTYPE rss [" + LOL.decode() + "]>" + RSS.decode()).encode("utf-16"),
        ("<!DOCTYPE rss [" + LOL.decode() + "]>" + RSS.decode()).encode("utf-16-be"),
        ("<!DOCTYPE rss [" + LOL.decode() + "]>" + RSS.decode()).encode("utf-32-le"),
        ('<?xml version="1.0" encoding="cp037"?><!DOCTYPE rss [<!ENTITY a "b">]><rss/>').encode(
            "cp037"
        ),
    ],
    ids=[
        "plain", "behind-comment", "quoted-close", "lower-case", "parameter", "public-id",
        "utf-16", "utf-16-be", "utf-32-le", "ebcdic",
    ],
)  # fmt: skip
def test_entity_declarations_are_refused_however_written(body: bytes) -> None:
    with pytest.raises(FeedError, match=ENTITIES_REFUSED):
        parse_feed(body, url=FEED_URL, content_type="application/xml")


UTF7_ENTITY = b'<!DOCTYPE rss [+ADw-!ENTITY lol "SEEN">]>' + RSS.replace(b"&lol2;", b"&lol;")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (UTF7_ENTITY, "application/xml; charset=utf-7"),
        (UTF7_ENTITY, 'text/xml; charset="UTF-7"'),
        (b'<?xml version="1.0" encoding="utf-7"?>' + UTF7_ENTITY, None),
        (
            '<?xml version="1.0" encoding="cp500"?><!DOCTYPE rss [<!ENTITY a "b">]><rss/>'.encode(
                "cp500"
            ),
            "application/xml; charset=cp500",
        ),
    ],
    ids=["utf-7-charset", "utf-7-quoted-charset", "utf-7-declaration", "ebcdic-cp500"],
)
def test_entity_declarations_are_refused_in_the_encoding_the_feed_names(
    body: bytes, content_type: str | None
) -> None:
    """UTF-7 spells "<" as "+ADw-": the prolog is read in the declared encoding too."""
    with pytest.raises(FeedError, match=ENTITIES_REFUSED):
        parse_feed(body, url=FEED_URL, content_type=content_type)


def test_a_prolog_padded_past_the_scan_is_refused() -> None:
    padding = b"<!--" + b"x" * PROLOG_SCAN_BYTES + b"-->"
    body = padding + b"<!DOCTYPE rss [" + LOL + b"]>" + RSS
    with pytest.raises(FeedError, match="no XML element in the first"):
        parse_feed(body, url=FEED_URL, content_type=None)


def test_entity_text_inside_an_item_is_not_a_declaration() -> None:
    body = (
        b'<rss version="2.0"><channel><title>T</title><item><title>About DTDs</title>'
        b"<link>https://x.example/dtd</link><description><![CDATA[Write <!ENTITY x 'y'> in"
        b" a DTD]]></description></item></channel></rss>"
    )
    (item,) = parse_feed(body, url=FEED_URL, content_type=None).items
    assert item.title == "About DTDs"


# --------------------------------------------------------------------------- local files


@pytest.fixture
def secret() -> Iterator[str]:
    with xxe_secret() as value:
        yield value


def test_xxe_to_a_local_file_is_refused_and_reads_nothing(secret: str) -> None:
    with pytest.raises(FeedError, match=ENTITIES_REFUSED) as caught:
        parse_feed(feed_body("xxe_local_file.xml"), url=FEED_URL, content_type="application/xml")
    assert secret not in str(caught.value)


def test_without_the_prolog_scan_xxe_still_reads_nothing(secret: str) -> None:
    outcome, _, _ = measured(parse_xml_feed, feed_body("xxe_local_file.xml"))
    assert secret not in repr(outcome)


def test_an_external_dtd_is_never_read(tmp_path: Path) -> None:
    dtd_secret = f"DTD-SECRET-{time.time_ns()}"
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY xxe "{dtd_secret}"><!ENTITY % p "{dtd_secret}">')
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file://{dtd}">'
        '<rss version="2.0"><channel><title>t &xxe;</title>'
        "<item><title>a &xxe;</title><link>https://a.example/</link>"
        "<description>&xxe;</description></item></channel></rss>"
    ).encode()
    outcome, _, _ = measured(parse_feed, body)
    assert dtd_secret not in repr(outcome)
    assert isinstance(outcome, ParsedFeed)  # the DOCTYPE itself is harmless: the items load


def test_a_body_that_is_a_path_or_url_is_not_opened(secret: str) -> None:
    for body in (str(XXE_SECRET_PATH).encode(), f"file://{XXE_SECRET_PATH}".encode()):
        outcome, _, _ = measured(parse_feed, body)
        assert isinstance(outcome, FeedError)
        assert secret not in str(outcome)


# --------------------------------------------------------------------------- expat version


def test_check_expat_accepts_this_python() -> None:
    assert check_expat() is None
    assert check_expat(pyexpat.EXPAT_VERSION) is None


@pytest.mark.parametrize(
    ("version", "refused"),
    [
        ("expat_2.4.1", False),
        ("expat_2.6.3", False),
        ("expat_3.0.0", False),
        ("expat_2.4.0", True),
        ("expat_2.2.10", True),
        ("expat_1.95.8", True),
        ("expat_2.5", False),
        ("expat_2.4", True),
        ("unknown", True),
    ],
)
def test_check_expat_refuses_versions_before_2_4_1(version: str, refused: bool) -> None:
    reason = check_expat(version)
    assert (reason is not None) == refused
    if reason is not None:
        assert reason.startswith("feeds are not fetched")
        assert version in reason
