"""parse_article: one test per rule of DESIGN.md §3 (Files, Required, Optional), plus fuzzing."""

from __future__ import annotations

import copy
import string
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.articles import (
    MAX_DEPTH,
    Article,
    ArticleRejected,
    FieldWarning,
    ParsedFile,
    Provider,
    canonical_url,
    parse_article,
)
from tests.fixtures.hostile_files import EXPECTED_TITLES, write_hostile_tree

URL = "https://example.com/news/a-story"
GOOD: dict[str, Any] = {
    "title": "A story",
    "webUrl": URL,
    "publishedDateTime": "2024-03-01T09:30:00Z",
}


def front(fields: dict[str, Any], body: str = "") -> bytes:
    """A file with ``fields`` as front matter (YAML written by PyYAML), then ``body``."""
    text = yaml.safe_dump(fields, allow_unicode=True, sort_keys=False)
    return f"---\n{text}---\n{body}".encode()


def article(**fields: Any) -> ParsedFile:
    """Parse GOOD with ``fields`` changed; a field given as None is left out."""
    merged = {**GOOD, **fields}
    return parse_article(front({k: v for k, v in merged.items() if v is not None}))


def rejected(data: bytes, **kwargs: Any) -> str:
    with pytest.raises(ArticleRejected) as info:
        parse_article(data, **kwargs)
    return str(info.value)


def fields_warned(parsed: ParsedFile) -> list[str]:
    return [w.field for w in parsed.warnings]


# ---------------------------------------------------------------------------------------------
# Files


def test_a_good_file_gives_every_field() -> None:
    parsed = article(
        excerpt="An excerpt.",
        quality=80,
        heat=12,
        published=True,
        topics=["AI", "Robotics"],
        provider={"name": "Example", "domain": "Example.com", "images": [{"url": URL + ".png"}]},
        images=[{"url": URL + ".jpg", "width": 800}],
        category="news",
        type="article",
        originalUrl=URL + "?orig=1",
        ampWebUrl=URL + "/amp",
        cdnAmpWebUrl="https://example-com.cdn.ampproject.org/c/s/example.com/news/a-story/amp",
    )
    assert parsed.warnings == ()
    assert parsed.article == Article(
        url=URL,
        canonical_url=URL,
        title="A story",
        published_at=datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
        excerpt="An excerpt.",
        quality=80,
        heat=12,
        published=True,
        topics=("AI", "Robotics"),
        provider=Provider("Example", "example.com", URL + ".png"),
        image_url=URL + ".jpg",
        category="news",
        type="article",
        original_url=URL + "?orig=1",
        amp_url=URL + "/amp",
        cdn_amp_url="https://example-com.cdn.ampproject.org/c/s/example.com/news/a-story/amp",
    )


def test_utf8_bom_is_fine() -> None:
    assert parse_article(b"\xef\xbb\xbf" + front(GOOD)).article.title == "A story"


def test_crlf_is_fine() -> None:
    data = front({**GOOD, "excerpt": "one\ntwo"}, body="body\n").replace(b"\n", b"\r\n")
    parsed = parse_article(data)
    assert parsed.article.title == "A story"
    assert parsed.article.excerpt == "one\ntwo"


def test_crlf_keeps_line_breaks_in_a_literal_excerpt() -> None:
    data = (
        b"---\r\ntitle: T\r\nwebUrl: https://e.com/x\r\npublishedDateTime: 2024-01-01\r\n"
        b"excerpt: |\r\n  one\r\n  two\r\n---\r\n"
    )
    assert parse_article(data).article.excerpt == "one\ntwo"


def test_body_after_front_matter_is_ignored() -> None:
    body = "# Heading\n\n- not: [yaml\n---\ntitle: other\n\x07 control chars are fine here\n"
    assert parse_article(front(GOOD, body=body)).article.title == "A story"


def test_front_matter_without_body() -> None:
    data = front(GOOD)
    assert data.endswith(b"---\n")
    assert parse_article(data).article.url == URL
    assert parse_article(data.rstrip(b"\n")).article.url == URL  # no newline after the fence


def test_closing_fence_may_have_trailing_spaces() -> None:
    data = front(GOOD).replace(b"\n---\n", b"\n---  \n") + b"body: [unclosed\n"
    assert parse_article(data).article.url == URL


