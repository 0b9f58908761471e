"""Readers of single config values: each returns the value or raises ConfigError naming the
key, what it holds and what it must be."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from bot.config.model import ConfigError

# generous upper bound, so nothing downstream (timedelta, APScheduler) overflows
MAX_INTERVAL_MINUTES = 525_600.0  # a year
MAX_SHOWN = 80  # longest value repeated back in a message


def check_keys(table: Mapping[str, Any], known: tuple[str, ...], prefix: str) -> None:
    for key in table:
        if key in known:
            continue
        # values of unknown keys are never shown: it may be a misspelt token
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(known)
        raise ConfigError(f"unknown key '{prefix}{key}'; {hint}", prefix + key)


def shown(value: object) -> str:
    text = repr(value)
    if isinstance(value, bool):
        text = "true" if value else "false"
    if len(text) > MAX_SHOWN:
        text = text[: MAX_SHOWN - 1] + "…"
    return text


def invalid(key: str, value: object, allowed: str) -> ConfigError:
    return ConfigError(f"invalid {key} = {shown(value)}: must be {allowed}", key)


def is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def whole(value: object, key: str, low: int, high: int | None = None) -> int:
    allowed = (
        f"a whole number from {low} to {high}" if high is not None else f"a whole number >= {low}"
    )
    if not is_int(value) or value < low or (high is not None and value > high):
        raise invalid(key, value, allowed)
    return value


def number(value: object, key: str, high: float, *, allow_zero: bool) -> float:
    allowed = (
        f"a number from 0 to {high:g}" if allow_zero else f"a number above 0, at most {high:g}"
    )
    if not (is_int(value) or isinstance(value, float)):
        raise invalid(key, value, allowed)
    amount = float(value)
    too_low = amount < 0 if allow_zero else amount <= 0
    if not math.isfinite(amount) or too_low or amount > high:
        raise invalid(key, value, allowed)
    return amount


def boolean(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(key, value, "true or false (without quotes)")
    return value


def non_empty(value: object, key: str, allowed: str = "a non-empty string") -> str:
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise invalid(key, value, allowed)
    return value.strip()


def snowflake(value: object, key: str) -> int:
    allowed = "a Discord ID, a positive whole number"
    if isinstance(value, str) and value.strip().isdigit():
        allowed += " written without quotes"
    if not is_int(value) or not 0 < value < 2**64:
        raise invalid(key, value, allowed)
    return value


def snowflakes(value: object, key: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise invalid(key, value, "a list of Discord IDs, like [123456789012345678]")
    ids = [snowflake(item, f"{key}[{i}]") for i, item in enumerate(value)]
    return tuple(dict.fromkeys(ids))


def url_value(value: object, key: str, schemes: tuple[str, ...], example: str) -> str:
    names = " or ".join(schemes)
    allowed = f"an absolute {names} URL like '{example}'"
    if not isinstance(value, str):
        raise invalid(key, value, allowed)
    url = value.strip()
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() in schemes and bool(parts.hostname) and parts.port != 0
    except ValueError:  # bad port, bad IPv6 literal
        ok = False
    if not ok or any(c.isspace() for c in url):
        raise invalid(key, value, allowed)
    return url.rstrip("/")


def all_str(items: list[Any]) -> TypeGuard[list[str]]:
    return all(isinstance(item, str) for item in items)


def topic_list(value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise invalid(key, value, 'a list of topic names, like ["AI", "Robotics"] ([] for all)')
    names = [
        non_empty(item, f"{key}[{i}]", "a non-empty topic name") for i, item in enumerate(value)
    ]
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(name.casefold(), name)
    return tuple(unique.values())


def table_entries(
    value: object, section: str, keys: tuple[str, ...], required: str, hint: str
) -> list[tuple[int, str, dict[str, Any]]]:
    """The tables of a ``[[section]]`` array as (index, key prefix, table): each a table, with
    known keys only and its ``required`` key; ConfigError naming the key otherwise."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(
            f"invalid {section}: must be tables written [[{section}]], each with"
            f" {required} = {hint}",
            section,
        )
    entries: list[tuple[int, str, dict[str, Any]]] = []
    for index, entry in enumerate(value):
        prefix = f"{section}[{index}]."
        check_keys(entry, keys, prefix)
        if required not in entry:
            raise ConfigError(
                f"{section}[{index}] has no {required}; each [[{section}]] needs"
                f" {required} = {hint}",
                prefix + required,
            )
        entries.append((index, prefix, entry))
    return entries
