"""Digest delivery options end to end (issue 14): compact layout and its stories select after a
restart, cards beside it, a role ping and a deleted role, keywords and exclude with the
preview's reasons. The stub validates every message as Discord does (limits, selects) and
computes who each message pinged."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.discord_stub import DiscordStub, Reply, RoleSpec, UserSpec
from tests.discord_stub import permissions as P
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.specs import ChannelSpec, GuildSpec
from tests.discord_stub.world import (
    ADMIN,
    DIGEST_CHANNEL_ID,
    GUILD_ID,
    MEMBER,
    NEWS_CHANNEL_ID,
    OWNER,
    default_guild,
)
from tests.fixtures.articles import article_file
from tests.fixtures.seeds import COINDESK

CARDS_CHANNEL_ID = 227
ONE_CHANNEL_ID = 228
MENTIONABLE_ROLE_ID = 901
SILENT_ROLE_ID = 902  # not mentionable, and the bot has no Mention Everyone
BOT_MENTIONS_ROLE_ID = 903  # given to the bot later: Mention Everyone
STORIES = re.compile(r"^\d+\. ", re.MULTILINE)


@pytest.fixture
def stub_guilds() -> list[GuildSpec]:
    guild = default_guild()
    guild.channels += [
        ChannelSpec(id=CARDS_CHANNEL_ID, name="cards", position=5),
        ChannelSpec(id=ONE_CHANNEL_ID, name="one", position=6),
    ]
    guild.roles += [
        RoleSpec(id=MENTIONABLE_ROLE_ID, name="news-fans", position=2, mentionable=True),
        RoleSpec(id=SILENT_ROLE_ID, name="quiet", position=3),
    ]
    return [guild]


async def cmd(stub: DiscordStub, name: str, user: UserSpec = ADMIN, **options: Any) -> Reply:
    reply = await stub.invoke(f"digest {name}", options, guild_id=GUILD_ID, user=user)
    return await reply.wait(timeout=60)


async def ingest(stub: DiscordStub) -> None:
    reply = await stub.invoke("newsbot ingest", {}, guild_id=GUILD_ID, user=OWNER)
    await reply.wait(timeout=60)


def listed(stub: DiscordStub, channel_id: int) -> list[str]:
    """The story lines of a channel's compact digests, numbers dropped."""
    lines = []
    for message in stub.messages(channel_id):
        for embed in message["embeds"]:
            lines += [STORIES.sub("", line) for line in embed.get("description", "").split("\n")]
    return lines


async def last_page(stub: DiscordStub, reply: Reply) -> str:
    """The content of a paged reply's last page (a preview: the digest, then why)."""
    message = reply.final
    while True:
        current = stub.message(message["id"])
        assert current is not None
        buttons = [c for row in current["components"] for c in row["components"]]
        nexts = [b for b in buttons if str(b.get("label", "")).startswith("Next")]
        if not nexts or nexts[0].get("disabled"):
            return str(current["content"])
        turn = await stub.click(current, nexts[0]["custom_id"], user=ADMIN)
        await turn.wait(timeout=30)


def options_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    [row] = message["components"]
    [menu] = row["components"]
    assert menu["type"] == 3
    return list(menu["options"])


def add_stories(articles: Path, count: int) -> list[str]:
    """Stories made to stress a compact line: long titles full of markdown and mention bait,
    long and odd URLs, providers."""
    titles = []
    for n in range(count):
        title = f"Story {n:02d} *bold* _it_ [x](y) @everyone <@&{MENTIONABLE_ROLE_ID}> " + (
            "long " * 40
        )
        url = f"https://example.org/{n}/" + ("p(a)th/" if n % 2 else "a" * 300)
        article_file(
            articles, f"extra{n}", title.strip(), url=url, quality=90 - n, provider=f"Prov {n}"
        )
        titles.append(title.strip())
    return titles


