"""The line scanner (bot/articles/yaml_fast.py): plain block YAML read without libyaml.

It may decline any document (None: the event parser reads it), but a value it returns must be
exactly what the event parser (``_values``, over libyaml's events) returns, type for type, and
it must accept the files article feeds actually write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yaml.constructor import SafeConstructor

from bench.generate import iter_files
from bot.articles import ArticleRejected, parse_article, yaml_events
from bot.articles.parse import _front_matter
from bot.articles.yaml_events import _values
from bot.articles.yaml_fast import simple_yaml
from bot.articles.yaml_scalars import plain_scalar

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
LOADERS = [yaml_events._Loader, yaml.SafeLoader]  # libyaml's where it is installed, and PyYAML's


def event_parser(doc: str, loader_class: Any = yaml_events._Loader) -> tuple[bool, object]:
    """(True, value) as the event parser builds it, or (False, the error's type name)."""
    loader = loader_class(doc)
    try:
        return True, _values(loader, 0)
    except Exception as exc:  # a YAML error, ArticleRejected, or the pure reader's ValueError
        return False, type(exc).__name__
    finally:
        loader.dispose()


def strict(value: object) -> str:
    """A rendering that tells True from 1, 1 from 1.0, date from datetime, and keeps dict order."""
    return repr(value)


def assert_fast_path_agrees(doc: str) -> object:
    """The fast path's value (None when it declines), checked against both event parsers."""
    fast = simple_yaml(doc)
    if fast is not None:
        for loader_class in LOADERS:
            ok, value = event_parser(doc, loader_class)
            assert ok, f"fast path read a document {loader_class.__name__} rejects: {value}"
            assert strict(fast) == strict(value), loader_class.__name__
    return fast


# ---------------------------------------------------------------------------------------------
# What it reads, and what it leaves to the event parser


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ("a: 1\nb: x\n", {"a": 1, "b": "x"}),
        ("topics:\n- AI\n- ML\nnext: 1\n", {"topics": ["AI", "ML"], "next": 1}),
        ("- -1\n- -x\n- --\n", [-1, "-x", "--"]),
        (
            "heat: -1\nq: 010\nh: 0x1F\nn: 1_000\ns: 1:20\nf: .5\ne: 1e3\n",
            {"heat": -1, "q": 8, "h": 31, "n": 1000, "s": 80, "f": 0.5, "e": "1e3"},
        ),
        (
            "a: yes\nb: No\nc: ~\nd:\ne: null\n",
            {"a": True, "b": False, "c": None, "d": None, "e": None},
        ),
        ("true: 1\n1: 2\n~: 3\n", {True: 2, None: 3}),  # 1 == True: one key, as in PyYAML
        (".nan: 1\n.NaN: 2\n", {float("nan"): 2}),  # PyYAML's one NaN object: one key
        (
            "d: 2020-06-25T21:16:00Z\nx: 2020-02-30\n",
            {"d": datetime(2020, 6, 25, 21, 16, tzinfo=UTC), "x": "2020-02-30"},
        ),
        ('t: "a\\\\b \\"q\\" \\/ \\x41\\u00e9\\U0001F600\\t"\n', {"t": 'a\\b "q" / Aé😀\t'}),
        ("t: 'it''s'  # said\nu: plain # comment\n", {"t": "it's", "u": "plain"}),
        ("a:   # nothing yet\n  b: 1\n\n# a comment\n  # another\nc: 2\n", {"a": {"b": 1}, "c": 2}),
        ("- a: 1\n  b: 2\n-   c: 3\n    d:\n    - 4\n", [{"a": 1, "b": 2}, {"c": 3, "d": [4]}]),
        ("- \n-\n  - x\n", [None, ["x"]]),
        ("url: http://x.y/z?q=1#frag\nk:v: w\n", {"url": "http://x.y/z?q=1#frag", "k:v": "w"}),
    ],
)
def test_reads_plain_block_yaml(doc: str, expected: object) -> None:
    assert strict(assert_fast_path_agrees(doc)) == strict(expected)


