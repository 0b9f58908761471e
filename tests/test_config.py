from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import (
    CHANNEL_KEYS,
    SECTION_KEYS,
    ChannelConfig,
    Config,
    ConfigError,
    DigestSettings,
    DiscordConfig,
    TopicsConfig,
    load_config,
    parse_config,
    render_config,
    resolve_config_path,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0.GhIjKl.s3cr3t-t0ken-value_xyz"


def parse(text: str, env: dict[str, str] | None = None, tmp: Path | None = None) -> Config:
    return parse_config(text, env or {}, None, cwd=tmp or Path("/srv/bot"))


def error(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse(text, env)
    return str(info.value)


# --------------------------------------------------------------------------- defaults


def test_defaults_with_no_file(tmp_path: Path) -> None:
    config = load_config(None, {}, cwd=tmp_path)
    assert config.source is None
    assert config.discord == DiscordConfig()
    assert config.database.path == tmp_path / "data" / "newsbot.sqlite3"
    assert config.ingest.paths == (tmp_path / "seeds",)
    assert config.ingest.interval_minutes == 5
    assert config.ingest.max_file_bytes == 1_048_576
    assert dict(config.topics.aliases) == {}
    assert config.digest == DigestSettings()
    assert config.digest.schedule == "0 9 * * *"
    assert config.digest.timezone == "UTC"
    assert config.digest.min_quality == 60
    assert config.digest.max_items == 10
    assert config.digest.only_published is True
    assert config.digest.backfill_hours == 24
    assert config.digest.max_age_days == 7
    assert config.digest.misfire_grace_minutes == 60
    assert config.digest.topics == ()
    assert config.digest.role_id is None
    assert config.channels == ()
    assert config.logging.level == "INFO"


def test_empty_sections_are_defaults() -> None:
    text = "[discord]\n[database]\n[ingest]\n[topics]\n[digest]\n[logging]\n"
    assert parse(text) == parse("")


def test_config_is_frozen() -> None:
    config = parse("")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.digest.min_quality = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.topics.aliases["x"] = "y"  # type: ignore[index]


# --------------------------------------------------------------------------- finding the file


def test_resolve_prefers_cli_then_env_then_cwd(tmp_path: Path) -> None:
    env = {"NEWSBOT_CONFIG": "/etc/newsbot.toml"}
    assert resolve_config_path("c.toml", env, tmp_path) == tmp_path / "c.toml"
    assert resolve_config_path("/abs/c.toml", env, tmp_path) == Path("/abs/c.toml")
    assert resolve_config_path(None, env, tmp_path) == Path("/etc/newsbot.toml")
    assert resolve_config_path(None, {"NEWSBOT_CONFIG": "rel.toml"}, tmp_path) == (
        tmp_path / "rel.toml"
    )
    assert resolve_config_path(None, {}, tmp_path) is None
    assert resolve_config_path(None, {"NEWSBOT_CONFIG": ""}, tmp_path) is None
    (tmp_path / "config.toml").write_text("")
    assert resolve_config_path(None, {}, tmp_path) == tmp_path / "config.toml"
    assert resolve_config_path(None, env, tmp_path) == Path("/etc/newsbot.toml")


def test_resolve_rejects_empty_cli_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--config"):
        resolve_config_path("", {}, tmp_path)


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="does not exist") as info:
        load_config(missing, {})
    assert str(missing) in str(info.value)
    with pytest.raises(ConfigError, match="is not a file"):
        load_config(tmp_path, {})


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b'[logging]\nlevel = "\xff"\n')
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(path, {})


def test_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes('\ufeff[logging]\nlevel = "DEBUG"\n'.encode())
    assert load_config(path, {}).logging.level == "DEBUG"


def test_toml_syntax_error_has_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[digest]\nmin_quality = 60\nmax_items = = 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    message = str(info.value)
    assert "invalid TOML" in message
    assert "line 3" in message
    assert str(path) in message


# --------------------------------------------------------------------------- paths


