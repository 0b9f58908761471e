"""Finding, parsing and validating config.toml: TOML text -> Config, or a ConfigError that
names the key, the value and what is allowed (never the token)."""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from bot.config.dump import toml_string
from bot.config.model import (
    CHANNEL_KEYS,
    DATABASE_URL_SCHEMES,
    DEFAULT_DATABASE_PATH,
    DEFAULT_INGEST_PATHS,
    DIGEST_LAYOUTS,
    ENV_API_BASE,
    ENV_CONFIG,
    ENV_DATABASE_URL,
    ENV_GATEWAY_URL,
    ENV_TOKEN,
    FEED_SOURCE_KEYS,
    LOG_LEVELS,
    MASK,
    MAX_AGE_DAYS,
    MAX_FEED_QUALITY,
    MAX_QUALITY_BAR,
    SECTION_KEYS,
    ChannelConfig,
    Config,
    ConfigError,
    DatabaseConfig,
    DigestSettings,
    DiscordConfig,
    FeedsConfig,
    FeedSource,
    IngestConfig,
    LoggingConfig,
    TopicsConfig,
    masked_url,
    url_passwords,
)
from bot.keywords import KeywordError, parse_terms
from bot.schedules import ScheduleError, parse_schedule, parse_timezone
from bot.shards import ShardPlan

# generous upper bounds, so nothing downstream (timedelta, APScheduler) overflows
MAX_INTERVAL_MINUTES = 525_600.0  # a year
MAX_BACKFILL_HOURS = 87_600.0  # ten years
MAX_MISFIRE_GRACE_MINUTES = 43_200.0  # thirty days
MAX_SHARDS = 65_536  # far past what Discord hands out (a shard per ~1,000-2,500 guilds)
_MAX_SHOWN = 80


# --------------------------------------------------------------------------- finding the file


