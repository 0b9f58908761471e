"""A batch of parse results sorted for the store: the files to write, those whose bytes only
moved (same hash, new size or mtime), and what the report says of each. Pure: the Ingestor's
own writes and its writer process (bot.ingest.writer) share it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.articles import PARSER_VERSION
from bot.ingest.parsed import Parsed
from bot.store import UNREAD_TOO_LARGE, BatchCounts, FileRecord

BAD_NAME = "the file name is not valid UTF-8; rename it"


def encodable(path: str) -> bool:
    """False for a name the OS gave as undecodable bytes (surrogate escapes)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(slots=True)
class BatchOutcome:
    """What writing a batch did, by file path (the Ingestor turns paths into shown names)."""

    counts: BatchCounts = field(default_factory=BatchCounts)
    unchanged: int = 0  # files whose bytes only moved, loaded before
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), file order
    warnings: list[tuple[str, str, str]] = field(default_factory=list)  # (path, field, reason)
    writes: int = 0  # transactions that wrote the files table (each bumps its generation)
    stored: int = 0  # of the batch's files, those the store now holds
    stored_rejected: list[tuple[str, str]] = field(default_factory=list)  # held as rejected
    moved: int = 0  # files whose size changed between the walk and the read


@dataclass(slots=True)
class SortedBatch:
    records: list[FileRecord]  # to write
    touched: list[tuple[str, int, int]]  # (path, size, mtime_ns): same bytes, moved
    outcome: BatchOutcome

    def stored(self) -> None:
        """Both written: count what the store now holds."""
        self.outcome.stored += len(self.records) + len(self.touched)
        self.outcome.stored_rejected.extend(
            (r.path, r.error or "") for r in self.records if r.prepared is None
        )


def sort_parsed(
    parsed: Sequence[Parsed],
    hashes: Mapping[str, str],
    stored_reasons: Mapping[str, str | None],
    max_file_bytes: int,
) -> SortedBatch:
    """``hashes``: the stored hash of each file the store knew; ``stored_reasons``: the
    rejection the store holds for each file it knew (None: loaded)."""
    outcome = BatchOutcome()
    records: list[FileRecord] = []
    touched: list[tuple[str, int, int]] = []
    for result in parsed:
        path, error = result.path, result.error
        outcome.moved += result.moved
        if not path.isascii() and not encodable(path):
            # Its name cannot be stored (nor printed): reported on every run, never loaded.
            outcome.rejected.append((path, BAD_NAME))
            continue
        if result.digest and hashes.get(path) == result.digest:
            # Same bytes under a new mtime: nothing to parse into the store.
            touched.append((path, result.size, result.mtime_ns))
            if error:
                outcome.rejected.append((path, error))
            else:
                outcome.unchanged += 1
            stored_reason = stored_reasons.get(path)  # same bytes: the store keeps its verdict
            if stored_reason is not None:
                outcome.stored_rejected.append((path, stored_reason))
            continue
        records.append(
            FileRecord(
                path,
                result.size,
                result.mtime_ns,
                result.digest,
                error=error,
                prepared=result.prepared,
                # rejected by its size alone: read again when the limit allows its size
                parser_version=UNREAD_TOO_LARGE
                if error and result.size > max_file_bytes
                else PARSER_VERSION,
            )
        )
        if error:
            outcome.rejected.append((path, error))
        outcome.warnings.extend((path, f, r) for f, r in result.warnings)
    return SortedBatch(records, touched, outcome)