def test_relative_paths_resolve_against_config_dir(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "newsbot.toml"
    path.write_text(
        '[database]\npath = "db/n.sqlite3"\n[ingest]\npaths = ["articles", "/abs/more"]\n'
    )
    config = load_config(path, {})
    assert config.source == path
    assert config.database.path == folder / "db" / "n.sqlite3"
    assert config.ingest.paths == (folder / "articles", Path("/abs/more"))


def test_default_paths_resolve_against_config_dir(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("")
    config = load_config(path, {})
    assert config.database.path == tmp_path / "data" / "newsbot.sqlite3"
    assert config.ingest.paths == (tmp_path / "seeds",)


def test_relative_paths_without_file_resolve_against_cwd() -> None:
    config = parse('[database]\npath = "x.db"\n[ingest]\npaths = ["a", "b"]\n')
    assert config.database.path == Path("/srv/bot/x.db")
    assert config.ingest.paths == (Path("/srv/bot/a"), Path("/srv/bot/b"))


def test_home_is_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/op")
    config = parse('[database]\npath = "~/n.db"\n')
    assert config.database.path == Path("/home/op/n.db")


def test_relative_source_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("c.toml").write_text("")
    config = load_config(Path("c.toml"), {})
    assert config.source == tmp_path / "c.toml"
    assert config.ingest.paths == (tmp_path / "seeds",)


# --------------------------------------------------------------------------- environment


def test_env_overrides() -> None:
    text = (
        '[discord]\ntoken = "from-file-token"\napi_base = "https://proxy.example/api"\n'
        'gateway_url = "wss://gw.example"\n'
    )
    env = {
        "DISCORD_TOKEN": "from-env-token",
        "DISCORD_API_BASE": "http://127.0.0.1:8080/api/v10/",
        "DISCORD_GATEWAY_URL": "ws://127.0.0.1:8081",
    }
    discord = parse(text, env).discord
    assert discord.token == "from-env-token"
    assert discord.api_base == "http://127.0.0.1:8080/api/v10"
    assert discord.gateway_url == "ws://127.0.0.1:8081"
    file_only = parse(text).discord
    assert file_only.token == "from-file-token"
    assert file_only.api_base == "https://proxy.example/api"
    assert file_only.gateway_url == "wss://gw.example"


def test_empty_env_values_do_not_override() -> None:
    text = '[discord]\ntoken = "from-file-token"\napi_base = "https://proxy.example"\n'
    env = {"DISCORD_TOKEN": "", "DISCORD_API_BASE": "  ", "DISCORD_GATEWAY_URL": ""}
    discord = parse(text, env).discord
    assert discord.token == "from-file-token"
    assert discord.api_base == "https://proxy.example"
    assert discord.gateway_url is None


def test_env_token_without_file() -> None:
    assert parse("", {"DISCORD_TOKEN": " abc.def \n"}).discord.token == "abc.def"
    assert parse('[discord]\ntoken = ""\n').discord.token is None


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"DISCORD_API_BASE": "ftp://x.example"}, "DISCORD_API_BASE"),
        ({"DISCORD_API_BASE": "localhost:8080"}, "DISCORD_API_BASE"),
        ({"DISCORD_GATEWAY_URL": "127.0.0.1:9"}, "DISCORD_GATEWAY_URL"),
    ],
)
def test_bad_env_urls_name_the_variable(env: dict[str, str], name: str) -> None:
    message = error("", env)
    assert name in message
    assert repr(env[name]) in message
    assert "URL like" in message


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("text", "key", "shown", "allowed"),
    [
        ("[digest]\nmin_quality = 1001", "digest.min_quality", "1001", "from 0 to 1000"),
        ("[digest]\nmin_quality = -1", "digest.min_quality", "-1", "from 0 to 1000"),
        ("[digest]\nmax_age_days = -1", "digest.max_age_days", "-1", "from 0 to 36500"),
        ("[digest]\nmax_age_days = 36501", "digest.max_age_days", "36501", "from 0 to 36500"),
        ("[digest]\nmax_age_days = 1.5", "digest.max_age_days", "1.5", "whole number"),
        ("[digest]\nmin_quality = 60.5", "digest.min_quality", "60.5", "whole number"),
        ('[digest]\nmin_quality = "60"', "digest.min_quality", "'60'", "whole number"),
        ("[digest]\nmin_quality = true", "digest.min_quality", "true", "whole number"),
        ("[digest]\nmax_items = 0", "digest.max_items", "0", "from 1 to 25"),
        ("[digest]\nmax_items = 26", "digest.max_items", "26", "from 1 to 25"),
        ('[digest]\nonly_published = "yes"', "digest.only_published", "'yes'", "true or false"),
        ("[digest]\nonly_published = 1", "digest.only_published", "1", "true or false"),
        ("[digest]\nbackfill_hours = -1", "digest.backfill_hours", "-1", "from 0"),
        ("[digest]\nbackfill_hours = inf", "digest.backfill_hours", "inf", "from 0"),
        ("[digest]\nbackfill_hours = nan", "digest.backfill_hours", "nan", "from 0"),
        ("[digest]\nmisfire_grace_minutes = 0", "digest.misfire_grace_minutes", "0", "above 0"),
        ('[digest]\ntopics = "AI"', "digest.topics", "'AI'", "list of topic names"),
        ('[digest]\ntopics = ["AI", ""]', "digest.topics[1]", "''", "non-empty topic"),
        ("[digest]\ntopics = [1]", "digest.topics[0]", "1", "non-empty topic"),
        ("[digest]\nrole_id = 0", "digest.role_id", "0", "Discord ID"),
        ('[digest]\nrole_id = "12345"', "digest.role_id", "'12345'", "without quotes"),
        ('[digest]\ntimezone = "Mars/Base"', "digest.timezone", "'Mars/Base'", "IANA name"),
        ('[digest]\ntimezone = ""', "digest.timezone", "''", "IANA time zone"),
        ('[digest]\nschedule = "dayly 9:00"', "digest.schedule", "'dayly 9:00'", "daily HH:MM"),
        ('[digest]\nschedule = "0 25 * * *"', "digest.schedule", "'0 25 * * *'", "5-field cron"),
        ("[digest]\nschedule = 9", "digest.schedule", "9", "5-field cron"),
        ("[ingest]\ninterval_minutes = 0", "ingest.interval_minutes", "0", "above 0"),
        ("[ingest]\ninterval_minutes = -5", "ingest.interval_minutes", "-5", "above 0"),
        ('[ingest]\ninterval_minutes = "5"', "ingest.interval_minutes", "'5'", "a number"),
        ("[ingest]\nmax_file_bytes = 0", "ingest.max_file_bytes", "0", ">= 1"),
        ("[ingest]\nmax_file_bytes = 1.5", "ingest.max_file_bytes", "1.5", "whole number"),
        ('[ingest]\npaths = "seeds"', "ingest.paths", "'seeds'", "a list of paths"),
        ('[ingest]\npaths = ["seeds", ""]', "ingest.paths[1]", "''", "non-empty path"),
        ("[ingest]\npaths = [3]", "ingest.paths[0]", "3", "non-empty path"),
        ("[database]\npath = 3", "database.path", "3", "non-empty path"),
        ('[database]\npath = ""', "database.path", "''", "non-empty path"),
        ('[discord]\nguild_ids = "1"', "discord.guild_ids", "'1'", "list of Discord IDs"),
        ('[discord]\nguild_ids = ["123"]', "discord.guild_ids[0]", "'123'", "without quotes"),
        ("[discord]\nowner_ids = [1, -2]", "discord.owner_ids[1]", "-2", "positive"),
        ("[discord]\nowner_ids = [true]", "discord.owner_ids[0]", "true", "positive"),
        (
            '[discord]\napi_base = "discord.com/api"',
            "discord.api_base",
            "'discord.com/api'",
            "http",
        ),
        ('[discord]\napi_base = "file:///x"', "discord.api_base", "'file:///x'", "http or https"),
        ("[discord]\napi_base = 5", "discord.api_base", "5", "http or https URL"),
        ('[discord]\napi_base = "http://"', "discord.api_base", "'http://'", "http"),
        ('[discord]\ngateway_url = "ftp://x"', "discord.gateway_url", "'ftp://x'", "ws or wss"),
        ('[logging]\nlevel = "LOUD"', "logging.level", "'LOUD'", "DEBUG, INFO, WARNING"),
        ("[logging]\nlevel = 10", "logging.level", "10", "one of DEBUG"),
        ("logging = 3", "logging", "3", "a table"),
        ("[topics]\naliases = []", "topics.aliases", "[]", "a table of name = topic"),
        ('[topics]\naliases = { "NLP" = "" }', 'topics.aliases."NLP"', "''", "non-empty topic"),
        ('[topics]\naliases = { "NLP" = 3 }', 'topics.aliases."NLP"', "3", "non-empty topic"),
    ],
)
def test_validation_errors_name_key_value_and_allowed(
    text: str, key: str, shown: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text)
    message = str(info.value)
    assert f"invalid {key} = {shown}" in message
    assert allowed in message
    assert info.value.key == key


