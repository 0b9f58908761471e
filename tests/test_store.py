"""Store: upserts, related links both ways, stubs never overwriting files, stories, topics."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot.store.search
from bot.articles import Article, Provider, canonical_url
from bot.store import FileRecord, Store, StoreInterface
from bot.store.search import TITLE_CANDIDATES, _title_matches, prefix_query

T0 = datetime(2020, 6, 25, 21, 0, tzinfo=UTC)


def art(url: str, title: str, *, when: datetime = T0, **kw) -> Article:
    return Article(url=url, canonical_url=canonical_url(url), title=title, published_at=when, **kw)


def rec(path: str, article: Article | None, error: str | None = None) -> FileRecord:
    return FileRecord(path, 10, 1, path + "-hash", article=article, error=error)


@pytest.fixture
def store(backend_store: StoreInterface) -> StoreInterface:
    """The store of each backend (tests/postgres.py)."""
    return backend_store


async def test_same_canonical_url_is_one_article(store: StoreInterface):
    a = art("https://www.example.com/a?utm_source=x", "A", topics=("AI",))
    b = art("https://example.com/a/", "A", topics=("AI",))
    counts = await store.articles.apply_batch([rec("/f1", a), rec("/f2", b)], now=1.0)
    assert (await store.status()).articles == 1
    assert counts.added == 1


async def test_changed_file_updates_and_unchanged_counts(store: StoreInterface):
    a = art("https://example.com/a", "Old title", topics=("AI",), quality=50)
    await store.articles.apply_batch([rec("/f", a)], now=1.0)
    again = await store.articles.apply_batch([rec("/f", a)], now=2.0)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    changed = art("https://example.com/a", "New title", topics=("AI",), quality=90)
    counts = await store.articles.apply_batch([rec("/f", changed)], now=3.0)
    assert counts.updated == 1
    [entry] = await store.reads.topic_entries("ai", limit=5)
    assert entry.article.title == "New title"
    assert entry.article.quality == 90


async def test_related_links_both_directions(store: StoreInterface):
    stub = art("https://other.com/b", "B", quality=40)
    parent = art("https://example.com/a", "A", topics=("AI",), related=(stub,))
    await store.articles.apply_batch([rec("/f", parent)], now=1.0)
    a = await store.reads.entry_by_url(canonical_url("https://example.com/a"))
    b = await store.reads.entry_by_url(canonical_url("https://other.com/b"))
    assert a and b
    assert [e.article.title for e in await store.reads.related(a.article_id)] == ["B"]
    assert [e.article.title for e in await store.reads.related(b.article_id)] == ["A"]


async def test_stub_never_overwrites_what_a_file_says(store: StoreInterface):
    own = art(
        "https://other.com/b",
        "B as its file says",
        topics=("Robotics",),
        quality=90,
        published=True,
    )
    stub = art("https://other.com/b", "B as a related list says", quality=10)
    parent = art("https://example.com/a", "A", topics=("AI",), related=(stub,))
    # The file about B first, then a file naming it as related; and the other order.
    await store.articles.apply_batch([rec("/b", own)], now=1.0)
    await store.articles.apply_batch([rec("/a", parent)], now=2.0)
    b = await store.reads.entry_by_url(canonical_url("https://other.com/b"))
    assert b is not None
    assert b.article.title == "B as its file says"
    assert b.article.quality == 90


async def test_file_after_stub_wins_and_arrives(tmp_path: Path, store: StoreInterface):
    stub = art("https://other.com/b", "stub title", quality=10)
    parent = art("https://example.com/a", "A", topics=("AI",), related=(stub,))
    counts = await store.articles.apply_batch([rec("/a", parent)], now=1.0)
    assert counts.related_added == 1
    own = art("https://other.com/b", "file title", topics=("Robotics",), quality=90)
    counts = await store.articles.apply_batch([rec("/b", own)], now=2.0)
    assert counts.added == 1
    [entry] = await store.reads.topic_entries("robotics")
    assert entry.article.title == "file title"


async def test_stories_merge_titles_within_three_days(store: StoreInterface):
    a = art(
        "https://gizmodo.com/x",
        "Let's Kill Facial Recognition For Good",
        topics=("AI",),
        quality=74,
        provider=Provider(name="Gizmodo"),
    )
    b = art(
        "https://gizmodo.com.au/x",
        "Let’s Kill Facial Recognition — For Good!",
        when=T0 + timedelta(days=2),
        topics=("AI",),
        quality=44,
        provider=Provider(name="Gizmodo Australia"),
    )
    far = art(
        "https://late.com/x",
        "Let's kill facial recognition for good",
        when=T0 + timedelta(days=30),
        topics=("AI",),
        quality=10,
    )
    await store.articles.apply_batch([rec("/a", a), rec("/b", b), rec("/c", far)], now=1.0)
    entries = await store.reads.topic_entries("AI", limit=10)
    titles = [(e.article.canonical_url, e.also) for e in entries]
    assert len(entries) == 2, titles
    merged = next(e for e in entries if "late.com" not in e.article.canonical_url)
    assert merged.also in (("Gizmodo",), ("Gizmodo Australia",))
    assert (await store.status()).stories == 2


async def test_topics_case_insensitive_and_aliases(store: StoreInterface):
    aliases = {"artificial intelligence": "AI"}

    def canonical(name: str) -> str:
        return aliases.get(name.casefold(), name)

    a = art("https://example.com/a", "A", topics=("AI",))
    b = art("https://example.com/b", "B", topics=("Artificial Intelligence", "ai"))
    await store.articles.apply_batch(
        [rec("/a", a), rec("/b", b)], now=1.0, canonical_topic=canonical
    )
    assert await store.reads.topics() == [("AI", 2)]
    assert await store.reads.topic_name("aI") == "AI"
    assert len(await store.reads.topic_entries("ai")) == 2


async def test_apply_aliases_merges_existing_topics(store: StoreInterface):
    a = art("https://example.com/a", "A", topics=("NLP",))
    b = art("https://example.com/b", "B", topics=("Natural Language Processing",))
    await store.articles.apply_batch([rec("/a", a), rec("/b", b)], now=1.0)
    merged = await store.articles.apply_aliases(
        lambda n: "Natural Language Processing" if n.casefold() == "nlp" else n
    )
    assert merged == 1
    assert await store.reads.topics() == [("Natural Language Processing", 2)]


@pytest.mark.parametrize(
    "text",
    [
        '"',
        "a OR b",
        "NEAR(a b)",
        "title:x",
        "'; DROP TABLE articles; --",
        "a* -b ^c",
        "\x00",
        "(((",
        "AND",
        "😀",
    ],
)
async def test_search_never_lets_user_text_be_syntax(store: StoreInterface, text: str):
    a = art(
        "https://example.com/a",
        "Robots and AND words",
        topics=("AI",),
        excerpt="'; DROP TABLE articles; --",
    )
    await store.articles.apply_batch([rec("/a", a)], now=1.0)
    await store.reads.search(text)  # must not raise
    await store.reads.title_choices(text)
    assert (await store.status()).articles == 1


async def test_search_finds_title_excerpt_provider(store: StoreInterface):
    a = art(
        "https://example.com/a",
        "Facial recognition ban",
        excerpt="police use",
        provider=Provider(name="Gizmodo"),
    )
    await store.articles.apply_batch([rec("/a", a)], now=1.0)
    for text in ("facial", "police", "gizmodo"):
        assert [e.article.title for e in await store.reads.search(text)] == [
            "Facial recognition ban"
        ]


async def test_search_matches_what_was_typed_literally(store: StoreInterface):
    """FTS5 operators, prefixes, column filters and quotes in the user's text are words to
    match, never syntax: each query below would find other articles (or raise) as FTS5."""
    titles = {
        "/1": "Robots will not replace humans",
        "/2": "Robots alone",
        "/3": "Humans alone",
        "/4": "Near robots, humans relax",
        "/5": "Kitchen awards",
        "/6": "Robo taxi fleet",
    }
    records = [
        rec(path, art(f"https://example.com{path}", title)) for path, title in titles.items()
    ]
    records[4] = rec("/5", art("https://example.com/5", titles["/5"], excerpt="title: humans"))
    await store.articles.apply_batch(records, now=1.0)

    async def found(text: str) -> list[str]:
        return [e.article.title for e in await store.reads.search(text)]

    assert await found("robots NOT humans") == [titles["/1"]]  # as FTS5: "Robots alone"
    assert await found("NEAR(robots humans)") == [titles["/4"]]  # "near robots", adjacent
    assert await found("title:humans") == [titles["/5"]]  # the words "title humans"
    assert await found("robo*") == [titles["/6"]]  # the word "robo", not a prefix
    assert await found('"fleet') == [titles["/6"]]  # an unbalanced quote
    assert await found("taxi -fleet") == [titles["/6"]]
    assert await found("{title}: robots") == []
    assert await found('robots" NOT "humans') == [titles["/1"]]  # quotes are not syntax
    # Title autocomplete: the words typed, the last one a prefix.
    assert [t for _, t in await store.reads.title_choices("title:near")] == []
    assert [t for _, t in await store.reads.title_choices("robo*")] == [
        titles["/6"],
        titles["/4"],
        titles["/2"],
        titles["/1"],
    ]


async def test_title_autocomplete_of_a_word_the_tokenizer_splits(store: StoreInterface):
    # U+19B0 is a letter to Python (one word to bot.store.relevance.words) but a separator to
    # SQLite's unicode61 tables: the typed word is a phrase, which titles_fts (detail = none)
    # cannot match; the autocomplete still answers, from the whole-text index.
    title = "Ab\u19b0cd robots"
    await store.articles.apply_batch(
        [rec("/1", art("https://example.com/1", title)), rec("/2", art("https://e.com/2", "Ab"))],
        now=1.0,
    )
    assert [t for _, t in await store.reads.title_choices("ab\u19b0c")] == [title]
    assert [t for _, t in await store.reads.title_choices("robots ab\u19b0cd")] == [title]


@pytest.mark.parametrize("max_longer", [16, 1])
async def test_title_autocomplete_of_a_long_prefix_answers_as_the_title_index(
    tmp_path: Path, max_longer: int, monkeypatch: pytest.MonkeyPatch
):
    # A last word longer than titles_fts's prefix indexes is matched as the title words that
    # start with it (migration 012's titles_vocab), or as the prefix when it extends into more
    # than _MAX_LONGER words: the same titles, in the same order, as the prefix query.
    monkeypatch.setattr(bot.store.search, "_MAX_LONGER", max_longer)
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        titles = ["Nvidia unveils a chip", "Nvidia unveiled GPUs", "Unveiling robots",
                  "Robotaxi unveils", "Robotaxis everywhere", "Chip unveilings"]  # fmt: skip
        await store.articles.apply_batch(
            [
                rec(f"/{i}", art(f"https://e.com/{i}", t, when=T0 + timedelta(hours=i)))
                for i, t in enumerate(titles)
            ],
            now=1.0,
        )
        await store.articles.apply_batch(  # its text is also in excerpts: titles only count
            [rec("/x", art("https://e.com/x", "Other", excerpt="unveiling robotaxis"))], now=1.0
        )
        for text in ["unveils", "unveil", "unveile", "unveili", "nvidia unveile", "robotaxi",
                     "robotax", "robotaxis every", "chip unveiling", "zebras"]:  # fmt: skip
            query = prefix_query(text)

            def by_title_index(
                conn: sqlite3.Connection, query: str | None = query
            ) -> list[tuple[int, str]]:
                return conn.execute(
                    _title_matches("titles_fts"), (query, TITLE_CANDIDATES, 25)
                ).fetchall()

            expected = [(i, t) for i, t in await store.run_read(by_title_index)]
            assert await store.reads.title_choices(text) == expected, text
        assert [t for _, t in await store.reads.title_choices("unveili")] == [
            "Chip unveilings",
            "Unveiling robots",
        ]
    finally:
        await store.close()


async def test_rejected_files_recorded(store: StoreInterface):
    await store.articles.apply_batch([rec("/bad", None, error="empty file")], now=1.0)
    _, states = await store.files.states()
    assert states == {"/bad": ("/bad", 10, 1, "empty file")}
    status = await store.status()
    assert (status.files, status.rejected_files, status.articles) == (
        1,
        (("/bad", "empty file"),),
        0,
    )


async def test_migrations_are_versioned_and_idempotent(tmp_path: Path):
    path = tmp_path / "db.sqlite3"
    first = await Store.open(path)
    await first.close()
    again = await Store.open(path)
    try:
        version = await again.run_read(lambda c: c.execute("PRAGMA user_version").fetchone()[0])
        assert version >= 1
        assert await again.integrity_check() == "ok"
    finally:
        await again.close()


async def test_search_ranks_title_matches_over_excerpt_matches(store: StoreInterface):
    in_title = art("https://example.com/t", "Robot arms in the kitchen", excerpt="cooking")
    in_excerpt = art("https://example.com/e", "Kitchen news", excerpt="a robot cooks")
    neither = art("https://example.com/n", "Weather", excerpt="rain")
    # The excerpt match is newer (a higher id): relevance, not age, puts the title first.
    await store.articles.apply_batch(
        [rec("/t", in_title), rec("/e", in_excerpt), rec("/n", neither)], 1.0
    )
    assert [e.article.title for e in await store.reads.search("robot")] == [
        "Robot arms in the kitchen",
        "Kitchen news",
    ]
    # "the" is a stop-word: "the robot" finds what "robot" finds, in the same order
    assert [e.article.title for e in await store.reads.search("the robot")] == [
        "Robot arms in the kitchen",
        "Kitchen news",
    ]


async def test_title_choices_match_prefixes_of_any_length(store: StoreInterface):
    older = art("https://example.com/1", "Apple unveils a chip", when=T0 - timedelta(days=1))
    newer = art("https://example.com/2", "Amazon robots deliver", when=T0)
    await store.articles.apply_batch([rec("/1", older), rec("/2", newer)], now=1.0)
    titles = [t for _, t in await store.reads.title_choices("a")]
    assert titles == ["Amazon robots deliver", "Apple unveils a chip"]  # newest first
    assert [t for _, t in await store.reads.title_choices("unveil")] == ["Apple unveils a chip"]
    assert [t for _, t in await store.reads.title_choices("amazon rob")] == [
        "Amazon robots deliver"
    ]
    assert await store.reads.title_choices("robots apple") == []


async def test_changed_title_leaves_no_stale_index_entry(store: StoreInterface):
    await store.articles.apply_batch([rec("/f", art("https://example.com/a", "Quantum leap"))], 1.0)
    await store.articles.apply_batch(
        [rec("/f", art("https://example.com/a", "Fusion record"))], 2.0
    )
    assert await store.reads.title_choices("quan") == []
    assert await store.reads.search("quantum") == []
    assert [t for _, t in await store.reads.title_choices("fus")] == ["Fusion record"]
    assert [e.article.title for e in await store.reads.search("fusion")] == ["Fusion record"]
    if isinstance(store, Store):  # FTS5's own check; PostgreSQL's vectors are plain columns
        assert await store.integrity_check() == "ok"


async def test_migration_4_indexes_existing_articles(tmp_path: Path):
    """A database made before the title index gets both indexes rebuilt from its rows."""
    import sqlite3

    from bot.store.db import migration_scripts, split_sql

    path = tmp_path / "db.sqlite3"
    raw = sqlite3.connect(path)
    for number, sql in migration_scripts():
        if number <= 3:
            for statement in split_sql(sql):
                raw.execute(statement)
    raw.execute(
        "INSERT INTO articles (canonical_url, url, title, excerpt, story_key, updated_at)"
        " VALUES ('https://e.com/a', 'https://e.com/a', 'Robotics boom', 'factories', 'k', 1)"
    )
    raw.execute("PRAGMA user_version = 3")
    raw.commit()
    raw.close()
    store = await Store.open(path)
    try:
        assert [t for _, t in await store.reads.title_choices("rob")] == ["Robotics boom"]
        assert [e.article.title for e in await store.reads.search("factories")] == ["Robotics boom"]
    finally:
        await store.close()


async def test_files_generation_moves_with_every_files_write(store: StoreInterface):
    start = await store.files.generation()
    await store.articles.apply_batch([rec("/a", None, error="empty file")], now=1.0)
    assert await store.files.generation() == start + 1
    await store.files.touch([("/a", 5, 6)], now=2.0)
    assert await store.files.generation() == start + 2
    await store.files.touch([], now=3.0)  # nothing written
    await store.set_meta("last_ingest_at", "now")
    generation, states = await store.files.states()
    assert generation == start + 2
    assert states == {"/a": ("/a", 5, 6, "empty file")}
    assert await store.files.hashes(["/a", "/missing"]) == {"/a": "/a-hash"}


async def test_a_word_longer_than_any_index_entry_matches_nothing(store: StoreInterface):
    # PostgreSQL keeps no lexeme over 2 KB: such a word (a pasted blob) must match nothing,
    # not read as "no words" (which lists the newest articles)
    quantum = art("https://example.com/a", "Quantum leap", published=True)
    await store.articles.apply_batch([rec("/f", quantum)], 1.0)
    assert await store.reads.title_choices("x" * 6000) == []
    assert await store.reads.search("x" * 6000) == []
    assert await store.reads.search("quantum " + "x" * 3000) == []
    assert [t for _, t in await store.reads.title_choices("")] == ["Quantum leap"]
