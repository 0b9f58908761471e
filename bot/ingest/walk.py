"""Find article files below the roots, and which of them changed since the store saw them."""

from __future__ import annotations

import os
import pickle
import signal
import stat
import struct
from _blake2 import blake2b
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, TypeVar

if TYPE_CHECKING:  # types only: a cold unchanged `newsbot ingest` imports this module
    from bot.ingest.watch import TreeWatch
    from bot.store.records import FileState

EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".yaml", ".yml"})
# For a name that is not hidden, name.lower().endswith(SUFFIXES) is the same test as
# os.path.splitext(name)[1].lower() in EXTENSIONS (no extension holds a dot), and faster.
SUFFIXES = tuple(sorted(EXTENSIONS))


class FoundFile(NamedTuple):  # a tuple: 100k of them are made on every ingest, and pickled
    path: str  # absolute, the key in the store
    shown: str  # as the operator named it
    size: int
    mtime_ns: int


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
    # known files below the walked roots that the walk did not find: deleted (a missing root,
    # or a folder that could not be read, hides nothing this way)
    vanished: list[str] = field(default_factory=list)
    # A digest of what the walk saw, in its order: the roots, each folder's article files by
    # name, and each file's size and mtime (bot.ingest.fingerprint). Equal digests: the same
    # tree, as far as size and mtime tell.
    tree: str = ""


@dataclass(frozen=True, slots=True)
class ColdScan:
    """A walk that a cold `newsbot ingest` made before its event loop started and that found
    changes (bot.ingest.unchanged): the ingest starts from it instead of walking again."""

    generation: int  # the store's files generation when ``known`` was read (one snapshot)
    known: dict[str, FileState]
    scan: Scan


_new_found = tuple.__new__  # FoundFile(...) without the Python-level __new__: 100k per walk
_OPEN_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


def scan_roots(
    roots: Iterable[Path],
    known: Mapping[str, FileState],
    watch: TreeWatch | None = None,
    on_changed: Callable[[int], None] | None = None,
) -> Scan:
    """Walk the roots in walk() order, comparing each file's size and mtime with ``known``.

    Only the changed files are collected: an unchanged tree costs a stat per file and a dict
    look-up, nothing kept. With ``watch`` (armed by its caller), each folder is watched before it
    is listed, and each root, symlinked folder and linked file is pinned (bot.ingest.watch).
    ``on_changed``: called on the walk's thread with the changed files found so far, after each
    folder that had some (a walk split among processes does not call it).
    """
    return _scan(list(roots), known, watch, len(known), on_changed)


def survey_roots(roots: Iterable[Path], expected_files: int) -> Scan:
    """scan_roots() with nothing to compare: the files counted, the missing roots and the tree
    digest, nothing else (a cold `newsbot ingest` checks a stored fingerprint with it).
    ``expected_files``: about how many there are, to decide whether to split the walk."""
    return _scan(list(roots), None, None, expected_files)


def _scan(
    roots: list[Path],
    known: Mapping[str, FileState] | None,
    watch: TreeWatch | None,
    expected_files: int,
    on_changed: Callable[[int], None] | None = None,
) -> Scan:
    shares = _shares(expected_files, watch)
    if shares > 1:
        scan = _forked_scan(roots, known, shares)
        if scan is not None:
            return scan
    walker = _Walker(roots, known, watch, on_changed=on_changed)
    scan = walker.walk()
    scan.vanished = walker.vanished()
    scan.tree = walker.tree_digest(walker.stat_sum)
    return scan


# A cold walk of a large known tree (`newsbot ingest`) is split among processes: per file it is
# a stat and a few Python steps (~2.5 us), which threads cannot share (the GIL). Below this
# many known files a fork (~1-3 ms) costs more than it saves.
FORK_MIN_KNOWN = 4096
MAX_SHARES = 4