async def test_compact_within_limits_and_its_select_after_a_restart(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(articles_dir=articles, ingested=True)
    add_stories(articles, 24)  # with the seed's COINDESK: 25 due stories
    await ingest(discord_stub)
    for channel, items, layout in (
        (ONE_CHANNEL_ID, 1, "compact"),
        (NEWS_CHANNEL_ID, 10, "compact"),
        (DIGEST_CHANNEL_ID, 25, "compact"),
        (CARDS_CHANNEL_ID, 25, "cards"),
    ):
        reply = await cmd(
            discord_stub, "subscribe", channel=channel, max_items=items, layout=layout
        )
        assert "Subscribed" in reply.content and f"{layout} layout" in reply.content, reply
        now = await cmd(discord_stub, "now", channel=channel)
        assert "Posted" in now.content, now.content
    assert discord_stub.errors == []

    # 1 story: one message, "and 24 more"; 10: one message; 25: at most two
    [one] = discord_stub.messages(ONE_CHANNEL_ID)
    assert len(listed(discord_stub, ONE_CHANNEL_ID)) == 1 and "and 24 more" in one["content"]
    assert len(discord_stub.messages(NEWS_CHANNEL_ID)) == 1
    assert len(listed(discord_stub, NEWS_CHANNEL_ID)) == 10
    compact = discord_stub.messages(DIGEST_CHANNEL_ID)
    assert 1 <= len(compact) <= 2, [len(m["embeds"]) for m in compact]
    lines = listed(discord_stub, DIGEST_CHANNEL_ID)
    assert len(lines) == 25
    labels = [o["label"] for m in compact for o in options_of(m)]
    assert len(labels) == len(set(labels)) == 25  # every story once, each in its own select
    for message in compact:
        assert discord_stub.pings(message).nobody
        assert "@everyone" not in "".join(e["description"] for e in message["embeds"])
    coindesk_line = next(line for line in lines if "Digital Masks" in line)
    assert coindesk_line.startswith("[AI Startup Pilots Digital Masks")  # a link
    # cards beside it: every story once, in messages of <= 10 embeds
    cards = discord_stub.messages(CARDS_CHANNEL_ID)
    assert all(len(m["embeds"]) <= 10 for m in cards)
    titles = Counter(e["title"] for m in cards for e in m["embeds"])
    assert len(titles) == 25 and set(titles.values()) == {1}

    # after a restart, the select under the digest opens the chosen story's related articles
    await newsbot.restart()
    message = next(m for m in compact if any(COINDESK in o["label"] for o in options_of(m)))
    option = next(o for o in options_of(message) if COINDESK in o["label"])
    [row] = message["components"]
    custom_id = row["components"][0]["custom_id"]
    reply = await discord_stub.click(message, custom_id, values=[option["value"]], user=MEMBER)
    await reply.wait(timeout=30)
    assert reply.ephemeral, reply
    assert "related article" in reply.content, reply.content
    assert reply.embeds[0]["title"] == COINDESK
    assert len(reply.embeds) >= 2  # the article and what it relates to
    assert discord_stub.errors == []


async def test_role_pings_that_role_only_and_a_deleted_role_posts_without_it(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(articles_dir=articles, ingested=True)
    refused = await cmd(discord_stub, "subscribe", channel=DIGEST_CHANNEL_ID, role=SILENT_ROLE_ID)
    assert refused.ephemeral and "may not mention" in refused.content, refused.content
    assert newsbot.query("SELECT count(*) FROM subscriptions") == [(0,)]

    reply = await cmd(
        discord_stub, "subscribe", channel=DIGEST_CHANNEL_ID, role=MENTIONABLE_ROLE_ID
    )
    assert "Subscribed" in reply.content, reply.content
    await cmd(discord_stub, "now", channel=DIGEST_CHANNEL_ID)
    [message] = discord_stub.messages(DIGEST_CHANNEL_ID)
    assert message["content"].startswith(f"<@&{MENTIONABLE_ROLE_ID}>")
    pinged = discord_stub.pings(message)
    assert pinged.roles == {MENTIONABLE_ROLE_ID} and not pinged.users and not pinged.everyone
    assert "mentions the role 'news-fans'" in (await cmd(discord_stub, "list")).content

    await discord_stub.roles.delete(GUILD_ID, MENTIONABLE_ROLE_ID)
    article_file(articles, "later", "A later story", quality=90)
    await ingest(discord_stub)
    later = await cmd(discord_stub, "now", channel=DIGEST_CHANNEL_ID)
    assert "A later story" in later.content, later.content
    second = discord_stub.messages(DIGEST_CHANNEL_ID)[1]
    assert "<@&" not in second["content"] and discord_stub.pings(second).nobody
    assert "no longer exists" in (await cmd(discord_stub, "list")).content

    # with Mention Everyone the bot may mention a role that is not mentionable
    await discord_stub.roles.create(
        GUILD_ID,
        RoleSpec(id=BOT_MENTIONS_ROLE_ID, name="bot", position=4, permissions=P.MENTION_EVERYONE),
        give_bot=True,
    )
    allowed = await cmd(discord_stub, "subscribe", channel=NEWS_CHANNEL_ID, role=SILENT_ROLE_ID)
    assert "Subscribed" in allowed.content, allowed.content
    await cmd(discord_stub, "now", channel=NEWS_CHANNEL_ID)
    [quiet] = discord_stub.messages(NEWS_CHANNEL_ID)
    assert discord_stub.pings(quiet).roles == {SILENT_ROLE_ID}


async def test_keywords_and_exclude_with_the_preview_saying_why(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, articles: Path
):
    await newsbot.start(articles_dir=articles, ingested=True)
    article_file(articles, "crypto", "Crypto exchange adds facial recognition", quality=95)
    article_file(
        articles,
        "robots",
        "Warehouse robots learn to sort parcels",
        quality=92,
        excerpt="An open-source model guides the arms.",
    )
    await ingest(discord_stub)
    too_many = ", ".join(f"w{n}" for n in range(21))
    refused = await cmd(discord_stub, "subscribe", channel=DIGEST_CHANNEL_ID, keywords=too_many)
    assert refused.ephemeral and "at most 20" in refused.content, refused.content

    await cmd(discord_stub, "subscribe", channel=DIGEST_CHANNEL_ID, exclude="crypto")
    preview = await cmd(discord_stub, "preview", channel=DIGEST_CHANNEL_ID)
    why = await last_page(discord_stub, preview)
    assert 'excluded: "crypto"' in why, why
    await cmd(discord_stub, "now", channel=DIGEST_CHANNEL_ID)
    posted = set(discord_stub.embed_titles(DIGEST_CHANNEL_ID))
    assert COINDESK in posted and "Warehouse robots learn to sort parcels" in posted
    assert "Crypto exchange adds facial recognition" not in posted

    await cmd(discord_stub, "subscribe", channel=NEWS_CHANNEL_ID, keywords='"open source"')
    preview = await cmd(discord_stub, "preview", channel=NEWS_CHANNEL_ID)
    why = await last_page(discord_stub, preview)
    assert "no keyword matched" in why, why
    await cmd(discord_stub, "now", channel=NEWS_CHANNEL_ID)
    assert discord_stub.embed_titles(NEWS_CHANNEL_ID) == ["Warehouse robots learn to sort parcels"]
    listing = await cmd(discord_stub, "list")
    assert "exclude: 'crypto'" in listing.content and "keywords: 'open source'" in listing.content
