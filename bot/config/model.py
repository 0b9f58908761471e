"""The settings: frozen records, their defaults, and the keys a config file may hold."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType

from bot.shards import ShardPlan

MASK = "********"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_DATABASE_PATH = "data/newsbot.sqlite3"
DEFAULT_INGEST_PATHS = ("seeds",)
ENV_CONFIG = "NEWSBOT_CONFIG"
ENV_TOKEN = "DISCORD_TOKEN"
ENV_API_BASE = "DISCORD_API_BASE"
ENV_GATEWAY_URL = "DISCORD_GATEWAY_URL"
ENV_DATABASE_URL = "NEWSBOT_DATABASE_URL"
DATABASE_URL_SCHEMES = ("postgresql", "postgres")
MAX_QUALITY_BAR = 1000  # the highest min_quality: real files rate past 100 (189 seen)
MAX_AGE_DAYS = 36_500  # the highest max_age_days (a hundred years); 0 is no limit
DIGEST_LAYOUTS = ("cards", "compact")


class ConfigError(Exception):
    """The configuration cannot be used. str(exc) names the key, the value and what is allowed.

    ``key`` is the dotted key at fault when there is one ('digest.channels[0].min_quality').
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class DiscordConfig:
    token: str | None = None
    guild_ids: tuple[int, ...] = ()  # guilds to sync slash commands to at once (else global)
    owner_ids: tuple[int, ...] = ()  # users allowed the /newsbot owner commands
    api_base: str | None = None  # REST base of a Discord-compatible proxy (no trailing slash)
    gateway_url: str | None = None  # gateway to connect to instead of Discord's (testing aid)
    shard_count: int | None = None  # Discord shards in all (§9); None: not sharded
    shard_ids: tuple[int, ...] = ()  # the shards this process connects to; empty: all

    def __repr__(self) -> str:
        token = "None" if self.token is None else repr(MASK)
        return (
            f"DiscordConfig(token={token}, guild_ids={self.guild_ids!r}, "
            f"owner_ids={self.owner_ids!r}, api_base={self.api_base!r}, "
            f"gateway_url={self.gateway_url!r}, shard_count={self.shard_count!r}, "
            f"shard_ids={self.shard_ids!r})"
        )

    @property
    def shards(self) -> ShardPlan:
        """The shards this process serves (validated when the config was loaded)."""
        return ShardPlan(self.shard_count, self.shard_ids)

    __str__ = __repr__


@dataclass(frozen=True)
class DatabaseConfig:
    path: Path = Path(DEFAULT_DATABASE_PATH)  # the SQLite file, used when url is None
    url: str | None = None  # a PostgreSQL URL (DESIGN §9); its password is a secret

    @property
    def shown_url(self) -> str | None:
        """The URL with its password masked: the only form a log or a message may hold."""
        return None if self.url is None else masked_url(self.url)

    @property
    def shown(self) -> str:
        """Where the data lives, fit for a log: the masked URL, else the SQLite path."""
        return self.shown_url or str(self.path)

    def __repr__(self) -> str:
        return f"DatabaseConfig(path={self.path!r}, url={self.shown_url!r})"

    __str__ = __repr__


def masked_url(url: str) -> str:
    """A database URL with its passwords masked: the netloc's (``user:pass@``) and a
    ``password=`` query parameter's."""
    return _url_with_passwords(url, lambda _password: MASK)


def url_passwords(url: str) -> tuple[str, ...]:
    """The passwords a database URL holds (netloc, query), as written."""
    found: list[str] = []

    def keep(password: str) -> str:
        found.append(password)
        return password

    _url_with_passwords(url, keep)
    return tuple(p for p in found if p)


def _url_with_passwords(url: str, replace: Callable[[str], str]) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        user, _colon, password = userinfo.partition(":")
        netloc = f"{user}:{replace(password) if password else ''}@{host}"
    path, question, query = tail.partition("?")
    parts = []
    for part in query.split("&") if question else ():
        name, equals, value = part.partition("=")
        parts.append(f"{name}={replace(value)}" if equals and name.lower() == "password" else part)
    return f"{scheme}://{netloc}{slash}{path}{question}{'&'.join(parts)}"


@dataclass(frozen=True)
class IngestConfig:
    paths: tuple[Path, ...] = tuple(Path(p) for p in DEFAULT_INGEST_PATHS)
    interval_minutes: float = 5.0
    max_file_bytes: int = 1_048_576


