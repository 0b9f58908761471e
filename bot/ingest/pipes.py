"""A child interpreter talking over its stdin and stdout pipes, by length-prefixed messages:
the parse workers (bot.ingest.pool) and the ingest's writer (bot.ingest.writer). Light, as
every child imports it first."""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import subprocess
import sys
from typing import IO

_LENGTH = struct.Struct("<Q")  # each message: its length, then a pickle
OK, RAISED = b"\x00", b"\x01"  # an answer's first byte: its bytes follow, or the error's
CLOSE_TIMEOUT_S = 5.0  # for a child to end once its stdin closes


def start_child(code: str) -> subprocess.Popen[bytes]:
    """A Python child running ``code``, talking over its stdin and stdout pipes."""
    env = dict(os.environ)
    # The child imports bot from where this process did (a checkout, or an install).
    paths = [p for p in sys.path if p]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )


def end_child(child: subprocess.Popen[bytes]) -> None:
    """Close its stdin (it ends at EOF) and reap it; killed when it does not end in time."""
    with contextlib.suppress(OSError):
        pipe(child.stdin).close()
    try:
        child.wait(CLOSE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    with contextlib.suppress(OSError):
        pipe(child.stdout).close()


def child_streams() -> tuple[IO[bytes], IO[bytes]]:
    """In a child: (requests, answers). Its stdout becomes stderr, so a stray print cannot
    corrupt an answer; Ctrl-C is the parent's to handle (it closes the child)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return sys.stdin.buffer, answers


def pipe(stream: IO[bytes] | None) -> IO[bytes]:
    assert stream is not None  # every pipe here is opened with PIPE
    return stream


def write_message(stream: IO[bytes], data: bytes) -> None:
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_message(stream: IO[bytes]) -> bytes:
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        raise EOFError("the pipe closed")
    (size,) = _LENGTH.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the pipe closed mid-message")
    return data
