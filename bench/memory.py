"""Memory of the bot around a large ingest: the real bot (`python -m bot run`) against
tests/discord_stub, serving the seeds, then `/newsbot ingest` of a generated corpus while
`/news topic` keeps being asked; then a minute idle, then an unchanged `/newsbot ingest`.

Memory is the bot's process and every process below it (parse workers, the multiprocessing
forkserver and resource_tracker), summed: RSS and PSS from /proc/PID/smaps_rollup, sampled every
0.1 s. PSS splits the pages the forkserver's children share with it.

    python -m bench.memory --files 20000 [--db PATH] [--settle 60] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import SCRATCH, emit
from bench.generate import TOPICS, generate

if TYPE_CHECKING:
    from tests.discord_stub import DiscordStub

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_S = 0.1
# /news topic is asked this often during an ingest: it must keep answering, but each reply's
# pager view lives 10 minutes (bot.ui.pager), so asking back to back would measure those.
ASK_EVERY_S = 0.5


def _children() -> dict[int, list[int]]:
    """ppid -> pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(name))
    return tree


def family(pid: int) -> list[int]:
    """The process and all its descendants."""
    tree = _children()
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(tree.get(p, ()))
    return out


def rollup(pid: int) -> dict[str, int]:
    """smaps_rollup of one process, in kB (Rss, Pss, Anonymous, ...); {} when it is gone."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    out[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        return {}
    return out


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            args = fh.read().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode(errors="replace") for a in args if a)
    if "forkserver" in text and "main(" in text:
        return "forkserver"
    if "resource_tracker" in text:
        return "resource_tracker"
    if "-m bot run" in text:
        return "bot"
    if "bot.ingest.pool" in text or "spawn_main" in text or "forkserver" in text:
        return "worker"
    return text[:60]


def snapshot(pid: int) -> dict[str, Any]:
    """Each process of the bot's family (RSS, PSS, anonymous, MB) and their sums."""
    procs: list[dict[str, Any]] = []
    for p in family(pid):
        r = rollup(p)
        if r:
            procs.append(
                {
                    "pid": p,
                    "name": _name(p),
                    "rss_mb": round(r.get("Rss", 0) / 1024, 1),
                    "pss_mb": round(r.get("Pss", 0) / 1024, 1),
                    "anon_mb": round(r.get("Anonymous", 0) / 1024, 1),
                }
            )
    return {
        "rss_mb": round(sum(p["rss_mb"] for p in procs), 1),
        "pss_mb": round(sum(p["pss_mb"] for p in procs), 1),
        "processes": procs,
    }


