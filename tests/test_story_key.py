"""story_key and topic_key: one test per normalisation rule of DESIGN.md §3 (Stories, Topics)."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.articles import story_key, topic_key


def test_seed_titles_with_straight_and_curly_apostrophes_match() -> None:
    assert story_key("Let's Kill Facial Recognition For Good") == story_key(
        "Let’s Kill Facial Recognition For Good"
    )


def test_key_shape() -> None:
    assert story_key("Let’s Kill Facial Recognition For Good") == (
        "lets kill facial recognition for good"
    )


def test_nfkc() -> None:
    assert story_key("ＡＩ ﬁnds ①") == story_key("AI finds 1")  # fullwidth, ligature, circled


def test_case_folded() -> None:
    assert story_key("STRASSE NEWS") == story_key("straße news")
    assert story_key("AI Wins") == story_key("ai wins")


def test_typographic_single_quotes_are_plain() -> None:
    for quote in "‘’‚‛′`´ʼ":
        assert story_key(f"Don{quote}t panic") == story_key("Don't panic"), quote


def test_typographic_double_quotes_are_plain() -> None:
    for opening, closing in [("“", "”"), ("„", "“"), ("«", "»"), ("‟", "”"), ("″", "″")]:
        assert story_key(f"The {opening}AI{closing} bill") == story_key('The "AI" bill')


def test_dashes_are_plain() -> None:
    for dash in "‐‑‒–—―−":
        title = f"Silicon Valley and facial recognition {dash} about time"
        assert story_key(title) == story_key("Silicon Valley and facial recognition - about time")


def test_apostrophes_vanish_inside_words() -> None:
    assert story_key("Let's go") == story_key("Lets go")


def test_punctuation_runs_collapse_to_one_space() -> None:
    assert story_key("Opinion | The futile withdrawal...") == "opinion the futile withdrawal"
    assert story_key("AI: what's next?!") == story_key("AI what’s next")
    assert story_key("face-recognition") == story_key("face recognition")
    assert story_key("snake_case_title") == story_key("snake case title")


def test_whitespace_collapses_and_is_trimmed() -> None:
    assert story_key("  AI \t\n news\u00a0today\u2003 ") == "ai news today"


def test_different_titles_differ() -> None:
    assert story_key("AI wins at chess") != story_key("AI loses at chess")
    assert story_key("Version 2.0") != story_key("Version 20")


def test_non_latin_letters_are_kept() -> None:
    assert story_key("Искусственный интеллект!") == "искусственный интеллект"
    assert story_key("人工知能の未来") == "人工知能の未来"


def test_titles_without_letters_keep_a_key_of_their_own() -> None:
    assert story_key("!!!") == "!!!"
    assert story_key("!!!") != story_key("???")


@given(st.text(max_size=60))
def test_story_key_is_idempotent_on_keys_with_letters(title: str) -> None:
    key = story_key(title)
    if any(ch.isalnum() for ch in key):
        assert story_key(key) == key
    assert key == key.strip()


def test_topic_key_is_case_insensitive() -> None:
    assert topic_key("Computer Vision") == topic_key("computer vision") == "computer vision"
    assert topic_key("AI") == topic_key("ai")


def test_topic_key_collapses_whitespace() -> None:
    assert topic_key("  Natural   Language\tProcessing ") == "natural language processing"


def test_topic_key_keeps_punctuation() -> None:
    assert topic_key("C++") != topic_key("C")
    assert topic_key("Ethics & Policy") == "ethics & policy"


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_titles_key_as_the_full_normalisation_would(title: str) -> None:
    """story_key skips NFKC and the quote table for ASCII titles: they would change nothing."""
    from bot.articles.identity import _NON_ALNUM_RUN, _PLAIN_PUNCT

    text = unicodedata.normalize("NFKC", title.translate(_PLAIN_PUNCT))
    text = text.translate(_PLAIN_PUNCT).casefold()
    full = _NON_ALNUM_RUN.sub(" ", text.replace("'", "")).strip() or " ".join(text.split())
    assert story_key(title) == full
