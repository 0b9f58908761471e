"""Digest schedules and time zones: text -> APScheduler trigger, with messages that help. Pure.

Two schedule forms are accepted:

* a standard 5-field cron, ``minute hour day-of-month month day-of-week`` (``0 9 * * 1-5``).
  Day-of-week numbers follow crontab (0 and 7 are Sunday, 1 is Monday), not APScheduler 3's
  own numbering (where 0 is Monday); names (``mon-fri``) work too. Restricting both day-of-month
  and day-of-week is refused: crontab fires when *either* matches, APScheduler only when *both*
  do, so the schedule would silently mean something else than written.
* ``daily HH:MM`` (24-hour clock, ``daily 09:00``; ``daily 9:00`` is fine too).
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

if TYPE_CHECKING:  # imported where a schedule is parsed: a config without one never loads it
    from apscheduler.triggers.cron import CronTrigger

__all__ = [
    "ScheduleError",
    "describe_schedule",
    "parse_schedule",
    "parse_timezone",
    "timezone_names",
]

_FORMS = "a 5-field cron like '0 9 * * *' or 'daily HH:MM'"
_DAILY = re.compile(r"daily\s+(\S+)", re.IGNORECASE)
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")
_MAX_SHOWN = 80  # longest piece of user text repeated back in a message

# crontab day-of-week: 0 (and 7) = Sunday ... 6 = Saturday
_CRON_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DAY_TITLES = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
# names that zoneinfo lists but nobody should pick
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})


class ScheduleError(ValueError):
    """A schedule or time zone that cannot be used; str(exc) says what is wrong and what works."""


def _shown(text: str) -> str:
    """repr() of user text, shortened so a pasted novel does not become the error message."""
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return repr(text)


# --------------------------------------------------------------------------- time zones


@functools.lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(name for name in available_timezones() if name not in _NOT_ZONES))


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA time zone name ('Europe/Berlin', 'UTC') -> ZoneInfo, or ScheduleError."""
    if not isinstance(name, str) or not name.strip():
        raise ScheduleError("time zone is empty; use an IANA name like 'Europe/Berlin'")
    name = name.strip()
    bad = (
        ".." in name
        or name.startswith(("/", "\\"))
        or "\\" in name
        or "\x00" in name
        or name in _NOT_ZONES
    )
    if not bad:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    message = f"unknown time zone {_shown(name)}; use an IANA name like 'Europe/Berlin'"
    close = difflib.get_close_matches(name, _zone_names(), n=1, cutoff=0.75)
    if not close:  # 'berlin', 'new york'
        wanted = name.casefold().replace(" ", "_")
        close = [z for z in _zone_names() if z.casefold().rsplit("/", 1)[-1] == wanted][:1]
    if close:
        message += f"; did you mean {close[0]!r}?"
    raise ScheduleError(message)


def timezone_names(prefix: str, limit: int = 25) -> list[str]:
    """Time zone names matching what was typed so far, for autocomplete.

    Case-insensitive; spaces match underscores ('new york' -> 'America/New_York'). Names that
    start with the text, or whose last part does ('berl' -> 'Europe/Berlin'), come first; then
    names containing it anywhere. Each group sorted; at most ``limit`` names.
    """
    if limit <= 0:
        return []
    wanted = (prefix or "").strip().casefold().replace(" ", "_")
    if not wanted:
        return list(_zone_names()[:limit])
    first: list[str] = []
    rest: list[str] = []
    for name in _zone_names():
        folded = name.casefold()
        if folded.startswith(wanted) or folded.rsplit("/", 1)[-1].startswith(wanted):
            first.append(name)
        elif wanted in folded:
            rest.append(name)
    return (first + rest)[:limit]


# --------------------------------------------------------------------------- schedules


def _parse_daily(text: str, timezone: ZoneInfo) -> CronTrigger:
    match = _DAILY.fullmatch(text)
    time_match = _HHMM.fullmatch(match.group(1)) if match else None
    if time_match is None:
        raise ScheduleError(
            f"schedule {_shown(text)} is not 'daily HH:MM' (24-hour clock, like 'daily 09:00')"
        )
    hour, minute = int(time_match.group(1)), int(time_match.group(2))
    if hour > 23 or minute > 59:
        raise ScheduleError(
            f"schedule {_shown(text)} has no such time of day; "
            "'daily HH:MM' needs HH from 00 to 23 and MM from 00 to 59"
        )
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(hour=hour, minute=minute, timezone=timezone)


