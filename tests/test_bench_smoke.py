"""The benchmark code imports and runs on a tiny corpus (no timings are asserted)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.common import build_store, percentile
from bench.generate import generate
from bench.ingest import baseline_parse, ingest_twice, unchanged_command
from bench.queries import measure
from bench.run import rows


def test_bench_runs_on_200_files(tmp_path: Path) -> None:
    generate(tmp_path / "corpus", 200)
    n, _seconds = baseline_parse(tmp_path / "corpus")
    assert n == 200
    result = asyncio.run(ingest_twice(tmp_path / "corpus", tmp_path / "ingest.sqlite3"))
    assert result["first_counts"]["added"] == 200
    assert result["again_counts"]["unchanged"] == 200
    assert result["again_full_walk_counts"]["unchanged"] == 200
    command = unchanged_command(tmp_path / "corpus", tmp_path / "ingest.sqlite3", samples=1)
    assert command["again_command_counts"]["unchanged"] == 200  # `newsbot ingest`, a process
    built = asyncio.run(build_store(tmp_path / "store.sqlite3", 200))
    assert built["added"] == 200
    figures = asyncio.run(measure(tmp_path / "store.sqlite3", repeat=5))
    assert set(figures["queries"]) >= {"topic_page", "related", "search", "autocomplete_titles"}
    table = rows({"ingest": {**result, "files": 200, "first_ratio": 1.0, "again_ratio": 2.0},
                  "queries": figures})  # fmt: skip
    assert any("store: /news topic" in row[0] for row in table)
    assert any("whole command" in row[0] and row[1] == "not measured" for row in table)
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0


async def test_bench_queries_run_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    built = await build_store(tmp_path / "unused.sqlite3", 200, url=postgres_url)
    assert built["added"] == 200
    figures = await measure(tmp_path / "unused.sqlite3", repeat=5, url=postgres_url)
    assert figures["articles"] == built["articles"]
    table = rows({"queries_postgresql": {"postgresql": figures}})
    assert any("store (PostgreSQL): /news search" in row[0] for row in table)


def test_feed_bench_runs_on_a_few_feeds(tmp_path: Path) -> None:
    """bench.feeds against its own server process: 20 feeds, every one stored, then all 304."""
    import multiprocessing

    from bench.feeds import _serve, fetch_twice
    from bench.run import feed_rows

    context = multiprocessing.get_context("spawn")
    port_out, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve, args=(20, 5, port_out, stop))
    server.start()
    try:
        result = asyncio.run(fetch_twice(20, 5, port_out.get(timeout=60), tmp_path / "f.sqlite3"))
    finally:
        stop.set()
        server.join(10)
    assert result["first_statuses"] == {"ok": 20} and result["articles"] == 100
    assert result["again_statuses"] == {"not_modified": 20}
    # the verdicts from set figures: measured here, peak RSS is the whole pytest process's
    table = feed_rows({**result, "feeds": 20, "items_per_feed": 5, "first_ratio": 1.0,
                       "again_ratio": 30.0, "baseline_feedparser_s": 0.1,
                       "peak_rss_mb": 120.0})  # fmt: skip
    assert [row[3] for row in table] == ["NOT met (0.67 of target)", "met", "met"]


async def test_db_copy_bench_copies_a_small_store_both_ways(tmp_path: Path, postgres_url: str):
    """bench.dbcopy runs the real command each way and reads its memory (no timing asserted)."""
    from bench.dbcopy import copy_once
    from bench.queries import emptied
    from bench.run import dbcopy_rows

    built = await build_store(tmp_path / "store.sqlite3", 200)
    await emptied(postgres_url)
    there = await asyncio.to_thread(copy_once, str(tmp_path / "store.sqlite3"), postgres_url)
    back = await asyncio.to_thread(copy_once, postgres_url, str(tmp_path / "back.sqlite3"))
    assert there["exit"] == back["exit"] == 0
    assert there["rows"] == back["rows"] - 1 > built["articles"]  # back: the copy's mark too
    assert there["peak_rss_mb"] > 10
    table = dbcopy_rows({"build": built, "sqlite_to_postgresql": there,
                         "postgresql_to_sqlite": back})  # fmt: skip
    assert [row[0].split(",")[1] for row in table] == [
        " SQLite -> PostgreSQL",
        " PostgreSQL -> SQLite",
    ]


def test_sharded_digest_bench_attributes_each_run_to_the_process_that_posted_it():
    from bench.digests_sharded import attribution

    line = "INFO bot.digests.delivery: digest for channel {}: run {} posted 3 stories\n"
    logs = [line.format(10, 1) + line.format(11, 2), line.format(20, 3) + line.format(10, 1)]
    found = attribution(logs, {10: 0, 11: 0, 20: 1})
    assert found == {
        "runs_posted_per_process": [2, 2],
        "runs_posted_by_both": 1,
        "channels_posted_by_both": 1,
        "runs_posted_off_shard": 1,  # channel 10 is shard 0's, posted by the shard 1 process
    }