def resolve_config_path(cli_path: str | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    """--config, else $NEWSBOT_CONFIG, else ./config.toml when it exists, else None (defaults).

    An explicit path (--config or the variable) is returned even when missing, so that
    load_config() can say it is missing instead of quietly using defaults.
    """
    if cli_path is not None:
        if not cli_path.strip():
            raise ConfigError("--config was given an empty path; give the path of a TOML file")
        return _absolute(Path(cli_path).expanduser(), cwd)
    from_env = env.get(ENV_CONFIG, "").strip()
    if from_env:
        return _absolute(Path(from_env).expanduser(), cwd)
    default = cwd / "config.toml"
    return default if default.is_file() else None


def _absolute(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else base / path


def load_config(path: Path | None, env: Mapping[str, str], cwd: Path | None = None) -> Config:
    """Read and validate a config file; None means built-in defaults (plus the environment)."""
    if path is None:
        return parse_config("", env, None, cwd=cwd)
    if not path.exists():
        raise ConfigError(f"config file '{path}' does not exist")
    if not path.is_file():
        raise ConfigError(f"config file '{path}' is not a file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file '{path}': {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"
        ) from None
    return parse_config(text, env, path)


# --------------------------------------------------------------------------- parsing


def parse_config(
    text: str, env: Mapping[str, str], source: Path | None = None, *, cwd: Path | None = None
) -> Config:
    """TOML text -> Config. ``source`` is where the text came from (relative paths are resolved
    against its directory); without it, against ``cwd`` (default: the working directory)."""
    if source is not None:
        source = source if source.is_absolute() else Path.cwd() / source
    prefix = f"{source}: " if source is not None else ""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{prefix}invalid TOML: {exc}") from None
    secrets = _secrets(data, env)
    try:
        base = source.parent if source is not None else (cwd or Path.cwd())
        config = _build(data, env, base)
    except ConfigError as exc:
        message = str(exc)
        for secret in secrets:
            message = message.replace(secret, MASK)
        raise ConfigError(prefix + message, exc.key) from None
    return replace(config, source=source)


def _secrets(data: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    found = [env.get(ENV_TOKEN, "")]
    discord = data.get("discord")
    if isinstance(discord, dict) and isinstance(discord.get("token"), str):
        found.append(discord["token"])
    database = data.get("database")
    urls = [env.get(ENV_DATABASE_URL, "")]
    if isinstance(database, dict) and isinstance(database.get("url"), str):
        urls.append(database["url"])
    found += [p for url in urls for p in url_passwords(url.strip())]
    return [s for s in (x.strip() for x in found) if len(s) >= 4]


def _build(data: Mapping[str, Any], env: Mapping[str, str], base: Path) -> Config:
    _check_keys(data, tuple(SECTION_KEYS), "")
    sections = {name: _section(data, name) for name in SECTION_KEYS}
    topics = _topics(sections["topics"])
    digest = _digest_settings(sections["digest"], DigestSettings(), "digest.")
    return Config(
        discord=_discord(sections["discord"], env),
        database=_database(sections["database"], base, env),
        ingest=_ingest(sections["ingest"], base),
        topics=topics,
        digest=digest,
        channels=_channels(sections["digest"].get("channels"), digest),
        feeds=_feeds(sections["feeds"]),
        logging=_logging(sections["logging"]),
    )


def _section(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(
            f"invalid {name} = {_shown(section)}: must be a table, written [{name}]", name
        )
    _check_keys(section, SECTION_KEYS[name], f"{name}.")
    return section


def _check_keys(table: Mapping[str, Any], known: tuple[str, ...], prefix: str) -> None:
    for key in table:
        if key in known:
            continue
        # values of unknown keys are never shown: it may be a misspelt token
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(known)
        raise ConfigError(f"unknown key '{prefix}{key}'; {hint}", prefix + key)


def _shown(value: object) -> str:
    text = repr(value)
    if isinstance(value, bool):
        text = "true" if value else "false"
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return text


def _invalid(key: str, value: object, allowed: str) -> ConfigError:
    return ConfigError(f"invalid {key} = {_shown(value)}: must be {allowed}", key)


# --------------------------------------------------------------------------- value readers


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: object, key: str, low: int, high: int | None = None) -> int:
    allowed = (
        f"a whole number from {low} to {high}" if high is not None else f"a whole number >= {low}"
    )
    if not _is_int(value) or value < low or (high is not None and value > high):
        raise _invalid(key, value, allowed)
    return value


def _float(value: object, key: str, high: float, *, allow_zero: bool) -> float:
    allowed = (
        f"a number from 0 to {high:g}" if allow_zero else f"a number above 0, at most {high:g}"
    )
    if not (_is_int(value) or isinstance(value, float)):
        raise _invalid(key, value, allowed)
    number = float(value)
    too_low = number < 0 if allow_zero else number <= 0
    if not math.isfinite(number) or too_low or number > high:
        raise _invalid(key, value, allowed)
    return number


def _bool(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise _invalid(key, value, "true or false (without quotes)")
    return value


def _string(value: object, key: str, allowed: str = "a non-empty string") -> str:
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise _invalid(key, value, allowed)
    return value.strip()


def _snowflake(value: object, key: str) -> int:
    allowed = "a Discord ID, a positive whole number"
    if isinstance(value, str) and value.strip().isdigit():
        allowed += " written without quotes"
    if not _is_int(value) or not 0 < value < 2**64:
        raise _invalid(key, value, allowed)
    return value


def _snowflakes(value: object, key: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise _invalid(key, value, "a list of Discord IDs, like [123456789012345678]")
    ids = [_snowflake(item, f"{key}[{i}]") for i, item in enumerate(value)]
    return tuple(dict.fromkeys(ids))


def _url(value: object, key: str, schemes: tuple[str, ...], example: str) -> str:
    names = " or ".join(schemes)
    allowed = f"an absolute {names} URL like '{example}'"
    if not isinstance(value, str):
        raise _invalid(key, value, allowed)
    url = value.strip()
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() in schemes and bool(parts.hostname) and parts.port != 0
    except ValueError:  # bad port, bad IPv6 literal
        ok = False
    if not ok or any(c.isspace() for c in url):
        raise _invalid(key, value, allowed)
    return url.rstrip("/")


def _path(value: object, key: str, base: Path) -> Path:
    text = _string(value, key, "a non-empty path string")
    return _absolute(Path(text).expanduser(), base)


# --------------------------------------------------------------------------- sections


def _discord(section: Mapping[str, Any], env: Mapping[str, str]) -> DiscordConfig:
    token: str | None = None
    if "token" in section:
        raw = section["token"]
        if not isinstance(raw, str):  # never show the value: it is meant to be a secret
            raise ConfigError(
                f"invalid discord.token: must be a string (the bot token), not a "
                f"{type(raw).__name__}; or leave it out and set {ENV_TOKEN}",
                "discord.token",
            )
        token = raw.strip() or None
    token = env.get(ENV_TOKEN, "").strip() or token

    def url(key: str, env_name: str, schemes: tuple[str, ...], example: str) -> str | None:
        from_env = env.get(env_name, "").strip()
        if from_env:
            return _url(from_env, f"{env_name} (environment)", schemes, example)
        if key in section:
            return _url(section[key], f"discord.{key}", schemes, example)
        return None

    shard_count, shard_ids = _shards(section)
    return DiscordConfig(
        token=token,
        shard_count=shard_count,
        shard_ids=shard_ids,
        guild_ids=_snowflakes(section.get("guild_ids", []), "discord.guild_ids"),
        owner_ids=_snowflakes(section.get("owner_ids", []), "discord.owner_ids"),
        api_base=url("api_base", ENV_API_BASE, ("http", "https"), "https://discord.com/api/v10"),
        gateway_url=url(
            "gateway_url",
            ENV_GATEWAY_URL,
            ("ws", "wss", "http", "https"),
            "wss://gateway.discord.gg",
        ),
    )


def _shards(section: Mapping[str, Any]) -> tuple[int | None, tuple[int, ...]]:
    """``[discord] shard_count`` and ``shard_ids``, checked together (see ``shard_plan``)."""
    count = section.get("shard_count")
    if count is not None:
        count = _int(count, "discord.shard_count", 1, MAX_SHARDS)
    raw_ids = section.get("shard_ids", [])
    if not isinstance(raw_ids, list):
        raise _invalid("discord.shard_ids", raw_ids, "a list of shard numbers, like [0, 1]")
    ids = [_int(item, f"discord.shard_ids[{i}]", 0, MAX_SHARDS) for i, item in enumerate(raw_ids)]
    return shard_plan(count, ids)


def shard_plan(
    count: int | None, ids: Sequence[int], prefix: str = "discord."
) -> tuple[int | None, tuple[int, ...]]:
    """A shard count and the ids of this process's shards, or ConfigError naming what is wrong
    (``prefix`` "discord." for the file's keys, "--" for the command line's flags)."""
    flags = prefix == "--"
    key_count = "--shard-count" if flags else f"{prefix}shard_count"
    key_ids = "--shard-ids" if flags else f"{prefix}shard_ids"
    if count is None and ids:
        raise ConfigError(
            f"invalid {key_ids} = {_shown(list(ids))}: shard ids need a shard count;"
            f" set {key_count} too",
            key_ids,
        )
    try:
        plan = ShardPlan(count, tuple(ids))
    except ValueError as exc:
        key = key_count if count is not None and count < 1 else key_ids
        raise ConfigError(f"invalid {key}: {exc}", key) from None
    return plan.count, plan.ids


def _database(section: Mapping[str, Any], base: Path, env: Mapping[str, str]) -> DatabaseConfig:
    from_env = env.get(ENV_DATABASE_URL, "").strip()
    url: str | None = None
    if from_env:
        url = _database_url(from_env, f"{ENV_DATABASE_URL} (environment)")
    elif "url" in section:
        url = _database_url(section["url"], "database.url")
    return DatabaseConfig(
        path=_path(section.get("path", DEFAULT_DATABASE_PATH), "database.path", base), url=url
    )


def _database_url(value: object, key: str) -> str:
    """A PostgreSQL URL (DESIGN §9); an error shows it with its password masked."""
    allowed = "a PostgreSQL URL like postgresql://user:password@host:5432/newsbot"
    if not isinstance(value, str):
        raise ConfigError(f"invalid {key}: must be a string, {allowed}", key)
    url = value.strip()
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in DATABASE_URL_SCHEMES or any(c.isspace() for c in url):
        raise ConfigError(
            f"invalid {key} = {toml_string(masked_url(url))}: must be {allowed}"
            " (postgresql:// or postgres://; leave it out for SQLite at [database] path)",
            key,
        )
    return url


def _ingest(section: Mapping[str, Any], base: Path) -> IngestConfig:
    defaults = IngestConfig()
    paths = section.get("paths", list(DEFAULT_INGEST_PATHS))
    if not isinstance(paths, list):
        raise _invalid("ingest.paths", paths, 'a list of paths, like ["seeds"]')
    return IngestConfig(
        paths=tuple(_path(p, f"ingest.paths[{i}]", base) for i, p in enumerate(paths)),
        interval_minutes=_float(
            section.get("interval_minutes", defaults.interval_minutes),
            "ingest.interval_minutes",
            MAX_INTERVAL_MINUTES,
            allow_zero=False,
        ),
        max_file_bytes=_int(
            section.get("max_file_bytes", defaults.max_file_bytes), "ingest.max_file_bytes", 1
        ),
    )


def _topics(section: Mapping[str, Any]) -> TopicsConfig:
    aliases = section.get("aliases", {})
    if not isinstance(aliases, dict):
        raise _invalid(
            "topics.aliases",
            aliases,
            'a table of name = topic, like { "NLP" = "Natural Language Processing" }',
        )
    folded: dict[str, tuple[str, str]] = {}
    for name, raw_target in aliases.items():
        key = f"topics.aliases.{toml_string(name)}"
        if not name.strip():
            raise _invalid("topics.aliases", name, "names that are not empty")
        target = _string(raw_target, key, "a non-empty topic name")
        previous = folded.get(name.strip().casefold())
        if previous and previous[1].casefold() != target.casefold():
            raise ConfigError(
                f"invalid {key}: {previous[0]!r} and {name!r} differ only in case but map to "
                f"{previous[1]!r} and {target!r}; topics match case-insensitively, keep one",
                key,
            )
        folded[name.strip().casefold()] = (name, target)
    for name, target in folded.values():
        further = folded.get(target.casefold())
        if further and further[1].casefold() != target.casefold():
            key = f"topics.aliases.{toml_string(name)}"
            raise ConfigError(
                f"invalid {key} = {target!r}: {target!r} is itself an alias of {further[1]!r}; "
                f"map {name!r} straight to the topic",
                key,
            )
    return TopicsConfig(aliases={name: target.strip() for name, target in aliases.items()})


def _digest_settings(table: Mapping[str, Any], base: DigestSettings, prefix: str) -> DigestSettings:
    """``base`` overlaid with the [digest]-style keys in ``table``, each checked."""
    changes: dict[str, Any] = {}
    if "min_quality" in table:
        changes["min_quality"] = _int(
            table["min_quality"], prefix + "min_quality", 0, MAX_QUALITY_BAR
        )
    if "max_items" in table:
        changes["max_items"] = _int(table["max_items"], prefix + "max_items", 1, 25)
    if "max_age_days" in table:
        changes["max_age_days"] = _int(
            table["max_age_days"], prefix + "max_age_days", 0, MAX_AGE_DAYS
        )
    if "only_published" in table:
        changes["only_published"] = _bool(table["only_published"], prefix + "only_published")
    if "backfill_hours" in table:
        changes["backfill_hours"] = _float(
            table["backfill_hours"], prefix + "backfill_hours", MAX_BACKFILL_HOURS, allow_zero=True
        )
    if "misfire_grace_minutes" in table:
        changes["misfire_grace_minutes"] = _float(
            table["misfire_grace_minutes"],
            prefix + "misfire_grace_minutes",
            MAX_MISFIRE_GRACE_MINUTES,
            allow_zero=False,
        )
    if "topics" in table:
        changes["topics"] = _topic_list(table["topics"], prefix + "topics")
    if "role_id" in table:
        changes["role_id"] = _snowflake(table["role_id"], prefix + "role_id")
    if "layout" in table:
        changes["layout"] = _layout(table["layout"], prefix + "layout")
    for name in ("keywords", "exclude"):
        if name in table:
            changes[name] = _terms(table[name], prefix + name)
    if "publish" in table:
        changes["publish"] = _bool(table["publish"], prefix + "publish")
    if "timezone" in table:
        key = prefix + "timezone"
        zone = _string(table["timezone"], key, "an IANA time zone name like 'Europe/Berlin'")
        try:
            parse_timezone(zone)
        except ScheduleError as exc:
            raise ConfigError(f"invalid {key} = {_shown(table['timezone'])}: {exc}", key) from None
        changes["timezone"] = zone
    if "schedule" in table:
        key = prefix + "schedule"
        changes["schedule"] = _string(
            table["schedule"], key, "a 5-field cron like '0 9 * * *' or 'daily HH:MM'"
        )
    settings = replace(base, **changes)
    if "schedule" in changes or "timezone" in changes:
        try:
            parse_schedule(settings.schedule, settings.timezone)
        except ScheduleError as exc:
            key = prefix + "schedule"
            raise ConfigError(f"invalid {key} = {_shown(settings.schedule)}: {exc}", key) from None
    return settings


def _layout(value: object, key: str) -> str:
    if not isinstance(value, str) or value.strip().lower() not in DIGEST_LAYOUTS:
        raise _invalid(key, value, " or ".join(repr(name) for name in DIGEST_LAYOUTS))
    return value.strip().lower()


def _terms(value: object, key: str) -> tuple[str, ...]:
    """Keywords as a list of words or phrases, or one comma-separated string."""
    if not (isinstance(value, str) or (isinstance(value, list) and _all_str(value))):
        raise _invalid(key, value, 'a list of words or phrases, like ["AI", "open source"]')
    try:
        return parse_terms(value, key.rpartition(".")[2])
    except KeywordError as exc:
        raise ConfigError(f"invalid {key}: {exc}", key) from None


def _all_str(items: list[Any]) -> TypeGuard[list[str]]:
    return all(isinstance(item, str) for item in items)


def _topic_list(value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _invalid(key, value, 'a list of topic names, like ["AI", "Robotics"] ([] for all)')
    names = [_string(item, f"{key}[{i}]", "a non-empty topic name") for i, item in enumerate(value)]
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(name.casefold(), name)
    return tuple(unique.values())


def _table_entries(
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
        _check_keys(entry, keys, prefix)
        if required not in entry:
            raise ConfigError(
                f"{section}[{index}] has no {required}; each [[{section}]] needs"
                f" {required} = {hint}",
                prefix + required,
            )
        entries.append((index, prefix, entry))
    return entries


def _channels(value: object, digest: DigestSettings) -> tuple[ChannelConfig, ...]:
    channels: list[ChannelConfig] = []
    seen: dict[int, int] = {}
    for index, prefix, entry in _table_entries(
        value, "digest.channels", CHANNEL_KEYS, "channel_id", "<the channel's ID>"
    ):
        channel_id = _snowflake(entry["channel_id"], prefix + "channel_id")
        if channel_id in seen:
            raise ConfigError(
                f"invalid {prefix}channel_id = {channel_id}: already used by "
                f"digest.channels[{seen[channel_id]}]; list each channel once",
                prefix + "channel_id",
            )
        seen[channel_id] = index
        overrides = {k: v for k, v in entry.items() if k != "channel_id"}
        channels.append(ChannelConfig(channel_id, _digest_settings(overrides, digest, prefix)))
    return tuple(channels)


MAX_FEED_TIMEOUT_SECONDS = 600.0
MAX_FEED_URL_CHARS = 2048


def _feeds(section: Mapping[str, Any]) -> FeedsConfig:
    defaults = FeedsConfig()
    user_agent = _string(
        section.get("user_agent", defaults.user_agent),
        "feeds.user_agent",
        "a non-empty string on one line, like 'newsbot/1.0 (+https://example.org/contact)'",
    )
    if not user_agent.isprintable():
        raise _invalid("feeds.user_agent", user_agent, "a string on one line")
    return FeedsConfig(
        interval_minutes=_float(
            section.get("interval_minutes", defaults.interval_minutes),
            "feeds.interval_minutes",
            MAX_INTERVAL_MINUTES,
            allow_zero=False,
        ),
        quality=_int(
            section.get("quality", defaults.quality), "feeds.quality", 0, MAX_FEED_QUALITY
        ),
        timeout_seconds=_float(
            section.get("timeout_seconds", defaults.timeout_seconds),
            "feeds.timeout_seconds",
            MAX_FEED_TIMEOUT_SECONDS,
            allow_zero=False,
        ),
        max_bytes=_int(section.get("max_bytes", defaults.max_bytes), "feeds.max_bytes", 1),
        user_agent=user_agent,
        sources=_feed_sources(section.get("sources")),
    )


def feed_url(value: object, key: str) -> str:
    """An absolute http(s) URL with a host, kept as written (a feed's identity)."""
    allowed = "an absolute http or https URL like 'https://example.org/feed.xml'"
    if not isinstance(value, str):
        raise _invalid(key, value, allowed)
    url = value.strip()
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        ok = ok and parts.port != 0
    except ValueError:  # bad port, bad IPv6 literal
        ok = False
    if not ok or len(url) > MAX_FEED_URL_CHARS or not url.isprintable() or " " in url:
        raise _invalid(key, value, allowed)
    return url


def _feed_sources(value: object) -> tuple[FeedSource, ...]:
    sources: list[FeedSource] = []
    seen: dict[str, int] = {}
    for index, prefix, entry in _table_entries(
        value, "feeds.sources", FEED_SOURCE_KEYS, "url", "<the feed's address>"
    ):
        url = feed_url(entry["url"], prefix + "url")
        if url in seen:
            raise ConfigError(
                f"invalid {prefix}url = {_shown(url)}: already used by"
                f" feeds.sources[{seen[url]}]; list each feed once",
                prefix + "url",
            )
        seen[url] = index
        name = entry.get("name")
        interval = entry.get("interval_minutes")
        quality = entry.get("quality")
        sources.append(
            FeedSource(
                url=url,
                name=None if name is None else _string(name, prefix + "name"),
                topics=_topic_list(entry.get("topics", []), prefix + "topics"),
                quality=None
                if quality is None
                else _int(quality, prefix + "quality", 0, MAX_FEED_QUALITY),
                interval_minutes=None
                if interval is None
                else _float(
                    interval, prefix + "interval_minutes", MAX_INTERVAL_MINUTES, allow_zero=False
                ),
            )
        )
    return tuple(sources)


def _logging(section: Mapping[str, Any]) -> LoggingConfig:
    level = section.get("level", LoggingConfig.level)
    allowed = "one of " + ", ".join(LOG_LEVELS)
    if not isinstance(level, str) or level.strip().upper() not in LOG_LEVELS:
        raise _invalid("logging.level", level, allowed)
    return LoggingConfig(level=level.strip().upper())
