"""Fixtures the end-to-end tests share (the stub and bot process fixtures are in
tests/conftest.py, beside the tests of the harness itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.seeds import copy_seeds


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    """The folder the bot ingests: a copy of the seeds that a test may add files to."""
    return copy_seeds(tmp_path / "articles")
