"""`newsbot db copy` of a large store, SQLite -> PostgreSQL and back: wall time, rows/s and the
copying process's resident memory (DESIGN §9).

    python -m bench.dbcopy --db PATH [--build N [--seed S]] [--pg-url URL] [--no-back]

The store at --db (built first with --build N: the N generated articles of bench.queries and
their related stubs) is copied by the real command, `python -m bot db copy SOURCE TARGET`, in a
subprocess, into an empty PostgreSQL database (--pg-url, emptied first; else a temporary server
in /dev/shm), then from there into a new SQLite file. The copying process's RSS is read from
/proc every 0.1 s (its peak, and where it stood at each quarter of the copy: memory that grew
with the rows copied would show as a rising line) and its peak from the kernel (VmHWM, the
high-water mark, sampled up to its last moment).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import SCRATCH, build_store, emit, remove_db
from bench.queries import emptied, temporary_postgres

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_S = 0.1
COPIED = re.compile(r"copied (\d+) rows")


def _status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a live process, in kB (empty once it is gone)."""
    found = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                found[line.split(":")[0]] = int(line.split()[1])
    return found


def copy_once(source: str, target: str) -> dict[str, Any]:
    """`python -m bot db copy SOURCE TARGET` in a subprocess, timed and its memory sampled."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "db", "copy", source, target],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    samples: list[tuple[float, int]] = []  # (seconds since start, RSS kB)
    peak_hwm = 0
    while proc.poll() is None:
        status = _status_kb(proc.pid)
        if "VmRSS" in status:
            samples.append((time.perf_counter() - started, status["VmRSS"]))
            peak_hwm = max(peak_hwm, status.get("VmHWM", 0))
        time.sleep(SAMPLE_S)
    seconds = time.perf_counter() - started
    out, err = proc.communicate()
    result: dict[str, Any] = {"seconds": round(seconds, 2), "exit": proc.returncode}
    copied = COPIED.search(out)
    if proc.returncode != 0 or copied is None:
        result["error"] = (err or out).strip().splitlines()[-1:] or ["no output"]
        return result
    rows = int(copied.group(1))
    quarters = []
    for q in (0.25, 0.5, 0.75, 1.0):
        before = [rss for at, rss in samples if at <= seconds * q]
        quarters.append(round(before[-1] / 1024, 1) if before else None)
    result.update(
        {
            "rows": rows,
            "rows_per_s": round(rows / seconds),
            "peak_rss_mb": round(max(peak_hwm, *(rss for _, rss in samples)) / 1024, 1)
            if samples
            else None,
            "rss_mb_at_quarters": quarters,
            "summary": out.strip()[:400],
        }
    )
    return result


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"bench": "dbcopy"}
    if args.build:
        result["build"] = await build_store(args.db, args.build, seed=args.seed)
    result["source_bytes"] = os.path.getsize(args.db)  # noqa: ASYNC240
    with contextlib.closing(sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)) as conn:
        result["articles"] = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    with contextlib.ExitStack() as stack:
        url = args.pg_url or stack.enter_context(temporary_postgres())
        await emptied(url)
        result["sqlite_to_postgresql"] = await asyncio.to_thread(copy_once, str(args.db), url)
        if not args.no_back and "error" not in result["sqlite_to_postgresql"]:
            with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
                back = Path(tmp) / "back.sqlite3"
                result["postgresql_to_sqlite"] = await asyncio.to_thread(copy_once, url, str(back))
                remove_db(back)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.dbcopy")
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--build", type=int, default=0, help="first build a store of N articles")
    ap.add_argument("--seed", type=int, default=2, help="the generated articles' seed")
    ap.add_argument("--pg-url", help="a PostgreSQL database (default: a temporary server)")
    ap.add_argument("--no-back", action="store_true", help="skip PostgreSQL -> SQLite")
    args = ap.parse_args(argv)
    emit(asyncio.run(amain(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