def test_accepted_values() -> None:
    config = parse(
        """
        [discord]
        guild_ids = [111, 222, 111]
        owner_ids = [333]
        api_base = "https://proxy.example/api/v10"
        [ingest]
        interval_minutes = 0.5
        max_file_bytes = 10
        [digest]
        schedule = "daily 07:30"
        timezone = "Europe/Berlin"
        min_quality = 1000
        max_items = 25
        max_age_days = 0
        only_published = false
        backfill_hours = 0
        misfire_grace_minutes = 5
        topics = ["AI", "ai", "Robotics"]
        role_id = 444
        [logging]
        level = "debug"
        """
    )
    assert config.discord.guild_ids == (111, 222)
    assert config.discord.owner_ids == (333,)
    assert config.ingest.interval_minutes == 0.5
    assert config.digest == DigestSettings(
        schedule="daily 07:30",
        timezone="Europe/Berlin",
        min_quality=1000,
        max_items=25,
        max_age_days=0,
        only_published=False,
        backfill_hours=0,
        misfire_grace_minutes=5,
        topics=("AI", "Robotics"),
        role_id=444,
    )
    assert config.logging.level == "DEBUG"


def test_schedule_is_checked_in_its_time_zone() -> None:
    message = error('[digest]\nschedule = "daily 9:00"\ntimezone = "Nowhere/Land"\n')
    assert "digest.timezone" in message
    assert "'Nowhere/Land'" in message


