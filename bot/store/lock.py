"""One owner per SQLite database: an exclusive lock on a sidecar file, ``<database>.lock``.

Two bots on one database would each select and post the same stories (their in-process locks
cannot see each other), so the bot takes this lock before it opens the database and holds it
while it runs. It is ``flock`` on an open file: the kernel drops it when the holder's process
ends however it ends (a SIGKILLed bot never blocks the next start), and the file may stay
behind. The path is resolved first, so two spellings of one database (a symlink, a relative
path) are one lock. The holder writes its pid into the file for the refusal message.

Only a long-running owner locks; the one-shot commands may share the database with it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["DatabaseInUse", "DatabaseLock", "lock_path"]


class DatabaseInUse(Exception):
    """Another process holds the lock of ``path``; ``pid`` is its pid when it wrote one."""

    def __init__(self, path: Path, pid: int | None):
        holder = f"pid {pid}" if pid is not None else "another process"
        super().__init__(f"{path} is locked by {holder}")
        self.path = path
        self.pid = pid


def lock_path(database: Path) -> Path:
    """The sidecar lock file of a database: beside the file it resolves to."""
    real = Path(os.path.realpath(database))
    return real.with_name(real.name + ".lock")


class DatabaseLock:
    """A held lock; ``release()`` (idempotent) or the end of the process gives it up."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, database: Path) -> DatabaseLock:
        """Take the lock of ``database`` without waiting; DatabaseInUse when it is held."""
        path = lock_path(database)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise DatabaseInUse(database, holder) from None
        except BaseException:
            os.close(fd)
            raise
        # Under the lock: the pid of a holder that died before us is overwritten, never mixed.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        """Close the file, which drops the lock. The file stays: removing it would let a
        process that opened the old file hold a lock nobody else can see."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def _read_pid(fd: int) -> int | None:
    """The holder's pid; None while it has not written it yet (it has just taken the lock)."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None