@pytest.mark.parametrize(
    "doc",
    [
        "",  # empty: the event parser says so
        "# only a comment\n",
        "just text\n",
        "a: [1, 2]\n",
        "a: {b: 1}\n",
        "a: |\n  text\n",
        "a: >\n  text\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "%YAML 1.1\n---\na: 1\n",
        "? a\n: 1\n",
        "a: 1\n---\nb: 2\n",
        "a: 1\n...\n",
        "a:\n\t- x\n",
        "a: b\n  c\n",  # a plain scalar continued on the next line
        'a: "b\n  c"\n',
        "a: b: c\n",
        "a: b #c: d\nk: v:\n",
        "a: - x\n",
        "key::x\n",
        "key:x\n",
        'a: "x" y\n',
        "a: 'x'y\n",
        'a: "\\q"\n',
        'a: "\\ud800"\n',
        "a: \x07\n",
        "a: 1\r\nb: 2\n",
        "a:\n  - - x\n",  # a compact nested sequence: declined, though valid
        "k:: w\n",  # a key ending in a colon: declined, though valid
        "a:\n   b: 1\n  c: 2\n",  # an indentation no collection has
        "a:\n  - x\n  y: 1\n",
        "a: 1\n- x\n",
        "- x\na: 1\n",
        "a" * 200 + ": 1\n",
        "a:\n" + "".join(" " * i + "- x:\n" for i in range(0, 140, 2)),  # deeper than MAX_DEPTH
    ],
)
def test_leaves_everything_else_to_the_event_parser(doc: str) -> None:
    assert simple_yaml(doc) is None


# ---------------------------------------------------------------------------------------------
# The files it is for


def front_matter(text: str) -> str:
    return _front_matter(text.replace("\r\n", "\n"))[0]


def test_every_seed_is_read_by_the_fast_path_as_the_event_parser_reads_it() -> None:
    seeds = sorted(SEEDS.glob("*.txt"))
    assert seeds
    for path in seeds:
        doc = front_matter(path.read_text(encoding="utf-8"))
        assert assert_fast_path_agrees(doc) is not None, path.name


def test_generated_corpus_files_are_read_by_the_fast_path_as_the_event_parser_reads_them() -> None:
    declined = []
    for rel, text in iter_files(2000, seed=7):
        doc = front_matter(text)
        fast = simple_yaml(doc)
        if fast is None:
            declined.append(rel)
            continue
        ok, value = event_parser(doc)
        assert ok and strict(fast) == strict(value), rel
    assert declined == []


def test_parse_article_uses_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_libyaml(doc: str) -> None:
        raise AssertionError("the event parser was used")

    monkeypatch.setattr(yaml_events, "_Loader", no_libyaml)
    for path in sorted(SEEDS.glob("*.txt")):
        assert parse_article(path.read_bytes()).article.title


def test_errors_still_come_from_the_event_parser() -> None:
    with pytest.raises(ArticleRejected, match="anchors and aliases"):
        parse_article(b"---\ntitle: &a x\n---\n")
    with pytest.raises(ArticleRejected, match="YAML syntax error at line 3"):
        parse_article(b"---\ntitle: x\nwebUrl: a: b\n---\n")


# ---------------------------------------------------------------------------------------------
# Fuzzing: block documents from a grammar of the subset, with near misses

