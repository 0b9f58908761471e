"""Linux inotify watches over the folders an ingest walked: whether anything there may have changed.

A walk arms a fresh inotify instance (``start``) and adds a watch to each folder before it lists it
(``watch_dir``), so a change made after the listing is queued as an event. Until then a later ingest
may skip the walk; ``stale_reason`` says why it may not. Anything this module cannot vouch for
makes it say so, and the caller walks: no inotify (macOS), a filesystem whose changes may not reach
local inotify (NFS, SMB, FUSE, 9p, ...), a watch limit reached, a queue overflow, a mount table
change, a root or linked path that now leads elsewhere, or a walk older than ``MAX_TRUST_S``.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import select
import sys
import threading
import time

log = logging.getLogger(__name__)

# Even with no event, walk at least this often: inotify misses writes through a shared mmap and
# anything a filesystem does not report; an hour bounds how long such a change can go unseen,
# for one walk (~0.3 s per 100k files) an hour.
MAX_TRUST_S = 3600.0

IN_MODIFY = 0x002
IN_ATTRIB = 0x004
IN_CLOSE_WRITE = 0x008
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
)
_EVENT_HEADER = 16  # struct inotify_event: wd, mask, cookie, len; then len bytes of name

# statfs f_type of the filesystems where every change is made by this kernel, so reaches inotify.
# Anything else (remote, FUSE, unknown, or a layout this code misreads) is never trusted.
LOCAL_FILESYSTEMS = {
    0xEF53: "ext2/3/4",
    0x58465342: "xfs",
    0x9123683E: "btrfs",
    0x01021994: "tmpfs",
    0x858458F6: "ramfs",
    0x2FC12FC1: "zfs",
    0xF2F52010: "f2fs",
    0xCA451A4E: "bcachefs",
    0x794C7630: "overlayfs",
    0x52654973: "reiserfs",
    0x3153464A: "jfs",
    0x3434: "nilfs2",
    0x482B: "hfsplus",
    0x4D44: "vfat",
    0x2011BAB0: "exfat",
    0x5346544E: "ntfs",
    0xE0F5E1E2: "erofs",
    0x73717368: "squashfs",
    0x9660: "iso9660",
    0x15013346: "udf",
}
# Named only so the log says what was found; being absent from LOCAL_FILESYSTEMS is what counts.
OTHER_FILESYSTEMS = {
    0x6969: "nfs",
    0x517B: "smb",
    0xFF534D42: "cifs",
    0xFE534D42: "smb2",
    0x65735546: "fuse",
    0x01021997: "9p",
    0x00C36400: "ceph",
    0x73757245: "coda",
    0x5346414F: "afs",
    0x6B414653: "afs",
    0x7461636F: "ocfs2",
    0x01161970: "gfs2",
    0x0BD00BD0: "lustre",
    0x47504653: "gpfs",
    0x786F4256: "vboxsf",
    0x564C: "ncp",
    0x20030528: "orangefs",
    0x9FA0: "proc",
    0x62656572: "sysfs",
}


class _Libc:
    """The few libc calls this needs, or None where there is no inotify."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.inotify_init1 = libc.inotify_init1
        self.inotify_init1.argtypes = [ctypes.c_int]
        self.inotify_init1.restype = ctypes.c_int
        self.inotify_add_watch = libc.inotify_add_watch
        self.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self.inotify_add_watch.restype = ctypes.c_int
        self.fstatfs = libc.fstatfs
        self.fstatfs.argtypes = [ctypes.c_int, ctypes.c_void_p]
        self.fstatfs.restype = ctypes.c_int


def _load_libc() -> _Libc | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return _Libc()
    except (OSError, AttributeError):
        return None


def filesystem_type(fd: int, libc: _Libc) -> int | None:
    """statfs f_type of the filesystem holding an open file, or None."""
    buf = ctypes.create_string_buffer(256)  # struct statfs is 120 bytes on 64-bit Linux
    if libc.fstatfs(fd, buf) != 0:
        return None
    # f_type is the first field, a C long on every Linux ABI but s390x; there the value read is
    # not a known local type, so that filesystem is simply not trusted.
    return ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF


