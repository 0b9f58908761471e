"""Shared helpers for the benchmarks: percentiles, JSON output, building a large store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.generate import iter_records

SCRATCH = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path("/tmp")


def emit(result: dict[str, Any]) -> None:
    """Each benchmark prints exactly one JSON object on its last stdout line."""
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of the values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 3),
        "p99_ms": round(percentile(seconds, 99) * 1000, 3),
        "max_ms": round(max(seconds) * 1000, 3) if seconds else float("nan"),
    }


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# -------------------------------------------------------------------- a store of n articles
def _produce(n: int, seed: int, queue: Any, chunk: int) -> None:
    """In a child process: generated records -> the parser's own field rules (no YAML) ->
    prepare_values tuples, as a parse worker makes them, in chunks."""
    from bot.articles.fields import read_article  # the parser's dict -> values step, no YAML
    from bot.store.prepare import prepare_values

    out = []
    for record in iter_records(n, seed=seed):
        out.append(prepare_values(read_article(record)[0]))
        if len(out) >= chunk:
            queue.put(out)
            out = []
    if out:
        queue.put(out)
    queue.put(None)


def _chunks(n: int, seed: int, chunk: int) -> Iterator[list[Any]]:
    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=8)
    proc = context.Process(target=_produce, args=(n, seed, queue, chunk), daemon=True)
    proc.start()
    try:
        while (item := queue.get()) is not None:
            yield item
    finally:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.terminate()


async def build_store(
    path: Path, n: int, *, seed: int = 2, chunk: int = 5000, url: str | None = None
) -> dict[str, Any]:
    """A fresh database holding the n generated articles (and their related stubs), written
    through store.articles.bulk_load; generation and preparation run in a second process. At
    ``path`` (SQLite), or in the empty PostgreSQL database at ``url``."""
    from bot.store import Store, StoreInterface
    from bot.store.postgres import PostgresStore

    started = time.perf_counter()
    store: StoreInterface
    if url is None:
        remove_db(path)
        store = await Store.open(path)
    else:
        store = await PostgresStore.open(url)
    loop = asyncio.get_running_loop()
    gen = _chunks(n, seed, chunk)
    counts = None
    try:
        while True:
            items = await loop.run_in_executor(None, next, gen, None)
            if items is None:
                break
            got = await store.articles.bulk_load(items, time.time(), batch=len(items) + 1)
            if counts is None:
                counts = got
            else:
                counts += got
        status = await store.status()
        if isinstance(store, PostgresStore):
            await store.database.execute("VACUUM ANALYZE")  # as an operator's autovacuum would
            size = await store.database.scalar("SELECT pg_database_size(current_database())")
        else:
            size = os.path.getsize(path)  # noqa: ASYNC240
    finally:
        await store.close()
    return {
        "articles": status.articles,
        "stories": status.stories,
        "topics": status.topics,
        "added": counts.added if counts else 0,
        "related_added": counts.related_added if counts else 0,
        "seconds": round(time.perf_counter() - started, 2),
        "db_bytes": size,
    }


def machine() -> dict[str, Any]:
    import platform

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as fh:
            info["mem_gb"] = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import sqlite3

    info["sqlite"] = sqlite3.sqlite_version
    return info
