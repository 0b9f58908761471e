from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.schedules import (
    ScheduleError,
    describe_schedule,
    parse_schedule,
    parse_timezone,
    timezone_names,
)

BERLIN = ZoneInfo("Europe/Berlin")


def next_fire(text: str, tz: str, now: datetime) -> datetime:
    fire: datetime | None = parse_schedule(text, tz).get_next_fire_time(None, now)
    assert fire is not None
    return fire


def fires(text: str, tz: str, start: datetime, count: int) -> list[datetime]:
    trigger = parse_schedule(text, tz)
    out: list[datetime] = []
    previous = None
    now = start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        out.append(fire)
        previous, now = fire, fire + timedelta(seconds=1)
    return out


# --------------------------------------------------------------------------- daily HH:MM


@pytest.mark.parametrize(
    ("now", "expected_utc"),
    [
        # summer (CEST, UTC+2): 09:00 Berlin is 07:00 UTC
        (datetime(2024, 6, 1, 6, 0, tzinfo=UTC), datetime(2024, 6, 1, 7, 0, tzinfo=UTC)),
        (datetime(2024, 6, 1, 7, 0, 1, tzinfo=UTC), datetime(2024, 6, 2, 7, 0, tzinfo=UTC)),
        # winter (CET, UTC+1): 08:00 UTC
        (datetime(2024, 1, 15, 12, 0, tzinfo=UTC), datetime(2024, 1, 16, 8, 0, tzinfo=UTC)),
    ],
)
def test_daily_fires_at_local_time(now: datetime, expected_utc: datetime) -> None:
    fire = next_fire("daily 09:00", "Europe/Berlin", now)
    assert fire == expected_utc
    assert fire.astimezone(BERLIN).hour == 9


def test_daily_across_dst_change_keeps_local_time() -> None:
    # Berlin moves to summer time on 2024-03-31
    got = fires("daily 09:00", "Europe/Berlin", datetime(2024, 3, 28, 12, 0, tzinfo=UTC), 4)
    assert [f.astimezone(UTC).hour for f in got] == [8, 8, 7, 7]
    assert {f.astimezone(BERLIN).strftime("%H:%M") for f in got} == {"09:00"}


@pytest.mark.parametrize("text", ["daily 9:05", "daily 09:05", "DAILY  09:05", " daily 09:05 "])
def test_daily_spellings(text: str) -> None:
    fire = next_fire(text, "UTC", datetime(2024, 1, 1, 0, 0, tzinfo=UTC))
    assert fire == datetime(2024, 1, 1, 9, 5, tzinfo=UTC)


def test_daily_midnight_and_last_minute() -> None:
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert next_fire("daily 00:00", "UTC", now) == datetime(2024, 1, 2, 0, 0, tzinfo=UTC)
    assert next_fire("daily 23:59", "UTC", now) == datetime(2024, 1, 1, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("daily 24:00", "HH from 00 to 23"),
        ("daily 09:60", "MM from 00 to 59"),
        ("daily 9am", "'daily HH:MM'"),
        ("daily", "'daily HH:MM'"),
        ("daily 09:00 extra", "'daily HH:MM'"),
        ("daily 9:5", "'daily HH:MM'"),
    ],
)
def test_bad_daily(text: str, fragment: str) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_schedule(text, "UTC")
    assert repr(" ".join(text.split())) in str(info.value)
    assert fragment in str(info.value)


# --------------------------------------------------------------------------- cron


def test_cron_in_time_zone() -> None:
    fire = next_fire("0 9 * * *", "Europe/Berlin", datetime(2024, 6, 1, 8, 0, tzinfo=UTC))
    assert fire == datetime(2024, 6, 2, 7, 0, tzinfo=UTC)


def test_cron_minute_steps() -> None:
    got = fires("*/15 * * * *", "UTC", datetime(2024, 1, 1, 0, 1, tzinfo=UTC), 3)
    assert [f.minute for f in got] == [15, 30, 45]


# 2024-01-01 is a Monday
@pytest.mark.parametrize(
    ("weekday_field", "expected_weekdays"),
    [
        ("0", {6}),  # crontab: 0 is Sunday (APScheduler 3 alone would say Monday)
        ("7", {6}),
        ("1", {0}),
        ("1-5", {0, 1, 2, 3, 4}),
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("MON,wed", {0, 2}),
        ("5-7", {4, 5, 6}),
        ("fri-sun", {4, 5, 6}),
        ("*/2", {6, 1, 3, 5}),  # crontab: Sun, Tue, Thu, Sat
        ("1-5/2", {0, 2, 4}),
        ("0-7", set(range(7))),
        ("6,0", {5, 6}),
    ],
)
def test_cron_weekdays_follow_crontab(weekday_field: str, expected_weekdays: set[int]) -> None:
    got = fires(f"0 9 * * {weekday_field}", "UTC", datetime(2024, 1, 1, tzinfo=UTC), 14)
    assert {f.weekday() for f in got} == expected_weekdays


