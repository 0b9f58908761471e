"""Store query latencies (p50/p99) over a large database built by store.articles.bulk_load.

python -m bench.queries --db PATH [--build N [--seed S]] [--repeat 300]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import build_store, emit, summary_ms
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


async def measure(db: Path, repeat: int, seed: int = 7) -> dict[str, Any]:
    from bot.store import Store

    rng = random.Random(seed)
    store = await Store.open(db)
    try:
        ids = await store.run_read(
            lambda c: [r[0] for r in c.execute("SELECT id FROM articles WHERE from_file = 1")]
        )
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


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"bench": "queries"}
    if args.build:
        result["build"] = await build_store(args.db, args.build, seed=args.seed)
    result.update(await measure(args.db, args.repeat))
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.queries")
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--build", type=int, default=0, help="first build a store of N articles")
    ap.add_argument("--repeat", type=int, default=300)
    ap.add_argument("--seed", type=int, default=2, help="the generated articles' seed")
    args = ap.parse_args(argv)
    emit(asyncio.run(amain(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
