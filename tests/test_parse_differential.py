"""The whole parse of a file, fast path against reference path: what a parse worker makes of a
file's bytes (``parse_article``, then ``prepare_article``: the article, its warnings, the rows
the writer stores, or the rejection and its message) must not depend on which YAML reader read
its front matter, nor on whether an Article is made (the workers' ``parse_values`` and
``prepare_values`` make none). The fast path is the line scanner (``yaml_fast.simple_yaml``);
the reference is libyaml's event parser (``yaml_events.read_document``), which reads every file
the scanner declines.

Inputs: every seed, every hostile fixture, small test files, generated real-shaped files, and
hypothesis-drawn front matter: real-shaped files with lines edited into odd values, odd
indentation, comments, duplicated or dropped lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import iter_files
from bot.articles import (
    ArticleRejected,
    ArticleValues,
    ParsedFile,
    parse,
    parse_article,
    parse_values,
)
from bot.store import prepare_article
from bot.store.prepare import prepare_values
from tests.fixtures.articles import article_file
from tests.fixtures.hostile_files import write_hostile_tree

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@contextmanager
def reference_path() -> Iterator[None]:
    """parse_article with the line scanner declining every document: libyaml reads them all."""
    with mock.patch.object(parse, "simple_yaml", lambda doc: None):
        yield


def outcome(data: bytes) -> tuple[str, object]:
    """What a worker makes of a file: the parse and the stored rows, or the rejection."""
    try:
        parsed = parse_article(data)
    except ArticleRejected as exc:
        return "rejected", str(exc)
    return "ok", (parsed, prepare_article(parsed.article))


def values_outcome(data: bytes) -> tuple[str, object]:
    """The same by the parse workers' path, which makes no Article (parse_values, then
    prepare_values), in outcome()'s shape."""
    try:
        values, warnings = parse_values(data)
    except ArticleRejected as exc:
        return "rejected", str(exc)
    assert ArticleValues.of(values.article()) == values
    return "ok", (ParsedFile(values.article(), warnings), prepare_values(values))


def assert_paths_agree(data: bytes) -> tuple[str, object]:
    fast = outcome(data)
    with reference_path():
        reference = outcome(data)
    workers = values_outcome(data)
    assert fast[0] == reference[0] == workers[0], (fast, reference, workers)
    # repr too: tells 1 from 1.0 and True, and a date from a datetime, which == does not
    assert fast == reference == workers
    assert repr(fast) == repr(reference) == repr(workers)
    return fast


def fixture_files(tmp_path: Path) -> list[Path]:
    write_hostile_tree(tmp_path / "hostile")
    small = tmp_path / "small"
    small.mkdir()
    article_file(small, "plain", "Plain title")
    article_file(small, "all", "Ünïcode — “title”", excerpt="An\texcerpt", provider="Prov")
    article_file(small, "odd", "x", url="https://WWW.Example.com:443/a/?b=1&utm_x=2#f", topics=())
    return [p for p in sorted(tmp_path.rglob("*")) if p.is_file()]


def test_seeds_and_fixtures_parse_alike_on_both_paths(tmp_path: Path) -> None:
    files = sorted(SEEDS.iterdir()) + fixture_files(tmp_path)
    kinds = [assert_paths_agree(path.read_bytes())[0] for path in files]
    assert kinds.count("ok") >= len(list(SEEDS.iterdir())) + 3  # the seeds and small files
    assert "rejected" in kinds  # the hostile ones


def test_generated_files_parse_alike_on_both_paths() -> None:
    for _path, text in iter_files(150, seed=11):
        assert assert_paths_agree(text.encode())[0] == "ok"


# Values a line may be edited into: every YAML type, broken quoting, block scalars, flow
# collections, tags, anchors, URLs that canonicalise, dates with and without offsets.
ODD_VALUES = [
    "", "~", "null", "-1", "-2", "0", "1e3", "187.5", "150.0", ".nan", ".inf", "-0.5", "yes",
    "true", "False", "'x'", "'it''s'", '"a\\tb"', '"\\u00e9t\\u00e9"', '"unclosed', "'unclosed",
    '""', "'   '", "[a, b]", "{a: 1}", "[]", "{}", "|\n  block\n  text", ">\n  folded",
    "&a x", "*a", "!!str 5", "!!int x", "!custom x", "2020-02-30", "2020-06-25",
    "2020-06-25T21:16:00+02:00", "2020-06-25 21:16:00", "2020-06-25T24:00:00Z", "http://",
    "ftp://x", '"https://WWW.Example.COM:443/a/?utm_source=x&b=2&a=1#f"',
    "https://xn--bcher-kva.example/ä?b=%7e&a=1", "https://x.example/a%2fb%7E?&&fbclid=2",
    "http://[::1]:8080/x", "https://a.example/x&#038;y=1", "x # comment", "a: b", "- x",
    "@everyone", "<@&123>", "\t", "T" * 300,
]  # fmt: skip
EDITS = ["value", "drop", "duplicate", "indent", "trail", "comment", "tab", "char"]
CHARS = ["", "é", "%", "\t", "  ", "\u2019", "&amp;", "#", ":", "\u2028", "\x07", "'", '"', "\\"]