def test_no_leading_fence_reads_the_whole_file_as_yaml() -> None:
    data = yaml.safe_dump(GOOD).encode()
    assert not data.startswith(b"---")
    assert parse_article(data).article.title == "A story"


def test_leading_fence_without_closing_reads_the_rest_as_yaml() -> None:
    data = b"---\n" + yaml.safe_dump(GOOD).encode()
    assert parse_article(data).article.title == "A story"


def test_a_second_document_without_leading_fence_is_rejected() -> None:
    data = yaml.safe_dump(GOOD).encode() + b"---\nSome body text\n"
    assert "found another at line 4" in rejected(data)


def test_over_the_size_limit_is_rejected() -> None:
    data = front({**GOOD, "excerpt": "x" * (3 * 1024 * 1024)})
    reason = rejected(data)
    assert reason == f"file is {len(data)} bytes; the limit is 1048576 ([ingest] max_file_bytes)"


def test_size_limit_is_a_parameter_and_inclusive() -> None:
    data = front(GOOD)
    assert parse_article(data, max_bytes=len(data)).article.url == URL
    assert rejected(data, max_bytes=len(data) - 1).startswith(f"file is {len(data)} bytes")


def test_anchors_are_rejected() -> None:
    data = front(GOOD).replace(b"title: A story", b"title: &t A story")
    assert "anchors and aliases are not allowed" in rejected(data)


def test_aliases_are_rejected() -> None:
    data = b"---\nname: &n A story\ntitle: *n\nwebUrl: https://e.com/x\n---\n"
    assert "anchors and aliases are not allowed (line 2)" in rejected(data)


def test_anchor_on_a_collection_is_rejected() -> None:
    data = front(GOOD) + b"x"  # ensure otherwise fine
    data = data.replace(b"---\ntitle", b"---\nextra: &e [1, 2]\ntitle", 1)
    assert "anchors and aliases" in rejected(data)


def test_billion_laughs_is_rejected_at_its_first_anchor() -> None:
    """Nine levels of nine aliases would expand to 9**9 strings; the file is refused at once.

    The check is structural: the rejection names line 1, so the parser never got past the
    first anchor, let alone expanded anything."""
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    data = ("\n".join(levels) + "\ntitle: *i\n").encode()
    assert rejected(data) == "YAML anchors and aliases are not allowed (line 1)"


def test_deep_flow_nesting_is_rejected_without_recursion() -> None:
    data = b"title: " + b"[" * 20_000 + b"]" * 20_000 + b"\n"
    assert rejected(data) == f"YAML nested deeper than {MAX_DEPTH} levels at line 1"


def test_unclosed_deep_nesting_filling_the_size_limit_is_rejected() -> None:
    assert "nested deeper" in rejected(b"[" * 1_000_000)


def test_deep_block_nesting_is_rejected() -> None:
    assert "nested deeper" in rejected(b"- " * 100_000 + b"x\n")
    block = "".join(" " * i + f"k{i}:\n" for i in range(200)) + " " * 200 + "v\n"
    assert "nested deeper" in rejected(block.encode())


def test_nesting_up_to_the_limit_is_fine() -> None:
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    data = front(GOOD).replace(b"title:", f"extra: {nested}\ntitle:".encode(), 1)
    assert parse_article(data).article.url == URL


def test_a_yaml_list_is_rejected() -> None:
    assert rejected(b"- title: a\n- title: b\n") == "front matter is a list, expected a mapping"
    assert rejected(b"---\n- a\n---\n") == "front matter is a list, expected a mapping"


def test_plain_text_is_rejected() -> None:
    assert rejected(b"Just some notes.\nAnother line.\n").startswith("plain text, no front matter")


def test_empty_file_is_rejected() -> None:
    assert rejected(b"") == "empty file"
    assert rejected(b" \n\t\r\n") == "empty file"
    assert rejected(b"\xef\xbb\xbf") == "empty file"


def test_empty_front_matter_is_rejected() -> None:
    assert rejected(b"---\n---\nbody\n") == "front matter is empty, expected a mapping"
    assert rejected(b"# only a comment\n") == "front matter is empty, expected a mapping"


def test_yaml_syntax_error_names_the_line_counted_from_the_file_start() -> None:
    assert rejected(b"title: ok\nbad: x: y\n").startswith("YAML syntax error at line 2,")
    assert rejected(b"---\ntitle: ok\nbad: x: y\n---\n").startswith("YAML syntax error at line 3,")