class TreeWatch:
    """Inotify watches armed by one walk; tells whether that walk's result still holds.

    Thread-safe against ``close``: the walk runs on a worker thread, the owner closes at shutdown.
    """

    def __init__(self) -> None:
        self._libc = _load_libc()
        self._lock = threading.Lock()
        self._fd = -1
        self._mounts = -1  # /proc/self/mountinfo, open: polled for mount table changes
        self._poll: select.poll | None = None
        self._armed_at = 0.0
        self._complete = False  # every root and folder of the walk watched, nothing untrusted
        self._why_not = "no walk watched yet"
        self._pins: list[tuple[str, int, int]] = []  # (path, st_dev, st_ino) to re-check
        self._trusted_devs: dict[int, bool] = {}
        self._logged: set[str] = set()
        self._closed = False
        if self._libc is None:
            self._note_once("no inotify on this platform; every ingest walks its folders")

    # ------------------------------------------------------------ arming (during a walk)
    def start(self) -> bool:
        """A fresh inotify instance for a new walk (the old one's watches and events dropped).

        False when watching is not possible here; the walk then goes on unwatched."""
        with self._lock:
            self._close_locked()
            self._pins = []
            self._trusted_devs = {}
            self._complete = False
            if self._closed:
                return False
            if self._libc is None:
                self._why_not = "no inotify"
                return False
            fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
            if fd < 0:
                code = ctypes.get_errno()
                self._why_not = f"inotify_init1 failed: {os.strerror(code)}"
                self._note_once(
                    f"cannot watch the article folders ({os.strerror(code)};"
                    " see fs.inotify.max_user_instances); every ingest walks its folders",
                    key="init",
                )
                return False
            try:
                # Mounting over a watched folder changes what its path shows, with no event.
                mounts = os.open("/proc/self/mountinfo", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                os.close(fd)
                self._why_not = "no /proc/self/mountinfo to watch for mounts"
                return False
            poll = select.poll()
            poll.register(mounts, select.POLLPRI | select.POLLERR)
            self._fd, self._mounts, self._poll = fd, mounts, poll
            self._armed_at = time.monotonic()
            self._complete = True
            self._why_not = ""
            return True

    def watch_dir(self, fd: int, st_dev: int, path: str) -> None:
        """Watch an open folder (before it is listed): the inode that is listed, not its path."""
        with self._lock:
            if self._complete and self._trusted(fd, st_dev, path):
                self._add_watch(fd, path)

    def watch_file(self, path: str) -> os.stat_result | None:
        """Watch a file itself (a root, a symlink, a hard link: its parent folder's watch may not
        see a change made through another name) and re-check later that the path leads to it.

        Returns the file's stat, or None when it could not be watched."""
        with self._lock:
            if not self._complete:
                return None
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError as exc:
                self._fail(f"{path}: {exc.strerror}")
                return None
            try:
                st = os.fstat(fd)
                if not (self._trusted(fd, st.st_dev, path) and self._add_watch(fd, path)):
                    return None
                self._pins.append((path, st.st_dev, st.st_ino))
                return st
            finally:
                os.close(fd)

    def pin(self, path: str, st: os.stat_result) -> None:
        """Re-check later that ``path`` still leads to this folder (a root, a symlinked folder):
        renaming a folder above it, or retargeting a symlink's target path, sends no event here."""
        with self._lock:
            self._pins.append((path, st.st_dev, st.st_ino))

    def fail(self, why: str) -> None:
        """Something of the walk could not be watched: its result will not be trusted."""
        with self._lock:
            self._fail(why)

    @property
    def complete(self) -> bool:
        """Everything the last walk saw is watched (read after the walk)."""
        return self._complete

    # ------------------------------------------------------------ checking (a later ingest)
    def stale_reason(self) -> str | None:
        """None when nothing the last walk saw can have changed since; else why it may have.

        Drains the queued events without blocking; it stats the pinned paths (a root on a hung
        mount could block), so call it off the event loop."""
        with self._lock:
            if not self._complete or self._fd < 0:
                return self._why_not or "not watched"
            if time.monotonic() - self._armed_at > MAX_TRUST_S:
                return f"the last full walk is over {MAX_TRUST_S:.0f} s old"
            events = self._drain()
            if events:
                return events
            assert self._poll is not None
            if self._poll.poll(0):
                return "the mount table changed"
            for path, dev, ino in self._pins:
                try:
                    st = os.stat(path)
                except OSError:
                    return f"{path} is gone"
                if st.st_dev != dev or st.st_ino != ino:
                    return f"{path} now leads elsewhere"
            return None

    def close(self) -> None:
        """Drop the watches for good (a walk still running does not re-arm); idempotent."""
        with self._lock:
            self._closed = True
            self._close_locked()
            self._complete = False
            self._why_not = "closed"

    # ------------------------------------------------------------ internals (lock held)
    def _drain(self) -> str | None:
        """Read every queued event (non-blocking): None when there was none, else a summary.

        The whole queue, so an overflow (queued last) is named; it holds at most
        max_queued_events (16384 by default), a few hundred KiB."""
        chunks = []
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            except OSError as exc:
                return f"reading inotify events failed: {exc.strerror}"
            if not data:
                break
            chunks.append(data)
        return _describe_events(b"".join(chunks)) if chunks else None

    def _close_locked(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._mounts >= 0:
            os.close(self._mounts)
            self._mounts = -1
            self._poll = None

    def _trusted(self, fd: int, st_dev: int, path: str) -> bool:
        trusted = self._trusted_devs.get(st_dev)
        if trusted is None:
            assert self._libc is not None
            kind = filesystem_type(fd, self._libc)
            trusted = kind in LOCAL_FILESYSTEMS
            self._trusted_devs[st_dev] = trusted
            if not trusted:
                name = "unknown" if kind is None else OTHER_FILESYSTEMS.get(kind, hex(kind))
                self._note_once(
                    f"{path} is on a {name} filesystem, whose changes may not be reported"
                    " to inotify; ingests walk it every time",
                    key=f"fs:{st_dev}",
                )
        if not trusted:
            self._fail(f"{path}: filesystem not trusted for inotify")
        return trusted

    def _add_watch(self, fd: int, path: str) -> bool:
        assert self._libc is not None
        # Through /proc/self/fd, the watch is on the inode opened, even if the path moved since.
        target = f"/proc/self/fd/{fd}".encode()
        if self._libc.inotify_add_watch(self._fd, target, MASK) >= 0:
            return True
        code = ctypes.get_errno()
        if code == errno.ENOSPC:
            self._note_once(
                "inotify watch limit reached (fs.inotify.max_user_watches); ingests walk"
                " every folder every time",
                key="enospc",
                level=logging.WARNING,
            )
        self._fail(f"{path}: inotify_add_watch: {os.strerror(code)}")
        return False

    def _fail(self, why: str) -> None:
        if self._complete:
            log.debug("watch: %s; the next ingest walks", why)
        self._complete = False
        self._why_not = self._why_not or why

    def _note_once(self, message: str, *, key: str = "", level: int = logging.INFO) -> None:
        key = key or message
        if key not in self._logged:
            self._logged.add(key)
            log.log(level, "%s", message)


def _describe_events(data: bytes) -> str:
    count = 0
    overflow = False
    offset = 0
    while offset + _EVENT_HEADER <= len(data):
        mask = int.from_bytes(data[offset + 4 : offset + 8], sys.byteorder)
        length = int.from_bytes(data[offset + 12 : offset + 16], sys.byteorder)
        overflow = overflow or bool(mask & IN_Q_OVERFLOW)
        count += 1
        offset += _EVENT_HEADER + length
    if overflow:
        return "inotify queue overflowed"
    return f"{count} inotify events"
