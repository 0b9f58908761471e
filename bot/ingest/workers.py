"""What a parse worker does: read, hash and parse files (bot.ingest.pool runs it in processes)."""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Sequence

from bot.articles import ArticleRejected, parse_values
from bot.ingest.parsed import Parsed
from bot.ingest.walk import FoundFile
from bot.store.prepare import prepare_values


def parse_file(found: FoundFile, max_bytes: int) -> Parsed:
    """Read, hash and parse one file. Runs in a worker process or thread."""
    try:
        data = read_file(found.path, found.size, max_bytes + 1)
    except OSError as exc:
        return Parsed(
            found.path, found.size, found.mtime_ns, "", f"unreadable: {exc}", (), None, False
        )
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    size = max(found.size, len(data))
    moved = len(data) != min(found.size, max_bytes + 1)
    try:
        if len(data) > max_bytes:
            raise ArticleRejected.too_large(size, max_bytes)
        values, field_warnings = parse_values(data, max_bytes=max_bytes)
        prepared = prepare_values(values)
    except ArticleRejected as exc:
        return Parsed(found.path, size, found.mtime_ns, digest, str(exc), (), None, moved)
    except Exception as exc:  # a parser bug must not stop the run; the file is reported
        reason = f"could not be parsed ({type(exc).__name__})"
        return Parsed(found.path, size, found.mtime_ns, digest, reason, (), None, moved)
    warnings = tuple((w.field, w.reason) for w in field_warnings)
    return Parsed(found.path, size, found.mtime_ns, digest, None, warnings, prepared, moved)


def read_file(path: str, size_hint: int, limit: int) -> bytes:
    """Up to ``limit`` bytes of a file, read in as few calls as its size allows: a read of
    ``limit`` bytes at once allocates (and maps) that much first, ~4x the cost of the read."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        parts = []
        got = 0
        want = min(limit, size_hint + 1)  # one byte more than the walk saw: EOF in one read
        while got < limit:
            try:
                part = os.read(fd, want)
            except OSError as exc:  # as open()'s errors do, name the file
                raise type(exc)(exc.errno, exc.strerror, path) from None
            if not part:
                break
            parts.append(part)
            got += len(part)
            want = min(limit - got, max(want, 65536))
    finally:
        os.close(fd)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def parse_chunk(files: Sequence[FoundFile], max_bytes: int) -> list[Parsed]:
    """parse_file of each file: one worker task."""
    return [parse_file(f, max_bytes) for f in files]


def parse_pickled(files: Sequence[FoundFile], max_bytes: int) -> bytes:
    """parse_chunk, pickled: a chunk stays bytes in the bot until its batch is written, so the
    bot's Python heap holds one batch of objects at a time (bytes go back to the OS, a heap
    of small objects left holed by the few that outlive an ingest does not)."""
    return pickle.dumps(parse_chunk(files, max_bytes), pickle.HIGHEST_PROTOCOL)


def load_parsed(chunks: Sequence[bytes]) -> list[Parsed]:
    """The Parsed results of parse_pickled chunks, in order."""
    out: list[Parsed] = []
    for chunk in chunks:
        out.extend(pickle.loads(chunk))
    return out
