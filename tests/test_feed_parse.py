"""parse_feed over the fixture feeds (tests/fixtures/feeds/): RSS 0.9x/1.0/2.0, Atom, JSON Feed,
wrong Content-Types, relative links, missing dates, repeats, malformed XML, and text and URL
rules (DESIGN.md §3b). The hostile XML (entities, XXE) is in test_feed_safety.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.feeds.collect import MAX_WARNINGS
from bot.feeds.links import http_url
from bot.feeds.model import FeedError, FeedItem, ParsedFeed
from bot.feeds.parse import parse_feed
from bot.feeds.text import cut_at_word, html_text
from tests.fixtures.feed_files import CONTENT_TYPES, feed_body

FEED_URL = "https://feeds.example/path/feed.xml"


def parse(name: str, content_type: str | None = None, url: str = FEED_URL) -> ParsedFeed:
    return parse_feed(feed_body(name), url=url, content_type=content_type or CONTENT_TYPES[name])


def by_title(feed: ParsedFeed) -> dict[str | None, FeedItem]:
    return {item.title: item for item in feed.items}


# --------------------------------------------------------------------------- RSS 2.0


def test_rss2_cdata_titles_and_html_summaries_become_plain_text() -> None:
    feed = parse("rss2_cdata_media.xml")
    assert feed.title == "The Example Ledger"
    assert feed.site_url == "https://www.ledger.example/"
    assert feed.warnings == ()
    first, second = feed.items[0], feed.items[1]
    assert first.title == "Robots learn to fold laundry & towels"
    # script and style content dropped, paragraphs on their own lines, entities decoded
    assert first.summary == "A lab taught robots to fold laundry.\nSecond paragraph été."
    # an entity-escaped HTML summary and title are stripped too
    assert second.title == 'Markets rally after the "news"'
    assert second.summary == "Escaped HTML summary with a link."


def test_rss2_link_guid_date_and_categories() -> None:
    first = parse("rss2_cdata_media.xml").items[0]
    assert first.link == (
        "https://www.ledger.example/2026/11/robots-laundry?utm_source=rss&utm_medium=feed"
    )
    assert first.guid == "ledger-1001"
    assert first.published == datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # +0100 -> UTC
    assert first.categories == ("AI", "Robotics", "Home & Garden")


def test_image_precedence_thumbnail_then_media_image_then_image_enclosure() -> None:
    items = parse("rss2_cdata_media.xml").items
    # media:thumbnail (relative: resolved against the feed URL) wins over media:content
    assert items[0].image_url == "https://feeds.example/images/robots-thumb.jpg"
    # a video media:content is skipped for the image one
    assert items[1].image_url == "https://cdn.ledger.example/markets.png"
    # an audio enclosure is skipped for the image one
    assert items[2].image_url == "https://cdn.ledger.example/cover.jpg"


def test_non_http_images_and_links_are_dropped() -> None:
    items = by_title(parse("rss2_cdata_media.xml"))
    assert items["Hostile image URLs"].image_url is None  # javascript:, data:, file:
    no_link = items["No usable link"]
    assert no_link.link is None  # javascript: link
    assert no_link.guid == "ledger-1005"


# --------------------------------------------------------------------------- Atom, RSS 1.0


def test_atom_xhtml_content_updated_only_and_xml_base() -> None:
    feed = parse("atom_xhtml.xml")
    assert feed.title == "Field Notes"
    assert feed.site_url == "https://blog.example.net/"
    first, second = feed.items
    assert first.title == "Why xhtml content still matters"
    assert first.link == "https://blog.example.net/journal/2026/xhtml-matters"
    assert first.summary == "First paragraph with a relative link.\none\ntwo"
    assert first.published == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # <updated>, +02:00
    assert first.categories == ("web", "standards")
    assert first.guid == "tag:blog.example.net,2026:xhtml-matters"
    # an entry's own xml:base; an image enclosure link; the summary before the content
    assert second.link == "https://other.example.org/elsewhere/page.html"
    assert second.image_url == "https://other.example.org/elsewhere/cover.webp"
    assert second.title == "Plain text title & ampersand"
    assert second.summary == "An html summary."


def test_rss1_rdf() -> None:
    feed = parse("rss1_rdf.xml")
    assert feed.title == "RDF Times"
    assert [item.link for item in feed.items] == [
        "https://rdf.example.com/a/one",
        "https://rdf.example.com/a/two",
    ]
    one = feed.items[0]
    assert one.summary == "The first RDF item."
    assert one.published == datetime(2026, 11, 20, 19, 30, tzinfo=UTC)
    assert one.categories == ("Science",)


def test_rss091_with_netscape_doctype_parses() -> None:
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS'
        b' 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
        b'<rss version="0.91"><channel><title>Old</title><link>http://old.example/</link>'
        b"<item><title>Old item</title><link>http://old.example/1</link></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, url=FEED_URL, content_type="text/xml")
    assert [(i.title, i.link) for i in feed.items] == [("Old item", "http://old.example/1")]


# --------------------------------------------------------------------------- JSON Feed


def test_json_feed_1_1() -> None:
    feed = parse("jsonfeed_1_1.json")
    assert feed.title == "JSON Dispatch"
    assert feed.site_url == "https://www.dispatch.example/"
    assert feed.warnings == ("item 4: not an object, skipped", "item 5: no title or link, skipped")
    one, two, three = feed.items
    assert one.link == "https://www.dispatch.example/posts/1?fbclid=abc"
    assert one.guid == "https://www.dispatch.example/posts/1"
    assert one.summary == "A short plain summary."  # summary before content
    assert one.image_url == "https://img.dispatch.example/one.jpg"  # image before banner_image
    assert one.published == datetime(2026, 11, 22, 18, 0, tzinfo=UTC)  # date_published first
    assert one.categories == ("AI", "ai", "Policy")
    # a numeric id, a relative url (against feed_url), no title, banner_image, date_modified
    assert two.guid == "2"
    assert two.link == "https://www.dispatch.example/posts/2"
    assert two.title is None
    assert two.summary is not None and two.summary.startswith("An untitled microblog post")
    assert two.image_url == "https://www.dispatch.example/img/two-banner.png"
    assert two.published == datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    # external_url when there is no url; a javascript: image dropped; no date
    assert three.link == "https://elsewhere.example/story"
    assert three.image_url is None
    assert three.published is None
    assert three.summary == "Pointing elsewhere"


@pytest.mark.parametrize("content_type", ["application/feed+json", "application/json", None])
def test_json_feed_is_detected_by_type_or_by_its_first_byte(content_type: str | None) -> None:
    assert len(parse("jsonfeed_1_1.json", content_type).items) == 3


def test_json_feed_content_html_is_html_and_content_text_is_not() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1", "items": ['
        b'{"id": "1", "url": "https://j.example/1", "content_html": "<p>a <b>b</b></p><script>x'
        b'</script>"},'
        b'{"id": "2", "url": "https://j.example/2", "content_text": "1 < 2 <and> 3"}]}'
    )
    one, two = parse_feed(body, url=FEED_URL, content_type=None).items
    assert one.summary == "a b"
    assert two.summary == "1 < 2 <and> 3"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"title": "no version", "items": []}', "not a feed: JSON without a JSON Feed version"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "without an items list"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "malformed JSON"),
        (b"[" * 100_000, "not a feed: JSON nested too deeply"),  # the content type says JSON
        (b"[1, 2]", "not a feed: JSON that is not an object"),
    ],
)
def test_json_that_is_not_a_feed_is_a_feed_error(body: bytes, reason: str) -> None:
    with pytest.raises(FeedError, match=reason.replace(".", r"\.")):
        parse_feed(body, url=FEED_URL, content_type="application/json")


# --------------------------------------------------------------------------- content types


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html; charset=utf-8",
        "text/html",
        "text/plain",
        "application/octet-stream",
        None,
        "application/rss+xml",
    ],
)
def test_a_wrong_content_type_still_parses_a_feed(content_type: str | None) -> None:
    feed = parse("wrong_content_type.xml", content_type)
    (item,) = feed.items
    assert item.title == "Ünïcödé survives the wrong type"
    assert item.summary == "Café, naïve, 東京."
    assert feed.warnings == ()


def test_a_utf16_feed_parses() -> None:
    text = feed_body("wrong_content_type.xml").decode("utf-8").replace("utf-8", "utf-16")
    feed = parse_feed(text.encode("utf-16"), url=FEED_URL, content_type="application/xml")
    assert feed.items[0].title == "Ünïcödé survives the wrong type"


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/rss+xml"])
def test_an_html_page_is_not_a_feed(content_type: str) -> None:
    with pytest.raises(FeedError, match=r"^not a feed: HTML page$"):
        parse("html_page.html", content_type)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b" \r\n\t", "empty body"),
        (b"just some text", "not a feed: neither XML nor JSON"),
        (b"x" * 70_000, "not a feed: no XML element in the first 65536 bytes"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><rect/></svg>", "not a feed: no RSS or Atom"),
        (b"<html><body>lower case, no doctype</body></html>", "not a feed: HTML page"),
    ],
)
def test_bodies_that_are_not_feeds(body: bytes, reason: str) -> None:
    with pytest.raises(FeedError, match=f"^{reason}$"):
        parse_feed(body, url=FEED_URL, content_type=None)


# --------------------------------------------------------------------------- links and dates


def test_relative_links_resolve_against_the_feed_url_and_xml_base() -> None:
    feed = parse("relative_links.xml")
    assert feed.site_url == "https://feeds.example/"
    assert [(i.link, i.image_url) for i in feed.items] == [
        ("https://feeds.example/news/root-relative", "https://feeds.example/img/root.jpg"),
        (
            "https://feeds.example/path/news/path-relative",
            "https://feeds.example/path/img/path.jpg",
        ),
        ("https://cdn.gazette.example/base/from-base", None),
        ("https://mirror.gazette.example/news/protocol-relative", None),
    ]


def test_no_dates_gives_none() -> None:
    feed = parse("no_dates.xml")
    assert [(i.title, i.published) for i in feed.items] == [
        ("Undated one", None),
        ("Undated two", None),  # an unreadable pubDate is no date
    ]


def test_a_repeated_item_is_skipped_and_shared_guids_keep_their_items() -> None:
    feed = parse("duplicate_guids.xml")
    assert [i.link for i in feed.items] == [
        "https://careless.example/a",
        "https://careless.example/b",
        "https://careless.example/c",
    ]
    assert feed.warnings == ("item 3: repeats item 1, skipped",)


def test_1000_items() -> None:
    feed = parse("items_1000.xml")
    assert len(feed.items) == 1000
    assert len({i.link for i in feed.items}) == 1000
    assert feed.items[0].title == "Story number 1000 & more"
    assert feed.items[0].summary == "Summary of story 1000, with some words."
    assert all(i.published is not None and i.image_url for i in feed.items)


# --------------------------------------------------------------------------- malformed


def test_malformed_xml_keeps_the_items_that_parse_with_a_warning() -> None:
    feed = parse("malformed.xml")
    assert [i.title for i in feed.items] == ["Good item one", "Good item two"]
    assert any(
        w.startswith("malformed XML at line ") and w.endswith("; 2 items read")
        for w in feed.warnings
    )


def test_malformed_xml_without_items_is_a_feed_error() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>x&y</lin'
    with pytest.raises(FeedError, match=r"^malformed XML at line 1: .*no items read$"):
        parse_feed(body, url=FEED_URL, content_type=None)


def test_an_item_with_neither_title_nor_link_is_skipped_with_a_warning() -> None:
    body = (
        b'<rss version="2.0"><channel><title>T</title>'
        b"<item><description>only a summary</description></item>"
        b"<item><title>kept</title></item></channel></rss>"
    )
    feed = parse_feed(body, url=FEED_URL, content_type=None)
    assert [i.title for i in feed.items] == ["kept"]
    assert feed.warnings == ("item 1: no title or link, skipped",)


def test_warnings_are_capped() -> None:
    empty = "<item><description>x</description></item>" * (MAX_WARNINGS + 5)
    body = f'<rss version="2.0"><channel><title>T</title>{empty}</channel></rss>'.encode()
    feed = parse_feed(body, url=FEED_URL, content_type=None)
    assert len(feed.warnings) == MAX_WARNINGS + 1
    assert feed.warnings[-1] == "and 5 more warnings"


# --------------------------------------------------------------------------- text and URLs


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>one</p><p>two</p>", "one\ntwo"),
        ("a<br>b<br/>c", "a\nb\nc"),
        ("<script>alert('<p>x</p>')</script>kept<style>p{}</style>", "kept"),
        ("<template><b>hidden</b></template>shown", "shown"),
        ("<noscript>Enable JavaScript</noscript><p>text</p>", "text"),
        ("caf&eacute; &amp; &#x263A; &lt;tag&gt;", "café & ☺ <tag>"),
        ("  lots \t of\n\n  space  ", "lots of\nspace"),
        ("ctrl\x00\x07chars\x85", "ctrl chars"),
        ("<![if !supportLists]>x<![endif]> y", "x y"),
        ("<![bogus[ z ]]> w", "<![bogus[ z ]]> w"),  # a declaration html.parser rejects, as text
        ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
        ("<p>unclosed <b>bold", "unclosed bold"),
    ],
)
def test_html_text(html: str, text: str) -> None:
    assert html_text(html) == text


def test_cut_at_word() -> None:
    assert cut_at_word("short", 10) == "short"
    assert cut_at_word("one two three four", 12) == "one two…"
    assert cut_at_word("abcdefghijklmnopqrstuvwxyz", 10) == "abcdefghi…"
    assert len(cut_at_word("word " * 200, 300)) <= 300


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://a.example/x", "https://a.example/x"),
        ("  /rel?a=1&#038;b=2 ", "https://feeds.example/rel?a=1&b=2"),
        ("sub/page", "https://feeds.example/path/sub/page"),
        ("//cdn.example/i.png", "https://cdn.example/i.png"),
        ("HTTP://A.example/x y", "HTTP://A.example/x%20y"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,<b>x</b>", None),
        ("file:///etc/passwd", None),
        ("ftp://a.example/x", None),
        ("mailto:a@b.example", None),
        ("https://a.example/\x00x", None),
        ("http://", None),
        ("http://a.example:99999/", None),
        ("http://a b.example/", None),
        ("", None),
        (None, None),
        (42, None),
        ("https://a.example/" + "x" * 5000, None),
    ],
)
def test_http_url(value: object, expected: str | None) -> None:
    assert http_url(value, FEED_URL) == expected


# --------------------------------------------------------------------------- fuzzing

FUZZ = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
_FEED_BITS = [
    b'<?xml version="1.0"?>',
    b'<rss version="2.0">',
    b"<channel>",
    b"<item>",
    b"<title>",
    b"</title>",
    b"<link>",
    b"http://x.example/",
    b"</link>",
    b"</item>",
    b"<![CDATA[",
    b"]]>",
    b"<!DOCTYPE x [",
    b"<!ENTITY a 'b'>",
    b"&a;",
    b"&amp;",
    b"<!--",
    b"-->",
    b"<feed xmlns='http://www.w3.org/2005/Atom'>",
    b"<entry>",
    b"<![x[",
    b"{",
    b'"version": "https://jsonfeed.org/version/1"',
    b'"items": [',
    b"\x00",
    b"\xff\xfe",
]


@FUZZ
@given(
    st.binary(max_size=2048)
    | st.lists(st.sampled_from(_FEED_BITS) | st.binary(max_size=8), max_size=40).map(b"".join),
    st.sampled_from([None, "text/html", "application/json", "application/xml; charset=utf-16"]),
)
def test_arbitrary_bytes_give_a_feed_or_a_feed_error(body: bytes, content_type: str | None) -> None:
    try:
        feed = parse_feed(body, url=FEED_URL, content_type=content_type)
    except FeedError as exc:
        assert str(exc)
    else:
        assert isinstance(feed, ParsedFeed)
        for item in feed.items:
            assert item.title is not None or item.link is not None
            for url in (item.link, item.image_url):
                assert url is None or url.lower().startswith(("http://", "https://"))