def _shares(expected_files: int, watch: TreeWatch | None) -> int:
    """How many processes walk: one unless the tree is large, unwatched, and cores are free.
    A watched walk arms inotify watches, which must be this process's, so it walks alone."""
    if watch is not None or expected_files < FORK_MIN_KNOWN or not hasattr(os, "fork"):
        return 1
    cores = len(os.sched_getaffinity(0))
    # On cores that are busy, a share waits for a core, and the split's overhead (each process
    # lists every folder) is a loss.
    free = int(cores + 0.5 - _busy_cores())
    return max(1, min(MAX_SHARES, cores, free))


def _busy_cores(loadavg_path: str = "/proc/loadavg") -> float:
    """How many cores other processes use now: the runnable count of /proc/loadavg but this
    process, else the last minute's load but this process."""
    # Now, not the last minute's average: right after a big ingest that average still says
    # busy for a minute while the cores are idle.
    try:
        with open(loadavg_path, "rb") as loadavg:
            running = int(loadavg.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return max(0.0, os.getloadavg()[0] - 1)
    return max(0, running - 1)


_LENGTH = struct.Struct("<Q")


def _forked_scan(
    roots: list[Path], known: Mapping[str, FileState] | None, shares: int
) -> Scan | None:
    """scan_roots() by ``shares`` processes: this one and forked children, each comparing the
    files of its share and sending back what it found (nothing per unchanged file); None when a
    child could not be started or did not answer (the caller then walks alone)."""
    children: list[tuple[int, int, int]] = []  # (pid, its results, its requests)
    try:
        try:
            for share in range(1, shares):
                results, results_w = os.pipe()
                requests_r, requests = os.pipe()
                pid = os.fork()
                if pid == 0:  # the child: never returns
                    # Only its own ends stay open: a request pipe's reader sees its end when
                    # the parent closes the writer, so no copy of a writer may live here.
                    others = (results, requests, *(fd for c in children for fd in c[1:]))
                    _walk_share(
                        roots,
                        known,
                        share,
                        shares,
                        results=results_w,
                        requests=requests_r,
                        others=others,
                    )
                os.close(results_w)
                os.close(requests_r)
                children.append((pid, results, requests))
        except OSError:
            return None
        walker = _Walker(roots, known, None, 0, shares)
        scan = walker.walk()
        found = walker.found_known()
        stat_sum = walker.stat_sum
        parts = [(scan.changed, walker.changed_runs, scan.rejected, walker.rejected_steps)]
        for _pid, results, _requests in children:
            answer = _receive(results)
            if answer is None:
                return None
            files, unchanged, child_found, child_sum, *part = answer
            scan.files += files
            scan.unchanged += unchanged
            found += child_found
            stat_sum += child_sum
            parts.append(tuple(part))
        scan.tree = walker.tree_digest(stat_sum)
        if len(parts[0][0]) < sum(len(part[0]) for part in parts):
            scan.changed = _in_walk_order([(part[0], _steps(part[1])) for part in parts])
        if len(parts[0][2]) < sum(len(part[2]) for part in parts):
            scan.rejected = _in_walk_order([(part[2], part[3]) for part in parts])
        if known is not None and found != len(known):
            scan.vanished = walker.unfound()
            for _pid, results, requests in children:
                try:
                    os.write(requests, b"v")
                except OSError:  # it ended
                    return None
                vanished = _receive(results)
                if vanished is None:
                    return None
                scan.vanished.extend(vanished)
        return scan
    finally:
        for pid, results, requests in children:
            os.close(requests)  # a child waiting for a request ends
            os.close(results)
            os.waitpid(pid, 0)


def _walk_share(
    roots: list[Path],
    known: Mapping[str, FileState] | None,
    share: int,
    shares: int,
    *,
    results: int,
    requests: int,
    others: tuple[int, ...],
) -> NoReturn:
    """A forked child's whole life: walk its share, send the findings, and the vanished files
    of its share if asked. It imports nothing and touches no lock (the parent has threads)."""
    try:
        # A signal here must not reach the parent's event loop through the inherited wake-up fd.
        signal.set_wakeup_fd(-1)
        for fd in others:
            os.close(fd)
        walker = _Walker(roots, known, None, share, shares)
        scan = walker.walk()
        _send(
            results,
            (
                scan.files,
                scan.unchanged,
                walker.found_known(),
                walker.stat_sum,
                scan.changed,
                walker.changed_runs,
                scan.rejected,
                walker.rejected_steps,
            ),
        )
        if os.read(requests, 1) == b"v":
            _send(results, walker.unfound())
    finally:
        os._exit(0)


def _send(fd: int, value: object) -> None:
    data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    data = _LENGTH.pack(len(data)) + data
    with memoryview(data) as view:
        sent = 0
        while sent < len(data):
            sent += os.write(fd, view[sent:])


def _receive(fd: int) -> Any:
    """One value _send() wrote, or None when the writer ended first."""
    data = bytearray()
    need = _LENGTH.size
    while len(data) < need:
        chunk = os.read(fd, max(need - len(data), 1 << 16))
        if not chunk:
            return None
        data += chunk
        if need == _LENGTH.size and len(data) >= need:
            need += _LENGTH.unpack_from(data)[0]
    return pickle.loads(memoryview(data)[_LENGTH.size :])


def _steps(runs: list[tuple[int, int]]) -> list[int]:
    """The walk step of each changed file, from (step, count) runs."""
    return [step for step, count in runs for _ in range(count)]


_T = TypeVar("_T", FoundFile, tuple[str, str, str])


def _in_walk_order(parts: list[tuple[list[_T], list[int]]]) -> list[_T]:
    """The shares' items (a path first) as one walk would list them: by step, then by path
    (one folder's files are sorted by name)."""
    items = [
        (step, item[0], item)
        for found, steps in parts
        for step, item in zip(steps, found, strict=True)
    ]
    items.sort(key=itemgetter(0, 1))
    return [item for _step, _path, item in items]


class _Walker:
    """One walk; with ``shares`` > 1 it handles only the files whose name hashes to ``share``
    (every process lists every folder, and each file is compared by exactly one of them; the
    name, not the path: no path string is made for the others' files). With ``known`` None it
    compares nothing and only counts and digests (survey_roots).

    The tree digest is the same however the walk is split, though the split by name hash is
    another one in every run: the roots, folders and names (in walk order) are digested by
    share 0, which lists every folder anyway, and each file's (walk step, place in its folder,
    size, mtime) is hashed by the share that stats it, the hashes summed."""

    def __init__(
        self,
        roots: list[Path],
        known: Mapping[str, FileState] | None,
        watch: TreeWatch | None,
        share: int = 0,
        shares: int = 1,
        *,
        on_changed: Callable[[int], None] | None = None,
    ):
        self.roots = roots
        self.on_changed = on_changed
        self.compare = known is not None
        self.known: Mapping[str, FileState] = {} if known is None else known
        self.watch = watch
        self.share, self.shares = share, shares
        self.scan = Scan()
        # What share 0 digests: a part per root and per folder listed, in walk order
        self.tree_parts: list[str] | None = [] if share == 0 else None
        self.stat_sum = 0  # of hash((step, place, size, mtime_ns)) of this share's files
        # Walk order, for merging the shares: a number per folder listed or file root, and
        # (number, count) for each run of scan.changed, the number of each scan.rejected.
        self.step = 0
        self.changed_runs: list[tuple[int, int]] = []
        self.rejected_steps: list[int] = []
        self.seen_dirs: set[tuple[int, int]] = set()
        # Only a root that is a file can be reached twice (as itself and inside a folder root).
        self.root_paths = {os.path.abspath(root) for root in roots}
        self.emitted: set[str] = set()
        # The known states of the files found unchanged (the changed ones are in scan.changed):
        # states, not paths, so no path string outlives its turn of the loop.
        self.unchanged: list[FileState] = []
        self.walked_files: set[str] = set()  # the roots walked that are files
        self.walked_folders: list[str] = []  # ... and folders, each with a trailing separator
        self.unread: list[str] = []  # folders that could not be read, likewise

    def walk(self) -> Scan:
        scan, watch, parts = self.scan, self.watch, self.tree_parts
        for root in self.roots:
            shown_root = str(root)
            if parts is not None:
                parts.append(f"root\0{os.path.abspath(root)}\0{shown_root}")
            try:
                st = os.stat(root)
            except OSError:
                scan.missing.append(shown_root)
                if parts is not None:
                    parts.append("missing")
                if watch is not None:
                    watch.fail(f"{shown_root} does not exist")
                continue
            if stat.S_ISDIR(st.st_mode):
                self.walked_folders.append(os.path.join(os.path.abspath(root), ""))
                self.folder(root, shown_root)
            elif stat.S_ISREG(st.st_mode):
                self.walked_files.add(os.path.abspath(root))
                if parts is not None:
                    parts.append("file")
                self.file(root, shown_root, st)
            else:
                scan.missing.append(shown_root)
                if parts is not None:
                    parts.append("missing")
                if watch is not None:
                    watch.fail(f"{shown_root} is not a file or folder")
        scan.unchanged = len(self.unchanged)
        return scan

    def tree_digest(self, stat_sum: int) -> str:
        """The digest of what this walk (share 0) listed and of every share's ``stat_sum``."""
        parts = self.tree_parts if self.tree_parts is not None else []
        # NUL-separated: no path or name holds one, and each part says how many fields it has
        text = "\0".join([*parts, str(self.scan.files), str(stat_sum & 0xFFFF_FFFF_FFFF_FFFF)])
        # blake2b without hashlib, whose OpenSSL import costs a cold `newsbot ingest` ~5 ms
        digest = blake2b(text.encode("utf-8", "surrogateescape"), digest_size=20)
        return digest.hexdigest()

    def found_known(self) -> int:
        """How many known files this walk found."""
        known = self.known
        found = len(self.unchanged)
        if found < len(known):
            found += sum(1 for f in self.scan.changed if f.path in known)
        return found

    def vanished(self) -> list[str]:
        """The known files below the walked roots that the walk did not find. Counted first:
        when every known file was found (an unchanged tree), nothing else is looked at."""
        return [] if self.found_known() == len(self.known) else self.unfound()

    def unfound(self) -> list[str]:
        """The known files of this share below the walked roots that the walk did not find."""
        known = self.known
        folders, files, unread = tuple(self.walked_folders), self.walked_files, tuple(self.unread)
        seen = {state[0] for state in self.unchanged}
        seen.update(f.path for f in self.scan.changed)
        share, shares = self.share, self.shares
        return [
            path
            for path in known
            if (shares == 1 or hash(path[path.rfind(os.sep) + 1 :]) % shares == share)
            and (path.startswith(folders) or path in files)
            and path not in seen
            and not path.startswith(unread)
        ]

    def file(self, root: Path, shown_root: str, st: os.stat_result) -> None:
        absolute = os.path.abspath(root)
        step = self.step
        self.step += 1
        if self.shares > 1 and hash(os.path.basename(absolute)) % self.shares != self.share:
            return
        if absolute in self.emitted:
            return
        self.emitted.add(absolute)
        if self.watch is not None:
            st = self.watch.watch_file(os.fspath(root)) or st
        scan = self.scan
        scan.files += 1
        self.stat_sum += hash((step, 0, st.st_size, st.st_mtime_ns))
        if not self.compare:
            return
        state = self.known.get(absolute)
        if state is not None and state[1] == st.st_size and state[2] == st.st_mtime_ns:
            self.unchanged.append(state)
            if state[3] is not None:
                scan.rejected.append((absolute, shown_root, state[3]))
                self.rejected_steps.append(step)
        else:
            scan.changed.append(FoundFile(absolute, shown_root, st.st_size, st.st_mtime_ns))
            self.changed_runs.append((step, 1))

    def folder(self, root: Path, shown_root: str) -> None:
        """Everything below one folder root; the loop runs once per file, so all is local."""
        get = self.known.get
        compare = self.compare
        watch = self.watch
        parts = self.tree_parts
        stat_sum = 0
        scan = self.scan
        changed, rejected = scan.changed, scan.rejected
        seen_dirs, root_paths, emitted = self.seen_dirs, self.root_paths, self.emitted
        found_unchanged = self.unchanged.append
        share, shares = self.share, self.shares
        changed_runs, rejected_steps = self.changed_runs, self.rejected_steps
        on_changed = self.on_changed
        files = 0
        # (path, shown, pin): pin is the path to re-check later (a root, a symlinked folder)
        stack: list[tuple[str, str, str | None]] = [
            (os.path.abspath(root), shown_root, os.fspath(root))
        ]
        while stack:
            directory, shown_dir, pin = stack.pop()
            try:
                fd = os.open(directory, _OPEN_DIR)
            except OSError as exc:
                self.unread.append(os.path.join(directory, ""))
                if parts is not None:
                    parts.append(f"unread\0{directory}")
                if watch is not None:
                    watch.fail(f"{directory}: {exc.strerror}")
                continue
            names: list[str] = []  # this folder's article files, in listing order
            try:
                st = os.fstat(fd)
                if watch is not None and pin is not None:
                    watch.pin(pin, st)
                identity = (st.st_dev, st.st_ino)
                if identity in seen_dirs:
                    continue  # a symlink loop, or a folder reached twice
                seen_dirs.add(identity)
                step = self.step
                self.step += 1
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
                                names.append(name)
                                if shares > 1 and hash(name) % shares != share:
                                    continue  # another process compares it
                                est = entry.stat()
                                path = prefix + name
                                if path in root_paths:
                                    if path in emitted:
                                        continue
                                    emitted.add(path)
                                files += 1
                                stat_sum += hash((step, len(names), est.st_size, est.st_mtime_ns))
                                if not compare:
                                    continue
                                state = get(path)
                                if (
                                    state is not None
                                    and state[1] == est.st_size
                                    and state[2] == est.st_mtime_ns
                                ):
                                    found_unchanged(state)
                                    if state[3] is not None:
                                        rejected.append((path, shown_prefix + name, state[3]))
                                        rejected_steps.append(step)
                                else:
                                    here.append((name, path, est.st_size, est.st_mtime_ns))
                                if watch is not None and (est.st_nlink > 1 or entry.is_symlink()):
                                    # a change through another name reaches only the file's watch
                                    watch.watch_file(path)
                            elif entry.is_dir():  # follows symlinks; loops are cut above
                                subdirs.append((name, watch is not None and entry.is_symlink()))
                        except OSError:
                            continue
            except OSError as exc:
                self.unread.append(os.path.join(directory, ""))
                if parts is not None:
                    parts.append(f"unread\0{directory}")
                if watch is not None:
                    watch.fail(f"{directory}: {exc.strerror}")
                continue
            finally:
                os.close(fd)
            if parts is not None:
                parts.append("\0".join(["folder", directory, str(len(names)), *names]))
            if here:
                here.sort()
                changed_runs.append((step, len(here)))
                same = shown_prefix is prefix
                changed.extend(
                    _new_found(FoundFile, (path, path if same else shown_prefix + n, size, mtime))
                    for n, path, size, mtime in here
                )
                if on_changed is not None:
                    on_changed(len(changed))
            subdirs.sort(reverse=True)
            stack.extend(
                (prefix + name, shown_prefix + name, prefix + name if linked else None)
                for name, linked in subdirs
            )
        scan.files += files
        self.stat_sum += stat_sum
