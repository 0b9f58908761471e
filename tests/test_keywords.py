"""Keyword filters: parsing what an admin types, whole-word case-insensitive matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.keywords import MAX_TERMS, KeywordError, KeywordFilter, parse_terms, words


def test_comma_separated_words_and_quoted_phrases():
    assert parse_terms('AI, "open source", robots') == ("AI", "open source", "robots")
    assert parse_terms('"a, b", c') == ("a, b", "c")  # a comma inside quotes stays
    assert parse_terms(" , AI,, ai ,") == ("AI",)  # blanks and case duplicates dropped
    assert parse_terms(["Open  Source", "open source"]) == ("Open Source",)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (", ".join(f"w{n}" for n in range(MAX_TERMS + 1)), "at most 20"),
        ('"open source', "not closed"),
        ("AI, ---", "no letters or digits"),
        ("x" * 101, "longer than 100"),
    ],
)
def test_unusable_lists_are_refused_with_the_reason(text: str, reason: str):
    with pytest.raises(KeywordError, match=reason):
        parse_terms(text)


def test_twenty_terms_are_fine():
    assert len(parse_terms(", ".join(f"w{n}" for n in range(MAX_TERMS)))) == MAX_TERMS


def test_words_fold_case_and_split_punctuation():
    assert words("Crypto's AI—Open-Source, ＡＩ!") == ("crypto", "s", "ai", "open", "source", "ai")


@pytest.mark.parametrize(
    ("title", "excerpt", "kept"),
    [
        ("Crypto exchange collapses", None, False),
        ("CRYPTO: a winter", None, False),
        ("Cryptography for everyone", None, True),  # whole words only
        ("Markets", "the crypto winter goes on", False),  # the excerpt counts
        ("Bitcoin and crypto's future", None, False),
    ],
)
def test_exclude_is_whole_words_case_insensitive(title, excerpt, kept):
    reason = KeywordFilter(exclude=("crypto",)).reason(title, excerpt)
    assert (reason is None) is kept
    if not kept:
        assert reason == 'excluded: "crypto"'


def test_keywords_need_one_match_and_phrases_match_in_order():
    words_filter = KeywordFilter(keywords=("open source", "robots"))
    assert words_filter.reason("An open-source model", None) is None
    assert words_filter.reason("Robots sort parcels", None) is None
    assert words_filter.reason("Source code is open", None) == "no keyword matched"
    # a phrase does not run from the title's last word into the excerpt's first
    assert words_filter.reason("Everything is open", "Source: a blog") == "no keyword matched"


def test_exclude_wins_over_keywords_and_no_filter_keeps_all():
    both = KeywordFilter(keywords=("ai",), exclude=("crypto",))
    assert both.reason("AI meets crypto", None) == 'excluded: "crypto"'
    assert KeywordFilter().reason("anything", None) is None


@given(st.text(max_size=200), st.text(max_size=60))
def test_a_term_found_in_a_text_is_kept(text: str, term: str):
    try:
        [parsed] = parse_terms([term])
    except (KeywordError, ValueError):
        return
    found = KeywordFilter(keywords=(parsed,)).reason(f"{text} {parsed}", None)
    assert found is None
