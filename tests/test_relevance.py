"""Search relevance: FTS5's words, title over excerpt over provider, saturation."""

from __future__ import annotations

import sqlite3
import unicodedata

from bot.store.relevance import Relevance, fts5_words, words


def relevance(query_words: list[str], title: str, excerpt: str | None, provider: str | None):
    return Relevance(query_words).score(title, excerpt, provider)


def test_words_are_cut_like_the_fts5_tokenizer():
    assert words("Self-driving CAFÉ_bar  x2") == ["self", "driving", "cafe", "bar", "x2"]
    assert words("Łódź naïve") == ["łodz", "naive"]
    assert words(None) == [] and words("") == [] and words("-- !") == []


def test_title_outweighs_excerpt_outweighs_provider():
    in_title = relevance(["robot"], "Robot news", "nothing", "Wired")
    in_excerpt = relevance(["robot"], "News", "a robot", "Wired")
    in_provider = relevance(["robot"], "News", "nothing", "Robot Report")
    assert in_title > in_excerpt > in_provider > 0
    assert relevance(["robot"], "News", None, None) == 0


def test_more_query_words_found_scores_higher_and_repeats_saturate():
    both = relevance(["robot", "arm"], "Robot arm", None, None)
    one = relevance(["robot", "arm"], "Robot hand", None, None)
    assert both > one
    once = relevance(["robot"], "robot a b c", None, None)
    thrice = relevance(["robot"], "robot robot robot c", None, None)
    assert once < thrice < 3 * once


def test_whole_words_only_and_accents_folded():
    assert relevance(["robot"], "Robotics news", None, None) == 0
    assert relevance(["robot"], "robot_arm", None, None) > 0  # "_" separates words in FTS5 too
    assert relevance(["cafe"], "Le Café", None, None) > 0
    assert relevance([], "anything", None, None) == 0


def test_no_general_punctuation_is_a_combining_mark():
    # _folded looks combining marks up only outside U+2000-U+206F (curly quotes, dashes)
    assert not [c for c in map(chr, range(0x2000, 0x2070)) if unicodedata.combining(c)]
    assert words("It’s “naı̈ve” — café") == ["it", "s", "naıve", "cafe"]


def test_fts5_words_are_the_terms_sqlites_tokenizer_indexes():
    """The oracle is FTS5 itself (titles_fts's tokenizer): Latin letters lose their marks,
    other scripts keep theirs, case folds one letter to one."""
    texts = ["Café SOCIÉTÉ à Paris", "Новый чип от Яндекса", "Ελληνικά νέα ΆΝΔΡΑΣ", "Straße",
             "ロボット 日本", "Øresund Ærø", "naïve résumé", "ascii Words 42", "ẞ ſ"]  # fmt: skip
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'unicode61 remove_diacritics 2')"
    )
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, row)")
    for text in texts:
        conn.execute("DELETE FROM t")
        conn.execute("INSERT INTO t (x) VALUES (?)", (text,))
        indexed = sorted(term for (term,) in conn.execute("SELECT term FROM v"))
        assert sorted(fts5_words(text)) == indexed, text
    assert fts5_words("Café") == words("Café")  # Latin: as search's own words
