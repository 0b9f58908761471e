"""Walk article folders, parse changed files off the event loop, write them to the store."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import multiprocessing
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from bot.articles import ArticleRejected, parse_article
from bot.store import (
    BatchCounts,
    FileRecord,
    FileState,
    PreparedArticle,
    Store,
    prepare_article,
)

log = logging.getLogger(__name__)

EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".yaml", ".yml"})
CHUNK_FILES = 250  # files per worker task: large enough to amortise pickling
BATCH_FILES = 2000  # files per write transaction
IN_FLIGHT_PER_WORKER = 4  # chunks queued per worker, so none waits while the writer writes
POOL_THRESHOLD = 256  # fewer changed files than this are parsed on one thread


class FoundFile(NamedTuple):  # a tuple: 100k of them are made on every ingest, and pickled
    path: str  # absolute, the key in the store
    shown: str  # as the operator named it
    size: int
    mtime_ns: int


# A worker's answer for one file, as plain values (cheap to pickle): path, size, mtime_ns,
# content hash, the rejection reason or None, warnings ((field, reason), ...), and
# store.prepare_article() of the article or None.
Parsed = tuple[str, int, int, str, str | None, tuple[tuple[str, str], ...], PreparedArticle | None]


@dataclass(slots=True)
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    related_added: int = 0
    files_seen: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str, str]] = field(default_factory=list)
    missing_paths: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.missing_paths

    def add_counts(self, counts: BatchCounts) -> None:
        self.added += counts.added
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.related_added += counts.related_added

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "related_added": self.related_added,
            "files": self.files_seen,
            "rejected": [{"path": p, "reason": r} for p, r in self.rejected],
            "warnings": [{"path": p, "field": f, "reason": r} for p, f, r in self.warnings],
            "missing_paths": self.missing_paths,
            "duration_s": round(self.duration_s, 3),
        }

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged,"
            f" {len(self.rejected)} rejected; {self.related_added} related articles added"
            f" ({self.files_seen} files in {self.duration_s:.2f}s)"
        )


Progress = Callable[[int, int], None]


def walk(roots: Iterable[Path]) -> tuple[list[FoundFile], list[str]]:
    """Every article file below the roots (sorted), and the roots that do not exist.

    Hidden entries are skipped; a symlinked folder is followed once (loops are cut by inode).
    """
    found: list[FoundFile] = []
    missing: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    for root in roots:
        shown_root = str(root)
        try:
            st = os.stat(root)
        except OSError:
            missing.append(shown_root)
            continue
        if stat.S_ISDIR(st.st_mode):
            for found_file in _walk_dir(root, shown_root, seen_dirs):
                if found_file.path not in seen_files:
                    seen_files.add(found_file.path)
                    found.append(found_file)
        elif stat.S_ISREG(st.st_mode):
            absolute = os.path.abspath(root)
            if absolute not in seen_files:
                seen_files.add(absolute)
                found.append(FoundFile(absolute, shown_root, st.st_size, st.st_mtime_ns))
        else:
            missing.append(shown_root)
    return found, missing


def _walk_dir(root: Path, shown_root: str, seen_dirs: set[tuple[int, int]]) -> Iterator[FoundFile]:
    stack = [(os.path.abspath(root), shown_root)]
    while stack:
        directory, shown_dir = stack.pop()
        try:
            st = os.stat(directory)
        except OSError:
            continue
        identity = (st.st_dev, st.st_ino)
        if identity in seen_dirs:
            continue  # a symlink loop, or a folder reached twice
        seen_dirs.add(identity)
        try:
            with os.scandir(directory) as entries:
                items = sorted(entries, key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        prefix = os.path.join(shown_dir, "")  # shown_dir with one trailing separator
        for entry in items:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                if entry.is_dir():  # follows symlinks; loops are cut above
                    subdirs.append((entry.path, prefix + name))
                elif entry.is_file() and _extension(name) in EXTENSIONS:
                    est = entry.stat()
                    yield FoundFile(entry.path, prefix + name, est.st_size, est.st_mtime_ns)
            except OSError:
                continue
        stack.extend(reversed(subdirs))


def _extension(name: str) -> str:
    """os.path.splitext(name)[1].lower() for a file name (no separators), faster."""
    dot = name.rfind(".")
    if dot <= 0 or name[:dot].strip(".") == "":  # no dot, or only leading dots: none
        return ""
    return name[dot:].lower()


def parse_file(found: FoundFile, max_bytes: int) -> Parsed:
    """Read, hash and parse one file. Runs in a worker process or thread."""
    try:
        with open(found.path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return (found.path, found.size, found.mtime_ns, "", f"unreadable: {exc}", (), None)
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    size = max(found.size, len(data))
    try:
        if len(data) > max_bytes:
            raise ArticleRejected(
                f"file is {size} bytes; the limit is {max_bytes} ([ingest] max_file_bytes)"
            )
        parsed = parse_article(data, max_bytes=max_bytes)
        prepared = prepare_article(parsed.article)
    except ArticleRejected as exc:
        return (found.path, size, found.mtime_ns, digest, str(exc), (), None)
    except Exception as exc:  # a parser bug must not stop the run; the file is reported
        reason = f"could not be parsed ({type(exc).__name__})"
        return (found.path, size, found.mtime_ns, digest, reason, (), None)
    warnings = tuple((w.field, w.reason) for w in parsed.warnings)
    return (found.path, size, found.mtime_ns, digest, None, warnings, prepared)


def parse_chunk(files: Sequence[FoundFile], max_bytes: int) -> list[Parsed]:
    return [parse_file(f, max_bytes) for f in files]


def make_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool for parsing; forkserver so no thread state of the bot is copied.

    Made per large ingest and shut down after it, so an idle bot holds no worker processes.
    """
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    count = workers or os.cpu_count() or 1
    pool = ProcessPoolExecutor(max_workers=count, mp_context=context)
    # Start every worker now (the caller runs this on a thread): submit() starts a worker when
    # none is idle and waits for the forkserver, which first imports the bot (~1 s); done from
    # the event loop, that stalled interactions and gateway heartbeats.
    for future in [pool.submit(_started) for _ in range(count)]:
        future.result()
    return pool