def test_non_utf8_is_rejected() -> None:
    reason = rejected(b"title: \xff\xfe bad\n")
    assert reason.startswith("not UTF-8 text: byte 0xFF at line 1")


def test_latin1_is_rejected() -> None:
    data = front({**GOOD, "title": "Café résumé"}).decode().encode("latin-1")
    assert rejected(data).startswith("not UTF-8 text: byte 0xE9 at line 2")


def test_utf16_is_rejected() -> None:
    assert "not a text file" in rejected(front(GOOD).decode().encode("utf-16"))


def test_binary_is_rejected() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    assert rejected(png) == "binary data (NUL bytes), not a text file"


def test_raw_control_characters_are_rejected() -> None:
    reason = rejected(b"---\ntitle: a\x07b\n---\n")
    assert reason.startswith("unacceptable character U+0007 at line 2")


def test_python_tags_are_rejected() -> None:
    assert "unsupported YAML tag" in rejected(b"title: !!python/object/apply:os.system [ls]\n")
    assert "unsupported YAML tag" in rejected(b"title: !!python/name:os.system x\n")
    assert "unsupported YAML tag" in rejected(b"title: !custom x\n")


def test_mapping_keys_must_be_plain() -> None:
    assert "keys must be plain values" in rejected(b"? [a, b]\n: c\n")


def test_unknown_keys_are_ignored() -> None:
    parsed = article(secured="t5/pfiSBpjr==;oe1Zk==", somethingElse={"a": [1, 2]})
    assert parsed.warnings == ()
    assert parsed.article.title == "A story"


def test_mention_bait_is_kept_as_text() -> None:
    bait = "@everyone <@&123> <@1> @here look"
    parsed = article(title=bait, excerpt=bait, topics=[bait], category=bait)
    assert parsed.warnings == ()
    assert parsed.article.title == bait
    assert parsed.article.excerpt == bait
    assert parsed.article.topics == (bait,)


# ---------------------------------------------------------------------------------------------
# Required fields


@pytest.mark.parametrize("name", ["title", "webUrl", "publishedDateTime"])
def test_missing_required_field_is_rejected(name: str) -> None:
    assert rejected(front({k: v for k, v in GOOD.items() if k != name})) == (
        f"{name}: missing (required)"
    )


@pytest.mark.parametrize("name", ["title", "webUrl", "publishedDateTime"])
def test_null_required_field_is_rejected(name: str) -> None:
    assert rejected(front({**GOOD, name: None})) == f"{name}: missing (required)"


@pytest.mark.parametrize("title", ["", "   ", "\n\t", "\x00\x01"])
def test_empty_title_is_rejected(title: str) -> None:
    assert rejected(front({**GOOD, "title": title})) == "title: is empty"


@pytest.mark.parametrize(
    ("value", "kind"), [(42, "a number"), (["a"], "a list"), (True, "a boolean")]
)
def test_title_must_be_text(value: object, kind: str) -> None:
    assert rejected(front({**GOOD, "title": value})) == f"title: must be text, got {kind}"


def test_title_whitespace_and_control_characters_collapse() -> None:
    parsed = article(title="  Breaking:\n  robots\t\tfold\x1blaundry  ")
    assert parsed.article.title == "Breaking: robots fold laundry"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:alert(1)", "is a javascript: URL, expected http or https"),
        ("ftp://example.com/file", "is a ftp: URL, expected http or https"),
        ("/news/relative", "is not an absolute http(s) URL"),
        ("example.com/news", "is not an absolute http(s) URL"),
        ("https://", "has no host"),
        ("http:///path-only", "has no host"),
        ("https://exa mple.com/", "contains spaces or control characters"),
        ("https://example.com:99999/", "is not a valid URL"),
        ("https://<script>/", "has an invalid host"),
        ("", "is empty"),
    ],
)
def test_web_url_must_be_absolute_http(url: str, reason: str) -> None:
    got = rejected(front({**GOOD, "webUrl": url}))
    assert got.startswith("webUrl: ")
    assert reason in got


def test_web_url_must_be_text() -> None:
    assert rejected(front({**GOOD, "webUrl": 5})) == "webUrl: must be a URL, got a number"


def test_web_url_is_kept_as_given_and_canonicalised_for_identity() -> None:
    given = "HTTPS://www.Example.com/News/A-Story/?utm_source=x&b=2&a=1#top"
    a = article(webUrl=f"  {given} ").article
    assert a.url == given
    assert a.canonical_url == "https://example.com/News/A-Story?a=1&b=2"


