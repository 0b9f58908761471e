"""Parse workers: read, hash and parse files in processes that yield to the bot and end with it."""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import NamedTuple

from bot.articles import ArticleRejected, parse_article
from bot.ingest.walk import FoundFile
from bot.store import PreparedArticle, prepare_article


class Parsed(NamedTuple):  # a NamedTuple pickles as a tuple: one per changed file crosses back
    """A worker's answer for one file, as plain values (cheap to pickle)."""

    path: str
    size: int
    mtime_ns: int
    digest: str  # of the bytes read; "" when the file could not be read
    error: str | None  # the reason the file is rejected, or None
    warnings: tuple[tuple[str, str], ...]  # (field, reason)
    prepared: PreparedArticle | None  # store.prepare_article() of the article, None if rejected


def parse_file(found: FoundFile, max_bytes: int) -> Parsed:
    """Read, hash and parse one file. Runs in a worker process or thread."""
    try:
        with open(found.path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return Parsed(found.path, found.size, found.mtime_ns, "", f"unreadable: {exc}", (), None)
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    size = max(found.size, len(data))
    try:
        if len(data) > max_bytes:
            raise ArticleRejected.too_large(size, max_bytes)
        parsed = parse_article(data, max_bytes=max_bytes)
        prepared = prepare_article(parsed.article)
    except ArticleRejected as exc:
        return Parsed(found.path, size, found.mtime_ns, digest, str(exc), (), None)
    except Exception as exc:  # a parser bug must not stop the run; the file is reported
        reason = f"could not be parsed ({type(exc).__name__})"
        return Parsed(found.path, size, found.mtime_ns, digest, reason, (), None)
    warnings = tuple((w.field, w.reason) for w in parsed.warnings)
    return Parsed(found.path, size, found.mtime_ns, digest, None, warnings, prepared)


def parse_chunk(files: Sequence[FoundFile], max_bytes: int) -> list[Parsed]:
    """parse_file of each file: one worker task."""
    return [parse_file(f, max_bytes) for f in files]


def make_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool for parsing; forkserver so no thread state of the bot is copied.

    Made per large ingest and shut down after it, so an idle bot holds no worker processes.
    """
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    count = workers or os.cpu_count() or 1
    pool = ProcessPoolExecutor(
        max_workers=count, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
    )
    # Start every worker now (the caller runs this on a thread): submit() starts a worker when
    # none is idle and waits for the forkserver, which first imports the bot (~1 s); done from
    # the event loop, that stalled interactions and gateway heartbeats.
    for future in [pool.submit(_started) for _ in range(count)]:
        future.result()
    return pool


def _started() -> int:
    return os.getpid()


def _start_worker(owner: int) -> None:
    """Parse workers yield the CPU to the bot's process (its event loop answers commands, and
    its single writer is the pace of an ingest), and end when it ends."""
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no os.nice (Windows)
        os.nice(10)
    threading.Thread(target=_exit_with, args=(owner,), name="owner-watch", daemon=True).start()


def _exit_with(owner: int) -> None:
    """A killed bot would leave its workers forever: CPython hands every forkserver child the
    forkserver's alive pipe and the task queue's write end, so neither ever reports EOF."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # alive, under another user: not ours to judge
            pass