# --------------------------------------------------------------------------- unknown keys


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[digest]\nmin_qualty = 70",
            "unknown key 'digest.min_qualty'; did you mean 'min_quality'?",
        ),
        ("[dicord]\ntoken = 'x'", "unknown key 'dicord'; did you mean 'discord'?"),
        ("[ingest]\npath = ['x']", "unknown key 'ingest.path'; did you mean 'paths'?"),
        ("[logging]\nlvl = 'INFO'", "unknown key 'logging.lvl'; did you mean 'level'?"),
        (
            "[[digest.channels]]\nchannel_id = 1\nmax_item = 3",
            "unknown key 'digest.channels[0].max_item'; did you mean 'max_items'?",
        ),
        (
            "[[digest.channels]]\nchanel_id = 1",
            "unknown key 'digest.channels[0].chanel_id'; did you mean 'channel_id'?",
        ),
        ("[digest]\nchanels = []", "unknown key 'digest.chanels'; did you mean 'channels'?"),
        ("[topics]\nalias = {}", "unknown key 'topics.alias'; did you mean 'aliases'?"),
    ],
)
def test_unknown_key_suggests(text: str, expected: str) -> None:
    assert expected in error(text)


def test_unknown_key_without_close_match_lists_known_keys() -> None:
    message = error("[database]\nbananas = 1")
    assert "unknown key 'database.bananas'" in message
    assert "known keys: path" in message
    message = error("zzzz = 1")
    assert "unknown key 'zzzz'" in message
    assert "discord" in message


def test_every_known_key_is_accepted() -> None:
    # guards the key lists against drifting from the readers
    for section, keys in SECTION_KEYS.items():
        for key in keys:
            assert f"unknown key '{section}.{key}'" not in _maybe_error(f"[{section}]\n{key} = 0")
    for key in CHANNEL_KEYS:
        text = f"[[digest.channels]]\n{key} = 0"
        assert "unknown key" not in _maybe_error(text)


def _maybe_error(text: str) -> str:
    try:
        parse(text)
    except ConfigError as exc:
        return str(exc)
    return ""


# --------------------------------------------------------------------------- channels


