"""The stub's forum and announcement channels over raw HTTP: forum posts with Discord's
validation, threads as channels, thread listings, crossposts and their hourly limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.discord_stub import DiscordStub, OverwriteSpec
from tests.discord_stub import permissions as P
from tests.discord_stub.specs import REQUIRE_TAG, ChannelSpec, ForumTagSpec
from tests.discord_stub.world import GUILD_ID, NEWS_CHANNEL_ID, default_guild
from tests.test_discord_stub import TOKEN, Api

FORUM = 601
TAGGED = 602
NEWS = 603
TAGS = [ForumTagSpec(11, "AI"), ForumTagSpec(12, "Space", moderated=True)]
TAGGED_TAGS = [ForumTagSpec(n, f"tag{n}") for n in range(21, 28)]


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    guild = default_guild()
    guild.channels += [
        ChannelSpec(id=FORUM, name="forum", type=15, available_tags=TAGS),
        ChannelSpec(
            id=TAGGED, name="tagged", type=15, flags=REQUIRE_TAG, available_tags=TAGGED_TAGS
        ),
        ChannelSpec(id=NEWS, name="announcements", type=5),
    ]
    async with DiscordStub(guilds=[guild], token=TOKEN) as s:
        yield s
        assert s.errors == []


@pytest.fixture
async def api(stub: DiscordStub) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(stub, session)


def post_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "News digest · 30 Nov 2026", "message": {"content": "hello"}}
    body.update(overrides)
    return body


async def create(api: Api, forum: int, body: dict[str, Any]) -> tuple[int, Any]:
    status, data, _ = await api.call("POST", f"/channels/{forum}/threads", body)
    return status, data


async def test_forum_post_is_a_thread_with_its_first_message(api: Api, stub: DiscordStub):
    status, data = await create(api, FORUM, post_body(applied_tags=["11"]))
    assert status == 200, data
    assert data["type"] == 11 and data["parent_id"] == str(FORUM)
    assert data["applied_tags"] == ["11"] and data["name"] == "News digest · 30 Nov 2026"
    assert data["message"]["id"] == data["id"] and data["message"]["content"] == "hello"
    thread = int(data["id"])
    # a thread is a channel: GET it, post into it (with nonce de-duplication), read it
    status, channel, _ = await api.call("GET", f"/channels/{thread}")
    assert status == 200 and channel["thread_metadata"]["archived"] is False
    nonce = {"content": "second", "nonce": "n1", "enforce_nonce": True}
    first = await api.post(thread, nonce)
    again = await api.post(thread, nonce)
    assert first[0] == again[0] == 200 and first[1]["id"] == again[1]["id"]
    assert [m["content"] for m in stub.threads.messages(thread)] == ["hello", "second"]
    assert (await api.post(thread, {"embeds": [{"title": "t" * 257}]}))[0] == 400
    status, active, _ = await api.call("GET", f"/guilds/{GUILD_ID}/threads/active")
    assert [t["id"] for t in active["threads"]] == [str(thread)]
    await stub.threads.archive(thread)
    status, active, _ = await api.call("GET", f"/guilds/{GUILD_ID}/threads/active")
    assert active["threads"] == []
    status, archived, _ = await api.call("GET", f"/channels/{FORUM}/threads/archived/public")
    assert [t["id"] for t in archived["threads"]] == [str(thread)]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (post_body(name=""), "name"),
        (post_body(name="x" * 101), "name"),
        (post_body(message=None), "message"),
        (post_body(message={"content": "x" * 2001}), "message"),
        (post_body(applied_tags=["11", "11", "11", "11", "11", "11"]), "applied_tags"),
        (post_body(applied_tags=["99"]), "applied_tags"),
        (post_body(auto_archive_duration=17), "auto_archive_duration"),
    ],
)
async def test_forum_post_validation(api: Api, stub: DiscordStub, body, where):
    status, data = await create(api, FORUM, body)
    assert status == 400 and data["code"] == 50035 and where in data["errors"], data
    assert stub.threads.posts(FORUM) == []


async def test_forum_rules_tags_and_permissions(api: Api, stub: DiscordStub):
    status, data = await create(api, TAGGED, post_body())
    assert (status, data["code"]) == (400, 40067)
    assert (await create(api, TAGGED, post_body(applied_tags=["21"])))[0] == 200
    status, data = await create(api, FORUM, post_body(applied_tags=["12"]))  # moderated
    assert (status, data["code"]) == (403, 50013)
    status, data = await create(api, FORUM, post_body(message={}))
    assert (status, data["code"]) == (400, 50006)
    status, data = await create(api, NEWS_CHANNEL_ID, post_body())  # not a forum
    assert (status, data["code"]) == (400, 50024)
    assert (await api.post(FORUM, {"content": "x"}))[0] == 400  # a forum takes posts only
    await stub.set_overwrites(FORUM, [OverwriteSpec(id=GUILD_ID, deny=P.SEND_MESSAGES)])
    status, data = await create(api, FORUM, post_body())
    assert (status, data["code"]) == (403, 50013)


async def test_posting_in_a_thread_needs_send_messages_in_threads(api: Api, stub: DiscordStub):
    _, data = await create(api, FORUM, post_body())
    thread = int(data["id"])
    await stub.set_overwrites(FORUM, [OverwriteSpec(id=GUILD_ID, deny=P.SEND_MESSAGES_IN_THREADS)])
    status, data = await api.post(thread, {"content": "more"})
    assert (status, data["code"]) == (403, 50013)


async def test_crosspost_once_and_ten_an_hour(api: Api, stub: DiscordStub):
    ids = []
    for n in range(11):
        status, message = await api.post(NEWS, {"content": f"m{n}"})
        ids.append(int(message["id"]))
    for mid in ids[:10]:
        status, data, _ = await api.call("POST", f"/channels/{NEWS}/messages/{mid}/crosspost")
        assert status == 200 and data["flags"] & 1, data
    status, data, _ = await api.call("POST", f"/channels/{NEWS}/messages/{ids[0]}/crosspost")
    assert (status, data["code"]) == (400, 40033)
    status, data, headers = await api.call("POST", f"/channels/{NEWS}/messages/{ids[10]}/crosspost")
    assert status == 429 and 3500 < data["retry_after"] <= 3600 and headers["Via"]
    assert stub.crossposts.published(NEWS) == ids[:10]


async def test_crosspost_needs_an_announcement_channel_and_a_message(api: Api, stub: DiscordStub):
    _, message = await api.post(NEWS_CHANNEL_ID, {"content": "x"})
    path = f"/channels/{NEWS_CHANNEL_ID}/messages/{message['id']}/crosspost"
    status, data, _ = await api.call("POST", path)
    assert (status, data["code"]) == (400, 50024)
    status, data, _ = await api.call("POST", f"/channels/{NEWS}/messages/123/crosspost")
    assert (status, data["code"]) == (404, 10008)
    stub.crossposts.use_up(NEWS)
    _, message = await api.post(NEWS, {"content": "y"})
    status, _, _ = await api.call("POST", f"/channels/{NEWS}/messages/{message['id']}/crosspost")
    assert status == 429
