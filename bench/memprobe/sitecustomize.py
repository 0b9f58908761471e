"""A memory probe for every Python process of a run (a dev tool for bench/NOTES.md profiles).

With this folder on PYTHONPATH and NEWSBOT_MEMPROBE=DIR, each Python process started (the bot,
its parse workers, the ingest's writer child: they inherit the environment) samples itself every
0.1 s on a daemon thread and writes DIR/PID.json: its argv, and at the moment of its highest RSS
the RSS split into anonymous and file-backed pages, SQLite's heap (sqlite3_status64: all of it,
and the page cache's share) and the Python objects' block count; plus VmHWM, and RSS, SQLite
and blocks once a second, and its CPU seconds. Without the
variable it does nothing.

    PYTHONPATH=bench/memprobe NEWSBOT_MEMPROBE=/tmp/probe python -m bench.memory ...
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import sys
import threading
import time
from collections.abc import Callable

_SQLITE_MEMORY_USED = 0
_SQLITE_PAGECACHE_OVERFLOW = 2  # page-cache bytes that came from malloc: all of it by default


def _sqlite_status() -> Callable[[int], int] | None:
    try:
        lib = ctypes.CDLL("libsqlite3.so.0")  # the copy the sqlite3 module has loaded
    except OSError:
        return None
    status = lib.sqlite3_status64
    status.argtypes = [
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int64),
        ctypes.POINTER(ctypes.c_int64),
        ctypes.c_int,
    ]

    def read(op: int) -> int:
        current, high = ctypes.c_int64(), ctypes.c_int64()
        status(op, ctypes.byref(current), ctypes.byref(high), 0)
        return current.value

    return read


def _kb(path: str, keys: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                name, _, rest = line.partition(":")
                if name in keys:
                    out[name] = int(rest.split()[0])
    except OSError:
        pass
    return out


def _start(folder: str) -> None:
    read_sqlite = _sqlite_status()
    target = os.path.join(folder, f"{os.getpid()}.json")
    with open("/proc/self/cmdline", "rb") as fh:
        argv = fh.read().decode(errors="replace").split("\0")
    series: list[tuple[float, float, float, float]] = []  # (t, RSS, SQLite, blocks) each second
    state: dict[str, object] = {"argv": argv, "peak": {}, "samples": 0, "series": series}

    def sample() -> dict[str, float]:
        mem = _kb("/proc/self/status", ("VmRSS", "RssAnon", "RssFile", "VmHWM"))
        snap = {k: round(v / 1024, 1) for k, v in mem.items()}
        if read_sqlite is not None:
            snap["sqlite_mb"] = round(read_sqlite(_SQLITE_MEMORY_USED) / 2**20, 1)
            snap["sqlite_pagecache_mb"] = round(read_sqlite(_SQLITE_PAGECACHE_OVERFLOW) / 2**20, 1)
        snap["py_blocks_k"] = round(sys.getallocatedblocks() / 1000, 1)
        snap["t"] = round(time.time(), 2)
        return snap

    def dump() -> None:
        times = os.times()
        state["cpu_s"] = round(times.user + times.system, 2)
        with open(target + ".tmp", "w", encoding="utf-8") as fh:
            json.dump(state, fh)
        os.replace(target + ".tmp", target)

    def run() -> None:
        peak = 0.0
        last_dump = 0.0
        while True:
            snap = sample()
            state["samples"] = int(state["samples"]) + 1  # type: ignore[call-overload]
            state["last"] = snap
            if snap.get("VmRSS", 0) > peak:
                peak = snap["VmRSS"]
                state["peak"] = snap
            now = time.monotonic()
            if now - last_dump > 1.0:
                series.append(
                    (snap["t"], snap.get("VmRSS", 0), snap.get("sqlite_mb", 0), snap["py_blocks_k"])
                )
                dump()
                last_dump = now
            time.sleep(0.1)

    atexit.register(dump)
    threading.Thread(target=run, name="memprobe", daemon=True).start()


if os.environ.get("NEWSBOT_MEMPROBE"):
    _start(os.environ["NEWSBOT_MEMPROBE"])
