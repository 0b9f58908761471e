"""First ingest and unchanged re-ingest of a generated corpus, against a single-core
``yaml.CSafeLoader`` parse of the same files measured in the same run.

Unchanged re-ingest, four ways: ``again_s`` the bot's next run (its Ingestor watches the folders
it walked, so it does not walk), ``again_full_walk_s`` a fresh Ingestor (``newsbot ingest``:
read the file states, walk, stat every file), ``again_cached_walk_s`` a walk by an Ingestor that
kept the file states from its last run (the bot's walk after a change, or its hourly one), and
``again_command_s`` the whole ``newsbot ingest`` command in a fresh interpreter (start-up and
imports count), the median of a few cold processes.

``command_s``: the whole ``newsbot ingest`` command (a subprocess: interpreter start-up, imports,
config, migrations of a fresh database, the parse pool, the writes, exit), against the same
floor. ``--command-only`` measures that and the floor alone (the 20k row of bench.run).

    python -m bench.ingest --files 100000 [--corpus DIR] [--keep] [--command-only]
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml

from bench.common import SCRATCH, emit, remove_db
from bench.generate import generate

ROOT = Path(__file__).resolve().parents[1]

AGAIN_SAMPLES = 3  # each "again" figure is the best of this many runs
COMMAND_SAMPLES = 7  # the whole `newsbot ingest` command: the median of this many processes


def baseline_parse(root: Path) -> tuple[int, float]:
    """Read every file and yaml.load its front matter with CSafeLoader, on one core."""
    paths: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        paths.extend(os.path.join(dirpath, f) for f in sorted(filenames))
    started = time.perf_counter()
    for path in paths:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8")
        if text.startswith("---"):
            end = text.find("\n---", 3)
            text = text[3:end] if end != -1 else text[3:]
        yaml.load(text, Loader=yaml.CSafeLoader)  # CSafeLoader: the safe loader
    return len(paths), time.perf_counter() - started


async def ingest_twice(corpus: Path, db: Path) -> dict[str, Any]:
    from bot.ingest import Ingestor
    from bot.store import Store

    remove_db(db)
    store = await Store.open(db)
    try:
        # As the bot runs it: one long-lived Ingestor that watches what it walked.
        ingestor = Ingestor(store, max_file_bytes=1 << 20, watch=True)
        cpu = time.process_time()
        started = time.perf_counter()
        first = await ingestor.run([corpus])
        first_s = time.perf_counter() - started
        first_cpu = time.process_time() - cpu
        # Nothing changed: the bot's next run (the watches say so, no walk) ...
        again_s, again = await best_of(AGAIN_SAMPLES, lambda: ingestor.run([corpus]))
        ingestor.close()
        # ... and a fresh Ingestor, as `newsbot ingest` runs: walk, stat and compare every file.
        cli = Ingestor(store, max_file_bytes=1 << 20)
        full_s, full = await best_of(
            AGAIN_SAMPLES, lambda: Ingestor(store, max_file_bytes=1 << 20).run([corpus])
        )
        # A walk by an Ingestor that kept the file states from its last run (the bot's walk
        # after a change, or its hourly one).
        await cli.run([corpus])
        cached_s, _ = await best_of(AGAIN_SAMPLES, lambda: cli.run([corpus]))
        cli.close()
    finally:
        await store.close()
    return {
        "workers": ingestor.workers,
        "first_s": round(first_s, 3),
        "first_main_process_cpu_s": round(first_cpu, 3),
        "first_counts": {k: v for k, v in first.as_dict().items() if isinstance(v, int)},
        "first_rejected": len(first.rejected),
        "again_samples": AGAIN_SAMPLES,
        "again_s": round(again_s, 6),  # a skipped walk takes well under a millisecond
        "again_counts": {k: v for k, v in again.as_dict().items() if isinstance(v, int)},
        "again_full_walk_s": round(full_s, 4),
        "again_full_walk_counts": {k: v for k, v in full.as_dict().items() if isinstance(v, int)},
        "again_cached_walk_s": round(cached_s, 4),
    }


def unchanged_command(corpus: Path, db: Path, samples: int = COMMAND_SAMPLES) -> dict[str, Any]:
    """`newsbot ingest` of the unchanged corpus as an operator runs it: each sample a fresh
    interpreter (start-up, imports, config, store open, read the states, walk, close), with the
    bare interpreter's start-up beside it."""
    config = db.with_name(db.name + ".toml")
    database, folder = json.dumps(str(db)), json.dumps(str(corpus))  # TOML basic strings
    config.write_text(
        f"[database]\npath = {database}\n[ingest]\npaths = [{folder}]\n", encoding="utf-8"
    )
    command = [sys.executable, "-m", "bot", "--config", str(config), "ingest", "--json"]
    try:
        times, report = [], {}
        for _ in range(samples):
            started = time.perf_counter()
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
            times.append(time.perf_counter() - started)
            report = json.loads(done.stdout)
        startup = []
        for _ in range(samples):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            startup.append(time.perf_counter() - started)
    finally:
        config.unlink(missing_ok=True)
    return {
        "again_command_samples": samples,
        "again_command_s": round(statistics.median(times), 4),
        "again_command_min_s": round(min(times), 4),
        "again_command_counts": {k: v for k, v in report.items() if isinstance(v, int)},
        "python_startup_s": round(statistics.median(startup), 4),
    }