def test_cron_day_of_month() -> None:
    got = fires("30 6 1 * *", "UTC", datetime(2024, 1, 2, tzinfo=UTC), 2)
    assert got == [datetime(2024, 2, 1, 6, 30, tzinfo=UTC), datetime(2024, 3, 1, 6, 30, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("dayly 9:00", "is not a 5-field cron like '0 9 * * *' or 'daily HH:MM'"),
        ("0 9 * *", "is not a 5-field cron"),
        ("0 0 9 * * *", "is not a 5-field cron"),
        ("0 25 * * *", "not a valid cron"),
        ("61 9 * * *", "not a valid cron"),
        ("0 9 * 13 *", "not a valid cron"),
        ("0 9 * * 8", "day-of-week '8'"),
        ("0 9 * * funday", "day-of-week 'funday'"),
        ("0 9 * * 5-1", "running backwards"),
        ("0 9 * * */0", "step"),
        ("0 9 1 * 1", "both day-of-month"),
    ],
)
def test_bad_cron_messages(text: str, fragment: str) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_schedule(text, "UTC")
    message = str(info.value)
    assert repr(text) in message
    assert fragment in message


def test_exact_message_for_typo() -> None:
    with pytest.raises(ScheduleError) as info:
        parse_schedule("dayly 9:00", "UTC")
    assert str(info.value) == (
        "schedule 'dayly 9:00' is not a 5-field cron like '0 9 * * *' or 'daily HH:MM'"
    )


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_schedule(text: str) -> None:
    with pytest.raises(ScheduleError, match="schedule is empty"):
        parse_schedule(text, "UTC")


def test_schedule_error_is_value_error() -> None:
    assert issubclass(ScheduleError, ValueError)


def test_long_input_is_shortened_in_message() -> None:
    with pytest.raises(ScheduleError) as info:
        parse_schedule("x" * 5000, "UTC")
    assert len(str(info.value)) < 300


def test_bad_time_zone_in_schedule() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Base'"):
        parse_schedule("0 9 * * *", "Mars/Base")


# --------------------------------------------------------------------------- time zones


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"])
def test_parse_timezone(name: str) -> None:
    assert parse_timezone(name) == ZoneInfo(name)


def test_unknown_time_zone_message() -> None:
    with pytest.raises(ScheduleError) as info:
        parse_timezone("Mars/Base")
    assert str(info.value) == "unknown time zone 'Mars/Base'; use an IANA name like 'Europe/Berlin'"


@pytest.mark.parametrize(
    ("name", "suggestion"), [("Europe/Berln", "Europe/Berlin"), ("new york", "America/New_York")]
)
def test_unknown_time_zone_suggests(name: str, suggestion: str) -> None:
    with pytest.raises(ScheduleError, match=f"did you mean '{suggestion}'"):
        parse_timezone(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "  ",
        "../../etc/passwd",
        "Europe/../Europe/Berlin",
        "/etc/localtime",
        "/usr/share/zoneinfo/UTC",
        "\\Windows",
        "Europe",  # a directory of zones, not a zone
        "Nul\x00l",
        "localtime",
        "Factory",
    ],
)
def test_rejected_time_zones(name: str) -> None:
    with pytest.raises(ScheduleError, match="IANA name like 'Europe/Berlin'"):
        parse_timezone(name)


def test_timezone_names_prefix_and_substring() -> None:
    names = timezone_names("berl")
    assert names == ["Europe/Berlin"]
    eur = timezone_names("EUROPE/", limit=500)
    assert eur == sorted(eur)
    assert "Europe/Berlin" in eur
    assert all(n.startswith("Europe/") for n in eur)
    assert timezone_names("new york") == ["America/New_York"]


def test_timezone_names_prefix_matches_come_first() -> None:
    def starts(name: str) -> bool:
        folded = name.casefold()
        return folded.startswith("us") or folded.rsplit("/", 1)[-1].startswith("us")

    names = timezone_names("us", limit=500)
    first_other = next(i for i, n in enumerate(names) if not starts(n))
    assert names[:first_other] == sorted(names[:first_other])
    assert "US/Eastern" in names[:first_other]
    assert not any(starts(n) for n in names[first_other:])
    assert "Australia/Sydney" in names  # substring match, after the prefix matches


def test_timezone_names_limit_and_empty() -> None:
    assert len(timezone_names("", limit=25)) == 25
    assert len(timezone_names("a")) == 25
    assert timezone_names("a", limit=0) == []
    assert timezone_names("zzzz-no-such-zone") == []
    for name in timezone_names("", limit=1000):
        parse_timezone(name)  # every name offered is accepted


# --------------------------------------------------------------------------- describe


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("daily 9:00", None, "every day at 09:00"),
        ("0 9 * * *", "Europe/Berlin", "every day at 09:00 (Europe/Berlin)"),
        ("30 8 * * 1-5", None, "Mon-Fri at 08:30"),
        ("0 7 * * 0", None, "Sun at 07:00"),
        ("0 7 * * 0-7", None, "every day at 07:00"),
        ("*/15 * * * *", "UTC", "cron '*/15 * * * *' (UTC)"),
    ],
)
def test_describe_schedule(text: str, tz: str | None, expected: str) -> None:
    assert describe_schedule(text, tz) == expected
