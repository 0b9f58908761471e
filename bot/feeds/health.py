"""A feed's next state after a fetch: when it is due again (its interval, jittered; backed off
exponentially after failures, up to a day; not before a Retry-After), and when it is disabled
(3 days of failures in a row). Pure."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

from bot.store.records import FeedState

ONE_DAY_S = 86_400.0
DISABLE_AFTER_S = 3 * ONE_DAY_S  # failing this long in a row disables a feed
JITTER = 0.1  # a fetch is due within +-10% of its interval, so feeds spread out


def jittered(seconds: float, rng: random.Random) -> float:
    return seconds * rng.uniform(1 - JITTER, 1 + JITTER)


def backoff_seconds(failures: int, interval_s: float) -> float:
    """The wait after the n-th failure in a row: twice the interval, then doubling, at most a
    day (and never less than the interval)."""
    return min(max(interval_s * 2.0 ** min(failures, 32), interval_s), max(ONE_DAY_S, interval_s))


def after_success(
    state: FeedState,
    *,
    status: str,
    now: float,
    interval_s: float,
    rng: random.Random,
    fetch_url: str | None = None,
    title: str | None = None,
    items: int | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FeedState:
    """A good fetch ('ok', or 'not_modified': the validators a 304 sent replace the stored
    ones, RFC 9110 15.4.5): due again after its interval; failures forgotten (the last error
    is kept for the record); enabled."""
    return replace(
        state,
        fetch_url=fetch_url or state.fetch_url,
        title=title if title is not None else state.title,
        etag=etag if status == "ok" else etag or state.etag,
        last_modified=last_modified if status == "ok" else last_modified or state.last_modified,
        last_fetch=now,
        last_status=status,
        items=items if items is not None else state.items,
        failures=0,
        first_failure_at=None,
        next_fetch=now + jittered(interval_s, rng),
        disabled_reason=None,
    )


def after_failure(
    state: FeedState,
    *,
    error: str,
    now: float,
    interval_s: float,
    rng: random.Random,
    retry_after: float | None = None,
) -> FeedState:
    """A failed fetch: backed off (not before retry_after seconds, capped at a day), and
    disabled once it has failed for DISABLE_AFTER_S in a row."""
    failures = state.failures + 1
    since = state.first_failure_at if state.first_failure_at is not None else now
    wait = jittered(backoff_seconds(failures, interval_s), rng)
    if retry_after is not None:
        wait = max(wait, min(retry_after, ONE_DAY_S))
    disabled = state.disabled_reason
    if now - since >= DISABLE_AFTER_S:
        began = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d %H:%M UTC")
        disabled = f"failing since {began} ({failures} failures in a row): {error}"
    return replace(
        state,
        last_fetch=now,
        last_status="failed",
        last_error=error,
        failures=failures,
        first_failure_at=since,
        next_fetch=None if disabled else now + wait,
        disabled_reason=disabled,
    )


def is_due(state: FeedState, now: float) -> bool:
    return state.disabled_reason is None and (state.next_fetch is None or state.next_fetch <= now)
