"""bot.render: article embeds and message payloads within Discord's limits, pinging no one."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import render
from bot.articles import Article, Provider, StoryEntry
from bot.render import (
    LIMITS,
    RELATED_TEMPLATE,
    Embed,
    Payload,
    article_embed,
    choices,
    digest_payloads,
    embed_length,
    list_pages,
    notice,
    quality_colour,
    related_button,
    related_check,
    related_payloads,
    to_terminal,
    topics_payload,
)

NO_MENTIONS = {"parse": [], "replied_user": False}
PING = re.compile(r"@(everyone|here)|<@[!&]?\d", re.IGNORECASE)

COINDESK_URL = (
    "https://www.coindesk.com/ai-startup-pilots-digital-masks-that-counter-facial-recognition"
)
COINDESK_ICON = "https://smartableai.github.io/assets/images/organizations/coindesk.com-50x50.jpg"
COINDESK_IMAGE = "https://static.coindesk.com/wp-content/uploads/2020/06/Screen-Shot-2020-06-23-at-3.18.31-PM.png"
COINDESK_EXCERPT = (
    "A Los Angeles startup has created “privacy-preserving face skins” – digital masks or avatars"
    " that counter facial recognition software."
)


def coindesk(**changes: Any) -> Article:
    fields: dict[str, Any] = {
        "url": COINDESK_URL,
        "canonical_url": COINDESK_URL.replace("www.", ""),
        "title": "AI Startup Pilots Digital Masks That Counter Facial Recognition",
        "published_at": datetime(2020, 6, 23, 21, 18, tzinfo=UTC),
        "excerpt": COINDESK_EXCERPT,
        "quality": 76,
        "heat": 96,
        "published": True,
        "topics": ("AI", "Computer Vision"),
        "provider": Provider(name="CoinDesk", domain="coindesk.com", icon_url=COINDESK_ICON),
        "image_url": COINDESK_IMAGE,
    }
    fields.update(changes)
    return Article(**fields)


def entry(article_id: int = 7, **changes: Any) -> StoryEntry:
    also = changes.pop("also", ())
    return StoryEntry(article_id=article_id, article=coindesk(**changes), also=also)


# --------------------------------------------------------------------------- limits checker


def _http(url: Any) -> bool:
    return isinstance(url, str) and re.match(r"(?i)https?://[^\s/]", url) is not None


def _text(value: Any, limit: int, where: str) -> None:
    assert isinstance(value, str), where
    assert 1 <= len(value) <= limit, f"{where}: length {len(value)} not in 1..{limit}"
    assert value.strip(), f"{where}: blank"


def check_embed(embed: Embed) -> int:
    total = 0
    if "title" in embed:
        _text(embed["title"], LIMITS.title, "title")
        total += len(embed["title"])
    if "description" in embed:
        _text(embed["description"], LIMITS.description, "description")
        total += len(embed["description"])
    fields = embed.get("fields", [])
    assert len(fields) <= LIMITS.fields
    for field in fields:
        _text(field["name"], LIMITS.field_name, "field name")
        _text(field["value"], LIMITS.field_value, "field value")
        total += len(field["name"]) + len(field["value"])
    if "footer" in embed:
        _text(embed["footer"]["text"], LIMITS.footer, "footer")
        total += len(embed["footer"]["text"])
    if "author" in embed:
        _text(embed["author"]["name"], LIMITS.author_name, "author name")
        total += len(embed["author"]["name"])
        if "icon_url" in embed["author"]:
            assert _http(embed["author"]["icon_url"])
    if "url" in embed:
        assert _http(embed["url"]), embed["url"]
    if "thumbnail" in embed:
        assert _http(embed["thumbnail"]["url"]), embed["thumbnail"]
    if "timestamp" in embed:
        assert datetime.fromisoformat(embed["timestamp"]).tzinfo is not None
    if "color" in embed:
        assert 0 <= embed["color"] <= 0xFFFFFF
    assert total == embed_length(embed)
    return total


def check_payload(payload: Payload, *, role: int | None = None) -> None:
    assert set(payload) == {"content", "embeds", "components", "allowed_mentions"}
    json.dumps(payload)
    content = payload["content"]
    if content is not None:
        _text(content, LIMITS.content, "content")
    assert content or payload["embeds"], "a message needs content or embeds"
    assert len(payload["embeds"]) <= LIMITS.embeds
    assert sum(check_embed(embed) for embed in payload["embeds"]) <= LIMITS.embed_total
    rows = payload["components"]
    assert len(rows) <= LIMITS.action_rows
    custom_ids = []
    for row in rows:
        assert row["type"] == 1
        assert 1 <= len(row["components"]) <= LIMITS.row_buttons
        for button in row["components"]:
            assert button["type"] == 2
            _text(button["label"], LIMITS.button_label, "button label")
            assert 1 <= len(button["custom_id"]) <= LIMITS.custom_id
            custom_ids.append(button["custom_id"])
    assert len(custom_ids) == len(set(custom_ids)), "duplicate custom_id in one message"
    if role is None:
        assert payload["allowed_mentions"] == NO_MENTIONS
        if content:
            assert not PING.search(content), content
    else:
        assert payload["allowed_mentions"] == {
            "parse": [],
            "roles": [str(role)],
            "replied_user": False,
        }
        assert content is not None
        assert content.startswith(f"<@&{role}> ")
        assert not PING.search(content[len(f"<@&{role}> ") :]), content


def button_ids(payload: Payload) -> list[int]:
    """The article ids of the payload's Related buttons, in order."""
    matches = (
        re.fullmatch(RELATED_TEMPLATE, button["custom_id"])
        for row in payload["components"]
        for button in row["components"]
    )
    return [int(match["id"]) for match in matches if match]