PLAIN = [
    "AI", "news", "Computer Vision", "true", "True", "TRUE", "false", "yes", "Yes", "No", "NO",
    "on", "On", "off", "y", "Y", "n", "null", "Null", "NULL", "~", "0", "00", "1", "-1", "+1",
    "-0", "010", "0o7", "08", "0x1F", "0x", "0b101", "0b2", "1_000", "_1", "1e3", "1.5", "1.0",
    "-1.5e+3", "1.5e3", ".5", "1.", "._", ".nan", ".NaN", ".inf", "-.inf", "+.Inf", "1:20",
    "-1:20:30", "190:20:30.15", "1:60", "2020-06-25T21:16:00Z", "2020-06-25t21:16:00z",
    "2020-06-25 21:16:00 +02:00", "2020-06-25T21:16:00.123456789-05", "2020-06-25T1:16:00 Z",
    "2020-06-25T21:16:00.5Z", "2020-02-30", "2020-02-30T00:00:00Z", "2020-6-5",
    "2020-06-25T24:00:00Z", "0000-01-01", "2020-06-25", "<<", "=", "a b", "a:b", "a#b",
    "http://x.y/z?q=1#f", "-x", "--", "-1x", "é", "日本", "\xa0x", "x\xa0", "a'b", 'a"b', "a\\b",
    "a,b", "a[b]", "a{b}", "a&b", "a*b", "a!b", "a|b", "a>b", "a%b", "a@b", "a`b",
    "1" + "0" * 4400, "12345678901234567890123", "-" + "9" * 4301,
]  # fmt: skip
PLAIN_ODD = [
    "a: b", "a #b", "a:", "x:", "- x", "-", "?x", "? x", ":x", "[a]", "{a}", "&a x", "*a", "!x y",
    "!!str 1", "!!int x", "|", ">", "%x", "@x", "`x", ",x", "#x", "a\tb", "a\rb", "\ufeffa",
    "a\x85b", "a\u2028b", "x\x07", "'a", '"a', "---", "...", "a::b", "a :b", "a  ", "\\",
]  # fmt: skip
EDGE_TIMES = [
    "2020-06-25T24:00:00Z", "2020-02-29T00:00:00Z", "2021-02-29T00:00:00Z", "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2020-06-25T23:59:60Z", "2020-06-25T23:60:00Z",
    "2020-13-01T00:00:00Z", "2020-00-10T00:00:00Z", "2020-06-00T00:00:00Z",
]  # fmt: skip
PLAIN += EDGE_TIMES
KEYS = [
    "a", "b", "title", "webUrl", "x y", "true", "1", "-1", "null", "~", "on", "No", "010",
    "0x1F", "1.5", "1e3", "2020-06-25", "2020-06-25T21:16:00Z", "<<", "=", "é", "-x", "a#b",
    "a'b", ".nan", ".inf", "1_0", "a:b", "1:20", "a" * 100,
]  # fmt: skip
KEYS_ODD = [
    "a #b", "a ", "-", "- a", "?a", "? a", ":a", "[a]", "{a}", "&a", "*a", "!a", "|",
    ">", "'a'", '"a"', "%a", "@a", "`a", ",a", "#a", "---", "...", "a" * 1100, "a\tb", "a::",
]  # fmt: skip
DOUBLE = [
    "a", " ", "é", "\\\\", '\\"', "\\/", "\\n", "\\t", "\\0", "\\x41", "\\x00", "\\xe9",
    "\\u00e9", "\\u2028", "\\U0001F600", "\\N", "\\_", "\\L", "\\P", "\\e", "\\ ", "\\a", "\\b",
    "\\v", "\\f", "\\r", "'", "#", " #", ": ", "-", "日",
]  # fmt: skip
DOUBLE_ODD = [
    "\\", "\\q", "\\x4", "\\xZZ", "\\ud800", "\\uDFFF", "\\U00110000", "\\U0000D800", '"', "\\'",
    "\t", "\\\t", "\x07",
]  # fmt: skip
SINGLE = ["a", "''", " ", '"', "\\", "#", " #", ": ", "é", "-"]
SINGLE_ODD = ["'", "\t"]
AFTER_SCALAR = ["", "", "", " ", "  ", " # c", "  #: c"]
AFTER_SCALAR_ODD = ["#c", " x", " :", "\t"]
GAPS = ["", "   ", "# c", "   # c: d"]
MUTATIONS = [*"-?:,[]{}#&*!|>'\"%@` \n\t\r\\", "\n---\n", "\n...\n", "\ufeff", "\x85"]

T = TypeVar("T")