@dataclass(frozen=True)
class TopicsConfig:
    """``[topics] aliases``: other names -> one topic. Keys kept as written."""

    aliases: Mapping[str, str] = field(default_factory=dict)
    _folded: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        aliases = MappingProxyType(dict(self.aliases))
        object.__setattr__(self, "aliases", aliases)
        folded = {key.strip().casefold(): value for key, value in aliases.items()}
        object.__setattr__(self, "_folded", MappingProxyType(folded))

    def __reduce__(self) -> tuple[type[TopicsConfig], tuple[dict[str, str]]]:
        # Pickled by its aliases (mapping proxies do not pickle): ``canonical`` goes to an
        # ingest's writer process (bot.ingest.writer).
        return (TopicsConfig, (dict(self.aliases),))

    def canonical(self, name: str) -> str:
        """The topic a name stands for: its alias target (matched case-insensitively), else
        the name itself (stripped)."""
        name = name.strip()
        return self._folded.get(name.casefold(), name)


@dataclass(frozen=True)
class DigestSettings:
    schedule: str = "0 9 * * *"  # 5-field cron or 'daily HH:MM', validated
    timezone: str = "UTC"  # IANA name, validated
    min_quality: int = 60  # 0-1000
    max_items: int = 10  # 1-25
    only_published: bool = True
    max_age_days: int = 7  # a story published longer ago is not posted; 0: no limit
    backfill_hours: float = 24.0  # a new subscription's cursor starts this far back
    misfire_grace_minutes: float = 60.0  # APScheduler misfire_grace_time
    topics: tuple[str, ...] = ()  # empty: all topics; names as written (see TopicsConfig)
    role_id: int | None = None  # the one role a digest may ping
    layout: str = "cards"  # 'cards' (an embed per story) or 'compact' (one line per story)
    keywords: tuple[str, ...] = ()  # words or phrases; a story needs one (none: no filter)
    exclude: tuple[str, ...] = ()  # words or phrases; a story with any of them is left out
    publish: bool = True  # announcement channels: publish each digest message to followers


@dataclass(frozen=True)
class ChannelConfig:
    channel_id: int
    settings: DigestSettings  # [digest] overlaid with this channel's keys


DEFAULT_USER_AGENT = "newsbot/1.0 (+https://github.com/newsbot/newsbot)"
MAX_FEED_QUALITY = 1000  # the quality given to a feed's items: the digest bar's range


@dataclass(frozen=True)
class FeedSource:
    """One ``[[feeds.sources]]`` entry; None: the ``[feeds]`` default (or the feed's title)."""

    url: str  # http(s), as written: the feed's identity in the store
    name: str | None = None  # the provider name; None: the feed's own title
    topics: tuple[str, ...] = ()  # given to every item, besides its own categories
    quality: int | None = None
    interval_minutes: float | None = None


@dataclass(frozen=True)
class FeedsConfig:
    interval_minutes: float = 30.0  # how often each feed is fetched (jittered)
    quality: int = 50  # quality given to items: feeds carry none
    timeout_seconds: float = 20.0  # the whole request, connect and redirects included
    max_bytes: int = 5_242_880  # a larger body (as inflated) is refused
    user_agent: str = DEFAULT_USER_AGENT
    sources: tuple[FeedSource, ...] = ()

    def source(self, url: str) -> FeedSource | None:
        for source in self.sources:
            if source.url == url:
                return source
        return None

    def quality_of(self, source: FeedSource) -> int:
        return self.quality if source.quality is None else source.quality

    def interval_of(self, source: FeedSource) -> float:
        """Minutes between fetches of this feed."""
        return self.interval_minutes if source.interval_minutes is None else source.interval_minutes


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"


@dataclass(frozen=True)
class Config:
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    topics: TopicsConfig = field(default_factory=TopicsConfig)
    digest: DigestSettings = field(default_factory=DigestSettings)
    channels: tuple[ChannelConfig, ...] = ()
    feeds: FeedsConfig = field(default_factory=FeedsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    source: Path | None = None  # the file it came from; None: built-in defaults

    def channel(self, channel_id: int) -> ChannelConfig | None:
        """The ``[[digest.channels]]`` entry for a channel, if the file manages it."""
        for channel in self.channels:
            if channel.channel_id == channel_id:
                return channel
        return None


DIGEST_KEYS: tuple[str, ...] = tuple(f.name for f in fields(DigestSettings))
CHANNEL_KEYS: tuple[str, ...] = ("channel_id", *DIGEST_KEYS)
FEED_SOURCE_KEYS: tuple[str, ...] = ("url", "name", "topics", "quality", "interval_minutes")
SECTION_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "discord": (
            "token",
            "guild_ids",
            "owner_ids",
            "api_base",
            "gateway_url",
            "shard_count",
            "shard_ids",
        ),
        "database": ("path", "url"),
        "ingest": ("paths", "interval_minutes", "max_file_bytes"),
        "topics": ("aliases",),
        "digest": (*DIGEST_KEYS, "channels"),
        "feeds": (
            "interval_minutes",
            "quality",
            "timeout_seconds",
            "max_bytes",
            "user_agent",
            "sources",
        ),
        "logging": ("level",),
    }
)
