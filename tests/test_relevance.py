"""Search relevance: FTS5's words, title over excerpt over provider, saturation."""

from __future__ import annotations

import random

from bot.store.relevance import Relevance, words


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


# Pieces that fold, join or split words differently: case, ß, ligatures, full-width and Arabic
# digits, combining accents, no-break spaces (NFKD makes them spaces), underscores, Greek
# final sigma, dotted İ, and the separator the batch joins texts with.
_PIECES = ["robot", "Robot", "ROBOTS", "climate", "ß", "strasse", "STRASSE", "café",
           "cafe\u0301", "x_robot", "robot_x", "١٢", "ｒｏｂｏｔ", "a", "the", "ai", "naïve",
           "İstanbul", "ǅ", "\u00a0", "\n", "-", "é", "chip", "new", "\u2019s", "ﬁ", "fi",
           "deep", "Σίσυφος", "σίσυφοσ", "robotrobot", "\x00"]  # fmt: skip


def _text(rng: random.Random) -> str | None:
    if rng.random() < 0.1:
        return rng.choice([None, ""])
    return "".join(
        rng.choice(_PIECES) + rng.choice([" ", " ", "-", ".", "\u00a0", ""])
        for _ in range(rng.randrange(1, 40))
    )


def test_many_texts_at_once_score_as_each_alone_to_the_bit():
    rng = random.Random(5)
    scored = 0
    for _ in range(400):
        query = words(_text(rng))[:4] or ["robot"]
        batch = [(_text(rng), _text(rng), _text(rng)) for _ in range(rng.randrange(0, 60))]
        if rng.random() < 0.7:  # most batches as PostgreSQL's: no text holds the separator
            batch = [tuple(t and t.replace("\x00", " ") for t in row) for row in batch]
        relevance = Relevance(query)
        alone = [relevance.score(*row) for row in batch]
        assert [s.hex() for s in relevance.scores(batch)] == [s.hex() for s in alone], query
        scored += sum(1 for s in alone if s)
    assert scored > 5000  # the queries were found
