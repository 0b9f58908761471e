"""Migration 6: stored URLs as the parser now reads them, and one article per canonical URL.

``canonical_url`` now normalises percent-encoding (``/a%7eb`` is ``/a~b``, ``/ä`` is
``/%C3%A4``) and the parser decodes HTML character references in URLs (``&#038;``). Rows whose
URLs these change are re-keyed; rows that become one canonical URL are merged into one: the one
a file describes, else the lowest id. Everything that pointed at a merged row (files, related
edges, digest items, the delivery ledger, and any other table with a foreign key to articles)
now points at the kept one; the merged row leaves the full-text indexes and its stories are
joined again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from bot.articles import canonical_url
from bot.articles.identity import url_entities_decoded
from bot.store.write import _assign_stories  # the store's one rule for joining stories

# The columns that hold a URL as a file gave it, decoded as the parser now decodes them.
_URL_COLUMNS = ("url", "image_url", "provider_icon", "original_url", "amp_url", "cdn_amp_url")
# Only these can change: a URL with no "%", no "&" and only ASCII keys as it did before.
_CANDIDATES = (
    f"SELECT id, canonical_url, from_file, {', '.join(_URL_COLUMNS)} FROM articles WHERE "
    + " OR ".join(
        f"instr({c}, '%') OR instr({c}, '&') OR length({c}) != length(CAST({c} AS BLOB))"
        for c in _URL_COLUMNS
    )
)
# Moved by hand: a merged row's topics are the kept row's own, and an edge may become a loop.
_BY_HAND = frozenset({"article_topics", "related"})


def migrate(conn: sqlite3.Connection) -> None:
    old_keys: dict[int, str] = {}
    new_keys: dict[int, str] = {}
    from_file: dict[int, bool] = {}
    new_urls: dict[int, tuple[str | None, ...]] = {}
    for article_id, old_key, own, *urls in conn.execute(_CANDIDATES).fetchall():
        decoded = tuple(None if u is None else url_entities_decoded(u) for u in urls)
        try:
            new_keys[article_id] = canonical_url(decoded[0] or "")
        except ValueError:  # not a URL the parser would take now: it keeps its key
            new_keys[article_id] = old_key
        old_keys[article_id] = old_key
        from_file[article_id] = bool(own)
        if decoded != tuple(urls):
            new_urls[article_id] = decoded
    merged: dict[int, int] = {}  # merged id -> kept id
    for members in _groups(conn, new_keys, from_file).values():
        if len(members) > 1:
            keep = min(members, key=lambda m: (not m[1], m[0]))[0]  # from a file, else oldest
            merged.update((m[0], keep) for m in members if m[0] != keep)
    if merged:
        _merge(conn, merged)
    moved = [
        (key, article_id)
        for article_id, key in new_keys.items()
        if article_id not in merged and key != old_keys[article_id]
    ]
    # Two passes, so that no row takes a key another row still holds until that one moves.
    conn.executemany(
        "UPDATE articles SET canonical_url = ? WHERE id = ?",
        [(f"\x00migration 6: {article_id}", article_id) for _, article_id in moved],
    )
    conn.executemany("UPDATE articles SET canonical_url = ? WHERE id = ?", moved)
    assignments = ", ".join(f"{c} = ?" for c in _URL_COLUMNS)
    conn.executemany(
        f"UPDATE articles SET {assignments} WHERE id = ?",
        [(*urls, article_id) for article_id, urls in new_urls.items() if article_id not in merged],
    )


def _groups(
    conn: sqlite3.Connection, new_keys: dict[int, str], from_file: dict[int, bool]
) -> dict[str, list[tuple[int, bool]]]:
    """New canonical URL -> its (id, from_file) rows: the rows re-keyed, and a row that holds
    that URL already and keeps it."""
    groups: dict[str, list[tuple[int, bool]]] = {}
    for article_id, key in new_keys.items():
        groups.setdefault(key, []).append((article_id, from_file[article_id]))
    for key, members in groups.items():
        found = conn.execute(
            "SELECT id, from_file FROM articles WHERE canonical_url = ?", (key,)
        ).fetchone()
        if found is not None and found[0] not in new_keys:
            members.append((found[0], bool(found[1])))
    return groups


def _merge(conn: sqlite3.Connection, merged: dict[int, int]) -> None:
    """Point everything at the kept rows, then delete the merged ones."""
    pairs = [(keep, gone) for gone, keep in merged.items()]
    gone_ids = [(gone,) for gone in merged]
    for table, column in _references(conn):
        if table in _BY_HAND:
            continue
        # a row the kept article already has (same key) stays behind and is deleted
        conn.executemany(f"UPDATE OR IGNORE {table} SET {column} = ? WHERE {column} = ?", pairs)
        conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", gone_ids)
    for column in ("parent_id", "child_id"):
        conn.executemany(f"UPDATE OR IGNORE related SET {column} = ? WHERE {column} = ?", pairs)
        conn.executemany(f"DELETE FROM related WHERE {column} = ?", gone_ids)
    conn.execute("DELETE FROM related WHERE parent_id = child_id")
    topic_ids = {
        topic_id
        for (gone,) in gone_ids
        for (topic_id,) in conn.execute(
            "SELECT topic_id FROM article_topics WHERE article_id = ?", (gone,)
        )
    }
    conn.executemany("DELETE FROM article_topics WHERE article_id = ?", gone_ids)
    conn.executemany(
        "UPDATE topics SET article_count ="
        " (SELECT count(*) FROM article_topics WHERE topic_id = ?) WHERE id = ?",
        [(t, t) for t in topic_ids],
    )
    _unindex(conn, merged)
    story_members = _story_members(conn, merged)
    conn.executemany("DELETE FROM articles WHERE id = ?", gone_ids)
    _assign_stories(conn.cursor(), {*merged.values(), *story_members})


def _references(conn: sqlite3.Connection) -> Iterable[tuple[str, str]]:
    """(table, column) of every foreign key to articles, whichever migration made it."""
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    for table in tables:
        for key in conn.execute("SELECT * FROM pragma_foreign_key_list(?)", (table,)):
            if key[2] == "articles":  # (id, seq, table, from, to, ...)
                yield table, key[3]


def _unindex(conn: sqlite3.Connection, merged: dict[int, int]) -> None:
    """The merged rows out of the store-maintained full-text indexes (as write.py does)."""
    marks = ",".join("?" * len(merged))
    old = conn.execute(
        f"SELECT id, title, excerpt, provider_name FROM articles WHERE id IN ({marks})",
        list(merged),
    ).fetchall()
    conn.executemany(
        "INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, provider)"
        " VALUES ('delete', ?, ?, ?, ?)",
        old,
    )
    conn.executemany(
        "INSERT INTO titles_fts (titles_fts, rowid, title) VALUES ('delete', ?, ?)",
        [(article_id, title) for article_id, title, _excerpt, _provider in old],
    )


def _story_members(conn: sqlite3.Connection, merged: dict[int, int]) -> set[int]:
    """The other articles of stories a merged row named, their story cleared to be joined
    again (a story is named after its first member)."""
    marks = ",".join("?" * len(merged))
    members = {
        article_id
        for (article_id,) in conn.execute(
            f"SELECT id FROM articles WHERE story_id IN ({marks}) AND id NOT IN ({marks})",
            [*merged, *merged],
        )
    }
    conn.execute(f"UPDATE articles SET story_id = NULL WHERE story_id IN ({marks})", list(merged))
    return members
