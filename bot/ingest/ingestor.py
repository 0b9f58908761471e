"""The ingestor: walk, parse changed files off the event loop, write them to the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from bot.articles import PARSER_VERSION, topic_key
from bot.ingest.batch import BatchOutcome, encodable, sort_parsed
from bot.ingest.early import EarlyStart
from bot.ingest.fingerprint import TreeFingerprint, fingerprint_digest
from bot.ingest.memory import heap_trimmer
from bot.ingest.parsed import Parsed
from bot.ingest.pool import ParsePool
from bot.ingest.report import IngestReport, report_of
from bot.ingest.walk import ColdScan, FoundFile, Scan, scan_roots
from bot.ingest.watch import TreeWatch
from bot.ingest.workers import load_parsed, parse_pickled
from bot.ingest.writer import WriterProcess, WriterStopped
from bot.store import FileState, Store, StoreInterface

log = logging.getLogger("bot.ingest")  # the name operators know from its log lines

CHUNK_FILES = 500  # files per worker task: large enough to amortise pickling and hand-offs
# Files per write transaction. Larger batches write FTS5 segments and hot pages fewer times
# (100k files: writer 10.9 s at 2,000 a batch, 9.2 s at 5,000, 8.4 s at 10,000), but hold the
# writer longer: a digest or /digest write waits for the batch (~0.5 s at 5,000).
BATCH_FILES = 5000
# The batches shrink towards the end of a run, each about half of what is left, down to this:
# the last batch is written after the parse ends, alone on its core (5,000 files: ~0.45 s).
TAIL_BATCH_FILES = 1000
IN_FLIGHT_PER_WORKER = 4  # chunks queued per worker, so none waits while the writer writes
POOL_THRESHOLD = 256  # fewer changed files than this are parsed on one thread
# A read of this many file states or more gives the page caches back before the walk (20k
# files: ~3 MB of pages; fewer leave too little cached to matter).
RELEASE_AFTER_STATES = 20_000


Progress = Callable[[int, int], None]


def same_topic(name: str) -> str:
    """No topic aliases: a module-level function, so it crosses to the writer process."""
    return name


@dataclass(frozen=True, slots=True)
class _Walked:
    """What a full walk left in the store: for a later run that skips the walk (watched), and
    for the tree fingerprint."""

    roots: tuple[str, ...]
    files: int
    rejected: tuple[tuple[str, str, str], ...]  # (path, shown, reason), by path
    generation: int  # the store's files generation right after that run


def batch_target(unsent: int) -> int:
    """Files in the next batch when ``unsent`` files are not yet in one: BATCH_FILES, then
    about half of what is left, so the write after the parse ends is short."""
    return min(BATCH_FILES, max(TAIL_BATCH_FILES, unsent // 2))


class Ingestor:
    """Runs ingests into one store; one at a time (a second caller waits for the first).

    Each run reads the store's file states and lets them go at its end (~28 MB per 100k files
    held between runs would cost more than the ~0.08 s per 100k the read takes). With ``watch``
    (a long-running owner such as the bot), it keeps inotify watches on the folders it walked and
    skips the walk of a run when nothing there can have changed (bot.ingest.watch); the owner
    calls ``close()``. After a run that parsed many files it gives the memory back
    (bot.ingest.memory).
    """

    def __init__(
        self,
        store: StoreInterface,
        *,
        max_file_bytes: int,
        canonical_topic: Callable[[str], str] = same_topic,
        workers: int | None = None,
        watch: bool = False,
    ):
        self.store = store
        self.max_file_bytes = max_file_bytes
        self.canonical_topic = canonical_topic
        self.workers = workers or os.cpu_count() or 1
        self._lock = asyncio.Lock()
        self._watch = TreeWatch() if watch else None
        self._writes = 0  # store writes of files rows in this run (each bumps the generation)
        # Of this run's changed files: how many the store now holds, and those held as rejected
        # (path, shown, reason), for what a watched walk reports next (_watched_result).
        self._stored = 0
        self._stored_rejected: list[tuple[str, str, str]] = []
        self._moved = 0  # files whose size changed between the walk and their read
        self._walked: _Walked | None = None
        self._parsed = 0  # files the last run parsed

    def close(self) -> None:
        """Drop the inotify watches and what the last walk found; idempotent."""
        if self._watch is not None:
            self._watch.close()
        self._forget()

    async def run(
        self,
        roots: Sequence[Path],
        progress: Progress | None = None,
        *,
        scanned: ColdScan | None = None,
    ) -> IngestReport:
        """Ingest what changed below ``roots``; ``scanned``: their walk, already made (a cold
        `newsbot ingest`, bot.ingest.unchanged)."""
        async with self._lock:
            started = time.perf_counter()
            self._parsed = 0
            try:
                report = await self._skip_walk(roots, progress)
                if report is None:
                    report = await self._run(roots, progress, scanned)
            except BaseException:
                self._forget()  # a run cut short leaves the store unlike what the walk found
                raise
            report.duration_s = time.perf_counter() - started
            await self.store.set_meta("last_ingest_at", datetime.now(UTC).isoformat())
            log.info("ingest: %s", report.summary())
            if self._parsed >= POOL_THRESHOLD:
                await self._give_back()
            return report

    async def _give_back(self) -> None:
        """The memory a large run used, back to the OS: its Python objects are gone by now, but
        the writer's page cache and the C heap keep theirs until asked."""
        # Its entries were made mid-run among the batches' objects: left there, each would keep
        # a freed stretch of the Python heap from going back. Refilled by the next lookups.
        topic_key.cache_clear()
        await self.store.release_memory()
        await self._trim_heap()

    async def _trim_heap(self) -> None:
        # Looked up only when needed: an unchanged run (`newsbot ingest`, ~75 ms per 20k files)
        # would pay for the look-up (ldconfig) for nothing.
        trim_heap = heap_trimmer()
        if trim_heap is not None:
            await asyncio.to_thread(trim_heap)

    def _forget(self) -> None:
        self._walked = None

    async def _skip_walk(
        self, roots: Sequence[Path], progress: Progress | None
    ) -> IngestReport | None:
        """The report of an unchanged tree without walking it, when the watches prove it is."""
        walked = self._walked
        if self._watch is None or walked is None:
            return None
        if walked.roots != tuple(map(os.fspath, roots)):
            log.debug("ingest: walking: the folders differ from the watched ones")
            return None
        if await self.store.files.generation() != walked.generation:
            log.debug("ingest: walking: another writer changed the files table")
            return None
        reason = await asyncio.to_thread(self._watch.stale_reason)
        if reason is not None:
            log.debug("ingest: walking: %s", reason)
            return None
        log.debug("ingest: walk skipped; no change under the watched folders")
        report = IngestReport(files_seen=walked.files)
        report.rejected = [(shown, reason) for _, shown, reason in walked.rejected]
        report.unchanged = walked.files - len(report.rejected)
        if progress:
            progress(walked.files, walked.files)
        return report

    def _scan(
        self, roots: Sequence[Path], known: dict[str, FileState], early: EarlyStart | None
    ) -> tuple[Scan, bool]:
        watch = self._watch
        if watch is not None and not watch.start():
            watch = None
        scan = scan_roots(roots, known, watch, early.found if early is not None else None)
        return scan, watch is not None and watch.complete

    def _early_start(self) -> EarlyStart | None:
        """For a run that walks: its children, started once the walk finds enough changes."""
        if self.workers < 2:
            return None
        writer = None
        if isinstance(self.store, Store):
            writer = partial(
                WriterProcess, self.store.path, self.max_file_bytes, self.canonical_topic
            )
        return EarlyStart(POOL_THRESHOLD, self.workers, writer)

    async def _run(
        self, roots: Sequence[Path], progress: Progress | None, scanned: ColdScan | None
    ) -> IngestReport:
        early = self._early_start() if scanned is None else None
        try:
            return await self._ingest(roots, progress, scanned, early)
        finally:
            if early is not None:
                await early.close()

    async def _ingest(
        self,
        roots: Sequence[Path],
        progress: Progress | None,
        scanned: ColdScan | None,
        early: EarlyStart | None,
    ) -> IngestReport:
        self._walked = None
        self._writes = 0
        self._stored, self._stored_rejected, self._moved = 0, [], 0
        if scanned is None:
            generation, known = await self.store.files.states(
                parser_version=PARSER_VERSION, max_file_bytes=self.max_file_bytes
            )
            if len(known) >= RELEASE_AFTER_STATES:
                # That read pulled the whole files table through the reader's page cache (~17
                # MB per 100k files), which then held it through the walk and the first batches.
                await self.store.release_memory()
                await self._trim_heap()
            scan, watched = await asyncio.to_thread(self._scan, roots, known, early)
        else:  # walked by a cold `newsbot ingest` that found changes: not walked twice
            generation, known, scan = scanned.generation, scanned.known, scanned.scan
            watched = False
        # The changed files, in chunks handed to the parsers and dropped as they go: nothing of
        # the size of the tree stays in this process's heap through the run.
        changed, scan.changed = scan.changed, []
        self._parsed = len(changed)
        report = report_of(scan)
        shown_by_path = {f.path: f.shown for f in changed if f.shown != f.path}
        done = scan.files - len(changed)
        chunks = [changed[i : i + CHUNK_FILES] for i in range(0, len(changed), CHUNK_FILES)]
        del changed
        # What the store held of each chunk's files (their stored rejection, or None), in order.
        chunks_known = deque(
            {f.path: known[f.path][3] for f in c if f.path in known} for c in chunks
        )
        # Every file the store knows (~28 MB per 100k), not needed past here: not through the run
        # (emptied, not only dropped: a ColdScan handed in by `newsbot ingest` still refers to it).
        known.clear()
        del known
        if self._parsed >= POOL_THRESHOLD:
            # A large run: the pages this process's connections cached while serving (up to 32
            # MB each at 1M articles) would sit beside the batches through it. Refilled on use.
            await self.store.release_memory()
            await self._trim_heap()
        if progress:
            progress(done, scan.files)
        # Started while the pool starts and parses the first batch; awaited by the first write.
        writer = asyncio.ensure_future(self._writer_process(len(chunks), early))
        # The writer writes one batch while the workers parse the next ones.
        pending: list[bytes] = []  # parsed chunks, pickled until their batch is written
        pending_known: dict[str, str | None] = {}
        pending_files = 0
        unsent = self._parsed  # files not yet in a batch handed to the writer
        writing: asyncio.Task[None] | None = None
        try:
            async for files, chunk in self._parsed_chunks(chunks, early):
                pending.append(chunk)
                pending_known.update(chunks_known.popleft())  # chunks come back in order
                pending_files += files
                done += files
                if pending_files >= batch_target(unsent):
                    unsent -= pending_files
                    if writing is not None:
                        await writing
                    writing = asyncio.ensure_future(
                        self._write(writer, pending, pending_known, shown_by_path, report)
                    )
                    pending, pending_known, pending_files = [], {}, 0
                if progress:
                    progress(done, scan.files)
            if writing is not None:
                await writing
                writing = None
            if pending:
                await self._write(writer, pending, pending_known, shown_by_path, report)
            # After the writes: a file renamed (its article at a new path) keeps its article.
            await self._remove(scan.vanished, report)
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writing
            await self._close_writer(writer)
        # Each of our writes bumped the generation once: more means another writer wrote too.
        after = await self.store.files.generation()
        if after != generation + self._writes or self._stored != self._parsed or self._moved:
            # else a later run must look again: a file that changed under the read may be put
            # back as the walk saw it, which the walk's digest would take for unchanged
            return report
        walked = self._watched_result(tuple(map(os.fspath, roots)), scan, after)
        if watched:
            self._walked = walked
        await self._stamp(scan.tree, walked)
        return report

    async def _stamp(self, tree: str, walked: _Walked) -> None:
        """The tree fingerprint of a run that left the store holding what its walk saw, for a
        cold `newsbot ingest` (bot.ingest.fingerprint). SQLite only: PostgreSQL has no cold
        path."""
        if not isinstance(self.store, Store):
            return
        fingerprint = TreeFingerprint(
            walked.generation,
            fingerprint_digest(tree, self.max_file_bytes),
            walked.files,
            tuple((shown, reason) for _path, shown, reason in walked.rejected),
        )
        if not await self.store.files.stamp_fingerprint(fingerprint.encode(), walked.generation):
            log.debug("ingest: not fingerprinted: another writer changed the files table")

    def _watched_result(self, roots: tuple[str, ...], scan: Scan, generation: int) -> _Walked:
        """What a full walk of the unchanged tree would report next: the stored reasons."""
        rejected = sorted([*scan.rejected, *self._stored_rejected])
        return _Walked(roots, scan.files, tuple(rejected), generation)

    async def _parsed_chunks(
        self, chunks: list[list[FoundFile]], early: EarlyStart | None
    ) -> AsyncIterator[tuple[int, bytes]]:
        """(files, parse_pickled bytes) of each chunk, in order; each chunk is emptied once it is
        sent, so its FoundFiles go with it."""
        if not chunks:
            return
        if self._parsed < POOL_THRESHOLD or self.workers < 2:
            for chunk in chunks:
                files = len(chunk)
                parsed = await asyncio.to_thread(parse_pickled, chunk, self.max_file_bytes)
                chunk.clear()
                yield files, parsed
            return
        # Started on a thread (each worker imports the parser first), for this ingest only.
        pool = await early.pool() if early is not None else None
        if pool is None:
            pool = await asyncio.to_thread(ParsePool, self.workers)
        futures: list[tuple[int, asyncio.Future[bytes]]] = []
        try:
            # Keep every worker busy with a bounded number of chunks in flight.
            in_flight = self.workers * IN_FLIGHT_PER_WORKER
            index = 0
            while index < len(chunks) or futures:
                while index < len(chunks) and len(futures) < in_flight:
                    chunk = chunks[index]
                    future = asyncio.wrap_future(pool.submit(chunk, self.max_file_bytes))
                    futures.append((len(chunk), future))
                    chunks[index] = []  # the pool holds it until it is sent
                    index += 1
                files, future = futures.pop(0)
                yield files, await future
        finally:
            for _files, future in futures:
                future.cancel()
            await asyncio.to_thread(pool.close)

    async def _remove(self, vanished: list[str], report: IngestReport) -> None:
        """Forget the files deleted from disk; their articles are gone (bot.store.gone)."""
        if not vanished:
            return
        gone = await self.store.files.remove(vanished)
        self._writes += 1
        report.gone = len(vanished)
        log.info("ingest: %d files deleted, %d articles gone", len(vanished), gone)

    async def _writer_process(self, chunks: int, early: EarlyStart | None) -> WriterProcess | None:
        """A writer process for a large ingest into SQLite (bot.ingest.writer); None: this
        process writes (a small ingest, one worker, PostgreSQL, or aliases that cannot be
        pickled)."""
        if not chunks or self._parsed < POOL_THRESHOLD or self.workers < 2:
            return None
        started = await early.writer() if early is not None else None
        if started is not None:
            return started
        if not isinstance(self.store, Store):
            return None  # PostgreSQL: asyncpg's writes already run in the server's processes
        try:
            return await asyncio.to_thread(
                WriterProcess, self.store.path, self.max_file_bytes, self.canonical_topic
            )
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            log.debug("ingest: writing in this process: %s", exc)
            return None
        except (OSError, WriterStopped) as exc:  # no child could start: this process writes
            log.warning("ingest: the writer process did not start (%s); writing here", exc)
            return None

    @staticmethod
    async def _close_writer(starting: asyncio.Future[WriterProcess | None]) -> None:
        """End the writer process, once it has started (a start that failed has nothing)."""
        try:
            writer = await asyncio.shield(starting)
        except Exception:
            return  # reported by the write that awaited it, if any
        if writer is not None:
            await asyncio.to_thread(writer.close)

    async def _write(
        self,
        starting: asyncio.Future[WriterProcess | None],
        chunks: list[bytes],
        stored_reasons: dict[str, str | None],
        shown_by_path: dict[str, str],
        report: IngestReport,
    ) -> None:
        writer = await starting
        if writer is not None:
            outcome = await asyncio.to_thread(writer.write, chunks, stored_reasons)
        else:
            outcome = await self._write_here(chunks, stored_reasons)
        chunks.clear()  # the caller handed them over: their bytes are not needed past this
        if self._parsed >= POOL_THRESHOLD:
            # The batch's bytes, freed as they were sent, back to the OS now, not at the end of
            # the run: glibc kept them (10-20 MB more in the bot by the end of 100k files into
            # the 1M store); a trim takes well under 1 ms.
            await self._trim_heap()
        report.add_counts(outcome.counts)
        report.unchanged += outcome.unchanged

        def shown(path: str) -> str:
            name = shown_by_path.get(path, path)
            if path.isascii() or encodable(name):
                return name
            return name.encode("utf-8", "backslashreplace").decode("utf-8")

        report.rejected.extend((shown(path), reason) for path, reason in outcome.rejected)
        report.warnings.extend((shown(path), f, r) for path, f, r in outcome.warnings)
        self._writes += outcome.writes
        self._stored += outcome.stored
        self._moved += outcome.moved
        self._stored_rejected.extend(
            (path, shown(path), reason) for path, reason in outcome.stored_rejected
        )

    async def _write_here(
        self, chunks: list[bytes], stored_reasons: dict[str, str | None]
    ) -> BatchOutcome:
        """A batch written through the store's areas, in this process."""
        parsed: list[Parsed] = await asyncio.to_thread(load_parsed, chunks)
        chunks.clear()
        hashes = await self.store.files.hashes(list(stored_reasons), parser_version=PARSER_VERSION)
        batch = sort_parsed(parsed, hashes, stored_reasons, self.max_file_bytes)
        del parsed
        outcome = batch.outcome
        now = time.time()
        if batch.touched:
            await self.store.files.touch(batch.touched, now)
            outcome.writes += 1
        if batch.records:
            outcome.counts = await self.store.articles.apply_batch(
                batch.records, now, self.canonical_topic
            )
            outcome.writes += 1
        batch.stored()
        return outcome
