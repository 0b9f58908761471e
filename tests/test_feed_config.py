"""[feeds] and [[feeds.sources]]: defaults, overrides, and every bad value refused with its key."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, FeedsConfig, parse_config, render_config


def test_defaults_and_per_feed_overrides() -> None:
    config = parse_config(
        "[feeds]\ninterval_minutes = 10\nquality = 55\n"
        '[[feeds.sources]]\nurl = "https://a.example/feed.xml"\n'
        '[[feeds.sources]]\nurl = "http://b.example/rss?x=1"\nname = "B"\ntopics = ["AI", "ai"]\n'
        "quality = 90\ninterval_minutes = 2.5\n",
        {},
    )
    a, b = config.feeds.sources
    assert (config.feeds.quality_of(a), config.feeds.interval_of(a)) == (55, 10)
    assert (b.name, b.topics, config.feeds.quality_of(b), config.feeds.interval_of(b)) == (
        "B", ("AI",), 90, 2.5,
    )  # fmt: skip
    assert parse_config("", {}).feeds == FeedsConfig()
    again = parse_config(render_config(config), {})
    assert again.feeds == config.feeds  # check-config prints what loads back the same


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[[feeds.sources]]\nurl = "file:///etc/passwd"', "feeds.sources[0].url"),
        ('[[feeds.sources]]\nurl = "javascript:alert(1)"', "feeds.sources[0].url"),
        ('[[feeds.sources]]\nurl = "https://"', "feeds.sources[0].url"),
        ('[[feeds.sources]]\nname = "no url"', "feeds.sources[0].url"),
        (
            '[[feeds.sources]]\nurl = "https://a"\n[[feeds.sources]]\nurl = "https://a"',
            "feeds.sources[1].url",
        ),
        ('[[feeds.sources]]\nurl = "https://a"\nqualty = 5', "feeds.sources[0].qualty"),
        ('[[feeds.sources]]\nurl = "https://a"\nquality = -1', "feeds.sources[0].quality"),
        (
            '[[feeds.sources]]\nurl = "https://a"\ninterval_minutes = 0',
            "feeds.sources[0].interval_minutes",
        ),
        ('[[feeds.sources]]\nurl = "https://a"\ntopics = "AI"', "feeds.sources[0].topics"),
        ("[feeds]\nsources = 3", "feeds.sources"),
        ("[feeds]\nmax_bytes = 0", "feeds.max_bytes"),
        ("[feeds]\ntimeout_seconds = 0", "feeds.timeout_seconds"),
        ("[feeds]\nquality = 1001", "feeds.quality"),
        ('[feeds]\nuser_agent = ""', "feeds.user_agent"),
        ('[feeds]\nuser_agent = "two\\nlines"', "feeds.user_agent"),
        ("[feeds]\nintervals = 3", "feeds.intervals"),
    ],
)
def test_bad_values_name_their_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, {})
    assert caught.value.key == key
    assert key.rsplit(".", 1)[0] in str(caught.value)
