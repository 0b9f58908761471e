"""A cold `newsbot ingest` of a tree that did not change, on one plain SQLite connection in this
thread: no event loop, aiosqlite, parser, pool or writer is imported or started.

It reads the file states and walks exactly as ``Ingestor.run`` does (bot.store.files,
bot.ingest.walk) and reports the same. When the walk finds a file added, changed, renamed or
deleted, the full ingest runs from this walk (not walking again); a database that is missing or
not migrated is left to it whole (it creates or migrates it), and PostgreSQL never comes here.
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
from bot.ingest.walk import ColdScan, scan_roots
from bot.store.files import file_states
from bot.store.plain import open_migrated, set_meta

log = logging.getLogger("bot.ingest")  # the ingestor's, so its log lines read the same


def unchanged_ingest(
    database: Path,
    roots: Sequence[Path],
    *,
    max_file_bytes: int,
    progress: Callable[[int, int], None] | None = None,
) -> IngestReport | ColdScan | None:
    """The report of an ingest of ``roots`` into the SQLite database at ``database`` when no
    file changed, with the run stamped as ``Ingestor.run`` stamps it. When files changed, the
    walk that found them, for the full ingest to start from (``Ingestor.run(scanned=)``); None
    when the database is not ready for this path. Nothing is written unless a report is
    returned."""
    started = time.perf_counter()
    try:
        conn = open_migrated(database)
        if conn is None:
            return None
        try:
            generation, known = file_states(conn, PARSER_VERSION, max_file_bytes)
            scan = scan_roots(roots, known)
            if scan.changed or scan.vanished:
                log.debug("ingest: files changed; the full ingest runs")
                return ColdScan(generation, known, scan)
            del known
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
