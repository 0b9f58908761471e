"""Migration 6: stored URLs re-keyed by the new canonical_url, and what becomes one merged."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.articles import Article, canonical_url
from bot.store import FileRecord, Store

T0 = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def old(url: str, title: str, key: str | None = None, **fields: Any) -> Article:
    """An article as the parser before migration 6 stored it: its key as given."""
    return Article(url=url, canonical_url=key or url, title=title, published_at=T0, **fields)


def rec(path: str, article: Article) -> FileRecord:
    return FileRecord(path, 10, 1, path + "-hash", article=article)


def rows(conn: sqlite3.Connection, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return conn.execute(sql, params).fetchall()


async def test_rekeys_merges_and_moves_everything_onto_the_kept_article(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path) as store:
        tilde = old("https://e.com/a~b", "Tilde", topics=("AI",))
        escaped_stub = old("https://e.com/a%7eb", "Tilde stub")
        upper = old("https://e.com/%C3%A4", "Umlaut", topics=("AI",))
        raw = old("https://e.com/ä", "Umlaut again", topics=("AI", "Robots"))
        entity = old(
            "https://x.com/img?w=800&#038;h=450",
            "Entity",
            key="https://x.com/img?w=800",  # the old key: "#038;h=450" was a fragment
            image_url="https://x.com/i.jpg?w=1&amp;h=2",
        )
        lower_hex = old("https://e.com/%e2%82%ac", "Euro")
        plain = old("https://e.com/plain", "Plain", topics=("AI",))
        # a related stub first (a lower id), the file about it later: the file's row is kept
        named = old("https://e.com/named", "Named", related=(old("https://e.com/b%7ec", "Stub"),))
        await store.articles.apply_batch([rec("/named", named)], now=0.5)
        await store.articles.apply_batch(
            [rec("/tilde", tilde), rec("/upper", upper), rec("/raw", raw)], now=1.0
        )
        await store.articles.apply_batch([rec("/late", old("https://e.com/b~c", "Late"))], 1.5)
        await store.articles.apply_batch(
            [rec("/entity", entity), rec("/euro", lower_hex), rec("/plain", plain)], now=2.0
        )
        await store.articles.bulk_load([escaped_stub], now=3.0)

        def ids(conn: sqlite3.Connection) -> dict[str, int]:
            return {title: i for i, title in rows(conn, "SELECT id, title FROM articles")}

        before = await store.run_read(ids)

        def history(conn: sqlite3.Connection) -> None:
            i = before
            conn.executemany(
                "INSERT INTO related VALUES (?, ?, 0)",
                [
                    (i["Tilde"], i["Tilde stub"]),  # becomes a loop: dropped
                    (i["Umlaut again"], i["Plain"]),  # moves onto "Umlaut"
                    (i["Umlaut"], i["Plain"]),  # already there
                    (i["Plain"], i["Umlaut again"]),  # child side moves
                ],
            )
            conn.execute(
                "INSERT INTO digest_runs (id, channel_id, trigger, selected_at, status)"
                " VALUES (1, 5, 'now', 1.0, 'delivered')"
            )
            conn.executemany(
                "INSERT INTO digest_run_items VALUES (1, ?, 0, ?)",
                [(i["Umlaut"], 1), (i["Umlaut again"], 0), (i["Tilde stub"], 0)],
            )
            conn.executemany(
                "INSERT INTO deliveries VALUES (5, ?, 1, 1.0)",
                [(i["Umlaut again"],), (i["Tilde stub"],)],
            )
            # one story named after the row that is merged away
            conn.execute(
                "UPDATE articles SET story_id = ? WHERE id IN (?, ?)",
                (i["Umlaut again"], i["Umlaut again"], i["Plain"]),
            )
            conn.execute("PRAGMA user_version = 5")

        await store.run_write(history)

    async with await Store.open(path) as store:  # migration 6 runs
        i = before
        after = await store.run_read(ids)
        assert set(after) == set(before) - {"Tilde stub", "Umlaut again", "Stub"}
        assert before["Stub"] < before["Late"]
        assert after == {k: v for k, v in before.items() if k in after}  # ids kept

        def state(conn: sqlite3.Connection) -> dict[str, Any]:
            return {
                "keys": dict(rows(conn, "SELECT title, canonical_url FROM articles")),
                "urls": dict(rows(conn, "SELECT title, url FROM articles")),
                "image": rows(conn, "SELECT image_url FROM articles WHERE title = 'Entity'"),
                "files": dict(rows(conn, "SELECT path, article_id FROM files")),
                "related": sorted(rows(conn, "SELECT parent_id, child_id FROM related")),
                "items": sorted(rows(conn, "SELECT article_id, shown FROM digest_run_items")),
                "deliveries": sorted(rows(conn, "SELECT article_id FROM deliveries")),
                "topics": dict(rows(conn, "SELECT name, article_count FROM topics")),
                "topic_rows": rows(conn, "SELECT count(*) FROM article_topics"),
                "stories": dict(rows(conn, "SELECT title, story_id FROM articles")),
                "fks": rows(conn, "PRAGMA foreign_key_check"),
                "version": rows(conn, "PRAGMA user_version"),
            }

        got = await store.run_read(state)
        assert got["keys"] == {
            "Tilde": "https://e.com/a~b",
            "Umlaut": "https://e.com/%C3%A4",
            "Entity": "https://x.com/img?h=450&w=800",
            "Euro": "https://e.com/%E2%82%AC",
            "Plain": "https://e.com/plain",
            "Named": "https://e.com/named",
            "Late": "https://e.com/b~c",
        }
        assert got["urls"]["Entity"] == "https://x.com/img?w=800&h=450"
        assert got["urls"]["Umlaut"] == "https://e.com/%C3%A4"  # the kept row's own link
        assert got["image"] == [("https://x.com/i.jpg?w=1&h=2",)]
        assert got["files"]["/raw"] == got["files"]["/upper"] == i["Umlaut"]
        assert got["related"] == sorted(
            [(i["Umlaut"], i["Plain"]), (i["Plain"], i["Umlaut"]), (i["Named"], i["Late"])]
        )
        assert got["items"] == [(i["Tilde"], 0), (i["Umlaut"], 1)]
        assert got["deliveries"] == sorted([(i["Tilde"],), (i["Umlaut"],)])
        # the kept rows' own topics: AI on Tilde, Umlaut, Plain; Robots was only the merged row's
        assert got["topics"] == {"AI": 3, "Robots": 0}
        assert got["topic_rows"] == [(3,)]
        assert got["stories"]["Plain"] in after.values()
        assert got["fks"] == []
        assert got["version"][0][0] >= 6
        assert await store.integrity_check() == "ok"
        # the merged rows are out of both full-text indexes, the kept ones still in
        assert [e.article.title for e in await store.reads.search("again")] == []
        assert [t for _, t in await store.reads.title_choices("umlaut")] == ["Umlaut"]
        assert [e.article.title for e in await store.reads.search("tilde")] == ["Tilde"]

        # the parser's keys now find the stored rows: a re-ingest updates, never duplicates
        again = Article(
            url="https://e.com/ä",
            canonical_url=canonical_url("https://e.com/ä"),
            title="Umlaut",
            published_at=T0,
        )
        counts = await store.articles.apply_batch([rec("/raw", again)], now=4.0)
        assert counts.added == 0
        assert (await store.status()).articles == 7


async def test_a_database_with_nothing_to_rekey_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path) as store:
        await store.articles.apply_batch([rec("/p", old("https://e.com/p", "Plain"))], now=1.0)

        def dump(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return rows(conn, "SELECT * FROM articles")

        before = await store.run_read(dump)
        await store.run_write(lambda conn: conn.execute("PRAGMA user_version = 5"))
    async with await Store.open(path) as store:
        assert await store.run_read(dump) == before