def test_channels_inherit_and_override() -> None:
    config = parse(
        """
        [digest]
        min_quality = 70
        timezone = "Europe/Berlin"
        topics = ["AI"]

        [[digest.channels]]
        channel_id = 1001

        [[digest.channels]]
        channel_id = 1002
        schedule = "daily 08:30"
        timezone = "America/New_York"
        topics = []
        max_items = 3
        role_id = 55
        """
    )
    first, second = config.channels
    assert first == ChannelConfig(1001, config.digest)
    assert second.channel_id == 1002
    assert second.settings == DigestSettings(
        schedule="daily 08:30",
        timezone="America/New_York",
        min_quality=70,
        max_items=3,
        topics=(),
        role_id=55,
    )
    assert config.channel(1002) is second
    assert config.channel(999) is None


def test_channel_schedule_checked_with_inherited_time_zone() -> None:
    # the default schedule is fine; a channel's own schedule is checked too
    message = error('[[digest.channels]]\nchannel_id = 1\nschedule = "daily 25:00"\n')
    assert "invalid digest.channels[0].schedule = 'daily 25:00'" in message


def test_channel_errors_name_the_entry() -> None:
    message = error(
        "[[digest.channels]]\nchannel_id = 1\n"
        "[[digest.channels]]\nchannel_id = 2\nmin_quality = 1001"
    )
    assert "digest.channels[1].min_quality = 1001" in message
    message = error("[[digest.channels]]\nchannel_id = 1\nmax_age_days = -7")
    assert "digest.channels[0].max_age_days = -7" in message
    message = error("[[digest.channels]]\nchannel_id = 1\n[[digest.channels]]\nmax_items = 3")
    assert "digest.channels[1] has no channel_id" in message


def test_duplicate_channel_ids() -> None:
    message = error("[[digest.channels]]\nchannel_id = 7\n[[digest.channels]]\nchannel_id = 7\n")
    assert "invalid digest.channels[1].channel_id = 7" in message
    assert "digest.channels[0]" in message


@pytest.mark.parametrize(
    ("value", "shown"), [("0", "0"), ("-3", "-3"), ('"123"', "'123'"), ("1.5", "1.5")]
)
def test_bad_channel_id(value: str, shown: str) -> None:
    message = error(f"[[digest.channels]]\nchannel_id = {value}\n")
    assert f"invalid digest.channels[0].channel_id = {shown}" in message


def test_channels_must_be_array_of_tables() -> None:
    assert "[[digest.channels]]" in error("[digest.channels]\nchannel_id = 1\n")
    assert "[[digest.channels]]" in error("[digest]\nchannels = [1, 2]\n")


# --------------------------------------------------------------------------- topics


def test_aliases_and_canonical() -> None:
    config = parse(
        '[topics.aliases]\n"Artificial Intelligence" = "AI"\n'
        '"NLP" = "Natural Language Processing"\n'
    )
    topics = config.topics
    assert dict(topics.aliases) == {
        "Artificial Intelligence": "AI",
        "NLP": "Natural Language Processing",
    }
    assert topics.canonical("artificial intelligence") == "AI"
    assert topics.canonical("  ARTIFICIAL INTELLIGENCE ") == "AI"
    assert topics.canonical("nlp") == "Natural Language Processing"
    assert topics.canonical("Robotics") == "Robotics"
    assert TopicsConfig().canonical("AI") == "AI"


def test_alias_conflicts_and_chains() -> None:
    message = error('[topics.aliases]\n"ML" = "Machine Learning"\n"ml" = "Robotics"\n')
    assert "differ only in case" in message
    message = error('[topics.aliases]\n"A" = "B"\n"B" = "C"\n')
    assert "is itself an alias" in message
    # mapping only the spelling of a topic onto itself is fine
    assert parse('[topics.aliases]\n"ai" = "AI"\n').topics.canonical("Ai") == "AI"


# --------------------------------------------------------------------------- the example file


def test_example_file_is_valid() -> None:
    config = load_config(EXAMPLE, {})
    assert config.source == EXAMPLE
    assert config.topics.canonical("Artificial Intelligence") == "AI"
    assert config.topics.canonical("NLP") == "Natural Language Processing"
    assert config.channels == ()  # the channel example is commented out
    assert config.discord.token is None
    assert config.digest == DigestSettings()  # it shows the defaults
    assert config.database.path == ROOT / "data" / "newsbot.sqlite3"
    assert config.ingest.paths == (ROOT / "seeds",)