def _started() -> int:
    return os.getpid()


class Ingestor:
    """Runs ingests into one store; one at a time (a second caller waits for the first)."""

    def __init__(
        self,
        store: Store,
        *,
        max_file_bytes: int,
        canonical_topic: Callable[[str], str] = lambda name: name,
        workers: int | None = None,
    ):
        self.store = store
        self.max_file_bytes = max_file_bytes
        self.canonical_topic = canonical_topic
        self.workers = workers or os.cpu_count() or 1
        self._lock = asyncio.Lock()

    async def run(self, roots: Sequence[Path], progress: Progress | None = None) -> IngestReport:
        async with self._lock:
            started = time.perf_counter()
            report = await self._run(roots, progress)
            report.duration_s = time.perf_counter() - started
            await self.store.set_meta("last_ingest_at", datetime.now(UTC).isoformat())
            log.info("ingest: %s", report.summary())
            return report

    async def _run(self, roots: Sequence[Path], progress: Progress | None) -> IngestReport:
        report = IngestReport()
        # The walk (stat syscalls, off the GIL) and reading the known files overlap.
        (found, report.missing_paths), (_, known) = await asyncio.gather(
            asyncio.to_thread(walk, roots), self.store.file_states()
        )
        report.files_seen = len(found)
        shown_by_path = {f.path: f.shown for f in found}
        changed: list[FoundFile] = []
        still_rejected = []
        for item in found:
            state = known.get(item.path)
            if state is not None and state[1] == item.size and state[2] == item.mtime_ns:
                if state[3] is None:
                    report.unchanged += 1
                else:
                    still_rejected.append((item.path, item.shown, state[3]))
            else:
                changed.append(item)
        # Files still rejected from an earlier run are reported again: they are still not loaded.
        still_rejected.sort()
        report.rejected = [(shown, reason) for _, shown, reason in still_rejected]
        done = len(found) - len(changed)
        if progress:
            progress(done, len(found))
        # The writer writes one batch while the workers parse the next ones.
        pending: list[Parsed] = []
        writing: asyncio.Task[None] | None = None
        try:
            async for chunk in self._parsed_chunks(changed):
                pending.extend(chunk)
                done += len(chunk)
                if len(pending) >= BATCH_FILES:
                    if writing is not None:
                        await writing
                    writing = asyncio.ensure_future(
                        self._write(pending, known, shown_by_path, report)
                    )
                    pending = []
                if progress:
                    progress(done, len(found))
            if writing is not None:
                await writing
                writing = None
            if pending:
                await self._write(pending, known, shown_by_path, report)
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writing
        return report

    async def _parsed_chunks(self, changed: list[FoundFile]):
        if not changed:
            return
        chunks = [changed[i : i + CHUNK_FILES] for i in range(0, len(changed), CHUNK_FILES)]
        if len(changed) < POOL_THRESHOLD or self.workers < 2:
            for chunk in chunks:
                yield await asyncio.to_thread(parse_chunk, chunk, self.max_file_bytes)
            return
        loop = asyncio.get_running_loop()
        pool = await asyncio.to_thread(make_pool, self.workers)
        futures: list[asyncio.Future[list[Parsed]]] = []
        try:
            # Keep every worker busy with a bounded number of chunks in flight.
            in_flight = self.workers * IN_FLIGHT_PER_WORKER
            index = 0
            while index < len(chunks) or futures:
                while index < len(chunks) and len(futures) < in_flight:
                    chunk = chunks[index]
                    futures.append(
                        loop.run_in_executor(pool, parse_chunk, chunk, self.max_file_bytes)
                    )
                    index += 1
                yield await futures.pop(0)
        finally:
            for future in futures:
                future.cancel()
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)

    async def _write(
        self,
        parsed: list[Parsed],
        known: dict[str, FileState],
        shown_by_path: dict[str, str],
        report: IngestReport,
    ) -> None:
        records = []
        touched = []
        hashes = await self.store.file_hashes([p[0] for p in parsed if p[0] in known])
        for path, size, mtime_ns, digest, error, warnings, prepared in parsed:
            shown = shown_by_path.get(path, path)
            if digest and hashes.get(path) == digest:
                # Same bytes under a new mtime: nothing to parse into the store.
                touched.append((path, size, mtime_ns))
                if error:
                    report.rejected.append((shown, error))
                else:
                    report.unchanged += 1
                continue
            records.append(FileRecord(path, size, mtime_ns, digest, error=error, prepared=prepared))
            if error:
                report.rejected.append((shown, error))
            report.warnings.extend((shown, f, r) for f, r in warnings)
        now = time.time()
        await self.store.touch_files(touched, now)
        if records:
            report.add_counts(await self.store.apply_batch(records, now, self.canonical_topic))