@st.composite
def edited_files(draw: st.DrawFn) -> str:
    """A real-shaped file (from bench.generate) with a few of its lines edited."""
    index = draw(st.integers(0, 59))
    text = next(t for i, (_p, t) in enumerate(iter_files(60, seed=5)) if i == index)
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(1, len(lines) - 2))
        line = lines[at]
        edit = draw(st.sampled_from(EDITS))
        key, colon, _value = line.partition(": ")
        if edit == "value" and colon:
            lines[at] = f"{key}: {draw(st.sampled_from(ODD_VALUES))}"
        elif edit == "drop":
            del lines[at]
        elif edit == "duplicate":
            lines.insert(at, lines[draw(st.integers(1, len(lines) - 2))])
        elif edit == "indent":
            lines[at] = " " * draw(st.integers(0, 5)) + line.lstrip(" ")
        elif edit == "trail":
            lines[at] = line + draw(st.sampled_from([" ", "  # c", "#c", ":", " :"]))
        elif edit == "comment":
            lines.insert(at, " " * draw(st.integers(0, 4)) + draw(st.sampled_from(["#", "# x: 1"])))
        elif edit == "tab":
            lines[at] = line.replace(" ", "\t", 1)
        elif line:
            spot = draw(st.integers(0, len(line) - 1))
            lines[at] = line[:spot] + draw(st.sampled_from(CHARS)) + line[spot + 1 :]
    return "\n".join(lines)


FUZZ = settings(deadline=None, max_examples=400, suppress_health_check=list(HealthCheck))


@FUZZ
@given(edited_files())
def test_edited_files_parse_alike_on_both_paths(text: str) -> None:
    assert_paths_agree(text.encode())


@st.composite
def flat_front_matter(draw: st.DrawFn) -> str:
    """Front matter in the flat shapes the scanner reads, its keys and values drawn."""
    keys = ["title", "webUrl", "originalUrl", "publishedDateTime", "excerpt", "quality", "heat",
            "published", "removed", "type", "category", "topics", "ampWebUrl", "x"]  # fmt: skip
    lines = [
        f"title: {json.dumps(draw(st.text(min_size=1, max_size=30)))}",
        'webUrl: "https://example.com/a"',
        "publishedDateTime: 2024-03-01T09:30:00Z",
    ]
    for _ in range(draw(st.integers(0, 6))):
        key = draw(st.sampled_from(keys))
        if draw(st.booleans()):
            value = draw(st.sampled_from(ODD_VALUES))
        else:
            value = json.dumps(draw(st.text(max_size=20)))
        if key == "topics" and draw(st.booleans()):
            lines.append("topics:")
            lines += [f"  - {draw(st.sampled_from(ODD_VALUES[:30]))}" for _ in range(2)]
        else:
            lines.append(f"{key}: {value}")
    order = draw(st.permutations(lines))
    return "---\n" + "\n".join(order) + "\n---\nbody\n"


@FUZZ
@given(flat_front_matter())
def test_drawn_front_matter_parses_alike_on_both_paths(text: str) -> None:
    assert_paths_agree(text.encode())


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("---\ntitle: A\n---\n", "rejected"),  # missing fields: the same reason
        (
            "title: A\nwebUrl: https://e.example/a\npublishedDateTime: 2024-01-01\n",
            "ok",
        ),  # no fences
        ("---\n- a\n- b\n---\n", "rejected"),
        ("---\n\n---\n", "rejected"),
        ("plain text only", "rejected"),
    ],
)
def test_small_files_read_alike_on_both_paths(text: str, kind: str) -> None:
    assert assert_paths_agree(text.encode())[0] == kind