def test_date_time_with_z_is_utc() -> None:
    moment = article(publishedDateTime="2020-06-25T21:16:00Z").article.published_at
    assert moment == datetime(2020, 6, 25, 21, 16, tzinfo=UTC)
    assert moment is not None
    assert moment.tzinfo is UTC


def test_naive_date_time_is_utc() -> None:
    data = b"---\ntitle: T\nwebUrl: https://e.com/x\npublishedDateTime: 2020-06-25 21:16:00\n---\n"
    assert parse_article(data).article.published_at == datetime(2020, 6, 25, 21, 16, tzinfo=UTC)
    moment = article(publishedDateTime="2020-06-25T21:16:00").article.published_at
    assert moment == datetime(2020, 6, 25, 21, 16, tzinfo=UTC)


def test_offsets_are_converted_to_utc() -> None:
    moment = article(publishedDateTime="2020-06-26T01:16:00+04:00").article.published_at
    assert moment == datetime(2020, 6, 25, 21, 16, tzinfo=UTC)
    assert moment is not None
    assert moment.utcoffset() == timedelta(0)
    data = b"---\ntitle: T\nwebUrl: https://e.com/x\npublishedDateTime: 2020-06-25T16:16:00-05:00\n"
    assert parse_article(data).article.published_at == datetime(2020, 6, 25, 21, 16, tzinfo=UTC)


def test_yaml_timestamps_and_dates_are_accepted() -> None:
    aware = datetime(2020, 6, 26, 1, 16, tzinfo=timezone(timedelta(hours=4)))
    assert article(publishedDateTime=aware).article.published_at == datetime(
        2020, 6, 25, 21, 16, tzinfo=UTC
    )
    assert article(publishedDateTime=date(2020, 6, 25)).article.published_at == datetime(
        2020, 6, 25, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("yesterday", "'yesterday'"),
        ("2020-02-30T10:00:00Z", "'2020-02-30T10:00:00Z'"),
        ("25/06/2020", "'25/06/2020'"),
        (1593119760, "1593119760"),
        (True, "True"),
    ],
)
def test_bad_date_time_is_rejected(value: object, shown: str) -> None:
    assert rejected(front({**GOOD, "publishedDateTime": value})) == (
        f"publishedDateTime: {shown} is not an ISO 8601 date-time"
    )


def test_invalid_plain_yaml_date_is_rejected_not_a_crash() -> None:
    data = b"title: T\nwebUrl: https://e.com/x\npublishedDateTime: 2020-02-30\n"
    assert rejected(data) == "publishedDateTime: '2020-02-30' is not an ISO 8601 date-time"


def test_date_time_that_overflows_in_utc_is_rejected() -> None:
    reason = rejected(front({**GOOD, "publishedDateTime": "0001-01-01T00:00:00+05:00"}))
    assert reason.startswith("publishedDateTime: ") and "out of range" in reason


# ---------------------------------------------------------------------------------------------
# Optional fields: invalid -> a warning naming the field, the field dropped, the article kept


@pytest.mark.parametrize(
    ("name", "value", "attribute"),
    [
        ("excerpt", ["not", "text"], "excerpt"),
        ("quality", 150, "quality"),
        ("quality", -1, "quality"),
        ("quality", 75.5, "quality"),
        ("quality", "76", "quality"),
        ("quality", True, "quality"),
        ("heat", "hot", "heat"),
        ("heat", -2, "heat"),
        ("heat", 2**64, "heat"),
        ("published", "yes please", "published"),
        ("published", 1, "published"),
        ("topics", 5, "topics"),
        ("topics", {"AI": 1}, "topics"),
        ("provider", "Gizmodo", "provider"),
        ("images", "https://example.com/a.jpg", "image_url"),
        ("images", [{"url": "javascript:alert(1)"}], "image_url"),
        ("category", 3, "category"),
        ("type", ["article"], "type"),
        ("originalUrl", "ftp://example.com/a", "original_url"),
        ("ampWebUrl", "javascript:void(0)", "amp_url"),
        ("cdnAmpWebUrl", "/relative/amp", "cdn_amp_url"),
        ("related", "https://example.com/other", "related"),
    ],
)
def test_invalid_optional_field_warns_and_is_dropped(
    name: str, value: object, attribute: str
) -> None:
    parsed = article(**{name: value})
    assert fields_warned(parsed) == [name]
    assert parsed.warnings[0].reason
    dropped = getattr(parsed.article, attribute)
    assert dropped in (None, (), False)
    assert parsed.article.title == "A story"