def content_of(payload: Payload) -> str:
    """The content of a message that must have some."""
    content = payload["content"]
    assert content is not None, payload
    return content


def test_checker_catches_violations() -> None:
    good = notice("fine")
    check_payload(good)
    bad_payloads: list[Payload] = [
        {**good, "content": "x" * 2001},
        {**good, "content": ""},
        {**good, "allowed_mentions": {"parse": ["everyone"], "replied_user": False}},
        {**good, "embeds": [{"title": "x" * 257}]},
        {**good, "embeds": [{"title": "t", "url": "javascript:alert(1)"}]},
        {**good, "embeds": [{"description": "x" * 4000}, {"description": "y" * 2001}]},
        {**good, "embeds": [{"title": "t"}] * 11},
        {**good, "content": "hi @everyone"},
    ]
    for bad in bad_payloads:
        with pytest.raises(AssertionError):
            check_payload(bad)


# --------------------------------------------------------------------------- article embed


def test_article_embed_has_every_part() -> None:
    embed = article_embed(entry(also=("Gizmodo Australia", "paleofuture.gizmodo")))
    assert embed["title"] == "AI Startup Pilots Digital Masks That Counter Facial Recognition"
    assert embed["url"] == COINDESK_URL
    assert embed["description"] == (
        COINDESK_EXCERPT + "\nalso: Gizmodo Australia, paleofuture.gizmodo"
    )
    assert embed["author"] == {"name": "CoinDesk", "icon_url": COINDESK_ICON}
    assert embed["thumbnail"] == {"url": COINDESK_IMAGE}
    assert embed["timestamp"] == "2020-06-23T21:18:00+00:00"
    assert embed["footer"] == {"text": "quality 76 · heat 96 · AI, Computer Vision"}
    assert embed["color"] == quality_colour(76) == render.BLUE
    check_embed(embed)


