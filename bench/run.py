"""Run every benchmark (each a subprocess printing one JSON object) and write BENCHMARKS.md.

python -m bench.run            # DESIGN §8 sizes: 100k files, 1M articles, 1,000 digests
python -m bench.run --quick    # same code, small sizes (10k files, 100k articles, 100 digests,
                               # 100 feeds)
python -m bench.run --seed 5   # the same measurements on other generated articles
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import SCRATCH, machine, remove_db

ROOT = Path(__file__).resolve().parents[1]
FULL = {
    "files": 100_000, "articles": 1_000_000, "samples": 200,
    "channels": 1000,
    "memory_files": 20_000, "settle_s": 60, "feeds": 1000,
}  # fmt: skip
EVERY_STEP = ("ingest", "queries", "interactions", "memory", "digests", "digests_sharded",
              "dbcopy", "feeds")  # fmt: skip
QUICK = {
    "files": 10_000, "articles": 100_000, "samples": 50,
    "channels": 100,
    "memory_files": 2_000, "settle_s": 10, "feeds": 100,
}  # fmt: skip


def step(name: str, args: list[str], timeout: float, log: Path) -> dict[str, Any]:
    started = time.perf_counter()
    with log.open("a", encoding="utf-8") as err:
        err.write(f"\n===== {name}: {' '.join(args)}\n")
        err.flush()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", *args],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:.0f}s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"exit {proc.returncode}; see {log}"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["step_s"] = round(time.perf_counter() - started, 1)
    print(f"{name}: {lines[-1]}", flush=True)
    return result


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "bot", "bench")
    return head + (" (with uncommitted changes in bot/ or bench/)" if dirty else "")


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _ratio_row(figure: str, value: Any, target: float, detail: str) -> tuple[str, str, str, str]:
    if value is None:
        return (figure, "not measured", f">= {target}x", "-")
    verdict = "met" if value >= target else f"NOT met ({value / target:.2f} of target)"
    return (figure, f"{value}x ({detail})", f">= {target}x", verdict)


def unchanged_rows(ing: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The cold unchanged `newsbot ingest` of one ingest result: the walk in-process and the
    whole command; beside each, the time the target allows (the first ingest / 50)."""
    if not ing:
        return []
    files, first = ing.get("files", "?"), ing.get("first_s")
    allowed = f"; target <= {first / 50:.3f} s" if isinstance(first, int | float) else ""
    return [
        _ratio_row(
            f"ingest again, {files} files, nothing changed, vs the first (`newsbot ingest`:"
            " a fresh Ingestor's full walk, in-process)",
            ing.get("again_full_walk_ratio"),
            50,
            f"{ing.get('again_full_walk_s')} s{allowed}",
        ),
        _ratio_row(
            f"ingest again, {files} files, nothing changed, vs the first (`newsbot ingest`,"
            " the whole command in a cold process)",
            ing.get("again_command_ratio"),
            50,
            f"{ing.get('again_command_s')} s, interpreter start-up"
            f" {ing.get('python_startup_s')} s{allowed}",
        ),
    ]


