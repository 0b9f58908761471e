"""Finding, parsing and validating config.toml: TOML text -> Config, or a ConfigError that
names the key, the value and what is allowed (never the token)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.config.dump import toml_string
from bot.config.feeds import read_feeds
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
    LOG_LEVELS,
    MASK,
    MAX_AGE_DAYS,
    MAX_QUALITY_BAR,
    SECTION_KEYS,
    ChannelConfig,
    Config,
    ConfigError,
    DatabaseConfig,
    DigestSettings,
    DiscordConfig,
    IngestConfig,
    LoggingConfig,
    TopicsConfig,
    masked_url,
    url_passwords,
)
from bot.config.values import (
    MAX_INTERVAL_MINUTES,
    all_str,
    boolean,
    check_keys,
    invalid,
    non_empty,
    number,
    shown,
    snowflake,
    snowflakes,
    table_entries,
    topic_list,
    url_value,
    whole,
)
from bot.keywords import KeywordError, parse_terms
from bot.schedules import ScheduleError, parse_schedule, parse_timezone
from bot.shards import ShardPlan

# generous upper bounds, so nothing downstream (timedelta, APScheduler) overflows
MAX_BACKFILL_HOURS = 87_600.0  # ten years
MAX_MISFIRE_GRACE_MINUTES = 43_200.0  # thirty days
MAX_SHARDS = 65_536  # far past what Discord hands out (a shard per ~1,000-2,500 guilds)


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
    check_keys(data, tuple(SECTION_KEYS), "")
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
        feeds=read_feeds(sections["feeds"]),
        logging=_logging(sections["logging"]),
    )


def _section(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(
            f"invalid {name} = {shown(section)}: must be a table, written [{name}]", name
        )
    check_keys(section, SECTION_KEYS[name], f"{name}.")
    return section


def _path(value: object, key: str, base: Path) -> Path:
    text = non_empty(value, key, "a non-empty path string")
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
            return url_value(from_env, f"{env_name} (environment)", schemes, example)
        if key in section:
            return url_value(section[key], f"discord.{key}", schemes, example)
        return None

    shard_count, shard_ids = _shards(section)
    return DiscordConfig(
        token=token,
        shard_count=shard_count,
        shard_ids=shard_ids,
        guild_ids=snowflakes(section.get("guild_ids", []), "discord.guild_ids"),
        owner_ids=snowflakes(section.get("owner_ids", []), "discord.owner_ids"),
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
        count = whole(count, "discord.shard_count", 1, MAX_SHARDS)
    raw_ids = section.get("shard_ids", [])
    if not isinstance(raw_ids, list):
        raise invalid("discord.shard_ids", raw_ids, "a list of shard numbers, like [0, 1]")
    ids = [whole(item, f"discord.shard_ids[{i}]", 0, MAX_SHARDS) for i, item in enumerate(raw_ids)]
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
            f"invalid {key_ids} = {shown(list(ids))}: shard ids need a shard count;"
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
        raise invalid("ingest.paths", paths, 'a list of paths, like ["seeds"]')
    return IngestConfig(
        paths=tuple(_path(p, f"ingest.paths[{i}]", base) for i, p in enumerate(paths)),
        interval_minutes=number(
            section.get("interval_minutes", defaults.interval_minutes),
            "ingest.interval_minutes",
            MAX_INTERVAL_MINUTES,
            allow_zero=False,
        ),
        max_file_bytes=whole(
            section.get("max_file_bytes", defaults.max_file_bytes), "ingest.max_file_bytes", 1
        ),
    )


def _topics(section: Mapping[str, Any]) -> TopicsConfig:
    aliases = section.get("aliases", {})
    if not isinstance(aliases, dict):
        raise invalid(
            "topics.aliases",
            aliases,
            'a table of name = topic, like { "NLP" = "Natural Language Processing" }',
        )
    folded: dict[str, tuple[str, str]] = {}
    for name, raw_target in aliases.items():
        key = f"topics.aliases.{toml_string(name)}"
        if not name.strip():
            raise invalid("topics.aliases", name, "names that are not empty")
        target = non_empty(raw_target, key, "a non-empty topic name")
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
        changes["min_quality"] = whole(
            table["min_quality"], prefix + "min_quality", 0, MAX_QUALITY_BAR
        )
    if "max_items" in table:
        changes["max_items"] = whole(table["max_items"], prefix + "max_items", 1, 25)
    if "max_age_days" in table:
        changes["max_age_days"] = whole(
            table["max_age_days"], prefix + "max_age_days", 0, MAX_AGE_DAYS
        )
    if "only_published" in table:
        changes["only_published"] = boolean(table["only_published"], prefix + "only_published")
    if "backfill_hours" in table:
        changes["backfill_hours"] = number(
            table["backfill_hours"], prefix + "backfill_hours", MAX_BACKFILL_HOURS, allow_zero=True
        )
    if "misfire_grace_minutes" in table:
        changes["misfire_grace_minutes"] = number(
            table["misfire_grace_minutes"],
            prefix + "misfire_grace_minutes",
            MAX_MISFIRE_GRACE_MINUTES,
            allow_zero=False,
        )
    if "topics" in table:
        changes["topics"] = topic_list(table["topics"], prefix + "topics")
    if "role_id" in table:
        changes["role_id"] = snowflake(table["role_id"], prefix + "role_id")
    if "layout" in table:
        changes["layout"] = _layout(table["layout"], prefix + "layout")
    for name in ("keywords", "exclude"):
        if name in table:
            changes[name] = _terms(table[name], prefix + name)
    if "publish" in table:
        changes["publish"] = boolean(table["publish"], prefix + "publish")
    if "timezone" in table:
        key = prefix + "timezone"
        zone = non_empty(table["timezone"], key, "an IANA time zone name like 'Europe/Berlin'")
        try:
            parse_timezone(zone)
        except ScheduleError as exc:
            raise ConfigError(f"invalid {key} = {shown(table['timezone'])}: {exc}", key) from None
        changes["timezone"] = zone
    if "schedule" in table:
        key = prefix + "schedule"
        changes["schedule"] = non_empty(
            table["schedule"], key, "a 5-field cron like '0 9 * * *' or 'daily HH:MM'"
        )
    settings = replace(base, **changes)
    if "schedule" in changes or "timezone" in changes:
        try:
            parse_schedule(settings.schedule, settings.timezone)
        except ScheduleError as exc:
            key = prefix + "schedule"
            raise ConfigError(f"invalid {key} = {shown(settings.schedule)}: {exc}", key) from None
    return settings


def _layout(value: object, key: str) -> str:
    if not isinstance(value, str) or value.strip().lower() not in DIGEST_LAYOUTS:
        raise invalid(key, value, " or ".join(repr(name) for name in DIGEST_LAYOUTS))
    return value.strip().lower()


def _terms(value: object, key: str) -> tuple[str, ...]:
    """Keywords as a list of words or phrases, or one comma-separated string."""
    if not (isinstance(value, str) or (isinstance(value, list) and all_str(value))):
        raise invalid(key, value, 'a list of words or phrases, like ["AI", "open source"]')
    try:
        return parse_terms(value, key.rpartition(".")[2])
    except KeywordError as exc:
        raise ConfigError(f"invalid {key}: {exc}", key) from None


def _channels(value: object, digest: DigestSettings) -> tuple[ChannelConfig, ...]:
    channels: list[ChannelConfig] = []
    seen: dict[int, int] = {}
    for index, prefix, entry in table_entries(
        value, "digest.channels", CHANNEL_KEYS, "channel_id", "<the channel's ID>"
    ):
        channel_id = snowflake(entry["channel_id"], prefix + "channel_id")
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


def _logging(section: Mapping[str, Any]) -> LoggingConfig:
    level = section.get("level", LoggingConfig.level)
    allowed = "one of " + ", ".join(LOG_LEVELS)
    if not isinstance(level, str) or level.strip().upper() not in LOG_LEVELS:
        raise invalid("logging.level", level, allowed)
    return LoggingConfig(level=level.strip().upper())