class Sampler:
    """Peak of the family's summed RSS and PSS, sampled on a thread."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_rss = 0.0
        self.peak_pss = 0.0
        self.peak_processes: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            snap = snapshot(self.pid)
            if snap["rss_mb"] > self.peak_rss:
                self.peak_rss = snap["rss_mb"]
                self.peak_processes = snap["processes"]
            self.peak_pss = max(self.peak_pss, snap["pss_mb"])
            self._stop.wait(SAMPLE_S)


async def _topic(stub: DiscordStub, i: int) -> float:
    started = time.monotonic()
    reply = await stub.invoke("news topic", {"topic": TOPICS[i % len(TOPICS)] if i % 3 else "AI"})
    await reply.wait(timeout=30, settle=0)  # an answer: embeds, or "no articles on ..."
    if reply.rejected or not (reply.embeds or reply.content):
        raise RuntimeError(f"/news topic not answered: {reply!r}")
    return time.monotonic() - started


def _ingests(log: str) -> int:
    return len(re.findall(r"ingest: \d+ added", log))


async def _ingest(stub: DiscordStub, proc: Any, owner: Any, pid: int) -> dict[str, Any]:
    """/newsbot ingest, asking /news topic until it is done; the peak memory meanwhile."""
    before = _ingests(proc.log)
    answered, slowest = 0, 0.0
    started = time.monotonic()
    with Sampler(pid) as sampler:
        await stub.invoke("newsbot ingest", user=owner)
        while _ingests(proc.log) == before:
            took = await _topic(stub, answered)
            slowest = max(slowest, took)
            answered += 1
            await asyncio.sleep(max(0.0, ASK_EVERY_S - took))
            if time.monotonic() - started > 900:
                raise TimeoutError("ingest did not finish in 15 minutes")
    line = [x for x in proc.log.splitlines() if re.search(r"ingest: \d+ added", x)][-1]
    return {
        "seconds": round(time.monotonic() - started, 2),
        "peak_rss_mb": sampler.peak_rss,
        "peak_pss_mb": sampler.peak_pss,
        "peak_processes": sampler.peak_processes,
        "topic_answered": answered,
        "topic_slowest_ms": round(slowest * 1000, 1),
        "log": line[-160:],
    }


async def run(corpus: Path, db: Path | None, settle: float) -> dict[str, Any]:
    from tests.discord_stub import DiscordStub
    from tests.discord_stub.process import NewsbotProcess
    from tests.discord_stub.world import BOT_TOKEN, OWNER, default_guild

    result: dict[str, Any] = {"bench": "memory", "settle_s": settle}
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        tmp_path = Path(tmp)
        async with DiscordStub(guilds=[default_guild()], token=BOT_TOKEN, owner=OWNER) as stub:
            proc = NewsbotProcess(stub, tmp_path)
            articles = tmp_path / "articles"
            shutil.copytree(ROOT / "seeds", articles / "seeds")
            overrides: dict[str, Any] = {
                "ingest": {"paths": [str(articles)], "interval_minutes": 600},
                "logging": {"level": "INFO"},
            }
            if db is not None:
                overrides["database"] = {"path": str(db)}
                # This stub has never seen the commands: the bot must sync them again (a store
                # that served the interactions step remembers its sync and would skip it).
                with contextlib.closing(sqlite3.connect(db)) as conn, conn:
                    conn.execute("DELETE FROM meta WHERE key LIKE 'command_hash:%'")
            try:
                await proc.start(overrides, articles, timeout=300, ingested=True)
                assert proc.proc is not None
                pid = proc.proc.pid
                for i in range(20):
                    await _topic(stub, i)
                result["serving"] = snapshot(pid)
                for name in sorted(os.listdir(corpus)):
                    if os.path.isdir(corpus / name):  # noqa: ASYNC240
                        os.symlink(corpus / name, articles / name, target_is_directory=True)
                result["first"] = await _ingest(stub, proc, OWNER, pid)
                result["right_after"] = snapshot(pid)
                await asyncio.sleep(settle)
                result["minute_after"] = snapshot(pid)
                result["again"] = await _ingest(stub, proc, OWNER, pid)
                await asyncio.sleep(settle)
                result["after_again"] = snapshot(pid)
            finally:
                with contextlib.suppress(Exception):
                    await proc.stop()
    return result


def _articles(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.memory")
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--corpus", type=Path, help="reuse (or write) the corpus here")
    ap.add_argument("--db", type=Path, help="serve this database (default: a fresh one)")
    ap.add_argument("--settle", type=float, default=60.0, help="seconds idle before 'after'")
    ap.add_argument("--keep", action="store_true", help="keep the corpus")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    corpus = args.corpus or SCRATCH / f"newsbot-bench-memory-{args.files}-seed{args.seed}"
    try:
        if not (corpus / "d0000").is_dir():
            generate(corpus, args.files, seed=args.seed)
        articles = _articles(args.db) if args.db is not None else None
        result = asyncio.run(run(corpus, args.db, args.settle))
        result.update(files=args.files, db=args.db and str(args.db), db_articles=articles)
    finally:
        if not args.keep and args.corpus is None:
            shutil.rmtree(corpus, ignore_errors=True)
    emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