def test_example_file_documents_every_key() -> None:
    text = EXAMPLE.read_text()
    for section, keys in SECTION_KEYS.items():
        assert f"[{section}]" in text
        for key in keys:
            if key in ("channels", "sources"):
                assert f"[[{section}.{key}]]" in text
                continue
            line = re.search(rf"^#? ?{key} = ", text, re.MULTILINE)
            assert line, f"config.example.toml does not show {section}.{key}"
            comment = text[: line.start()].rstrip("\n").rsplit("\n", 1)[-1]
            assert comment.startswith("#"), f"{section}.{key} has no comment above it"


def test_example_channel_block_is_valid_when_uncommented() -> None:
    text = EXAMPLE.read_text()
    start = text.index("# [[digest.channels]]")
    end = text.index("\n\n", start)
    block = re.sub(
        r"^# (\[\[digest\.channels\]\]|channel_id|schedule|timezone|topics|min_quality)",
        r"\1",
        text[start:end],
        flags=re.MULTILINE,
    )
    config = parse(text[:start] + block + text[end:])
    assert len(config.channels) == 1
    assert config.channels[0].settings.timezone == "Europe/Berlin"


def test_example_feed_source_is_valid_when_uncommented() -> None:
    text = EXAMPLE.read_text()
    start = text.index("# [[feeds.sources]]")
    end = text.index("\n\n", start)
    block = re.sub(r"^# (\[\[|\w+ = )", r"\1", text[start:end], flags=re.MULTILINE)
    config = parse(text[:start] + block + text[end:])
    (source,) = config.feeds.sources
    assert source.url == "https://example.org/feed.xml"
    assert source.name == "Example News"
    assert source.topics == ("AI",)
    assert (source.quality, source.interval_minutes) == (70, 15)
    assert config.feeds.quality_of(source) == 70
    assert config.feeds.interval_of(source) == 15


# --------------------------------------------------------------------------- secrets


def test_token_masked_in_repr_and_render() -> None:
    config = parse(f'[discord]\ntoken = "{TOKEN}"\n')
    assert config.discord.token == TOKEN
    for text in (repr(config), str(config), repr(config.discord), str(config.discord)):
        assert TOKEN not in text
        assert "********" in text
    rendered = render_config(config)
    assert TOKEN not in rendered
    assert TOKEN[-4:] not in rendered
    assert 'token = "********"' in rendered
    assert "(set)" in rendered
    assert "max_age_days = 7" in rendered  # check-config shows every [digest] key


def test_env_token_masked_in_render() -> None:
    rendered = render_config(parse("", {"DISCORD_TOKEN": TOKEN}))
    assert TOKEN not in rendered
    assert "(set)" in rendered
    unset = render_config(parse(""))
    assert "token is not set" in unset


@pytest.mark.parametrize(
    "text",
    [
        f'[discord]\ntoken = "{TOKEN}"\nguild_ids = "{TOKEN}"\n',
        f'[discord]\ntoken = "{TOKEN}"\napi_base = "{TOKEN}"\n',
        f'[discord]\ntoken = "{TOKEN}"\n[logging]\nlevel = "{TOKEN}"\n',
        f'[discord]\ntokn = "{TOKEN}"\n',
        f'[discord]\ntoken = ["{TOKEN}"]\n',
        f'[discord]\ntoken = "{TOKEN}"\n[[digest.channels]]\nchannel_id = "{TOKEN}"\n',
        f'[discord]\ntoken = "{TOKEN}\n',  # TOML syntax error: unterminated string
    ],
)
def test_token_never_in_error_messages(text: str) -> None:
    message = error(text)
    assert TOKEN not in message
    assert TOKEN[:20] not in message


def test_env_token_never_in_error_messages() -> None:
    message = error(f'[logging]\nlevel = "{TOKEN}"\n', {"DISCORD_TOKEN": TOKEN})
    assert TOKEN not in message
    assert "logging.level" in message