def test_footer_omits_unknown_parts_and_author_falls_back_to_domain() -> None:
    embed = article_embed(
        entry(quality=None, heat=None, topics=(), provider=Provider(domain="coindesk.com"))
    )
    assert "footer" not in embed
    assert embed["author"] == {"name": "coindesk.com"}
    assert embed["color"] == render.GREY
    only_heat = article_embed(entry(quality=None, topics=("AI",)))
    assert only_heat["footer"]["text"] == "heat 96 · AI"
    no_provider = article_embed(entry(provider=None))
    assert no_provider["author"] == {"name": "coindesk.com"}


def test_quality_is_shown_as_written() -> None:
    assert [render.quality_text(q) for q in (150, 187.5, 150.0, 0, 59.25)] == [
        "150",
        "187.5",
        "150",
        "0",
        "59.25",
    ]
    embed = article_embed(entry(quality=187.5, heat=None, topics=()))
    assert embed["footer"]["text"] == "quality 187.5"
    assert embed["color"] == render.GREEN


def test_timestamp_is_utc_iso() -> None:
    cest = timezone(timedelta(hours=2))
    embed = article_embed(entry(published_at=datetime(2020, 6, 23, 23, 18, tzinfo=cest)))
    assert embed["timestamp"] == "2020-06-23T21:18:00+00:00"
    assert "timestamp" not in article_embed(entry(published_at=None))


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.com/a.png",
        "file:///etc/passwd",
        "//example.com/a.png",
        "https://exa mple.com/a.png",
        "http://",
        "http://[::1",
        "",
    ],
)
def test_non_http_urls_are_left_out(bad: str) -> None:
    embed = article_embed(
        entry(url=bad, image_url=bad, provider=Provider(name="CoinDesk", icon_url=bad))
    )
    assert "url" not in embed
    assert "thumbnail" not in embed
    assert embed["author"] == {"name": "CoinDesk"}
    assert embed["title"]
    assert bad not in json.dumps(embed) or bad == ""


def test_mixed_case_http_scheme_is_kept() -> None:
    embed = article_embed(entry(url="HTTPS://Example.com/x"))
    assert embed["url"] == "HTTPS://Example.com/x"


def test_titles_are_cut_and_never_empty() -> None:
    long = article_embed(entry(title="word " * 2000))
    assert len(long["title"]) <= LIMITS.title
    assert long["title"].endswith("…")
    for blank in ("", "   ", "\u200b\u200b", "\u202e", "\n\t"):
        embed = article_embed(entry(title=blank))
        assert embed["title"] == "(untitled)"
    assert article_embed(entry(title="Line one\nline two"))["title"] == "Line one line two"


def test_description_cut_keeps_the_also_line() -> None:
    embed = article_embed(entry(excerpt="x" * 10_000, also=("Gizmodo Australia",)))
    description = embed["description"]
    assert len(description) <= LIMITS.description
    assert description.endswith("…\nalso: Gizmodo Australia")
    many = article_embed(entry(also=tuple(f"Provider {i}" for i in range(200))))
    assert len(many["description"]) <= LIMITS.description
    assert re.search(r"and \d+ more$", many["description"])


def test_single_huge_embed_fits_one_message() -> None:
    huge = entry(
        title="T" * 10_000,
        excerpt="E" * 10_000,
        topics=tuple("topic" * 50 for _ in range(100)),
        provider=Provider(name="P" * 1000),
    )
    embed = article_embed(huge)
    assert check_embed(embed) <= LIMITS.embed_total
    assert len(embed["title"]) == LIMITS.title
    assert "description" in embed


def test_quality_colour_bands() -> None:
    assert quality_colour(80) == quality_colour(100) == render.GREEN
    assert quality_colour(60) == quality_colour(79) == render.BLUE
    assert quality_colour(40) == quality_colour(59) == render.AMBER
    assert quality_colour(39) == quality_colour(0) == quality_colour(None) == render.GREY
    assert len({render.GREEN, render.BLUE, render.AMBER, render.GREY}) == 4


