"""/news end to end: the real bot in a subprocess against the local Discord stub.

Every scenario also checks what Discord would have said: no request refused (no 400 from the
stub), nothing crashed in the stub, and no message that could ping anyone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main as cli_main
from tests.discord_stub import DiscordStub, Reply, UserSpec
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.replies import CHANNEL_MESSAGE, UPDATE_MESSAGE
from tests.discord_stub.validation import check_choices, check_message
from tests.discord_stub.world import (
    ADMIN,
    ADMIN_ROLE_ID,
    GUILD_ID,
    MEMBER,
    NEWS_CHANNEL_ID,
    OWNER,
)
from tests.fixtures.articles import article_file
from tests.fixtures.seeds import COINDESK, GIZMODO, GIZMODO_URL
from tests.fixtures.seeds import SEED_TITLES as AI_TITLES

ROBOTICS = "Robots learn to fold laundry"
NEWS = {"topic", "related", "search", "latest", "topics"}


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def articles(articles: Path) -> Path:
    """The seeds, the Gizmodo story's Australian URL as a file on AI (so the story is on AI at
    two URLs and named at a third), and a Robotics article."""
    article_file(
        articles,
        "gizmodo_au",
        "Let’s Kill Facial Recognition For Good",
        url="https://www.gizmodo.com.au/2020/06/lets-kill-facial-recognition-for-good/",
        quality=60,
        published=False,
        when="2020-06-25T21:00:00Z",
        provider="Gizmodo Australia",
    )
    article_file(articles, "robots", ROBOTICS, topics=("Robotics",), quality=80)
    return articles


async def run(stub: DiscordStub, name: str, user: UserSpec = MEMBER, **options: Any) -> Reply:
    reply = await stub.invoke(
        f"news {name}", options, guild_id=GUILD_ID, channel_id=NEWS_CHANNEL_ID, user=user
    )
    return await reply.wait(timeout=15)


def titles(reply_or_message: Reply | dict[str, Any]) -> list[str]:
    if isinstance(reply_or_message, Reply):
        return [e.get("title", "") for e in reply_or_message.embeds]
    return [e.get("title", "") for e in reply_or_message.get("embeds") or []]


def embed_titled(reply: Reply, title: str) -> dict[str, Any]:
    [found] = [e for e in reply.embeds if e.get("title") == title]
    return found


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message.get("components") or [] for c in row.get("components", [])]


def button(message: dict[str, Any], label_start: str) -> dict[str, Any]:
    [found] = [b for b in buttons(message) if str(b.get("label", "")).startswith(label_start)]
    return found


def now_showing(stub: DiscordStub, message: dict[str, Any]) -> dict[str, Any]:
    """`message` as the stub holds it now, after the edits a button made."""
    current = stub.message(message["id"])
    assert current is not None, message["id"]
    return current


def answered_in_time(reply: Reply) -> None:
    """The first response came within Discord's 3 s, was accepted, and was a real answer."""
    first = reply.events[0]
    assert first.kind == "callback" and first.status == 200, reply
    assert first.at < 3.0, reply
    assert reply.rejected == [], reply.rejected


def valid(message: dict[str, Any]) -> None:
    """What Discord checks on a message, run again over what the stub stored."""
    body = {k: message[k] for k in ("content", "embeds", "components") if k in message}
    assert check_message(body) is None, check_message(body)


def assert_discord_happy(stub: DiscordStub) -> None:
    assert stub.errors == [], stub.errors
    refused = [(r.method, r.path, r.status, r.response) for r in stub.requests if r.status >= 400]
    assert refused == []
    rejected = [(i.name, i.rejected) for i in stub.interactions if i.rejected]
    assert rejected == []


def assert_no_pings(stub: DiscordStub) -> None:
    messages = stub.messages(NEWS_CHANNEL_ID, include_ephemeral=True)
    assert messages
    for message in messages:
        mentions = message["allowed_mentions"]
        assert mentions is not None, message
        assert mentions.get("parse") == [], mentions
        assert not mentions.get("roles") and not mentions.get("users"), mentions
        assert mentions.get("replied_user") in (None, False), mentions


# --------------------------------------------------------------------------- registration, topic


