"""A parse worker reads a file in as few calls as the walk's stat allows (bot.ingest.workers
read_file), and what it reads, and how it reports what it cannot read, is what a plain
``open(path, "rb").read(max_bytes + 1)`` gave."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ingest.walk import FoundFile
from bot.ingest.workers import parse_file, read_file

GOOD = (
    b"---\ntitle: A\nwebUrl: https://example.com/a\npublishedDateTime: 2024-01-01T00:00:00Z\n---\n"
)


def plain_read(path: Path, limit: int) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(limit)


@pytest.mark.parametrize("stat_size", [0, 1, 10, 99, 100, 101, 5000, 70_000, 1 << 20])
@pytest.mark.parametrize("real_size", [0, 1, 100, 70_000, 200_000])
def test_reads_what_open_reads_whatever_the_walk_saw(
    tmp_path: Path, stat_size: int, real_size: int
) -> None:
    """The file may have grown or shrunk since its stat; the limit still holds."""
    path = tmp_path / "a.md"
    path.write_bytes(bytes(range(256)) * (real_size // 256) + b"x" * (real_size % 256))
    for limit in (1, 100, 100_001, (1 << 20) + 1):
        assert read_file(str(path), stat_size, limit) == plain_read(path, limit)


def test_a_file_that_grew_past_the_limit_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_bytes(GOOD + b"x" * 5000)
    parsed = parse_file(FoundFile(str(path), str(path), len(GOOD), 0), max_bytes=1000)
    assert parsed.error is not None and parsed.error.startswith("file is 1001 bytes")
    assert parsed.size == 1001
    assert parse_file(FoundFile(str(path), str(path), 10, 0), 1 << 20).error is None


def reason_of_open(path: Path) -> str:
    try:
        plain_read(path, 10)
    except OSError as exc:
        return f"unreadable: {exc}"
    raise AssertionError("open() read it")


def test_what_cannot_be_read_is_reported_as_open_reported_it(tmp_path: Path) -> None:
    missing = tmp_path / "gone.md"
    folder = tmp_path / "folder.md"
    folder.mkdir()
    for path in (missing, folder):
        parsed = parse_file(FoundFile(str(path), str(path), 10, 7), 1 << 20)
        assert parsed.error == reason_of_open(path)
        assert str(path) in parsed.error
        assert (parsed.digest, parsed.prepared, parsed.mtime_ns) == ("", None, 7)