def test_embed_length_counts_what_discord_counts() -> None:
    embed: Embed = {
        "title": "abc",
        "description": "de",
        "fields": [{"name": "f", "value": "gh"}],
        "footer": {"text": "ijkl"},
        "author": {"name": "m", "icon_url": "https://not-counted.test/icon.png"},
        "url": "https://not-counted.test",
    }
    assert embed_length(embed) == 3 + 2 + 1 + 2 + 4 + 1
    assert embed_length({}) == 0


# --------------------------------------------------------------------------- buttons


def test_related_button() -> None:
    e = entry(article_id=12345)
    button = related_button(e)
    assert button["type"] == 2
    assert button["style"] == 2
    check = related_check(e.article.canonical_url)
    assert button["custom_id"] == f"newsbot:related:12345:{check}"
    assert len(check) == 8 and related_check("https://other.example/x") != check
    assert button["label"].startswith("Related")
    assert 1 <= len(button["label"]) <= LIMITS.button_label
    assert related_button(entry(title="\u200b"))["label"] == "Related"
    assert len(related_button(entry(title="x" * 500))["label"]) <= LIMITS.button_label


# --------------------------------------------------------------------------- lists


def test_list_pages_paging_and_buttons() -> None:
    entries = [entry(article_id=i, title=f"Story {i}") for i in range(12)]
    pages = list_pages(entries, heading="Topic: AI")
    assert [p["content"] for p in pages] == [
        "Topic: AI · page 1/3",
        "Topic: AI · page 2/3",
        "Topic: AI · page 3/3",
    ]
    assert [len(p["embeds"]) for p in pages] == [5, 5, 2]
    assert [len(p["components"]) for p in pages] == [1, 1, 1]
    assert [i for p in pages for i in button_ids(p)] == list(range(12))
    for page in pages:
        check_payload(page)
    ten = list_pages(entries, heading="x", per_page=10)
    assert [len(p["components"]) for p in ten] == [2, 1]
    assert len(list_pages(entries, heading="x", per_page=50)[0]["embeds"]) == LIMITS.embeds


def test_list_pages_shrinks_a_page_over_6000_characters() -> None:
    entries = [entry(article_id=i, excerpt=f"{i}" * 4096) for i in range(5)]
    (page,) = list_pages(entries, heading="h")
    check_payload(page)
    assert all(len(embed["description"]) > 500 for embed in page["embeds"])


def test_list_pages_shrinks_footers_authors_and_titles_too() -> None:
    huge = [
        entry(
            article_id=i,
            title=f"{i}" * 10_000,
            excerpt="E" * 10_000,
            topics=tuple(f"topic {n}" * 20 for n in range(100)),
            provider=Provider(name="P" * 1000),
        )
        for i in range(10)
    ]
    (page,) = list_pages(huge, heading="h", per_page=10)
    check_payload(page)
    assert len(page["embeds"]) == 10
    assert all(embed["title"].startswith(f"{i}") for i, embed in enumerate(page["embeds"]))


def test_duplicate_entries_never_repeat_a_custom_id_in_a_message() -> None:
    twice = [entry(article_id=5), entry(article_id=5), entry(article_id=6)]
    (page,) = list_pages(twice, heading="h")
    check_payload(page)
    assert len(page["embeds"]) == 3
    assert button_ids(page) == [5, 6]
    (digest,) = digest_payloads(twice, more=0, heading="d")
    check_payload(digest)
    assert button_ids(digest) == [5, 6]


def test_list_pages_empty() -> None:
    (page,) = list_pages([], heading="Topic: Robotics")
    check_payload(page)
    assert page["content"] == "Topic: Robotics · no articles"


def test_mention_bait_in_headings_and_notices_is_neutralised() -> None:
    bait = "@everyone @here @EVERYONE <@123> <@!456> <@&789> hi"
    payloads = [
        *list_pages([entry()], heading=bait),
        *digest_payloads([entry()], more=0, heading=bait),
        notice(bait),
    ]
    for payload in payloads:
        check_payload(payload)
        assert "\u200b" in content_of(payload)
        assert "hi" in content_of(payload)


