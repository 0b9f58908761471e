"""Feed health (`newsbot feeds`, /newsbot feeds): each feed, how its last fetch went, when the
next one is, and why it is failing or disabled. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.render.limits import LIMITS
from bot.render.shapes import Payload
from bot.render.text import escape_markdown, join_lines, neutralise_mentions
from bot.store.records import FeedMove, FeedState


def _when(moment: float | None, never: str = "never") -> str:
    if moment is None:
        return never
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def feed_health_lines(state: FeedState, moves: Sequence[FeedMove] = ()) -> list[str]:
    """One feed as plain text: a heading line, then its details indented."""
    heading = state.url + (f" ({state.title})" if state.title else "")
    if state.disabled_reason is not None:
        health = f"disabled: {state.disabled_reason}"
    elif state.failures:
        health = f"failing: {state.failures} in a row since {_when(state.first_failure_at)}"
    elif state.last_status is None:
        health = "not fetched yet"
    else:
        health = "ok"
    last = _when(state.last_fetch)
    if state.last_status is not None:
        last += f" ({state.last_status.replace('_', ' ')})"
    next_fetch = "not while disabled" if state.disabled_reason else _when(state.next_fetch, "now")
    lines = [
        heading,
        f"  {health}",
        f"  last fetch: {last}; items: {state.items}; next fetch: {next_fetch}",
    ]
    if state.last_error is not None:
        lines.append(f"  last error: {state.last_error}")
    if state.fetch_url != state.url:
        lines.append(f"  fetched from: {state.fetch_url} (moved permanently; update config.toml)")
    lines += [
        f"  moved ({move.status}) {_when(move.at)}: {move.from_url} -> {move.to_url}"
        for move in moves
    ]
    return lines


def feeds_text(states: Sequence[FeedState], moves: Sequence[FeedMove] = ()) -> str:
    """Every feed's health for a terminal."""
    if not states:
        return "no feeds configured ([[feeds.sources]] in config.toml)"
    blocks = [
        "\n".join(feed_health_lines(state, [m for m in moves if m.url == state.url]))
        for state in states
    ]
    failing = sum(1 for state in states if state.failing)
    return "\n".join(blocks) + f"\n{len(states)} feeds, {failing} failing"


def feeds_payload(states: Sequence[FeedState], moves: Sequence[FeedMove] = ()) -> Payload:
    """Every feed's health as one ephemeral-ready message, failing feeds first; what does not
    fit becomes "and N more"."""
    if not states:
        return _content("No feeds configured: add `[[feeds.sources]]` to config.toml and reload.")
    ordered = sorted(states, key=lambda state: (not state.failing, state.url))
    failing = sum(1 for state in states if state.failing)
    heading = f"**{len(states)} feeds, {failing} failing**"
    entries = []
    for state in ordered:
        _first, *rest = feed_health_lines(state, [m for m in moves if m.url == state.url])
        url = "`" + state.url.replace("`", "%60") + "`"  # code: shown as written, never a link
        first = f"{url} **{escape_markdown(state.title)}**" if state.title else url
        lines = [first, *(f"- {line.strip()}" for line in rest)]
        entries.append(neutralise_mentions("\n".join(lines)))
    return _content(heading + "\n" + join_lines(entries, LIMITS.content - len(heading) - 1))


def _content(text: str) -> Payload:
    return {
        "content": text,
        "embeds": [],
        "components": [],
        "allowed_mentions": {"parse": [], "replied_user": False},
    }
