"""A cold `newsbot ingest` of a tree that did not change, on one plain SQLite connection in this
thread: no event loop, aiosqlite, parser, pool or writer is imported or started.

It reads the file states and walks exactly as ``Ingestor.run`` does (bot.store.files,
bot.ingest.walk) and reports the same; the moment the walk finds a file added, changed, renamed
or deleted, a database that is missing or not migrated, or PostgreSQL, it answers None and the
caller runs the full ingest, which walks again (~1/50 of the work that follows).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.articles import PARSER_VERSION
from bot.ingest.report import IngestReport, report_of
from bot.ingest.walk import scan_roots
from bot.store.files import file_states
from bot.store.plain import open_migrated, set_meta

log = logging.getLogger("bot.ingest")  # the ingestor's, so its log lines read the same


def unchanged_ingest(
    database: Path,
    roots: Sequence[Path],
    *,
    max_file_bytes: int,
    progress: Callable[[int, int], None] | None = None,
) -> IngestReport | None:
    """The report of an ingest of ``roots`` into the SQLite database at ``database`` when no
    file changed, with the run stamped as ``Ingestor.run`` stamps it; None when there is work
    (or the database is not ready for this path): nothing was written then."""
    started = time.perf_counter()
    try:
        conn = open_migrated(database)
        if conn is None:
            return None
        try:
            _generation, known = file_states(conn, PARSER_VERSION, max_file_bytes)
            scan = scan_roots(roots, known)
            del known
            if scan.changed or scan.vanished:
                log.debug("ingest: files changed; the full ingest runs")
                return None
            report = report_of(scan)
            set_meta(conn, "last_ingest_at", datetime.now(UTC).isoformat())
        finally:
            conn.close()
    except sqlite3.Error as exc:  # the full ingest opens the store and says what is wrong
        log.debug("ingest: %s; the full ingest runs", exc)
        return None
    if progress:
        progress(scan.files, scan.files)
    report.duration_s = time.perf_counter() - started
    log.info("ingest: %s", report.summary())
    return report