def test_bad_token_type_is_explained() -> None:
    message = error("[discord]\ntoken = 12345678\n")
    assert "discord.token" in message
    assert "12345678" not in message
    assert "DISCORD_TOKEN" in message


# --------------------------------------------------------------------------- rendering


def test_render_round_trips(tmp_path: Path) -> None:
    config = parse(
        """
        [discord]
        guild_ids = [1, 2]
        api_base = "http://127.0.0.1:9/api"
        gateway_url = "ws://127.0.0.1:10"
        [database]
        path = "d b/x \\"q\\".db"
        [ingest]
        paths = ["a", "b"]
        interval_minutes = 2.5
        [topics.aliases]
        "Tab\\there" = "Quote \\" and \\\\ slash"
        "Ünïcødé" = "Smörgåsbord"
        [digest]
        schedule = "daily 10:00"
        role_id = 9
        [[digest.channels]]
        channel_id = 5
        timezone = "Asia/Tokyo"
        topics = ["AI"]
        [[digest.channels]]
        channel_id = 6
        [logging]
        level = "WARNING"
        """,
        tmp=tmp_path,
    )
    rendered = render_config(config)
    again = parse_config(rendered, {}, None, cwd=Path("/elsewhere"))
    assert again == config


def test_render_shows_source(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("")
    assert str(path) in render_config(load_config(path, {}))
    assert "built-in defaults" in render_config(parse(""))


@given(
    st.dictionaries(
        st.text(min_size=1).filter(lambda s: s.strip() != ""),
        st.text(min_size=1).filter(lambda s: s.strip() != "" and "\x00" not in s),
        max_size=4,
    )
)
def test_render_escapes_any_alias_text(aliases: dict[str, str]) -> None:
    folded = {k.strip().casefold() for k in aliases}
    targets = {v.strip().casefold() for v in aliases.values()}
    if len(folded) != len(aliases) or folded & targets:
        return  # case clashes and alias chains are rejected by design
    config = Config(topics=TopicsConfig({k: v.strip() for k, v in aliases.items()}))
    again = parse_config(render_config(config), {}, None, cwd=Path("/"))
    assert dict(again.topics.aliases) == dict(config.topics.aliases)


# --------------------------------------------------------------------------- [database] url
PG_PASSWORD = "pg-s3cret-pass"
PG_URL = f"postgresql://newsbot:{PG_PASSWORD}@db.example:5432/newsbot"


def test_database_url_selects_postgresql_and_env_wins():
    assert parse("").database.url is None
    assert parse(f'[database]\nurl = "{PG_URL}"\n').database.url == PG_URL
    env_url = "postgres://other@db2.example/news"
    config = parse(f'[database]\nurl = "{PG_URL}"\n', {"NEWSBOT_DATABASE_URL": env_url})
    assert config.database.url == env_url
    assert parse("", {"NEWSBOT_DATABASE_URL": "  "}).database.url is None


@pytest.mark.parametrize(
    "value",
    ['"mysql://u:p@h/db"', '"sqlite:///x.db"', '"db.example:5432"', "5432", '"postgresql://a b"'],
)
def test_database_url_must_be_postgresql(value: str):
    message = error(f"[database]\nurl = {value}\n")
    assert "database.url" in message
    assert "postgresql://" in message


def test_database_password_masked_everywhere():
    config = parse(f'[database]\nurl = "{PG_URL}"\n')
    shown = [repr(config), str(config.database), render_config(config), config.database.shown]
    for text in shown:
        assert PG_PASSWORD not in text
    assert "postgresql://newsbot:********@db.example:5432/newsbot" in render_config(config)
    # in an error about the URL itself, and in an error about another key
    bad = f"mysql://newsbot:{PG_PASSWORD}@db.example/newsbot"
    assert PG_PASSWORD not in error(f'[database]\nurl = "{bad}"\n')
    assert PG_PASSWORD not in error(
        f'[database]\nurl = "{PG_URL}"\n[ingest]\npaths = "{PG_PASSWORD}"\n'
    )
    query = "postgresql://db.example/newsbot?sslmode=require&password=" + PG_PASSWORD
    assert PG_PASSWORD not in parse("", {"NEWSBOT_DATABASE_URL": query}).database.shown