class Writer:
    """Draws the choices of one document; ``clean`` stays True while every choice is one the
    fast path must accept."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.clean = True
        self.lines: list[str] = []

    def pick(self, usual: list[T], odd: list[T]) -> T:
        if odd and self.draw(st.integers(0, 49)) == 0:
            self.clean = False
            return self.draw(st.sampled_from(odd))
        return self.draw(st.sampled_from(usual))

    def scalar(self) -> str:
        kind = self.draw(st.sampled_from([*["plain"] * 5, "double", "double", "single", "random"]))
        if kind == "plain":
            text = self.pick(PLAIN, PLAIN_ODD)
        elif kind == "double":
            pieces = [self.pick(DOUBLE, DOUBLE_ODD) for _ in range(self.draw(st.integers(0, 4)))]
            text = '"' + "".join(pieces) + '"'
        elif kind == "single":
            pieces = [self.pick(SINGLE, SINGLE_ODD) for _ in range(self.draw(st.integers(0, 4)))]
            text = "'" + "".join(pieces) + "'"
        else:
            self.clean = False
            pieces = self.draw(st.lists(st.sampled_from([*MUTATIONS, *"ab1 ."]), min_size=1))
            text = "".join(pieces)
        return text + self.pick(AFTER_SCALAR, AFTER_SCALAR_ODD)

    def line(self, text: str) -> None:
        for _ in range(self.draw(st.integers(0, 1))):
            self.lines.append(self.draw(st.sampled_from(GAPS)))
        self.lines.append(text)

    def collection(self, node: Any, col: int, first_prefix: str | None = None) -> None:
        """The entries of a mapping or sequence at column ``col``; the first one may go on the
        line ``first_prefix`` starts (a compact "- key: value")."""
        kind, items = node
        for index, item in enumerate(items):
            prefix = first_prefix if index == 0 and first_prefix is not None else " " * col
            if kind == "map":
                _, child = item
                self.value(prefix + self.pick(KEYS, KEYS_ODD) + ":", child, col, key=True)
            else:
                self.value(prefix + "-", item, col, key=False)

    def value(self, head: str, node: Any, col: int, *, key: bool) -> None:
        """``head`` ("key:" or "-") followed by ``node``, on this line or nested below."""
        space = " " * self.pick([1, 1, 2] if key else [1, 1, 3], [0])
        if node[0] == "scalar":
            self.line(head + space + self.scalar())
            return
        if not key and node[0] == "map" and self.draw(st.booleans()):
            self.collection(node, len(head + space), head + space)  # "- key: value"
            return
        if not key and node[0] == "seq" and self.draw(st.integers(0, 5)) == 0:
            self.clean = False  # "- - x"
            self.collection(node, len(head + space), head + space)
            return
        self.line(head + self.pick(["", "", " ", " # c"], ["#c", " x"]))
        steps = [2, 2, 1, 4] + ([0] if key and node[0] == "seq" else [])
        self.collection(node, col + self.pick(steps, [0, 3]))


def trees(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaf,
        lambda children: (
            st.lists(st.tuples(st.none(), children), min_size=1, max_size=4).map(
                lambda items: ("map", items)
            )
            | st.lists(children, min_size=1, max_size=4).map(lambda items: ("seq", items))
        ),
        max_leaves=16,
    )


@st.composite
def block_documents(draw: st.DrawFn) -> tuple[str, bool]:
    """(a document, whether the fast path must accept it)."""
    node = draw(trees(st.just(("scalar", None))))
    if node[0] == "scalar":
        node = ("map", [(None, node)])
    writer = Writer(draw)
    writer.collection(node, draw(st.sampled_from([0, 0, 0, 2])))
    doc = "\n".join(writer.lines) + draw(st.sampled_from(["\n", "", "\n\n"]))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        writer.clean = False
        at = draw(st.integers(0, len(doc)))
        cut = draw(st.integers(0, 1))
        doc = (
            doc[:at] + draw(st.sampled_from(MUTATIONS)) * draw(st.integers(0, 1)) + doc[at + cut :]
        )
    return doc, writer.clean


FUZZ = settings(deadline=None, max_examples=600, suppress_health_check=list(HealthCheck))


@FUZZ
@given(block_documents())
def test_block_documents_read_as_the_event_parser_reads_them(case: tuple[str, bool]) -> None:
    doc, clean = case
    fast = assert_fast_path_agrees(doc)
    if clean:
        assert fast is not None, "a document of the subset was declined"


@FUZZ
@given(
    st.lists(st.sampled_from([*MUTATIONS, *"ab1 .~"]) | st.characters(), max_size=60).map("".join)
)
def test_any_text_is_declined_or_read_as_the_event_parser_reads_it(doc: str) -> None:
    assert_fast_path_agrees(doc)


yaml_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(PLAIN)
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.dates(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(yaml_values, st.booleans(), st.integers(20, 100))
def test_what_pyyaml_writes_is_declined_or_read_as_the_event_parser_reads_it(
    value: object, unicode: bool, width: int
) -> None:
    assert_fast_path_agrees(yaml.safe_dump(value, allow_unicode=unicode, width=width))


def pyyaml_plain(text: str) -> object:
    """A plain scalar as PyYAML's resolver and safe constructor make it; the text where the
    constructor fails (the event pass keeps it so)."""
    tag = yaml.resolver.Resolver().resolve(yaml.ScalarNode, text, (True, False))
    try:
        return SafeConstructor().construct_object(yaml.ScalarNode(tag, text))
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, AttributeError):
        return text


@FUZZ
@given(
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", fullmatch=True)
    | st.datetimes().map(lambda moment: f"{moment:%Y-%m-%dT%H:%M:%S}Z")
    | st.sampled_from(PLAIN)
    | st.text(max_size=12)
)
def test_plain_scalars_resolve_as_pyyaml_does(text: str) -> None:
    """Including the usual date-time, which _plain_scalar builds with fromisoformat."""
    assert strict(plain_scalar(text)) == strict(pyyaml_plain(text))
