"""What one ingest did, as `newsbot ingest` and /newsbot ingest report it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.ingest.walk import Scan
    from bot.store.records import BatchCounts


@dataclass(slots=True)
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    related_added: int = 0
    restored: int = 0  # gone articles back: their file came back, or no longer says removed
    gone: int = 0  # files deleted since the last run (their articles are gone)
    files_seen: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str, str]] = field(default_factory=list)
    missing_paths: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.missing_paths

    def add_counts(self, counts: BatchCounts) -> None:
        self.added += counts.added
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.related_added += counts.related_added
        self.restored += counts.restored

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "related_added": self.related_added,
            "restored": self.restored,
            "gone": self.gone,
            "files": self.files_seen,
            "rejected": [{"path": p, "reason": r} for p, r in self.rejected],
            "warnings": [{"path": p, "field": f, "reason": r} for p, f, r in self.warnings],
            "missing_paths": self.missing_paths,
            "duration_s": round(self.duration_s, 3),
        }

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged,"
            f" {len(self.rejected)} rejected, {self.gone} gone, {self.restored} restored;"
            f" {self.related_added} related articles added"
            f" ({self.files_seen} files in {self.duration_s:.2f}s)"
        )


def report_of(scan: Scan) -> IngestReport:
    """The report of a walk before anything is parsed: the files found, the roots missing, and
    the files still rejected from an earlier run (reported again: they are still not loaded)."""
    scan.rejected.sort()
    return IngestReport(
        unchanged=scan.unchanged - len(scan.rejected),
        files_seen=scan.files,
        rejected=[(shown, reason) for _, shown, reason in scan.rejected],
        missing_paths=scan.missing,
    )
