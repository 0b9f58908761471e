"""Walk article folders, parse changed files off the event loop, write them to the store."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import multiprocessing
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from bot.articles import ArticleRejected, parse_article
from bot.ingest.watch import TreeWatch
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
# For a name that is not hidden, name.lower().endswith(SUFFIXES) is the same test as
# os.path.splitext(name)[1].lower() in EXTENSIONS (no extension holds a dot), and faster.
SUFFIXES = tuple(sorted(EXTENSIONS))
CHUNK_FILES = 500  # files per worker task: large enough to amortise pickling and hand-offs
# Files per write transaction. Larger batches write FTS5 segments and hot pages fewer times
# (100k files: writer 10.9 s at 2,000 a batch, 9.2 s at 5,000, 8.4 s at 10,000), but hold the
# writer longer: a digest or /digest write waits for the batch (~0.5 s at 5,000).
BATCH_FILES = 5000
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
    """Every article file below the roots (in walk order), and the roots that do not exist.

    Hidden entries are skipped; a symlinked folder is followed once (loops are cut by inode).
    """
    scan = scan_roots(roots, {})
    return scan.changed, scan.missing


@dataclass(slots=True)
class Scan:
    """One walk of the roots, each file compared with what the store knows about it."""

    files: int = 0  # article files found
    unchanged: int = 0  # of which size and mtime are what the store has
    changed: list[FoundFile] = field(default_factory=list)  # the others, in walk order
    # (path, shown, reason) of the unchanged files that the store holds as rejected
    rejected: list[tuple[str, str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # roots that are not a file or folder


_new_found = tuple.__new__  # FoundFile(...) without the Python-level __new__: 100k per walk
_OPEN_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


def scan_roots(
    roots: Iterable[Path], known: Mapping[str, FileState], watch: TreeWatch | None = None
) -> Scan:
    """Walk the roots in walk() order, comparing each file's size and mtime with ``known``.

    Only the changed files are collected: an unchanged tree costs a stat per file and a dict
    look-up, nothing kept. With ``watch`` (armed by its caller), each folder is watched before it
    is listed, and each root, symlinked folder and linked file is pinned (bot.ingest.watch).
    """
    return _Walker(list(roots), known, watch).walk()


class _Walker:
    def __init__(self, roots: list[Path], known: Mapping[str, FileState], watch: TreeWatch | None):
        self.roots = roots
        self.known = known
        self.watch = watch
        self.scan = Scan()
        self.seen_dirs: set[tuple[int, int]] = set()
        # Only a root that is a file can be reached twice (as itself and inside a folder root).
        self.root_paths = {os.path.abspath(root) for root in roots}
        self.emitted: set[str] = set()

    def walk(self) -> Scan:
        scan, watch = self.scan, self.watch
        for root in self.roots:
            shown_root = str(root)
            try:
                st = os.stat(root)
            except OSError:
                scan.missing.append(shown_root)
                if watch is not None:
                    watch.fail(f"{shown_root} does not exist")
                continue
            if stat.S_ISDIR(st.st_mode):
                self.folder(root, shown_root)
            elif stat.S_ISREG(st.st_mode):
                self.file(root, shown_root, st)
            else:
                scan.missing.append(shown_root)
                if watch is not None:
                    watch.fail(f"{shown_root} is not a file or folder")
        return scan

    def file(self, root: Path, shown_root: str, st: os.stat_result) -> None:
        absolute = os.path.abspath(root)
        if absolute in self.emitted:
            return
        self.emitted.add(absolute)
        if self.watch is not None:
            st = self.watch.watch_file(os.fspath(root)) or st
        scan = self.scan
        scan.files += 1
        state = self.known.get(absolute)
        if state is not None and state[1] == st.st_size and state[2] == st.st_mtime_ns:
            scan.unchanged += 1
            if state[3] is not None:
                scan.rejected.append((absolute, shown_root, state[3]))
        else:
            scan.changed.append(FoundFile(absolute, shown_root, st.st_size, st.st_mtime_ns))

    def folder(self, root: Path, shown_root: str) -> None:
        """Everything below one folder root; the loop runs once per file, so all is local."""
        get = self.known.get
        watch = self.watch
        watching = watch is not None
        scan = self.scan
        changed, rejected = scan.changed, scan.rejected
        seen_dirs, root_paths, emitted = self.seen_dirs, self.root_paths, self.emitted
        files = unchanged = 0
        # (path, shown, pin): pin is the path to re-check later (a root, a symlinked folder)
        stack: list[tuple[str, str, str | None]] = [
            (os.path.abspath(root), shown_root, os.fspath(root))
        ]
        while stack:
            directory, shown_dir, pin = stack.pop()
            try:
                fd = os.open(directory, _OPEN_DIR)
            except OSError as exc:
                if watch is not None:
                    watch.fail(f"{directory}: {exc.strerror}")
                continue
            try:
                st = os.fstat(fd)
                if watch is not None and pin is not None:
                    watch.pin(pin, st)
                identity = (st.st_dev, st.st_ino)
                if identity in seen_dirs:
                    continue  # a symlink loop, or a folder reached twice
                seen_dirs.add(identity)
                if watch is not None:
                    watch.watch_dir(fd, st.st_dev, directory)  # before listing it
                prefix = os.path.join(directory, "")  # with one trailing separator
                shown_prefix = prefix if shown_dir == directory else os.path.join(shown_dir, "")
                subdirs: list[tuple[str, bool]] = []
                here: list[tuple[str, str, int, int]] = []  # this folder's changed files
                with os.scandir(fd) as entries:  # entry.stat() is then fstatat: no path look-up
                    for entry in entries:
                        name = entry.name
                        if name[0] == ".":
                            continue
                        try:
                            # The extension first: one is_*() call (d_type) for most entries.
                            if (
                                name.endswith(SUFFIXES) or name.lower().endswith(SUFFIXES)
                            ) and entry.is_file():
                                est = entry.stat()
                                path = prefix + name
                                if path in root_paths:
                                    if path in emitted:
                                        continue
                                    emitted.add(path)
                                files += 1
                                state = get(path)
                                if (
                                    state is not None
                                    and state[1] == est.st_size
                                    and state[2] == est.st_mtime_ns
                                ):
                                    unchanged += 1
                                    if state[3] is not None:
                                        rejected.append((path, shown_prefix + name, state[3]))
                                else:
                                    here.append((name, path, est.st_size, est.st_mtime_ns))
                                if watching and (est.st_nlink > 1 or entry.is_symlink()):
                                    # a change through another name reaches only the file's watch
                                    watch.watch_file(path)  # type: ignore[union-attr]
                            elif entry.is_dir():  # follows symlinks; loops are cut above
                                subdirs.append((name, watching and entry.is_symlink()))
                        except OSError:
                            continue
            except OSError as exc:
                if watch is not None:
                    watch.fail(f"{directory}: {exc.strerror}")
                continue
            finally:
                os.close(fd)
            if here:
                here.sort()
                same = shown_prefix is prefix
                changed.extend(
                    _new_found(FoundFile, (path, path if same else shown_prefix + n, size, mtime))
                    for n, path, size, mtime in here
                )
            subdirs.sort(reverse=True)
            stack.extend(
                (prefix + name, shown_prefix + name, prefix + name if linked else None)
                for name, linked in subdirs
            )
        scan.files += files
        scan.unchanged += unchanged


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
            raise ArticleRejected.too_large(size, max_bytes)
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
    pool = ProcessPoolExecutor(
        max_workers=count, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
    )
    # Start every worker now (the caller runs this on a thread): submit() starts a worker when
    # none is idle and waits for the forkserver, which first imports the bot (~1 s); done from
    # the event loop, that stalled interactions and gateway heartbeats.
    for future in [pool.submit(_started) for _ in range(count)]:
        future.result()
    return pool


def _encodable(path: str) -> bool:
    """False for a name the OS gave as undecodable bytes (surrogate escapes)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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


