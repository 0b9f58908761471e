"""A cold `newsbot ingest` of a tree that did not change, on one plain SQLite connection in this
thread: no event loop, aiosqlite, parser, pool or writer is imported or started.

When the store holds a tree fingerprint at its current files generation (bot.ingest.fingerprint),
it walks computing the tree digest and, when that matches, reports from the fingerprint without
reading a file state. Otherwise (no fingerprint, another generation, any difference) it reads the
file states and walks exactly as ``Ingestor.run`` does (bot.store.files, bot.ingest.walk) and
reports the same. When the walk finds a file added, changed, renamed or
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
from bot.ingest.fingerprint import TreeFingerprint, fingerprint_digest
from bot.ingest.report import IngestReport, report_of
from bot.ingest.walk import ColdScan, scan_roots, survey_roots
from bot.store.files import file_states, stamp_fingerprint, stamped_fingerprint
from bot.store.plain import open_migrated, set_meta, transaction

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
            report = _fingerprinted(conn, roots, max_file_bytes)
            if report is not None:
                set_meta(conn, "last_ingest_at", datetime.now(UTC).isoformat())
            else:
                walked = _compared(conn, roots, max_file_bytes)
                if isinstance(walked, ColdScan):
                    log.debug("ingest: files changed; the full ingest runs")
                    return walked
                report = walked
        finally:
            conn.close()
    except sqlite3.Error as exc:  # the full ingest opens the store and says what is wrong
        log.debug("ingest: %s; the full ingest runs", exc)
        return None
    if progress:
        progress(report.files_seen, report.files_seen)
    report.duration_s = time.perf_counter() - started
    log.info("ingest: %s", report.summary())
    return report


def _fingerprinted(
    conn: sqlite3.Connection, roots: Sequence[Path], max_file_bytes: int
) -> IngestReport | None:
    """The report of an unchanged tree by its stored fingerprint; None when there is none valid
    at the store's files generation, or the walk's digest differs from it."""
    generation, stored = stamped_fingerprint(conn)
    fingerprint = None if stored is None else TreeFingerprint.decode(stored)
    if fingerprint is None or fingerprint.generation != generation:
        log.debug("ingest: no tree fingerprint at this files generation; reading the file states")
        return None
    scan = survey_roots(roots, fingerprint.files)
    if fingerprint_digest(scan.tree, max_file_bytes) != fingerprint.digest:
        log.debug("ingest: the tree differs from its fingerprint; reading the file states")
        return None
    return fingerprint.report(scan.missing)


def _compared(
    conn: sqlite3.Connection, roots: Sequence[Path], max_file_bytes: int
) -> IngestReport | ColdScan:
    """The file states read and the walk compared with them, as ``Ingestor.run`` does: the
    report when nothing changed (the run and the tree's fingerprint stamped), else the walk."""
    generation, known = file_states(conn, PARSER_VERSION, max_file_bytes)
    scan = scan_roots(roots, known)
    if scan.changed or scan.vanished:
        return ColdScan(generation, known, scan)
    del known
    report = report_of(scan)
    # What this proved, for the next run: the store at that generation holds what the walk
    # saw (a database from before fingerprints, or one whose last ingest met another writer).
    stamp = TreeFingerprint(
        generation,
        fingerprint_digest(scan.tree, max_file_bytes),
        scan.files,
        tuple(report.rejected),
    )
    with transaction(conn):
        stamp_fingerprint(conn, stamp.encode(), generation)
        set_meta(conn, "last_ingest_at", datetime.now(UTC).isoformat())
    return report