def test_quote_shows_user_text_as_typed_on_one_line() -> None:
    quoted = render.quote("**bold** [x](https://e.test) `code`  \u2028 @everyone\n<@123> #h")
    assert quoted == (
        "'\\*\\*bold\\*\\* \\[x\\]\\(https://e.test\\) 'code'"
        " @\u200beveryone\\<\u200b@\u200b123\\> \\#h'"
    )
    assert not PING.search(quoted)
    assert render.quote("\u202e" + "w" * 200) == "'" + "w" * 80 + "'"


def test_notice_is_cut_and_never_empty() -> None:
    long = notice("@here " * 1000)
    check_payload(long)
    assert len(content_of(long)) == LIMITS.content
    assert long["embeds"] == [] and long["components"] == []
    check_payload(notice(""))


# --------------------------------------------------------------------------- related


def test_related_payloads_order_and_contents() -> None:
    head = entry(article_id=1, title="Head")
    related = [entry(article_id=2, title="Rel A"), entry(article_id=3, title="Rel B")]
    same = [
        head,
        entry(
            article_id=4,
            title="Same story elsewhere",
            url="https://gizmodo.com.au/x",
            provider=Provider(name="Gizmodo Australia"),
        ),
    ]
    (payload,) = related_payloads(head, related, same)
    check_payload(payload)
    titles = [embed["title"] for embed in payload["embeds"]]
    assert titles == ["Head", "Rel A", "Rel B", "Also told by"]
    assert "2 related articles" in content_of(payload)
    assert button_ids(payload) == [2, 3]
    also = payload["embeds"][-1]["description"]
    assert "Gizmodo Australia" in also
    assert "[Same story elsewhere](https://gizmodo.com.au/x)" in also


def test_related_payloads_none_known() -> None:
    (payload,) = related_payloads(entry(), [], [])
    check_payload(payload)
    assert "No related articles are known" in content_of(payload)
    assert len(payload["embeds"]) == 1


def test_related_payloads_split_when_many() -> None:
    related = [entry(article_id=i, excerpt="x" * 3000) for i in range(2, 12)]
    payloads = related_payloads(entry(article_id=1), related, [])
    assert len(payloads) > 1
    for payload in payloads:
        check_payload(payload)
    assert sorted(i for p in payloads for i in button_ids(p)) == list(range(2, 12))


# --------------------------------------------------------------------------- topics


def test_topics_payload() -> None:
    payload = topics_payload([("AI", 412), ("Computer Vision", 37)])
    check_payload(payload)
    (embed,) = payload["embeds"]
    assert "AI · 412" in embed["description"]
    assert "Computer Vision · 37" in embed["description"]


def test_topics_payload_many_says_and_n_more() -> None:
    payload = topics_payload([(f"Topic number {i}", i) for i in range(2000)])
    check_payload(payload)
    description = payload["embeds"][0]["description"]
    match = re.search(r"and (\d+) more$", description)
    assert match
    shown = description.count("\n")  # lines before the "and N more" line
    assert shown + int(match.group(1)) == 2000
    check_payload(topics_payload([]))


# --------------------------------------------------------------------------- digest


def test_digest_splits_and_says_how_many_more() -> None:
    entries = [entry(article_id=i, excerpt="x" * 1500) for i in range(25)]
    payloads = digest_payloads(entries, more=7, heading="Daily digest")
    assert len(payloads) > 3  # 6,000 characters per message, not only 10 embeds
    for payload in payloads:
        check_payload(payload)
    assert [i for p in payloads for i in button_ids(p)] == list(range(25))
    assert content_of(payloads[-1]).endswith("and 7 more")
    assert not any("more" in content_of(p) for p in payloads[:-1])
    assert content_of(payloads[0]).startswith("Daily digest")