def _weekday(token: str, text: str) -> int:
    folded = token.casefold()
    if folded in _CRON_DAY_NAMES:
        return _CRON_DAY_NAMES.index(folded)
    if token.isdigit() and int(token) <= 7:
        return int(token) % 7
    raise ScheduleError(
        f"schedule {_shown(text)} has day-of-week {token!r}; use 0-7 (0 and 7 are Sunday) "
        "or sun, mon, tue, wed, thu, fri, sat"
    )


def _cron_weekdays(field: str, text: str) -> str:
    """crontab day-of-week field -> the same days spelled for APScheduler 3 (by name)."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(
                    f"schedule {_shown(text)} has day-of-week step {step_text!r}; "
                    "a step is a whole number of at least 1, like '*/2'"
                )
            step = int(step_text)
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            low, _, high = base.partition("-")
            first, last = _weekday(low, text), _weekday(high, text)
            if high == "7" or (last == 0 and first > 0):  # '5-7', 'fri-sun': Sunday ends it
                last = 7
            if first > last:
                raise ScheduleError(
                    f"schedule {_shown(text)} has day-of-week range {base!r} running backwards; "
                    "write it low-high, like 'mon-fri' or '1-5'"
                )
        else:
            first = _weekday(base, text)
            last = 6 if slash else first
        days.update(day % 7 for day in range(first, last + 1, step))
    if len(days) == 7:
        return "*"
    # Monday first, as people read a week
    return ",".join(_CRON_DAY_NAMES[day] for day in (1, 2, 3, 4, 5, 6, 0) if day in days)


def _parse_cron(fields: list[str], text: str, timezone: ZoneInfo) -> CronTrigger:
    minute, hour, day, month, weekday = fields
    if day != "*" and weekday != "*":
        raise ScheduleError(
            f"schedule {_shown(text)} restricts both day-of-month ({day!r}) and day-of-week "
            f"({weekday!r}), which cron reads as 'either'; keep one of them '*'"
        )
    expression = " ".join([minute, hour, day, month, _cron_weekdays(weekday, text)])
    from apscheduler.triggers.cron import CronTrigger

    try:
        return CronTrigger.from_crontab(expression, timezone=timezone)
    except ValueError as exc:
        raise ScheduleError(
            f"schedule {_shown(text)} is not a valid cron ({exc}); use {_FORMS} "
            "(minute hour day-of-month month day-of-week)"
        ) from None


def parse_schedule(text: str, timezone: str) -> CronTrigger:
    """'0 9 * * *' or 'daily 09:00', in an IANA time zone -> CronTrigger, or ScheduleError."""
    zone = parse_timezone(timezone)
    if not isinstance(text, str) or not text.strip():
        raise ScheduleError(f"schedule is empty; use {_FORMS}")
    text = " ".join(text.split())
    if text.casefold().startswith("daily"):
        return _parse_daily(text, zone)
    fields = text.split(" ")
    if len(fields) != 5:
        raise ScheduleError(f"schedule {_shown(text)} is not {_FORMS}")
    return _parse_cron(fields, text, zone)


# --------------------------------------------------------------------------- descriptions


def _simple_time(minute: str, hour: str) -> str | None:
    if minute.isdigit() and hour.isdigit() and int(hour) <= 23 and int(minute) <= 59:
        return f"{int(hour):02d}:{int(minute):02d}"
    return None


def describe_schedule(text: str, timezone: str | None = None) -> str:
    """A short human phrase: 'every day at 09:00 (Europe/Berlin)', 'Mon-Fri at 08:30', ...

    Meant for already-validated schedules; anything it cannot phrase is shown as the cron itself.
    """
    text = " ".join((text or "").split())
    zone = f" ({timezone})" if timezone else ""
    daily = _DAILY.fullmatch(text)
    if daily and (hhmm := _HHMM.fullmatch(daily.group(1))):
        return f"every day at {int(hhmm.group(1)):02d}:{int(hhmm.group(2)):02d}{zone}"
    fields = text.split(" ")
    if len(fields) == 5:
        minute, hour, day, month, weekday = fields
        at = _simple_time(minute, hour)
        if at and day == "*" and month == "*":
            if weekday == "*":
                return f"every day at {at}{zone}"
            try:
                names = _cron_weekdays(weekday, text).split(",")
            except ScheduleError:
                names = []
            if names == ["*"]:
                return f"every day at {at}{zone}"
            if names == ["mon", "tue", "wed", "thu", "fri"]:
                return f"Mon-Fri at {at}{zone}"
            if names:
                titles = [_DAY_TITLES[_CRON_DAY_NAMES.index(n)] for n in names]
                return f"{', '.join(titles)} at {at}{zone}"
    return f"cron '{text}'{zone}"