@dataclass(frozen=True, slots=True)
class _Walked:
    """What a watched full walk left in the store, for a later run that skips the walk."""

    roots: tuple[str, ...]
    files: int
    rejected: tuple[tuple[str, str, str], ...]  # (path, shown, reason), by path
    generation: int  # the store's files generation right after that run


class Ingestor:
    """Runs ingests into one store; one at a time (a second caller waits for the first).

    Between runs it keeps the store's file states in memory while the store's files generation
    says nobody wrote them. With ``watch`` (a long-running owner such as the bot), it also keeps
    inotify watches on the folders it walked and skips the walk of a run when nothing there can
    have changed (bot.ingest.watch); the owner calls ``close()``.
    """

    def __init__(
        self,
        store: Store,
        *,
        max_file_bytes: int,
        canonical_topic: Callable[[str], str] = lambda name: name,
        workers: int | None = None,
        watch: bool = False,
    ):
        self.store = store
        self.max_file_bytes = max_file_bytes
        self.canonical_topic = canonical_topic
        self.workers = workers or os.cpu_count() or 1
        self._lock = asyncio.Lock()
        self._watch = TreeWatch() if watch else None
        self._known: dict[str, FileState] | None = None
        self._known_generation = -1
        self._writes = 0  # store writes of files rows in this run (each bumps the generation)
        self._walked: _Walked | None = None

    def close(self) -> None:
        """Drop the inotify watches and the cached file states; idempotent."""
        if self._watch is not None:
            self._watch.close()
        self._forget()

    async def run(self, roots: Sequence[Path], progress: Progress | None = None) -> IngestReport:
        async with self._lock:
            started = time.perf_counter()
            try:
                report = await self._skip_walk(roots, progress)
                if report is None:
                    report = await self._run(roots, progress)
            except BaseException:
                self._forget()  # a run cut short leaves the store unlike what is cached
                raise
            report.duration_s = time.perf_counter() - started
            await self.store.set_meta("last_ingest_at", datetime.now(UTC).isoformat())
            log.info("ingest: %s", report.summary())
            return report

    def _forget(self) -> None:
        self._known = None
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

    async def _known_states(self) -> tuple[int, dict[str, FileState]]:
        if self._known is not None:
            generation = await self.store.files.generation()
            if generation == self._known_generation:
                return generation, self._known
        generation, self._known = await self.store.files.states()
        self._known_generation = generation
        return generation, self._known

    def _scan(self, roots: Sequence[Path], known: dict[str, FileState]) -> tuple[Scan, bool]:
        watch = self._watch
        if watch is not None and not watch.start():
            watch = None
        scan = scan_roots(roots, known, watch)
        return scan, watch is not None and watch.complete

    async def _run(self, roots: Sequence[Path], progress: Progress | None) -> IngestReport:
        self._walked = None
        report = IngestReport()
        generation, known = await self._known_states()
        self._writes = 0
        scan, watched = await asyncio.to_thread(self._scan, roots, known)
        changed = scan.changed
        report.files_seen = scan.files
        report.missing_paths = scan.missing
        # Files still rejected from an earlier run are reported again: they are still not loaded.
        scan.rejected.sort()
        report.rejected = [(shown, reason) for _, shown, reason in scan.rejected]
        report.unchanged = scan.unchanged - len(scan.rejected)
        shown_by_path = {f.path: f.shown for f in changed}
        done = scan.files - len(changed)
        if progress:
            progress(done, scan.files)
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
                    progress(done, scan.files)
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
        # Each of our writes bumped the generation once: more means another writer wrote too.
        after = await self.store.files.generation()
        if after != generation + self._writes:
            self._known = None
            return report
        self._known_generation = after
        if watched:
            self._walked = self._watched_result(tuple(map(os.fspath, roots)), scan, known, after)
        return report

    @staticmethod
    def _watched_result(
        roots: tuple[str, ...], scan: Scan, known: dict[str, FileState], generation: int
    ) -> _Walked | None:
        """What a full walk of the unchanged tree would report next: the stored reasons."""
        rejected = list(scan.rejected)
        for found in scan.changed:
            state = known.get(found.path)
            if state is None:
                return None  # not written: a later run must look at it again
            if state[3] is not None:
                rejected.append((found.path, found.shown, state[3]))
        rejected.sort()
        return _Walked(roots, scan.files, tuple(rejected), generation)

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
        hashes = await self.store.files.hashes([p[0] for p in parsed if p[0] in known])
        for path, size, mtime_ns, digest, error, warnings, prepared in parsed:
            shown = shown_by_path.get(path, path)
            if not path.isascii() and not _encodable(path):
                # Its name cannot be stored (nor printed): reported on every run, never loaded.
                shown = shown.encode("utf-8", "backslashreplace").decode("utf-8")
                report.rejected.append((shown, "the file name is not valid UTF-8; rename it"))
                continue
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
        if touched:
            await self.store.files.touch(touched, now)
            self._writes += 1
            for path, size, mtime_ns in touched:
                known[path] = (path, size, mtime_ns, known[path][3])
        if records:
            report.add_counts(
                await self.store.articles.apply_batch(records, now, self.canonical_topic)
            )
            self._writes += 1
            for r in records:
                # as the store holds it: status 'rejected' when there is no article
                reason = None if r.prepared is not None else (r.error or "")
                known[r.path] = (r.path, r.size, r.mtime_ns, reason)
