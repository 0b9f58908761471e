"""A batch's new articles go in together (bot.store.write): the ids, texts, stories, full-text
entries and change sequence are those of writing the batch's files one after another, also when
a URL comes twice in one batch (two files about it, or two related lists naming it)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from bot.articles import canonical_url
from bot.store import Store
from tests.test_store import T0, art, rec

A, C, D, X, E, Y = (
    canonical_url(f"https://example.com/{name}") for name in ("a", "c", "d", "x", "e", "y")
)


def rows(db: Path) -> dict[str, tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return {
            url: (article_id, title, from_file, story_id, change_seq)
            for url, article_id, title, from_file, story_id, change_seq in conn.execute(
                "SELECT canonical_url, id, title, from_file, story_id, change_seq FROM articles"
            )
        }


async def test_a_url_twice_in_one_batch_keeps_the_later_text_and_the_ids_in_order(
    tmp_path: Path,
):
    db = tmp_path / "news.db"
    store = await Store.open(db)
    try:
        stub_one = art("https://example.com/x", "Stub one", when=T0 - timedelta(days=30))
        stub_two = art("https://example.com/x", "Stub two", when=T0 - timedelta(days=30))
        counts = await store.articles.apply_batch(
            [
                rec("/a", art("https://example.com/a", "Quantum leap", related=(stub_one,))),
                rec("/b", art("https://example.com/a/", "Fusion record", topics=("AI",))),
                rec(
                    "/c",
                    art(
                        "https://example.com/c",
                        "Same story headline",
                        related=(stub_two, art("https://example.com/a", "A as named")),
                    ),
                ),
                rec("/d", art("https://example.com/d", "Same story headline!", topics=("AI",))),
            ],
            now=1.0,
        )
        assert (counts.added, counts.updated, counts.related_added) == (3, 1, 1)
        first = rows(db)
        seq = first[A][4]
        assert seq is not None
        # ids as one insert after another gave them: the files' articles, then the stubs
        assert first == {
            A: (1, "Fusion record", 1, 1, seq),
            C: (2, "Same story headline", 1, 2, seq),
            D: (3, "Same story headline!", 1, 2, seq),
            X: (4, "Stub two", 0, 4, None),
        }
        assert await store.reads.search("quantum") == []
        assert [e.article.title for e in await store.reads.search("fusion")] == ["Fusion record"]
        assert [t for _, t in await store.reads.title_choices("stub")] == ["Stub two"]
        assert [e.article.title for e in await store.reads.topic_entries("ai")] == [
            "Same story headline!",
            "Fusion record",
        ]

        # The next batch numbers on from the largest id.
        stub_y = art("https://example.com/y", "Stub why", when=T0)
        await store.articles.apply_batch(
            [
                rec("/e", art("https://example.com/e", "Same story headline", related=(stub_y,))),
                rec("/a", art("https://example.com/a", "Quantum leap")),
            ],
            now=2.0,
        )
        second = rows(db)
        assert second[E][:4] == (5, "Same story headline", 1, 2)
        assert second[Y][:4] == (6, "Stub why", 0, 6)
        assert second[A][:4] == (1, "Quantum leap", 1, 1)
        assert second[E][4] == second[A][4] != seq
        assert [e.article.title for e in await store.reads.search("quantum")] == ["Quantum leap"]
        assert await store.integrity_check() == "ok"
    finally:
        await store.close()


async def test_a_store_at_the_largest_rowid_still_takes_new_articles(tmp_path: Path):
    """Past id 2^63-1 SQLite picks new ids itself: the batch inserts row by row there."""
    db = tmp_path / "news.db"
    store = await Store.open(db)
    await store.close()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO articles (id, canonical_url, url, title, story_key, updated_at)"
            " VALUES (?, 'https://example.com/top', 'https://example.com/top', 'Top', 'top', 0)",
            ((1 << 63) - 1,),
        )
    store = await Store.open(db)
    try:
        stub = art("https://example.com/x", "Stub one")
        counts = await store.articles.apply_batch(
            [
                rec("/a", art("https://example.com/a", "Quantum leap", related=(stub,))),
                rec("/c", art("https://example.com/c", "Fusion record", related=(stub,))),
            ],
            now=1.0,
        )
        assert (counts.added, counts.related_added) == (2, 1)
        found = rows(db)
        assert {found[url][1] for url in (A, C, X)} == {"Quantum leap", "Fusion record", "Stub one"}
        assert len({found[url][0] for url in (A, C, X)}) == 3
        assert [e.article.title for e in await store.reads.search("quantum")] == ["Quantum leap"]
    finally:
        await store.close()
