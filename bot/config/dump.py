"""Config -> the effective configuration as TOML, the token masked (`newsbot check-config`)."""

from __future__ import annotations

from pathlib import Path

from bot.config.model import DIGEST_KEYS, ENV_TOKEN, MASK, Config, DigestSettings


def toml_string(text: str) -> str:
    escapes = {
        '"': '\\"',
        "\\": "\\\\",
        "\b": "\\b",
        "\t": "\\t",
        "\n": "\\n",
        "\f": "\\f",
        "\r": "\\r",
    }
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path):
        return toml_string(str(value))
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__}")


def _digest_lines(settings: DigestSettings, base: DigestSettings | None) -> list[str]:
    lines = []
    for name in DIGEST_KEYS:
        value = getattr(settings, name)
        if base is not None and value == getattr(base, name):
            continue
        if value is None:
            lines.append(f"# {name} is not set")
        else:
            lines.append(f"{name} = {_toml_value(value)}")
    return lines


def _feeds_lines(config: Config) -> list[str]:
    feeds = config.feeds
    lines = [
        "",
        "[feeds]",
        f"interval_minutes = {_toml_value(feeds.interval_minutes)}",
        f"quality = {_toml_value(feeds.quality)}",
        f"timeout_seconds = {_toml_value(feeds.timeout_seconds)}",
        f"max_bytes = {_toml_value(feeds.max_bytes)}",
        f"user_agent = {_toml_value(feeds.user_agent)}",
    ]
    for source in feeds.sources:
        lines += ["", "[[feeds.sources]]", f"url = {_toml_value(source.url)}"]
        for name in ("name", "topics", "quality", "interval_minutes"):
            value = getattr(source, name)
            if value is not None and value != ():
                lines.append(f"{name} = {_toml_value(value)}")
    return lines


def render_config(config: Config) -> str:
    """The effective configuration as TOML (what check-config prints). The token is masked."""
    source = str(config.source) if config.source is not None else "built-in defaults"
    discord = config.discord
    lines = [f"# effective configuration; source: {source}", "", "[discord]"]
    if discord.token is None:
        lines.append(f"# token is not set (set {ENV_TOKEN} or [discord] token)")
    else:
        lines.append(f"token = {toml_string(MASK)}  # (set) masked")
    lines.append(f"guild_ids = {_toml_value(discord.guild_ids)}")
    lines.append(f"owner_ids = {_toml_value(discord.owner_ids)}")
    for name in ("api_base", "gateway_url"):
        value = getattr(discord, name)
        if value is None:
            lines.append(f"# {name} is not set (Discord's own)")
        else:
            lines.append(f"{name} = {_toml_value(value)}")
    if discord.shard_count is None:
        lines.append("# shard_count is not set (one process, every shard)")
    else:
        lines.append(f"shard_count = {discord.shard_count}")
        lines.append(f"shard_ids = {_toml_value(discord.shard_ids)}")
    lines += ["", "[database]", f"path = {_toml_value(config.database.path)}"]
    if config.database.shown_url is None:
        lines.append("# url is not set (SQLite at path)")
    else:  # the password masked, like the token
        lines.append(f"url = {toml_string(config.database.shown_url)}")
    lines += [
        "",
        "[ingest]",
        f"paths = {_toml_value(config.ingest.paths)}",
        f"interval_minutes = {_toml_value(config.ingest.interval_minutes)}",
        f"max_file_bytes = {_toml_value(config.ingest.max_file_bytes)}",
    ]
    if config.topics.aliases:
        lines += ["", "[topics.aliases]"]
        lines += [
            f"{toml_string(name)} = {toml_string(target)}"
            for name, target in config.topics.aliases.items()
        ]
    else:
        lines += ["", "[topics]", "aliases = {}"]
    lines += ["", "[digest]", *_digest_lines(config.digest, None)]
    for channel in config.channels:
        lines += ["", "[[digest.channels]]", f"channel_id = {channel.channel_id}"]
        overrides = _digest_lines(channel.settings, config.digest)
        lines += overrides or ["# everything else as in [digest]"]
        if overrides:
            lines.append("# everything else as in [digest]")
    lines += _feeds_lines(config)
    lines += ["", "[logging]", f"level = {toml_string(config.logging.level)}", ""]
    return "\n".join(lines)