def rows(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(figure, measured, target, verdict) for the table."""
    out: list[tuple[str, str, str, str]] = []
    ing = results.get("ingest", {})

    def add_ratio(figure: str, value: Any, target: float, detail: str) -> None:
        if value is None:
            out.append((figure, "not measured", f">= {target}x", "-"))
            return
        verdict = "met" if value >= target else f"NOT met ({value / target:.2f} of target)"
        out.append((figure, f"{value}x ({detail})", f">= {target}x", verdict))

    add_ratio(
        f"first ingest, {ing.get('files', '?')} files, vs single-core CSafeLoader parse",
        ing.get("first_ratio"),
        2.0,  # DESIGN §8, at 20k files and at 100k
        f"{ing.get('first_s')} s vs {ing.get('baseline_csafeloader_s')} s",
    )
    for command in (results.get("ingest_command", {}), ing):  # the smaller corpus first
        add_ratio(
            f"first ingest, the whole `newsbot ingest` command, {command.get('files', '?')}"
            " files, vs single-core CSafeLoader parse",
            command.get("command_ratio"),
            2.0,  # DESIGN §8, at 20k files and at 100k
            f"{command.get('command_s')} s vs {command.get('baseline_csafeloader_s')} s",
        )
    add_ratio(
        "ingest again, nothing changed, vs the first (the bot: watched, not walked)",
        ing.get("again_ratio"),
        50,
        f"{ing.get('again_s')} s",
    )
    for unchanged in (ing, results.get("ingest_20k", {})):
        out.extend(unchanged_rows(unchanged))
    q = results.get("queries", {})
    n = q.get("articles", "?")
    for key, label, target in (
        ("topic_page", "/news topic", 5),
        ("related", "/news related", 5),
        ("latest", "/news latest", 5),
        ("autocomplete_topics", "autocomplete (topics)", 5),
        ("autocomplete_titles", "autocomplete (titles)", 5),
        ("search", "/news search", 20),
    ):
        fig = _get(q, "queries", key)
        if fig is None:
            out.append(
                (f"store: {label} at {n} articles", "not measured", f"p99 < {target} ms", "-")
            )
            continue
        p99 = fig["p99_ms"]
        verdict = "met" if p99 < target else f"NOT met ({p99 / target:.1f}x the target)"
        out.append(
            (
                f"store: {label} at {n} articles",
                f"p50 {fig['p50_ms']} ms, p99 {p99} ms",
                f"p99 < {target} ms",
                verdict,
            )
        )
    pg = results.get("queries_postgresql", {}).get("postgresql", {})
    if results.get("queries_postgresql"):
        n_pg = pg.get("articles", "?")
        for key, label in (
            ("topic_page", "/news topic"),
            ("related", "/news related"),
            ("latest", "/news latest"),
            ("autocomplete_topics", "autocomplete (topics)"),
            ("autocomplete_titles", "autocomplete (titles)"),
            ("search", "/news search"),
        ):
            fig = _get(pg, "queries", key)
            name = f"store (PostgreSQL): {label} at {n_pg} articles"
            if fig is None:
                out.append((name, "not measured", "p99 < 10 ms", "-"))
                continue
            p99 = fig["p99_ms"]
            verdict = "met" if p99 < 10 else f"NOT met ({p99 / 10:.1f}x the target)"
            out.append((name, f"p50 {fig['p50_ms']} ms, p99 {p99} ms", "p99 < 10 ms", verdict))
    it = results.get("interactions", {})
    for phase, target in (("idle", 50), ("during_ingest", 250)):
        for kind, what in (
            ("topic", "/news topic"),
            ("autocomplete", "topic autocomplete"),
            ("search", "/news search"),
            ("title_autocomplete", "title autocomplete (/news related)"),
        ):
            fig = _get(it, phase, kind)
            label = f"stub: {what} {phase.replace('_', ' ')}"
            if fig is None:
                out.append((label, "not measured", f"p99 < {target} ms", "-"))
                continue
            p99 = fig["p99_ms"]
            verdict = "met" if p99 < target else f"NOT met ({p99 / target:.1f}x the target)"
            out.append(
                (
                    label,
                    f"p50 {fig['p50_ms']} ms, p99 {p99} ms (n={fig['n']})",
                    f"p99 < {target} ms",
                    verdict,
                )
            )
    hb = it.get("heartbeats")
    if hb:
        missed = hb["missed"] + hb["blocked_warnings"]
        out.append(
            (
                "stub: gateway heartbeats (whole run)",
                f"{hb['sent']} sent, max gap {hb['max_gap_s']} s at interval"
                f" {it.get('heartbeat_interval_s')} s, {missed} missed",
                "never missed",
                "met" if missed == 0 else "NOT met",
            )
        )
    rss = it.get("rss_mb")
    out.append(
        (
            f"resident memory serving {it.get('status_articles', '?')} articles",
            f"{rss} MB (after the ingest: {it.get('rss_mb_after_ingest')} MB)"
            if rss
            else "not measured",
            "< 150 MB",
            "-" if rss is None else ("met" if rss < 150 else "NOT met"),
        )
    )
    out.append(
        (
            f"start-up to ready at {it.get('status_articles', '?')} articles",
            f"{it['startup_to_ready_s']} s" if "startup_to_ready_s" in it else "not measured",
            "(no target)",
            "-",
        )
    )
    for key, peak_target, after_target in (("memory_seeds", 250, 110), ("memory_store", 300, 150)):
        out.append(_memory_row(results.get(key), peak_target, after_target))
    dg = results.get("digests")
    ratio = dg.get("ratio_to_floor") if dg else None
    if dg is None:
        out.append(("digests due at once, 50 req/s", "not measured", "<= 1.2x floor", "-"))
    elif ratio is None:
        why = dg.get("bot_exited") or dg.get("error") or "no message delivered"
        out.append(
            (
                f"{dg.get('channels', '?')} digests due at once, 50 req/s",
                f"not measured: {why}",
                "<= 1.2x floor, none twice, none lost",
                "NOT met",
            )
        )
    else:
        ok = ratio <= 1.2 and dg.get("duplicates") == 0 and dg.get("lost") == 0
        out.append(
            (
                f"{dg['channels']} digests due at once, 50 req/s",
                f"{ratio}x floor ({dg['delivery_s']} s for {dg['digest_messages']} messages,"
                f" floor {dg['floor_s']} s); duplicates {dg['duplicates']}, lost {dg['lost']}",
                "<= 1.2x floor, none twice, none lost",
                "met" if ok else "NOT met",
            )
        )
    out.append(_sharded_digests_row(results.get("digests_sharded")))
    out.extend(dbcopy_rows(results.get("dbcopy")))
    out.extend(feed_rows(results.get("feeds")))
    return out


def _sharded_digests_row(dg: dict[str, Any] | None) -> tuple[str, str, str, str]:
    """Two processes (shard count 2) on one PostgreSQL, sharing the one global limit."""
    target = "<= 1.2x floor, none twice, none lost, no run posted by both"
    label = f"{(dg or {}).get('channels', '?')} digests due at once, 2 processes (shard count 2)"
    label += " on PostgreSQL, 50 req/s shared"
    if dg is None:
        return (label, "not measured", target, "-")
    ratio = dg.get("ratio_to_floor")
    if ratio is None:
        why = dg.get("bot_exited") or dg.get("error") or "no message delivered"
        return (label, f"not measured: {why}", target, "NOT met")
    both = dg["runs_posted_by_both"] + dg["channels_posted_by_both"]
    ok = ratio <= 1.2 and dg["duplicates"] == 0 and dg["lost"] == 0 and both == 0
    per = dg["runs_posted_per_process"]
    return (
        label,
        f"{ratio}x floor ({dg['delivery_s']} s for {dg['digest_messages']} messages, floor"
        f" {dg['floor_s']} s); duplicates {dg['duplicates']}, lost {dg['lost']}; runs per"
        f" process {per[0]} + {per[1]}, posted by both {both}; 429s {dg['rate_limited_429']}",
        target,
        "met" if ok else "NOT met",
    )


def dbcopy_rows(dc: dict[str, Any] | None) -> list[tuple[str, str, str, str]]:
    """`newsbot db copy` of the 1M-article store, each way: time, rows/s, the process's RSS."""
    target = "RSS flat through the copy (no time target)"
    if not dc or "sqlite_to_postgresql" not in dc:
        why = (dc or {}).get("error", "not measured")
        return [("`newsbot db copy` of the 1M-article store", why, target, "-")]
    articles = dc.get("articles", "?")  # the source's, whatever earlier steps ingested
    out = []
    for key, way in (
        ("sqlite_to_postgresql", "SQLite -> PostgreSQL"),
        ("postgresql_to_sqlite", "PostgreSQL -> SQLite"),
    ):
        fig = dc.get(key)
        label = f"`newsbot db copy`, {way}, {articles} articles"
        if not fig:
            continue
        if "error" in fig:
            out.append((label, f"failed: {fig['error']}", target, "NOT met"))
            continue
        quarters = fig["rss_mb_at_quarters"]
        flat = all(q is not None for q in quarters) and max(quarters) <= 1.25 * quarters[0]
        out.append(
            (
                label,
                f"{fig['seconds']} s for {fig['rows']} rows ({fig['rows_per_s']} rows/s); peak RSS"
                f" {fig['peak_rss_mb']} MB; RSS at each quarter"
                f" {' / '.join(map(str, quarters))} MB",
                target,
                "met" if flat else "NOT met",
            )
        )
    return out


def feed_rows(fd: dict[str, Any] | None) -> list[tuple[str, str, str, str]]:
    """The feed figures: first fetch vs feedparser, all-304 refetch vs first, memory."""
    if not fd or "first_ratio" not in fd:
        why = (fd or {}).get("error", "not measured")
        return [("feeds: fetch and store vs feedparser's parse", why, ">= 1.5x", "-")]
    label = f"{fd['feeds']} feeds of {fd['items_per_feed']} items"
    first, again = fd["first_ratio"], fd["again_ratio"]
    return [
        (
            f"{label}: fetched and stored vs feedparser's single-core parse",
            f"{first}x ({fd['first_s']} s vs {fd['baseline_feedparser_s']} s)",
            ">= 1.5x",
            "met" if first >= 1.5 else f"NOT met ({first / 1.5:.2f} of target)",
        ),
        (
            f"{label}: all-304 refetch vs the first fetch",
            f"{again}x ({fd['again_s']} s)",
            ">= 20x",
            "met" if again >= 20 else f"NOT met ({again / 20:.2f} of target)",
        ),
        *_bot_rows(label, fd.get("bot")),
        (
            f"{label}: resident memory of the fetching process",
            f"peak {fd['peak_rss_mb']} MB, {fd['rss_mb_end']} MB after",
            "< 200 MB",
            "met" if fd["peak_rss_mb"] < 200 else "NOT met",
        ),
    ]


def _bot_rows(label: str, bot: dict[str, Any] | None) -> list[tuple[str, str, str, str]]:
    """Autocompletes through the stub while the bot fetches the feeds at start-up."""
    if not bot:
        return []
    out = []
    for kind in ("topic_autocomplete", "title_autocomplete"):
        fig = bot[kind]
        p99 = fig["p99_ms"]
        out.append(
            (
                f"stub: {kind.replace('_', ' ')} while the bot fetches {label}"
                f" ({bot['bot_start_to_all_fetched_s']} s)",
                f"p50 {fig['p50_ms']} ms, p99 {p99} ms (n={fig['n']})",
                "p99 < 250 ms",
                "met" if p99 < 250 else f"NOT met ({p99 / 250:.1f}x the target)",
            )
        )
    return out


def _memory_row(
    mem: dict[str, Any] | None, peak_target: float, after_target: float
) -> tuple[str, str, str, str]:
    """Peak during a /newsbot ingest and after it, the bot and its parse workers together."""
    target = f"peak < {peak_target} MB, a minute after < {after_target} MB"
    if not mem or "first" not in mem:
        why = (mem or {}).get("error", "")
        return ("memory around a /newsbot ingest", f"not measured {why}".strip(), target, "-")
    serving = "the seeds" if mem.get("db") is None else f"{mem.get('db_articles')} articles"
    peak, peak_pss = mem["first"]["peak_rss_mb"], mem["first"]["peak_pss_mb"]
    after = max(mem["minute_after"]["rss_mb"], mem["after_again"]["rss_mb"])
    ok = peak < peak_target and after < after_target
    return (
        f"memory (bot + parse workers, RSS), {mem.get('files')}-file /newsbot ingest serving"
        f" {serving}",
        f"serving {mem['serving']['rss_mb']} MB; peak {peak} MB (PSS {peak_pss});"
        f" {mem['settle_s']:.0f} s after {mem['minute_after']['rss_mb']} MB; after an unchanged"
        f" re-ingest {mem['after_again']['rss_mb']} MB; /news topic answered"
        f" {mem['first']['topic_answered']}x, slowest {mem['first']['topic_slowest_ms']} ms",
        target,
        "met" if ok else "NOT met",
    )


def write_markdown(
    path: Path, meta: dict[str, Any], results: dict[str, dict[str, Any]], notes: str
) -> None:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `python -m bench.run{' --quick' if meta['quick'] else ''}` on {meta['date']}"
        f" at commit {meta['commit']}, in {meta['total_s']} s"
        + (
            f", on data generated with seed {meta['seed']}."
            if meta.get("seed") is not None
            else "."
        ),
        "",
        f"Machine: {meta['machine'].get('cpu', '?')}, {meta['machine']['cpus']} cores,"
        f" {meta['machine'].get('mem_gb', '?')} GB; Python {meta['machine']['python']},"
        f" SQLite {meta['machine']['sqlite']}; load average before the run: {meta['load']}.",
        "",
        "| figure | measured | target | verdict |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows(results)]
    lines += ["", notes.strip(), "", "## Raw results", "", "```json"]
    lines.append(json.dumps(results, indent=1, sort_keys=True))
    lines += ["```", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


NOTES_FILE = Path(__file__).with_name("NOTES.md")


def render(out: Path) -> int:
    """Rewrite a BENCHMARKS.md from the raw results it holds, with the current NOTES.md."""
    text = out.read_text(encoding="utf-8")
    raw = text.split("```json\n", 1)[1].rsplit("```", 1)[0]
    results = json.loads(raw)
    notes = NOTES_FILE.read_text(encoding="utf-8") if NOTES_FILE.exists() else ""
    write_markdown(out, results["meta"], results, notes)
    print(f"rewrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    ap.add_argument("--only", nargs="*", choices=EVERY_STEP, help=" ".join(EVERY_STEP))
    ap.add_argument("--seed", type=int, help="generate other data with this seed")
    ap.add_argument(
        "--render", action="store_true", help="only rewrite --out from its raw results and NOTES.md"
    )
    args = ap.parse_args(argv)
    if args.render:
        return render(args.out)
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    load = os.getloadavg()
    work = SCRATCH / f"newsbot-bench-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    log = work.parent / f"newsbot-bench-{os.getpid()}.log"
    corpus = work / "corpus"
    db = work / "store.sqlite3"
    results: dict[str, dict[str, Any]] = {}
    wanted = set(args.only or EVERY_STEP)
    scale = 1 if args.quick else 8
    # the store gets the next seed: the corpus ingested during the interactions must be new to it
    seed = ["--seed", str(args.seed)] if args.seed is not None else []
    store_seed = ["--seed", str(args.seed + 1)] if args.seed is not None else []
    try:
        if wanted & {"ingest", "interactions"}:
            results["ingest"] = step(
                "ingest",
                ["bench.ingest", "--files", str(sizes["files"]), "--corpus", str(corpus), "--keep",
                 *seed],
                120 * scale, log,
            )  # fmt: skip
        if "ingest" in wanted and not args.quick:
            # DESIGN §8 asks the ingest figures at 20k files too (--quick runs 10k only).
            results["ingest_20k"] = step(
                "ingest (20k)", ["bench.ingest", "--files", "20000", *seed], 60 * scale, log
            )
            # the whole command at 20k (its first-ingest row), measured in that step
            results["ingest_command"] = results["ingest_20k"]
        if wanted & {"queries", "interactions", "memory"}:
            results["queries"] = step(
                "queries",
                ["bench.queries", "--db", str(db), "--build", str(sizes["articles"]),
                 "--backend", "sqlite", *store_seed],
                90 * scale, log,
            )  # fmt: skip
        if "queries" in wanted:
            # the same articles in PostgreSQL (a temporary server), DESIGN §9
            results["queries_postgresql"] = step(
                "queries (PostgreSQL)",
                ["bench.queries", "--db", str(db), "--build", str(sizes["articles"]),
                 "--backend", "postgresql", *store_seed],
                300 * scale, log,
            )  # fmt: skip
        if "interactions" in wanted:
            results["interactions"] = step(
                "interactions",
                ["bench.interactions", "--db", str(db), "--corpus", str(corpus),
                 "--samples", str(sizes["samples"])],
                120 * scale, log,
            )  # fmt: skip
        if "memory" in wanted and db.exists():
            # Another seed: a corpus new to the store (the interactions ingested theirs).
            results["memory_store"] = step(
                "memory (store)",
                ["bench.memory", "--files", str(sizes["files"]), "--db", str(db),
                 "--settle", str(sizes["settle_s"]), "--seed", str((args.seed or 1) + 2)],
                120 * scale, log,
            )  # fmt: skip
        if "dbcopy" in wanted:
            # `newsbot db copy` of the 1M-article store (built here when no step above did)
            build = [] if db.exists() else ["--build", str(sizes["articles"]), *store_seed]
            results["dbcopy"] = step(
                "db copy", ["bench.dbcopy", "--db", str(db), *build], 300 * scale, log
            )
        remove_db(db)
        shutil.rmtree(work, ignore_errors=True)
        if "memory" in wanted:
            results["memory_seeds"] = step(
                "memory (seeds)",
                ["bench.memory", "--files", str(sizes["memory_files"]),
                 "--settle", str(sizes["settle_s"]), *seed],
                120 * scale, log,
            )  # fmt: skip
        if "digests" in wanted:
            results["digests"] = step(
                "digests", ["bench.digests", "--channels", str(sizes["channels"])], 60 * scale, log
            )
        if "digests_sharded" in wanted:
            results["digests_sharded"] = step(
                "digests (2 processes, PostgreSQL)",
                ["bench.digests_sharded", "--channels", str(sizes["channels"])],
                60 * scale, log,
            )  # fmt: skip
        if "feeds" in wanted:
            results["feeds"] = step(
                "feeds", ["bench.feeds", "--feeds", str(sizes["feeds"])], 90 * scale, log
            )
    finally:
        remove_db(db)
        shutil.rmtree(work, ignore_errors=True)
    meta = {
        "quick": args.quick,
        "seed": args.seed,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "machine": machine(),
        "load": " ".join(f"{x:.2f}" for x in load),
        "total_s": round(time.perf_counter() - started, 1),
    }
    results["meta"] = meta
    notes = NOTES_FILE.read_text(encoding="utf-8") if NOTES_FILE.exists() else ""
    write_markdown(args.out, meta, results, notes)
    print(f"wrote {args.out} in {meta['total_s']} s (log: {log})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
