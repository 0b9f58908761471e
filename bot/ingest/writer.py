"""An ingest's batch writes in a child process with its own SQLite connection (WAL: the bot's
readers keep answering; its own writes wait at most about a batch, busy_timeout).

The parse workers' pickled chunks go to it as they are, so the bot never unpickles a batch: the
few hundred small objects a batch left behind in the bot's heap pinned ~40-60 MB of freed
pymalloc arenas after a large ingest. The child ends with the ingest (its stdin closes, or the
bot dies) and every byte it used goes back to the OS; a child that dies fails the batch it was
writing (one transaction: nothing of it stays) and the ingest raises, it does not hang.
"""

from __future__ import annotations

import pickle
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from bot.articles import PARSER_VERSION
from bot.ingest.batch import BatchOutcome, sort_parsed
from bot.ingest.parsed import Parsed
from bot.ingest.pipes import (
    OK,
    RAISED,
    child_streams,
    end_child,
    pipe,
    read_message,
    start_child,
    write_message,
)
from bot.store.files import stored_hashes, touch_files
from bot.store.plain import connect_writer, transaction
from bot.store.write import apply_file_batch

# The child's SQLite page cache, in KiB. A batch touches each index and FTS page it writes a
# few times in a row, then rarely again: the store's 32 MB per connection (kept for the readers'
# hot pages) filled up and stayed full for the whole ingest, a third of the child's peak. 16 MB,
# not 8: at 100k files 8 MB re-read pages from the OS (~0.6 s more system time, ~4% of the run).
WRITER_CACHE_KIB = 16 * 1024
# All of SQLite's heap in the child (page cache, statements, FTS5's pending terms and merge
# buffers): past this SQLite recycles cache pages before it allocates more.
WRITER_SOFT_HEAP_BYTES = 32 << 20


class WriterStopped(RuntimeError):
    """The writer process ended or failed; the batch it was writing was not written."""


class WriterProcess:
    """One child writing an ingest's batches, in order; ``write`` blocks (call it on a thread)."""

    def __init__(self, database: Path, max_file_bytes: int, canonical_topic: Callable[[str], str]):
        # Pickled first: a topic mapping that cannot cross (a lambda) raises here, before a
        # process is started.
        settings = pickle.dumps(
            (database, max_file_bytes, canonical_topic), pickle.HIGHEST_PROTOCOL
        )
        self._child = start_child("from bot.ingest.writer import serve; serve()")
        try:
            self._send, self._receive = pipe(self._child.stdin), pipe(self._child.stdout)
            write_message(self._send, settings)
            self._answer()  # ready: imports done, connection open
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int:
        return self._child.pid

    def write(self, chunks: list[bytes], stored_reasons: Mapping[str, str | None]) -> BatchOutcome:
        """Write one batch: parse_pickled chunks (the list is emptied once they are sent), and
        the stored rejection (or None) of each of their files the store knew before the run."""
        try:
            write_message(self._send, pickle.dumps((len(chunks), dict(stored_reasons))))
            for chunk in chunks:
                write_message(self._send, chunk)
        except OSError as exc:
            raise self._stopped(exc) from exc
        chunks.clear()  # sent: the bot does not hold a batch while the child writes it
        outcome = pickle.loads(self._answer())
        assert isinstance(outcome, BatchOutcome)
        return outcome

    def close(self) -> None:
        """End the child (at the end of its stdin); idempotent."""
        end_child(self._child)

    def _answer(self) -> bytes:
        try:
            answer = read_message(self._receive)
        except (OSError, EOFError, ValueError) as exc:
            raise self._stopped(exc) from exc
        if answer[:1] == RAISED:
            raise WriterStopped(f"the ingest writer failed: {answer[1:].decode(errors='replace')}")
        return answer[1:]

    def _stopped(self, exc: BaseException) -> WriterStopped:
        try:
            code = self._child.wait(1.0)
        except Exception:
            code = None
        return WriterStopped(f"the ingest writer stopped (exit code {code}): {exc}")


def write_parsed(
    conn: sqlite3.Connection,
    parsed: Sequence[Parsed],
    stored_reasons: Mapping[str, str | None],
    max_file_bytes: int,
    canonical_topic: Callable[[str], str],
) -> BatchOutcome:
    """A batch into the store on ``conn``: what Ingestor._write does through the store's
    areas, here on the child's own connection."""
    hashes = stored_hashes(conn, list(stored_reasons), PARSER_VERSION) if stored_reasons else {}
    batch = sort_parsed(parsed, hashes, stored_reasons, max_file_bytes)
    outcome = batch.outcome
    now = time.time()
    if batch.touched:
        with transaction(conn):
            touch_files(conn, batch.touched, now)
        outcome.writes += 1
    if batch.records:
        with transaction(conn):
            outcome.counts = apply_file_batch(conn, batch.records, now, canonical_topic)
        outcome.writes += 1
    batch.stored()
    return outcome


def limit_memory(conn: sqlite3.Connection) -> None:
    """Bound the child's SQLite memory (its own process: the limits touch nothing else)."""
    conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
    conn.execute(f"PRAGMA soft_heap_limit = {WRITER_SOFT_HEAP_BYTES}")


def skip_reference_checks(conn: sqlite3.Connection) -> None:
    """No foreign-key look-ups on this connection: each topic, related and files row of a batch
    refers to rows the batch's own code has just read or inserted, and the ~11 look-ups a file
    were ~6 % of the writer's instructions. The bot's own writes (small ingests, feeds, the
    same apply_file_batch) keep them, and the tests compare both paths' rows."""
    conn.execute("PRAGMA foreign_keys = OFF")


def serve() -> None:
    """The child's main loop: settings, then one answer per batch, until its stdin ends."""
    requests, answers = child_streams()
    try:
        database, max_file_bytes, canonical_topic = pickle.loads(read_message(requests))
        conn = connect_writer(database)
        limit_memory(conn)
        skip_reference_checks(conn)
    except Exception as exc:
        write_message(answers, RAISED + _reason(exc))
        return
    try:
        write_message(answers, OK)
        while True:
            try:
                header = read_message(requests)
            except EOFError:
                return  # the ingest is over (or the bot is gone)
            count, stored_reasons = pickle.loads(header)
            parsed: list[Parsed] = []
            for _ in range(count):
                parsed.extend(pickle.loads(read_message(requests)))
            try:
                outcome = write_parsed(
                    conn, parsed, stored_reasons, max_file_bytes, canonical_topic
                )
                answer = OK + pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # the transaction rolled back; the ingest reports it
                answer = RAISED + _reason(exc)
            del parsed
            write_message(answers, answer)
    except (BrokenPipeError, EOFError):
        return  # the bot is gone, or closed us mid-batch: nothing of that batch was written
    finally:
        conn.close()


def _reason(exc: Exception) -> bytes:
    return f"{type(exc).__name__}: {exc}".encode("utf-8", "backslashreplace")
