"""How a value is named in a reason shown to the operator."""

from __future__ import annotations

from datetime import date, datetime


def kind(value: object) -> str:
    """What sort of value it is, as a reason words it ("a list", "nothing")."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime | date):
        return "a date"
    if isinstance(value, bytes):
        return "binary data"
    return type(value).__name__


def show(value: object, limit: int = 60) -> str:
    """A short, quoted, single-line rendering of a value for a reason."""
    if isinstance(value, list | dict):
        return kind(value)
    text = repr(value) if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
