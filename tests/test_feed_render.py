"""Feed health as text and as a Discord message: failing feeds first, nothing pings, within the
content limit however many feeds."""

from __future__ import annotations

from bot.render import LIMITS, feeds_payload, feeds_text
from bot.store import FeedMove, FeedState

OK = FeedState(
    "https://ok.example/feed", "https://ok.example/feed", title="OK *News*", last_fetch=1.8e9,
    last_status="ok", items=12, next_fetch=1.8e9 + 1800,
)  # fmt: skip
FAILING = FeedState(
    "https://bad.example/feed", "https://bad.example/new", last_fetch=1.8e9,
    last_status="failed", last_error="HTTP 500 @everyone", failures=3,
    first_failure_at=1.8e9 - 7200, next_fetch=1.8e9 + 3600,
)  # fmt: skip
DISABLED = FeedState(
    "https://gone.example/feed", "https://gone.example/feed", failures=9,
    disabled_reason="failing since 2026-11-27 10:00 UTC (9 failures in a row): HTTP 404",
)  # fmt: skip
MOVE = FeedMove(
    "https://bad.example/feed", "https://bad.example/feed", "https://bad.example/new", 301, 1.8e9
)


def test_terminal_text_says_health_errors_moves_and_counts() -> None:
    text = feeds_text([OK, FAILING, DISABLED], [MOVE])
    assert "https://ok.example/feed (OK *News*)\n  ok\n" in text
    assert (
        "last fetch: 2027-01-15 08:00 UTC (ok); items: 12; next fetch: 2027-01-15 08:30 UTC" in text
    )
    assert "failing: 3 in a row since 2027-01-15 06:00 UTC" in text
    assert "fetched from: https://bad.example/new (moved permanently; update config.toml)" in text
    assert (
        "moved (301) 2027-01-15 08:00 UTC: https://bad.example/feed -> https://bad.example/new"
        in text
    )
    assert "disabled: failing since 2026-11-27" in text and "next fetch: not while disabled" in text
    assert text.endswith("3 feeds, 2 failing")
    assert "no feeds configured" in feeds_text([])


def test_discord_message_lists_failing_first_and_pings_no_one() -> None:
    payload = feeds_payload([OK, FAILING, DISABLED], [MOVE])
    content = payload["content"] or ""
    assert content.startswith("**3 feeds, 2 failing**")
    assert content.index("bad.example") < content.index("ok.example")
    assert "`https://ok.example/feed` **OK \\*News\\***" in content
    assert "@everyone" not in content and "@\u200beveryone" in content
    assert payload["allowed_mentions"]["parse"] == []


def test_discord_message_fits_however_many_feeds() -> None:
    many = [
        FeedState(f"https://site{n}.example/feed", f"https://site{n}.example/feed", failures=1,
                  last_error="x" * 200)
        for n in range(200)
    ]  # fmt: skip
    content = feeds_payload(many)["content"] or ""
    assert len(content) <= LIMITS.content
    assert content.rstrip().endswith("more")
