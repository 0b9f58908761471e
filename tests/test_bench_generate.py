"""bench/generate.py: deterministic, seed-shaped, parseable corpus files."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.generate import (
    _TOPIC_SPELLINGS,
    PROVIDERS,
    TOPICS,
    _name,
    canonical_url,
    generate,
    iter_files,
    iter_records,
    main,
    yaml_str,
)

N = 200


def _front_matter(text: str) -> dict[str, Any]:
    assert text.startswith("---\n")
    head, sep, _body = text[4:].partition("\n---\n")
    assert sep, "front matter is not closed"
    loaded = yaml.safe_load(head)
    assert isinstance(loaded, dict)
    return loaded


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _norm_title(t: str) -> str:
    t = unicodedata.normalize("NFKC", t).casefold()
    t = t.translate(str.maketrans("‘’“”–—", "''\"\"--"))
    return " ".join(re.sub(r"[^\w\s]", " ", t).split())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    return generate(root, N, seed=7)


@pytest.fixture(scope="module")
def parsed(corpus) -> dict[str, dict[str, Any]]:
    return {rel: _front_matter(data.decode("utf-8")) for rel, data in _files(corpus.path).items()}


def test_same_seed_same_bytes_other_seed_other_bytes(corpus, tmp_path):
    again = generate(tmp_path / "again", N, seed=7)
    assert _files(again.path) == _files(corpus.path)
    assert (again.n_files, again.n_articles_expected, again.n_bytes) == (
        corpus.n_files,
        corpus.n_articles_expected,
        corpus.n_bytes,
    )
    other = generate(tmp_path / "other", N, seed=8)
    assert set(_files(other.path).values()).isdisjoint(_files(corpus.path).values())


def test_layout_names_and_counts(corpus):
    files = _files(corpus.path)
    assert len(files) == corpus.n_files == N
    assert all(re.fullmatch(r"d0000/\d{7}_[0-9a-f]{16}\.txt", rel) for rel in files)
    assert sorted(rel[6:13] for rel in files) == [f"{i:07d}" for i in range(N)]
    assert corpus.n_bytes == sum(len(b) for b in files.values())
    # 1,000 files a folder
    rels = [rel for rel, _text in iter_files(1001, seed=7)]
    assert rels[999].startswith("d0000/0000999_") and rels[1000].startswith("d0001/0001000_")


def test_every_file_parses_with_required_and_seed_shaped_fields(parsed):
    providers = {(p.name, p.domain) for p in PROVIDERS}
    for rel, d in parsed.items():
        assert isinstance(d["title"], str) and d["title"], rel
        assert re.match(r"https?://[^/]+/", d["webUrl"]), rel
        when = d["publishedDateTime"]
        assert isinstance(when, datetime) and when.utcoffset() == timedelta(0), rel
        assert 100 <= len(d["excerpt"]) <= 250, rel
        assert 0 <= d["quality"] <= 100
        assert d["heat"] == -1 or 0 <= d["heat"] <= 100
        assert isinstance(d["published"], bool)
        assert (d["provider"]["name"], d["provider"]["domain"]) in providers
        assert 1 <= len(d["topics"]) <= 3 and all(isinstance(t, str) for t in d["topics"])
        assert len(d.get("related", [])) <= 4
        assert len(d["secured"]) > 300
    years = {d["publishedDateTime"].year for d in parsed.values()}
    assert len(years) >= 2
    assert {t for d in parsed.values() for t in d["topics"]} & set(TOPICS) >= {"AI"}


def test_records_are_what_the_files_say(corpus, parsed):
    records = list(iter_records(N, seed=7))
    by_index = {int(rel[6:13]): d for rel, d in parsed.items()}
    assert records == [by_index[i] for i in range(N)]


def test_published_share_and_distinct_urls(corpus, parsed):
    share = sum(d["published"] for d in parsed.values()) / N
    assert 0.2 <= share <= 0.4
    assert corpus.n_published == sum(d["published"] for d in parsed.values())
    canon = {canonical_url(d["webUrl"]) for d in parsed.values()}
    assert len(canon) == corpus.n_articles_expected == N


def test_related_name_other_generated_articles_and_some_stubs(corpus, parsed):
    canon = {canonical_url(d["webUrl"]): d["title"] for d in parsed.values()}
    inside = outside = 0
    for d in parsed.values():
        own = canonical_url(d["webUrl"])
        for e in d.get("related", []):
            c = canonical_url(e["webUrl"])
            assert c != own
            assert e["title"] and e["provider"]["name"] and 0 <= e["quality"] <= 100
            if c in canon:
                inside += 1
                assert e["title"] == canon[c]
            else:
                outside += 1
    assert inside > outside > 0
    stubs = {
        canonical_url(e["webUrl"]) for d in parsed.values() for e in d.get("related", [])
    } - set(canon)
    assert corpus.n_related_stubs == len(stubs)


def test_some_stories_at_two_urls(corpus, parsed):
    groups: dict[str, list[dict[str, Any]]] = {}
    for d in parsed.values():
        groups.setdefault(_norm_title(d["title"]), []).append(d)
    pairs = [g for g in groups.values() if len(g) >= 2]
    assert len(pairs) >= 3
    assert corpus.n_two_url_stories >= len(pairs)
    for g in pairs:
        assert len({canonical_url(d["webUrl"]) for d in g}) == len(g)
        for d in g:  # each URL of the story has another provider's URL within 2 days of it
            assert any(
                o is not d
                and o["provider"]["domain"] != d["provider"]["domain"]
                and abs(o["publishedDateTime"] - d["publishedDateTime"]) <= timedelta(days=2)
                for o in g
            )


@pytest.mark.parametrize(
    "s", ['say "hi"', "C:\\path\\x", "tab\there", "new\nline", "’“”–—", "\x85\u2028", "# not: a"]
)
def test_yaml_str_round_trips(s):
    assert yaml.safe_load(f"k: {yaml_str(s)}") == {"k": s}


def test_plain_scalars_read_back_as_the_same_strings():
    spellings = [s for names in _TOPIC_SPELLINGS.values() for s in names]
    for s in [*TOPICS, *spellings, *(p.name for p in PROVIDERS), *(p.domain for p in PROVIDERS)]:
        assert yaml.safe_load(f"k: {_name(s)}") == {"k": s}
    assert len(PROVIDERS) == 200 and len(TOPICS) == 60
    assert _name("yes") == '"yes"'


def test_cli_prints_a_json_summary(tmp_path, capsys):
    assert main([str(tmp_path / "out"), "--count", "12", "--seed", "3"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_files"] == 12 and summary["seed"] == 3
    assert len(list((tmp_path / "out").rglob("*.txt"))) == 12