async def test_news_registered_and_topic_ai_answers_each_story_once(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    for n in range(30):  # more topics matching "a" than one autocomplete answer may hold
        article_file(articles, f"area{n}", f"Area report {n}", topics=(f"Area {n}",))
    await newsbot.start(articles_dir=articles, ingested=True)

    news = discord_stub.command("news", GUILD_ID) or discord_stub.command("news")
    assert news is not None
    subs = {o["name"]: o for o in news["options"]}
    assert set(subs) == NEWS
    for sub in subs.values():
        assert sub["type"] == 1 and sub["description"]
        for option in sub.get("options", []):
            assert option["description"] not in ("", "…"), (sub["name"], option["name"])
    auto = {
        (s, o["name"]) for s, sub in subs.items() for o in sub["options"] if o.get("autocomplete")
    }
    assert auto == {("topic", "topic"), ("related", "article"), ("latest", "topic")}

    reply = await run(discord_stub, "topic", topic="AI")
    answered_in_time(reply)
    assert reply.callback_type == CHANNEL_MESSAGE and not reply.ephemeral
    valid(reply.final)
    shown = titles(reply)
    assert sorted(shown) == sorted(AI_TITLES)  # the Gizmodo story (AI at two URLs) once
    gizmodo = embed_titled(reply, GIZMODO)
    assert gizmodo["url"] == GIZMODO_URL  # its best article
    also = gizmodo["description"].splitlines()[-1]
    assert also.startswith("also: ") and "paleofuture.gizmodo" in also
    assert "Gizmodo Australia" in also
    for embed in reply.embeds:  # DESIGN §2: every article embed
        assert embed["url"].startswith("https://") and embed["author"]["name"]
        assert embed["timestamp"] and embed["footer"]["text"].startswith("quality ")
    related = [b["custom_id"] for b in buttons(reply.final)]
    assert len(related) == len(shown) and all(c.startswith("newsbot:related:") for c in related)

    choices = await discord_stub.autocomplete("news topic", {"topic": "a"}, focused="topic")
    assert len(choices) == 25  # 31 topics match "a": capped at Discord's 25
    assert choices[0] == {"name": "AI (6)", "value": "AI"}
    assert check_choices({"choices": choices}) is None
    latest = await discord_stub.autocomplete("news latest", {"topic": "rob"}, focused="topic")
    assert [c["value"] for c in latest] == ["Robotics"]
    assert_discord_happy(discord_stub)
    assert_no_pings(discord_stub)


async def test_related_both_directions_with_the_other_providers(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(articles_dir=articles, ingested=True)
    choices = await discord_stub.autocomplete(
        "news related", {"article": "digital mas"}, focused="article"
    )
    assert choices and choices[0]["name"] == COINDESK
    coindesk_id = choices[0]["value"]
    assert coindesk_id.isdigit()

    # CoinDesk's file names the Gizmodo story's URLs: its related list shows the story once
    reply = await run(discord_stub, "related", article=coindesk_id)
    answered_in_time(reply)
    valid(reply.final)
    assert reply.content == "1 related article"
    assert titles(reply) == [COINDESK, GIZMODO]
    also = embed_titled(reply, GIZMODO)["description"].splitlines()[-1]
    assert also.startswith("also: ") and "Gizmodo" in also and "Gizmodo Australia" in also
    # the related article has its own Related button (the article itself does not)
    [related_button] = buttons(reply.final)
    assert related_button["custom_id"].startswith("newsbot:related:")
    assert not related_button["custom_id"].startswith(f"newsbot:related:{coindesk_id}:")

    # the reverse direction: Gizmodo's related list holds CoinDesk, and who else told it
    back = await run(discord_stub, "related", article=GIZMODO_URL)
    answered_in_time(back)
    valid(back.final)
    assert titles(back)[0] == GIZMODO and COINDESK in titles(back)
    told = embed_titled(back, "Also told by")["description"]
    assert "paleofuture.gizmodo.com" in told and "gizmodo.com.au" in told

    # a Related button of the answer works too: it opens CoinDesk from the Gizmodo side
    [coindesk_button] = [
        b["custom_id"]
        for b in buttons(back.final)
        if b["custom_id"].startswith(f"newsbot:related:{coindesk_id}:")
    ]
    opened = await (await discord_stub.click(back.final, coindesk_button)).wait(timeout=15)
    assert opened.ephemeral and titles(opened)[0] == COINDESK
    assert_discord_happy(discord_stub)
    assert_no_pings(discord_stub)


async def test_typo_suggests_and_search_latest_topics_answer(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(articles_dir=articles, ingested=True)
    typo = await run(discord_stub, "topic", topic="Robotcs")
    answered_in_time(typo)
    assert typo.ephemeral and typo.embeds == []
    assert "'Robotcs'" in typo.content and "did you mean Robotics?" in typo.content

    search = await run(discord_stub, "search", query="digital masks")
    answered_in_time(search)
    assert not search.ephemeral and titles(search)[0] == COINDESK
    assert search.content.startswith("Search: 'digital masks'")
    valid(search.final)

    latest = await run(discord_stub, "latest")
    answered_in_time(latest)
    # published and at the digest's quality bar (60): not the unpublished Gizmodo (74)
    assert set(titles(latest)) == {COINDESK, ROBOTICS}
    valid(latest.final)
    on_topic = await run(discord_stub, "latest", topic="robotics")
    assert titles(on_topic) == [ROBOTICS]

    topics = await run(discord_stub, "topics")
    answered_in_time(topics)
    [embed] = topics.embeds
    lines = embed["description"].splitlines()
    assert lines[:2] == ["AI · 6", "Computer Vision · 4"] and "Robotics · 1" in lines
    valid(topics.final)

    # ten members at once, and autocomplete while they wait: every one answered in time
    burst = [
        await discord_stub.invoke(
            "news topic", {"topic": "AI"}, guild_id=GUILD_ID, channel_id=NEWS_CHANNEL_ID
        )
        for _ in range(10)
    ]
    choices = await discord_stub.autocomplete("news topic", {"topic": "comp"}, focused="topic")
    assert [c["value"] for c in choices] == ["Computer Vision"]
    for reply in burst:
        await reply.wait(timeout=15)
        answered_in_time(reply)
        assert sorted(titles(reply)) == sorted(AI_TITLES)

    # the owner tools answer their owner only, ephemerally
    refused = await discord_stub.invoke("newsbot status", {}, guild_id=GUILD_ID, user=MEMBER)
    await refused.wait()
    assert refused.ephemeral and "owners" in refused.content
    status = await discord_stub.invoke("newsbot status", {}, guild_id=GUILD_ID, user=OWNER)
    await status.wait()
    assert status.ephemeral and "**articles**: 19" in status.content, status.content
    assert_discord_happy(discord_stub)
    assert_no_pings(discord_stub)


# --------------------------------------------------------------------------- buttons


async def test_pages_turn_for_their_owner_only(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    for n in range(12):  # 5 + 1 + 12 = 18 AI stories: three pages of 5 for count 15
        article_file(articles, f"page{n:02}", f"Paged story {n:02}", when=f"2024-05-{n + 1:02}")
    await newsbot.start(articles_dir=articles, ingested=True)
    reply = await run(discord_stub, "topic", topic="AI", count=15)
    answered_in_time(reply)
    first = reply.final
    assert first["content"].endswith("page 1/3") and len(first["embeds"]) == 5
    assert button(first, "◀").get("disabled") is True
    assert button(first, "1/3").get("disabled") is True

    turn = await (await discord_stub.click(first, button(first, "Next")["custom_id"])).wait()
    assert turn.callback_type == UPDATE_MESSAGE and turn.rejected == []
    second = now_showing(discord_stub, first)
    assert second["content"].endswith("page 2/3")
    assert len(second["embeds"]) == 5 and not set(titles(second)) & set(titles(first))
    valid(second)
    assert second["allowed_mentions"]["parse"] == []
    assert [b["custom_id"] for b in buttons(second) if b["custom_id"].startswith("newsbot:")]

    # another member presses Next: refused, ephemerally, and the page does not move
    other = await discord_stub.click(second, button(second, "Next")["custom_id"], user=ADMIN)
    await other.wait()
    assert other.callback_type == CHANNEL_MESSAGE and other.ephemeral
    assert "Only the member who ran the command" in other.content
    assert now_showing(discord_stub, first)["content"].endswith("page 2/3")

    # the owner goes on to the last page, then back
    last = await (await discord_stub.click(second, button(second, "Next")["custom_id"])).wait()
    assert last.rejected == []
    third = now_showing(discord_stub, first)
    assert third["content"].endswith("page 3/3") and len(third["embeds"]) == 5
    assert button(third, "Next").get("disabled") is True
    back = await (await discord_stub.click(third, button(third, "◀")["custom_id"])).wait()
    assert back.rejected == []
    assert now_showing(discord_stub, first)["content"].endswith("page 2/3")
    shown = titles(first) + titles(second) + titles(third)
    assert len(shown) == len(set(shown)) == 15

    # after a restart the pages are gone: a click is answered, not left to fail
    await newsbot.restart()
    current = now_showing(discord_stub, first)
    stale = await discord_stub.click(current, button(current, "Next")["custom_id"])
    await stale.wait(timeout=15)
    answered_in_time(stale)
    assert stale.ephemeral and "expired" in stale.content, stale
    assert now_showing(discord_stub, first)["content"].endswith("page 2/3")
    assert_discord_happy(discord_stub)
    assert_no_pings(discord_stub)


async def test_related_button_works_after_a_restart(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path, tmp_path: Path
):
    await newsbot.start(articles_dir=articles, ingested=True)
    reply = await run(discord_stub, "topic", topic="AI")
    message = reply.final
    [coindesk_button] = [b for b in buttons(message) if COINDESK[:30] in b["label"]]

    await newsbot.restart()
    assert newsbot.starts == 2 and newsbot.running
    opened = await discord_stub.click(message, coindesk_button["custom_id"])
    await opened.wait(timeout=15)
    answered_in_time(opened)
    assert opened.callback_type == CHANNEL_MESSAGE and opened.ephemeral
    assert opened.content == "1 related article"
    assert titles(opened) == [COINDESK, GIZMODO]
    valid(opened.final)

    # The operator rebuilt the database from fewer files: the old button's article is gone.
    # The member is told so, ephemerally, rather than left with "This interaction failed".
    fewer = tmp_path / "fewer"
    fewer.mkdir()
    article_file(fewer, "robots", ROBOTICS, topics=("Robotics",))
    fresh = {"database": {"path": str(tmp_path / "rebuilt.sqlite3")}}
    await newsbot.restart(config_overrides=fresh, articles_dir=fewer, ingested=True)
    gone = await discord_stub.click(message, coindesk_button["custom_id"])
    await gone.wait(timeout=15)
    answered_in_time(gone)
    assert gone.ephemeral and "no longer in the database" in gone.content, gone
    assert_discord_happy(discord_stub)
    assert_no_pings(discord_stub)


# --------------------------------------------------------------------------- hostile input

HOSTILE_QUERIES = [
    "'; DROP TABLE articles; --",
    '"',
    "NEAR(a b)",
    "title:*",
    "facial\u200brecognition",  # zero-width space
    "\u202edigital masks",  # right-to-left override
    "\u200f\u200e\u2067AI\u2069",  # RTL/LTR marks and an isolate
    "@everyone <@&444> <@4242>",
    "**bold** `code` ~~strike~~",
    "x" * 200,
]


async def test_hostile_queries_get_answers_not_errors(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(articles_dir=articles, ingested=True)
    for query in HOSTILE_QUERIES:
        reply = await run(discord_stub, "search", query=query)
        answered_in_time(reply)
        if reply.ephemeral:  # a hint the user can act on
            assert reply.embeds == [] and "No articles match" in reply.content, reply.content
        else:
            assert reply.embeds, query
        assert "@everyone" not in reply.content and "<@&" not in reply.content
        assert "\u202e" not in reply.content
        topic = await run(discord_stub, "topic", topic=query[:100])
        answered_in_time(topic)
        assert topic.ephemeral and "No articles on topic" in topic.content, topic.content
        choices = await discord_stub.autocomplete(
            "news related", {"article": query[:100]}, focused="article"
        )
        assert len(choices) <= 25
        await discord_stub.autocomplete("news topic", {"topic": query[:100]}, focused="topic")

    # The stub does not enforce an option's max_length (Discord's client does), so a
    # 6,000-character query reaches the bot: it must answer, not crash.
    essay = await run(discord_stub, "search", query="facial " * 858)
    answered_in_time(essay)
    assert essay.ephemeral and "at most 200 characters" in essay.content
    long_ref = await run(discord_stub, "related", article="x" * 6000)
    assert long_ref.ephemeral and "No article matches" in long_ref.content
    assert len(long_ref.content) <= 2000

    # the searches were words: the table is still there and the bot still answers
    assert newsbot.running
    after = await run(discord_stub, "search", query="digital masks")
    assert titles(after)[0] == COINDESK
    assert "Traceback" not in newsbot.log
    assert_discord_happy(discord_stub)
    assert_no_pings(discord_stub)


async def test_hostile_articles_are_cut_and_ping_no_one(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    bait = f"@everyone <@&{ADMIN_ROLE_ID}> <@{MEMBER.id}> @here breaking"
    article_file(
        articles,
        "bait",
        f"{bait} news",
        topics=("Bait", f"@everyone <@&{ADMIN_ROLE_ID}>"),
        excerpt=f"{bait} " * 3,
        quality=90,
    )
    article_file(articles, "long", "Long " + "y" * 4995, topics=("Bait",), excerpt="z" * 9000)
    article_file(
        articles,
        "bidi",
        "\u202eevil\u202c title\u200b with\u2066 marks\u2069",
        topics=("Bait",),
        provider="\u200b",
    )
    await newsbot.start(articles_dir=articles, ingested=True)

    topic = await run(discord_stub, "topic", topic="Bait")
    answered_in_time(topic)
    assert len(topic.embeds) == 3
    valid(topic.final)
    for embed in topic.embeds:
        assert len(embed["title"]) <= 256 and len(embed.get("description", "")) <= 4096
    long_title = next(t for t in titles(topic) if t.startswith("Long "))
    assert len(long_title) == 256 and long_title.endswith("…")

    search = await run(discord_stub, "search", query="everyone breaking")
    answered_in_time(search)
    assert search.embeds
    latest = await run(discord_stub, "latest", topic="Bait")
    answered_in_time(latest)
    [bait_button] = [b for b in buttons(topic.final) if "everyone" in b["label"]]
    related = await (await discord_stub.click(topic.final, bait_button["custom_id"])).wait()
    answered_in_time(related)
    assert titles(related)[0].endswith("breaking news")
    for reply in (search, latest, related):
        valid(reply.final)
    # a topic named like a mention, asked for and mistyped: it reaches the content of replies
    named = await run(discord_stub, "topic", topic=f"@everyone <@&{ADMIN_ROLE_ID}>")
    answered_in_time(named)
    assert not named.ephemeral and titles(named)[0].endswith("breaking news")
    typo = await run(discord_stub, "topic", topic=f"@everyone <@&{ADMIN_ROLE_ID + 1}>")
    answered_in_time(typo)
    assert typo.ephemeral and "did you mean" in typo.content

    for message in discord_stub.messages(NEWS_CHANNEL_ID, include_ephemeral=True):
        assert "@everyone" not in message["content"] and "<@&" not in message["content"]
    assert newsbot.running and "Traceback" not in newsbot.log
    assert_discord_happy(discord_stub)
    assert_no_pings(discord_stub)


# --------------------------------------------------------------------------- the CLI


def test_preview_json_passes_discords_validation(tmp_path: Path, articles: Path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(
        f"[database]\npath = {json.dumps(str(tmp_path / 'db.sqlite3'))}\n"
        f"[ingest]\npaths = [{json.dumps(str(articles))}]\n",
        encoding="utf-8",
    )
    assert cli_main(["ingest", "--config", str(config), "--json"]) == 0
    capsys.readouterr()
    previews = {
        "topic": ["preview", "topic", "AI"],
        "topic15": ["preview", "topic", "AI", "--count", "15"],
        "related": ["preview", "related", GIZMODO_URL],
        "search": ["preview", "search", "facial", "recognition"],
        "latest": ["preview", "latest"],
    }
    for name, argv in previews.items():
        assert cli_main([*argv, "--json", "--config", str(config)]) == 0, name
        payloads = json.loads(capsys.readouterr().out)
        assert isinstance(payloads, list) and payloads, name
        for payload in payloads:
            assert set(payload) >= {"content", "embeds", "components"}, name
            assert check_message(payload) is None, (name, check_message(payload))
            assert payload["allowed_mentions"]["parse"] == [], name
    assert cli_main(["preview", "topic", "Robotcs", "--json", "--config", str(config)]) == 2
    assert "did you mean Robotics" in capsys.readouterr().err