def test_absent_or_null_optional_fields_do_not_warn() -> None:
    nulls = dict.fromkeys(
        ["excerpt", "quality", "heat", "published", "topics", "provider", "images", "related"]
    )
    data = front(GOOD).replace(b"---\n", b"---\n" + yaml.safe_dump(nulls).encode(), 1)
    parsed = parse_article(data)
    assert parsed.warnings == ()
    assert parsed.article.published is False
    assert parsed.article.topics == ()


def test_quality_bounds_and_whole_floats() -> None:
    assert article(quality=0).article.quality == 0
    assert article(quality=100).article.quality == 100
    assert article(quality=76.0).article.quality == 76


def test_heat_minus_one_means_unknown() -> None:
    assert article(heat=-1).article.heat is None
    assert article(heat=0).article.heat == 0
    assert article(heat=96).article.heat == 96


def test_published_is_a_bool_defaulting_to_false() -> None:
    assert article().article.published is False
    assert article(published=True).article.published is True
    yes = b"---\ntitle: T\nwebUrl: https://e.com/x\npublishedDateTime: 2024-01-01\npublished: yes\n"
    assert parse_article(yes).article.published is True  # YAML 1.1 booleans


def test_topics_one_string_is_one_topic() -> None:
    assert article(topics="  Computer   Vision ").article.topics == ("Computer Vision",)


def test_topics_drop_case_insensitive_duplicates_keeping_first_spelling() -> None:
    parsed = article(topics=["AI", "Robotics", "ai", " AI ", "ROBOTICS", "Vision"])
    assert parsed.article.topics == ("AI", "Robotics", "Vision")
    assert parsed.warnings == ()


def test_topics_bad_entries_warn_and_the_rest_are_kept() -> None:
    parsed = article(topics=["AI", 5, "", None, ["x"], "Robotics"])
    assert parsed.article.topics == ("AI", "Robotics")
    assert fields_warned(parsed) == ["topics[1]", "topics[2]", "topics[3]", "topics[4]"]


def test_provider_fields() -> None:
    parsed = article(provider={"name": " Gizmodo ", "domain": "Gizmodo.com", "images": []})
    assert parsed.article.provider == Provider("Gizmodo", "gizmodo.com", None)
    assert parsed.warnings == ()


def test_provider_icon_only_from_an_http_first_image() -> None:
    parsed = article(
        provider={"name": "G", "images": [{"url": "data:image/png;base64,xx"}, {"url": URL}]}
    )
    assert parsed.article.provider == Provider("G", None, None)
    assert fields_warned(parsed) == ["provider.images"]


def test_provider_bad_subfields_warn_by_name() -> None:
    parsed = article(provider={"name": 3, "domain": ["x"], "images": "nope"})
    assert parsed.article.provider is None
    assert fields_warned(parsed) == ["provider.name", "provider.domain", "provider.images"]


def test_images_first_http_url_is_used() -> None:
    images = [{"url": "javascript:alert(1)"}, {"width": 3}, {"url": URL + "/b.jpg"}, URL + "/c.jpg"]
    parsed = article(images=images)
    assert parsed.article.image_url == URL + "/b.jpg"
    assert parsed.warnings == ()


def test_excerpt_keeps_newlines_and_drops_control_characters() -> None:
    parsed = article(excerpt="  line one\x00\x07\n\tline two\r  ")
    assert parsed.article.excerpt == "line one\n line two"
    assert parsed.warnings == ()


def test_empty_excerpt_is_none_without_warning() -> None:
    parsed = article(excerpt="   ")
    assert parsed.article.excerpt is None
    assert parsed.warnings == ()


def test_no_length_cap_in_the_parser() -> None:
    assert article(title="T" * 5000).article.title == "T" * 5000


# ---------------------------------------------------------------------------------------------
# Related


RELATED = {
    "title": "Another take",
    "webUrl": "https://www.other.example/take/",
    "publishedDateTime": "2024-02-28T10:00:00+01:00",
    "excerpt": "Other excerpt",
    "quality": 60,
    "heat": -1,
    "provider": {"name": "Other", "domain": "other.example"},
    "images": [{"url": "https://other.example/i.png"}],
    "topics": ["Ignored"],
    "published": True,
    "related": [{"title": "nested", "webUrl": "https://n.example/"}],
}


