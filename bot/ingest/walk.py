"""Find article files below the roots, and which of them changed since the store saw them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from bot.ingest.watch import TreeWatch
from bot.store import FileState

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
                                if watch is not None and (est.st_nlink > 1 or entry.is_symlink()):
                                    # a change through another name reaches only the file's watch
                                    watch.watch_file(path)
                            elif entry.is_dir():  # follows symlinks; loops are cut above
                                subdirs.append((name, watch is not None and entry.is_symlink()))
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
