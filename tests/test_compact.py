"""The compact digest layout: Discord's limits for any stories, 25 in at most two messages,
titles that cannot break the list or ping, a valid stories select under each message."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.articles import Article, Provider, StoryEntry, canonical_url
from bot.render import LIMITS, compact_payloads, digest_messages, embed_length
from bot.render.compact import LINE_MAX, story_line

T0 = datetime(2026, 11, 1, tzinfo=UTC)
NASTY = "*_~`|[]()<>#\\@everyone @here <@&1> <@2> \n\u202e](javascript:x) "


def entry(n: int, title: str, url: str, provider: str, also: tuple[str, ...]) -> StoryEntry:
    article = Article(
        url=url,
        canonical_url=canonical_url(url) if url.startswith("http") else url,
        title=title,
        published_at=T0,
        quality=float(n) + 0.5,
        published=True,
        provider=Provider(name=provider),
    )
    return StoryEntry(n + 1, article, also)


urls = st.one_of(
    st.builds(lambda path: f"https://example.org/{path}", st.text(NASTY + "ab/", max_size=400)),
    st.just("ftp://example.org/x"),
    st.just("javascript:alert(1)"),
)
entries_strategy = st.lists(
    st.tuples(
        st.text(NASTY + "abc ", min_size=1, max_size=400),
        urls,
        st.text(NASTY + "xyz", max_size=120),
        st.lists(st.text(NASTY + "q", max_size=40), max_size=8),
    ),
    min_size=1,
    max_size=25,
)


def check_message(payload, role_id: int | None = None) -> None:
    assert len(payload["content"]) <= LIMITS.content
    assert 1 <= len(payload["embeds"]) <= LIMITS.embeds
    assert sum(embed_length(e) for e in payload["embeds"]) <= LIMITS.embed_total
    assert all(len(e["description"]) <= LIMITS.description for e in payload["embeds"])
    [row] = payload["components"]
    [menu] = row["components"]
    assert menu["type"] == 3 and len(menu["custom_id"]) <= 100 and len(menu["placeholder"]) <= 150
    assert 1 <= len(menu["options"]) <= 25
    values = [o["value"] for o in menu["options"]]
    assert len(values) == len(set(values))
    for option in menu["options"]:
        assert 1 <= len(option["label"]) <= 100 and 1 <= len(option["value"]) <= 100
        assert len(option.get("description", "")) <= 100


@settings(max_examples=60, deadline=None)
@given(entries_strategy, st.integers(0, 50))
def test_any_stories_fit_discords_limits_in_order(items, more):
    entries = [entry(n, *item) for n, item in enumerate(items)]
    messages = compact_payloads(entries, more=more, heading="**News digest**")
    assert sum(count for _, count in messages) == len(entries)
    assert len(messages) <= 2  # 25 lines of at most LINE_MAX fit in two messages
    lines = []
    for payload, count in messages:
        check_message(payload)
        shown = [ln for e in payload["embeds"] for ln in e["description"].split("\n")]
        assert len(shown) == count
        lines += shown
        assert payload["allowed_mentions"] == {"parse": [], "replied_user": False}
    for number, line in enumerate(lines, 1):
        assert line.startswith(f"{number}. ") and len(line) <= LINE_MAX
        assert "@everyone" not in line and not re.search(r"(?<!\\)<@(?!\u200b)", line)
    assert (f"and {more} more" in (messages[-1][0]["content"] or "")) is (more > 0)


def test_twenty_five_longest_lines_take_two_messages_at_most():
    url = "https://example.org/" + "p" * 140  # 160 characters: the longest linked
    entries = [entry(n, "*" * 300, url, "_" * 100, ("~" * 50,) * 5) for n in range(25)]
    lines = [story_line(n, e) for n, e in enumerate(entries, 1)]
    assert all(LINE_MAX - 30 <= len(line) <= LINE_MAX for line in lines)
    messages = compact_payloads(entries, more=0, heading="h")
    assert len(messages) == 2 and sum(c for _, c in messages) == 25


def test_a_line_links_its_title_and_escapes_what_would_break_it():
    line = story_line(
        3,
        entry(7, "Big *news* [1](x)", "https://example.org/a_(b)", "Prov", ("Other", "More")),
    )
    assert line == (
        r"3. [Big \*news\* \[1\]\(x\)](https://example.org/a_%28b%29) · Prov · quality 7.5"
        " · also: Other, More"
    )
    unlinked = story_line(1, entry(1, "T", "javascript:alert(1)", "P", ()))
    assert unlinked.startswith("1. T · P") and "javascript" not in unlinked


def test_role_mention_on_the_first_message_only_and_select_values_carry_the_check():
    entries = [entry(n, f"Story {n}", f"https://example.org/{n}", "P", ()) for n in range(25)]
    messages = digest_messages(entries, layout="compact", more=0, heading="h", mention_role_id=77)
    first = messages[0].payload
    assert (first["content"] or "").startswith("<@&77> ")
    assert first["allowed_mentions"] == {"parse": [], "roles": ["77"], "replied_user": False}
    for message in messages[1:]:
        assert "<@&" not in (message.payload["content"] or "")
    menu: dict[str, Any] = dict(first["components"][0]["components"][0])
    option = menu["options"][0]
    assert re.fullmatch(r"1:[0-9a-f]{8}", option["value"])
    cards = digest_messages(entries, layout="cards", more=0, heading="h")
    assert sum(m.stories for m in cards) == 25