def compile_bot() -> None:
    """The bot's bytecode written, as an installed bot has it (pip compiles what it installs;
    an editable install under PYTHONDONTWRITEBYTECODE would recompile every module each run)."""
    if not compileall.compile_dir(ROOT / "bot", quiet=1):
        raise RuntimeError("the bot's modules did not compile")


def time_command(corpus: Path, db: Path) -> tuple[float, dict[str, Any]]:
    """Wall time of `newsbot ingest --json` of the corpus into a fresh database, and its report."""
    remove_db(db)
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as scratch:
        config = Path(scratch) / "config.toml"
        config.write_text(
            f'[discord]\ntoken = "x"\n[database]\npath = {json.dumps(str(db))}\n'
            f"[ingest]\npaths = [{json.dumps(str(corpus))}]\n",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "bot", "ingest", "--config", str(config), "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
    remove_db(db)
    if done.returncode not in (0, 1):  # 1: some file was rejected
        raise RuntimeError(f"newsbot ingest exited {done.returncode}: {done.stderr.decode()}")
    report = json.loads(done.stdout)
    return elapsed, {k: v for k, v in report.items() if isinstance(v, int)}


async def best_of(samples: int, run: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """The fastest of a few runs (the machine is shared) and the last run's result."""
    best = float("inf")
    result = None
    for _ in range(samples):
        started = time.perf_counter()
        result = await run()
        best = min(best, time.perf_counter() - started)
    return best, result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ingest")
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--corpus", type=Path, help="reuse (or write) the corpus here")
    ap.add_argument("--keep", action="store_true", help="keep the corpus and database")
    ap.add_argument("--seed", type=int, default=1, help="the generated corpus's seed")
    ap.add_argument(
        "--command-only", action="store_true", help="the floor and `newsbot ingest` alone"
    )
    args = ap.parse_args(argv)
    corpus = args.corpus or SCRATCH / f"newsbot-bench-corpus-{args.files}"
    db = SCRATCH / f"newsbot-bench-ingest-{os.getpid()}.sqlite3"
    result: dict[str, Any] = {"bench": "ingest", "files": args.files}
    try:
        if not (corpus / "d0000").is_dir():
            started = time.perf_counter()
            made = generate(corpus, args.files, seed=args.seed)
            result["generate_s"] = round(time.perf_counter() - started, 2)
            result["corpus_bytes"] = made.n_bytes
        n, base_s = baseline_parse(corpus)
        result["baseline_files"] = n
        result["baseline_csafeloader_s"] = round(base_s, 3)
        compile_bot()
        command_s, result["command_counts"] = time_command(corpus, db)
        result["command_s"] = round(command_s, 3)
        result["command_ratio"] = round(base_s / command_s, 3)
        if not args.command_only:
            result.update(asyncio.run(ingest_twice(corpus, db)))
            result["first_ratio"] = round(base_s / result["first_s"], 3)
            result["again_ratio"] = round(result["first_s"] / result["again_s"], 1)
            result["again_full_walk_ratio"] = round(
                result["first_s"] / result["again_full_walk_s"], 1
            )
            result.update(unchanged_command(corpus, db))
            # the cold unchanged command against the first whole command: like for like
            result["again_command_ratio"] = round(command_s / result["again_command_s"], 1)
    finally:
        remove_db(db)
        if not args.keep and args.corpus is None:
            shutil.rmtree(corpus, ignore_errors=True)
    emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