def test_related_entries_become_stubs() -> None:
    parsed = article(related=[RELATED])
    assert parsed.warnings == ()
    (stub,) = parsed.article.related
    assert stub == Article(
        url="https://www.other.example/take/",
        canonical_url="https://other.example/take",
        title="Another take",
        published_at=datetime(2024, 2, 28, 9, 0, tzinfo=UTC),
        excerpt="Other excerpt",
        quality=60,
        heat=None,
        provider=Provider("Other", "other.example"),
        image_url="https://other.example/i.png",
    )
    assert stub.topics == ()
    assert stub.published is False
    assert stub.related == ()


def test_related_entry_without_date_is_a_stub_with_no_date() -> None:
    (stub,) = article(related=[{"title": "T", "webUrl": "https://o.example/"}]).article.related
    assert stub.published_at is None


def test_bad_related_entries_are_warned_and_skipped() -> None:
    entries = [
        RELATED,
        {"webUrl": "https://o.example/no-title"},
        {"title": "No URL"},
        {"title": "Bad URL", "webUrl": "javascript:alert(1)"},
        "just a string",
        {
            "title": "Fine",
            "webUrl": "https://fine.example/",
            "quality": 500,
            "publishedDateTime": "?",
        },
    ]
    parsed = article(related=entries)
    assert [s.title for s in parsed.article.related] == ["Another take", "Fine"]
    assert fields_warned(parsed) == [
        "related[1]",
        "related[2]",
        "related[3]",
        "related[4]",
        "related[5].publishedDateTime",
        "related[5].quality",
    ]
    assert parsed.warnings[0].reason == "title: missing (required)"


def test_related_entry_pointing_at_the_article_itself_is_skipped() -> None:
    own = {"title": "Self", "webUrl": "https://WWW.example.com/news/a-story/?utm_source=x"}
    parsed = article(related=[own, copy.deepcopy(RELATED), copy.deepcopy(RELATED)])
    assert [s.canonical_url for s in parsed.article.related] == ["https://other.example/take"]
    assert parsed.warnings == ()


# ---------------------------------------------------------------------------------------------
# The hostile tree shared with the ingest tests


def test_hostile_tree_expectations(tmp_path: Path) -> None:
    expectations = write_hostile_tree(tmp_path)
    canonical_by_name: dict[str, str] = {}
    problems: list[str] = []
    for name, expected in expectations.items():
        data = (tmp_path / name).read_bytes()
        try:
            parsed = parse_article(data)
        except ArticleRejected as exc:
            if expected != "rejected":
                problems.append(f"{name}: rejected ({exc}), expected {expected}")
            continue
        canonical_by_name[name] = parsed.article.canonical_url
        if parsed.article.title != EXPECTED_TITLES.get(name):
            problems.append(f"{name}: title {parsed.article.title[:40]!r}")
        got = "ok-with-warnings" if parsed.warnings else "ok"
        if expected.startswith("duplicate-of:"):
            got = expected if not parsed.warnings else got
        if got != expected:
            problems.append(f"{name}: {got} {parsed.warnings}, expected {expected}")
    for name, expected in expectations.items():
        if expected.startswith("duplicate-of:"):
            original = expected.removeprefix("duplicate-of:")
            if canonical_by_name.get(name) != canonical_by_name.get(original):
                problems.append(f"{name}: not the same canonical URL as {original}")
    distinct = {v for k, v in canonical_by_name.items() if "duplicate-of" not in expectations[k]}
    assert len(distinct) == sum(1 for k in canonical_by_name if "duplicate" not in expectations[k])
    assert problems == []
    assert set(expectations.values()) == {
        "rejected",
        "ok",
        "ok-with-warnings",
        "duplicate-of:good_1.md",
    }


# ---------------------------------------------------------------------------------------------
# Fuzzing: whatever the bytes, a ParsedFile or ArticleRejected, and quickly

