"""config.toml -> a validated, frozen Config. Built once in main() and handed around; no globals.

Every key is optional (see config.example.toml for each one and its default). Lookup order of the
file: ``--config PATH``, else ``$NEWSBOT_CONFIG``, else ``./config.toml`` if it exists, else
built-in defaults. Environment variables win over the file: ``DISCORD_TOKEN``,
``DISCORD_API_BASE``, ``DISCORD_GATEWAY_URL`` (empty means unset).

Relative paths (``[database] path``, ``[ingest] paths``) are relative to the directory of the
config file; with no config file, to the working directory. Config holds them absolute.

The bot token is a secret: it never appears in a ConfigError message, in repr(), or in
render_config() output.
"""

from bot.config.dump import render_config
from bot.config.live import LiveConfig
from bot.config.load import load_config, parse_config, resolve_config_path, shard_plan
from bot.config.model import (
    CHANNEL_KEYS,
    DIGEST_LAYOUTS,
    MAX_AGE_DAYS,
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
)

__all__ = [
    "CHANNEL_KEYS",
    "DIGEST_LAYOUTS",
    "MAX_AGE_DAYS",
    "MAX_QUALITY_BAR",
    "SECTION_KEYS",
    "ChannelConfig",
    "Config",
    "ConfigError",
    "DatabaseConfig",
    "DigestSettings",
    "DiscordConfig",
    "FeedSource",
    "FeedsConfig",
    "IngestConfig",
    "LiveConfig",
    "LoggingConfig",
    "TopicsConfig",
    "load_config",
    "parse_config",
    "render_config",
    "resolve_config_path",
    "shard_plan",
]