def test_digest_ten_embeds_per_message() -> None:
    payloads = digest_payloads([entry(article_id=i) for i in range(21)], more=0, heading="d")
    assert [len(p["embeds"]) for p in payloads] == [10, 10, 1]
    assert not content_of(payloads[-1]).endswith("more")


def test_digest_role_mention_only_first_message() -> None:
    entries = [entry(article_id=i) for i in range(15)]
    payloads = digest_payloads(entries, more=0, heading="@everyone digest", mention_role_id=42)
    check_payload(payloads[0], role=42)
    assert content_of(payloads[0]).startswith("<@&42> ")
    for payload in payloads[1:]:
        check_payload(payload)
        assert "<@&42>" not in content_of(payload)


def test_digest_empty() -> None:
    assert digest_payloads([], more=0, heading="d") == []
    (only,) = digest_payloads([], more=3, heading="d")
    check_payload(only)
    assert content_of(only).endswith("and 3 more")


# --------------------------------------------------------------------------- choices


def test_choices_capped() -> None:
    items = [("n" * 300, "v" * 300) for _ in range(40)]
    result = choices(items)
    assert len(result) == LIMITS.choices
    for choice in result:
        assert 1 <= len(choice["name"]) <= LIMITS.choice_name
        assert 1 <= len(choice["value"]) <= LIMITS.choice_value
    assert choices([("", "value"), ("  ", ""), ("Name\nTwo", "v")]) == [
        {"name": "value", "value": "value"},
        {"name": "Name Two", "value": "v"},
    ]


@given(st.lists(st.tuples(st.text(max_size=300), st.text(max_size=300)), max_size=60))
def test_choices_property(items: list[tuple[str, str]]) -> None:
    result = choices(items)
    assert len(result) <= LIMITS.choices
    for choice in result:
        assert 1 <= len(choice["name"]) <= LIMITS.choice_name
        assert choice["name"].strip()
        assert 1 <= len(choice["value"]) <= LIMITS.choice_value


# --------------------------------------------------------------------------- terminal


def test_to_terminal_shows_titles_urls_and_buttons() -> None:
    entries = [entry(article_id=1), entry(article_id=2, title="Second", url="https://b.test/2")]
    text = to_terminal(list_pages(entries, heading="Topic: AI"))
    assert "Topic: AI · page 1/1" in text
    assert "AI Startup Pilots Digital Masks That Counter Facial Recognition" in text
    assert COINDESK_URL in text
    assert "Second" in text and "https://b.test/2" in text
    assert "CoinDesk" in text and "2020-06-23 21:18 UTC" in text
    assert "quality 76 · heat 96 · AI, Computer Vision" in text
    assert "newsbot:related:2" in text
    assert all(len(line) <= 100 for line in text.splitlines() if "newsbot:" not in line)


# --------------------------------------------------------------------------- properties