FUZZ = settings(deadline=500, max_examples=300, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_give_a_result_or_a_rejection(data: bytes) -> None:
    try:
        result = parse_article(data)
    except ArticleRejected as exc:
        assert str(exc)
    else:
        assert isinstance(result, ParsedFile)


yaml_text = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30
) | st.sampled_from(["", "-1", "yes", "~", "null", "2020-02-30", "1e400", "0x1F", "<<", "="])
yaml_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | yaml_text
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.dates()
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(string.ascii_letters, max_size=8) | yaml_text, children, max_size=4
        )
    ),
    max_leaves=20,
)
FIELDS = [
    "title", "webUrl", "publishedDateTime", "excerpt", "quality", "heat", "published", "topics",
    "provider", "images", "related", "category", "type", "originalUrl", "ampWebUrl",
    "cdnAmpWebUrl", "secured",
]  # fmt: skip
documents = st.dictionaries(st.sampled_from(FIELDS), yaml_values) | yaml_values


def dump(value: object, style: str, body: str) -> bytes:
    text = yaml.safe_dump(value, allow_unicode=style != "ascii")
    if style == "front":
        text = f"---\n{text}---\n{body}"
    elif style == "crlf":
        text = "\ufeff---\n" + text.replace("\n", "\r\n") + "---\r\n"
    return text.encode()


@FUZZ
@given(documents, st.sampled_from(["whole", "ascii", "front", "crlf"]), st.text(max_size=50))
def test_arbitrary_yaml_gives_a_result_or_a_rejection(doc: object, style: str, body: str) -> None:
    try:
        result = parse_article(dump(doc, style, body))
    except ArticleRejected as exc:
        assert str(exc)
    else:
        assert isinstance(result, ParsedFile)
        assert isinstance(result.article.title, str) and result.article.title
        assert result.article.published_at is not None
        assert result.article.published_at.utcoffset() == timedelta(0)


http_urls = st.builds(
    "{}://{}{}/{}".format,
    st.sampled_from(["http", "https", "HTTPS"]),
    st.sampled_from(["", "www.", "WWW."]),
    st.from_regex(r"[a-z0-9]{1,10}(\.[a-z]{2,5}){1,2}", fullmatch=True),
    st.text(string.ascii_letters + string.digits + "-_/.~%", max_size=20),
)
optional_values = st.dictionaries(st.sampled_from(FIELDS[3:]), yaml_values, max_size=6)


@FUZZ
@given(
    st.text(min_size=1, max_size=40).filter(lambda t: t.strip() and t.isprintable()),
    http_urls,
    st.datetimes(timezones=st.none() | st.timezones()),
    optional_values,
)
def test_valid_required_fields_are_never_rejected_whatever_the_optional_ones(
    title: str, url: str, moment: datetime, optional: dict[str, Any]
) -> None:
    """Optional fields can only ever warn: the article is always kept."""
    moment = moment.replace(year=max(moment.year, 2))  # year 1 with a + offset leaves UTC's range
    doc = {**optional, "title": title, "webUrl": url, "publishedDateTime": moment.isoformat()}
    parsed = parse_article(front(doc))
    assert parsed.article.canonical_url == canonical_url(url)
    assert {w.field.split(".")[0].split("[")[0] for w in parsed.warnings} <= set(FIELDS[3:])
    written = datetime.fromisoformat(moment.isoformat())  # a zone's gap or fold, as written
    expected = written if written.tzinfo else written.replace(tzinfo=UTC)
    assert parsed.article.published_at == expected
    for warning in parsed.warnings:
        assert isinstance(warning, FieldWarning)
        assert warning.reason


# ---------------------------------------------------------------------------------------------
# Without libyaml: the pure-Python SafeLoader gives the same answers


def test_pure_python_loader_agrees_with_libyaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.articles import yaml_events

    write_hostile_tree(tmp_path)
    seeds = Path(__file__).resolve().parent.parent / "seeds"
    files = sorted(p for p in [*tmp_path.rglob("*"), *seeds.iterdir()] if p.is_file())
    extra = [b"title: a\x07b\n", b"a: &x 1\nb: *x\n", b"- " * 5000 + b"x\n"]

    def outcomes() -> list[object]:
        results: list[object] = []
        for data in [*(p.read_bytes() for p in files), *extra]:
            try:
                results.append(parse_article(data))
            except ArticleRejected as exc:
                reason = str(exc)
                results.append("rejected: " + reason.partition(" at line")[0].partition(":")[0])
        return results

    assert yaml_events._Loader is yaml.CSafeLoader
    with_libyaml = outcomes()
    monkeypatch.setattr(yaml_events, "_Loader", yaml.SafeLoader)
    assert outcomes() == with_libyaml
    assert sum(isinstance(r, ParsedFile) for r in with_libyaml) == 7 + 5