def _big(alphabet: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[str]:
    """Arbitrary text, sometimes repeated up to about 10,000 characters."""
    small = st.text(max_size=40) if alphabet is None else st.text(alphabet, max_size=40)
    repeated = st.builds(lambda s, n: (s * n)[:10_000], small, st.integers(1, 2_000))
    return st.one_of(small, repeated)


weird_urls = st.one_of(
    st.sampled_from(
        [
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "ftp://example.com/x",
            "http://",
            "https://[::1",
            "https://example.com/a b",
            "https://example.com:99999/",
            "HTTPS://EXAMPLE.COM/@everyone",
        ]
    ),
    st.builds(lambda path: "https://example.com/" + path, st.text(max_size=50)),
    st.text(max_size=30),
)

providers = st.one_of(
    st.none(),
    st.builds(
        Provider,
        name=st.one_of(st.none(), _big()),
        domain=st.one_of(st.none(), st.text(max_size=40)),
        icon_url=st.one_of(st.none(), weird_urls),
    ),
)

articles = st.builds(
    Article,
    url=weird_urls,
    canonical_url=st.just("https://example.com/x"),
    title=_big(),
    published_at=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
    excerpt=st.one_of(st.none(), _big()),
    quality=st.one_of(st.none(), st.integers(-10, 110)),
    heat=st.one_of(st.none(), st.integers(-1, 10_000)),
    published=st.booleans(),
    topics=st.lists(st.text(max_size=300), max_size=60).map(tuple),
    provider=providers,
    image_url=st.one_of(st.none(), weird_urls),
)


@st.composite
def story_entries(draw: st.DrawFn, max_size: int = 40) -> list[StoryEntry]:
    ids = draw(st.lists(st.integers(0, 2**63 - 1), unique=True, max_size=max_size))
    return [
        StoryEntry(
            article_id=article_id,
            article=draw(articles),
            also=tuple(draw(st.lists(_big(), max_size=30))),
        )
        for article_id in ids
    ]


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(entries=story_entries(), heading=_big(), per_page=st.integers(-1, 30))
def test_list_pages_within_limits(entries: list[StoryEntry], heading: str, per_page: int) -> None:
    pages = list_pages(entries, heading=heading, per_page=per_page)
    for page in pages:
        check_payload(page)
        assert len(page["components"]) <= LIMITS.action_rows - 1  # room for pager buttons
        assert len(button_ids(page)) == len(page["embeds"])
    assert [i for p in pages for i in button_ids(p)] == [e.article_id for e in entries]


@PROPERTY
@given(head=story_entries(max_size=1), related=story_entries(), same=story_entries(max_size=10))
def test_related_payloads_within_limits(
    head: list[StoryEntry], related: list[StoryEntry], same: list[StoryEntry]
) -> None:
    main = head[0] if head else StoryEntry(article_id=-1, article=coindesk())
    payloads = related_payloads(main, related, same)
    for payload in payloads:
        check_payload(payload)
        assert len(payload["components"]) <= LIMITS.action_rows - 1
    expected = [e.article_id for e in related if e.article_id != main.article_id]
    assert [i for p in payloads for i in button_ids(p)] == expected
    others = {e.article_id for e in same} - {main.article_id}
    embeds = sum(len(p["embeds"]) for p in payloads)
    assert embeds == 1 + len(expected) + (1 if others else 0)


@PROPERTY
@given(
    entries=story_entries(),
    more=st.integers(0, 1000),
    heading=_big(),
    role=st.one_of(st.none(), st.integers(1, 2**63 - 1)),
)
def test_digest_payloads_within_limits_and_lossless(
    entries: list[StoryEntry], more: int, heading: str, role: int | None
) -> None:
    payloads = digest_payloads(entries, more=more, heading=heading, mention_role_id=role)
    if not entries and not more:
        assert payloads == []
        return
    for number, payload in enumerate(payloads):
        check_payload(payload, role=role if number == 0 else None)
        assert len(button_ids(payload)) == len(payload["embeds"])
    seen = [i for p in payloads for i in button_ids(p)]
    assert sorted(seen) == sorted(e.article_id for e in entries)
    assert len(seen) == len(set(seen))
    if more:
        assert content_of(payloads[-1]).endswith(f"and {more} more")


@PROPERTY
@given(st.lists(st.tuples(_big(), st.integers(0, 10**9)), max_size=300))
def test_topics_payload_within_limits(topics: list[tuple[str, int]]) -> None:
    payload = topics_payload(topics)
    check_payload(payload)
    assert len(payload["embeds"]) == 1


@PROPERTY
@given(entries=story_entries(max_size=3))
def test_article_embed_and_terminal(entries: list[StoryEntry]) -> None:
    for item in entries:
        embed = article_embed(item)
        assert check_embed(embed) <= LIMITS.embed_total
        assert embed["title"].strip()
        assert len(related_button(item)["custom_id"]) <= LIMITS.custom_id
    text = to_terminal(list_pages(entries, heading="h"))
    for page in list_pages(entries, heading="h"):
        for embed in page["embeds"]:
            assert embed.get("url", "") in text
