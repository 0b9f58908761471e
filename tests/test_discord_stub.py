"""The stub's REST side over raw HTTP: Discord's validation, errors, faults and rate limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest

from tests.discord_stub import DiscordStub, OverwriteSpec
from tests.discord_stub import permissions as P
from tests.discord_stub.validation import check_choices, check_commands, check_message
from tests.discord_stub.world import (
    GUILD_ID,
    HIDDEN_CHANNEL_ID,
    NEWS_CHANNEL_ID,
    NO_EMBED_CHANNEL_ID,
    NO_SEND_CHANNEL_ID,
    default_guild,
)

TOKEN = "stub-token"


class Api:
    def __init__(self, stub: DiscordStub, session: aiohttp.ClientSession) -> None:
        self.stub = stub
        self.session = session

    async def call(
        self, method: str, path: str, body: Any = None, *, auth: bool = True
    ) -> tuple[int, Any, Mapping[str, str]]:
        headers = {"Authorization": f"Bot {TOKEN}"} if auth else {}
        async with self.session.request(
            method, self.stub.url + path, json=body, headers=headers
        ) as resp:
            data = await resp.json(content_type=None) if resp.status != 204 else None
            return resp.status, data, resp.headers

    async def post(self, channel: int, body: dict[str, Any]) -> tuple[int, Any]:
        status, data, _ = await self.call("POST", f"/channels/{channel}/messages", body)
        return status, data


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    async with DiscordStub(guilds=[default_guild()], token=TOKEN) as s:
        yield s
        assert s.errors == []


@pytest.fixture
async def api(stub: DiscordStub) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(stub, session)


def embed_of(**kwargs: Any) -> dict[str, Any]:
    return {"embeds": [kwargs]}


def field(name: str = "n", value: str = "v") -> dict[str, str]:
    return {"name": name, "value": value}


# --------------------------------------------------------------------------- message validation
# (payload at the limit, payload one past it, path of the error)
LIMIT_CASES: list[tuple[str, dict[str, Any], dict[str, Any], tuple[str, ...]]] = [
    ("content", {"content": "x" * 2000}, {"content": "x" * 2001}, ("content",)),
    ("title", embed_of(title="x" * 256), embed_of(title="x" * 257), ("embeds", "0", "title")),
    (
        "description",
        embed_of(description="x" * 4096),
        embed_of(description="x" * 4097),
        ("embeds", "0", "description"),
    ),
    (
        "fields",
        embed_of(fields=[field()] * 25),
        embed_of(fields=[field()] * 26),
        ("embeds", "0", "fields"),
    ),
    (
        "field name",
        embed_of(fields=[field(name="x" * 256)]),
        embed_of(fields=[field(name="x" * 257)]),
        ("embeds", "0", "fields", "0", "name"),
    ),
    (
        "field value",
        embed_of(fields=[field(value="x" * 1024)]),
        embed_of(fields=[field(value="x" * 1025)]),
        ("embeds", "0", "fields", "0", "value"),
    ),
    (
        "footer",
        embed_of(footer={"text": "x" * 2048}),
        embed_of(footer={"text": "x" * 2049}),
        ("embeds", "0", "footer", "text"),
    ),
    (
        "author",
        embed_of(author={"name": "x" * 256}),
        embed_of(author={"name": "x" * 257}),
        ("embeds", "0", "author", "name"),
    ),
    (
        "10 embeds",
        {"embeds": [{"title": "t"}] * 10},
        {"embeds": [{"title": "t"}] * 11},
        ("embeds",),
    ),
    (
        "6000 total",
        {"embeds": [{"description": "x" * 3000}, {"description": "x" * 2990, "title": "y" * 10}]},
        {"embeds": [{"description": "x" * 3000}, {"description": "x" * 2990, "title": "y" * 11}]},
        ("embeds",),
    ),
    (
        "url scheme",
        embed_of(title="t", url="https://example.com/a"),
        embed_of(title="t", url="javascript:alert(1)"),
        ("embeds", "0", "url"),
    ),
    (
        "thumbnail scheme",
        embed_of(title="t", thumbnail={"url": "http://example.com/i.png"}),
        embed_of(title="t", thumbnail={"url": "ftp://example.com/i.png"}),
        ("embeds", "0", "thumbnail", "url"),
    ),
    (
        "image scheme",
        embed_of(title="t", image={"url": "https://example.com/i.png"}),
        embed_of(title="t", image={"url": "data:image/png;base64,AAAA"}),
        ("embeds", "0", "image", "url"),
    ),
    (
        "author url",
        embed_of(author={"name": "a", "url": "https://e.com"}),
        embed_of(author={"name": "a", "url": "e.com/no-scheme"}),
        ("embeds", "0", "author", "url"),
    ),
    (
        "author icon",
        embed_of(author={"name": "a", "icon_url": "https://e.com/i.png"}),
        embed_of(author={"name": "a", "icon_url": "file:///etc/passwd"}),
        ("embeds", "0", "author", "icon_url"),
    ),
]


def button(custom_id: str, label: str = "b") -> dict[str, Any]:
    return {"type": 2, "style": 1, "custom_id": custom_id, "label": label}


def rows(n_rows: int, per_row: int) -> list[dict[str, Any]]:
    return [
        {"type": 1, "components": [button(f"b{r}-{c}") for c in range(per_row)]}
        for r in range(n_rows)
    ]


COMPONENT_CASES: list[tuple[str, dict[str, Any], dict[str, Any], tuple[str, ...]]] = [
    (
        "5 rows",
        {"content": "c", "components": rows(5, 1)},
        {"content": "c", "components": rows(6, 1)},
        ("components",),
    ),
    (
        "5 buttons",
        {"content": "c", "components": rows(1, 5)},
        {"content": "c", "components": rows(1, 6)},
        ("components", "0", "components"),
    ),
    (
        "custom_id",
        {"content": "c", "components": [{"type": 1, "components": [button("x" * 100)]}]},
        {"content": "c", "components": [{"type": 1, "components": [button("x" * 101)]}]},
        ("components", "0", "components", "0", "custom_id"),
    ),
    (
        "label",
        {"content": "c", "components": [{"type": 1, "components": [button("a", "x" * 80)]}]},
        {"content": "c", "components": [{"type": 1, "components": [button("a", "x" * 81)]}]},
        ("components", "0", "components", "0", "label"),
    ),
]


def dig(tree: dict[str, Any], path: tuple[str, ...]) -> Any:
    for part in path:
        tree = tree[part]
    return tree


@pytest.mark.parametrize(
    ("ok", "bad", "path"),
    [c[1:] for c in LIMIT_CASES + COMPONENT_CASES],
    ids=[c[0] for c in LIMIT_CASES + COMPONENT_CASES],
)
def test_message_limits(ok: dict[str, Any], bad: dict[str, Any], path: tuple[str, ...]) -> None:
    assert check_message(ok) is None
    problem = check_message(bad)
    assert problem is not None
    status, body = problem
    assert status == 400 and body["code"] == 50035 and body["message"] == "Invalid Form Body"
    assert dig(body["errors"], path)["_errors"][0]["code"]


def test_empty_message_and_bad_field() -> None:
    assert check_message({"content": ""}) == (
        400,
        {"code": 50006, "message": "Cannot send an empty message"},
    )
    assert check_message({"content": ""}, require_body=False) is None
    problem = check_message(embed_of(fields=[{"name": "", "value": "v"}]))
    assert problem is not None
    assert "name" in problem[1]["errors"]["embeds"]["0"]["fields"]["0"]
    assert check_message(embed_of(title="t", color=0x1000000)) is not None
    assert check_message(embed_of(title="t", timestamp="yesterday")) is not None
    dup = {"type": 1, "components": [button("same"), button("same")]}
    assert check_message({"content": "c", "components": [dup]}) is not None


def choice(name: str = "n", value: Any = "v") -> dict[str, Any]:
    return {"name": name, "value": value}


def test_autocomplete_choices() -> None:
    assert check_choices({"choices": [choice()] * 25}) is None
    assert check_choices({"choices": []}) is None
    assert check_choices({"choices": [choice()] * 26}) is not None
    assert check_choices({"choices": [choice(name="x" * 100, value="y" * 100)]}) is None
    assert check_choices({"choices": [choice(name="x" * 101)]}) is not None
    assert check_choices({"choices": [choice(name="")]}) is not None
    assert check_choices({"choices": [choice(value="y" * 101)]}) is not None
    assert check_choices({"choices": [choice(value=12345)]}) is None


def cmd(**kwargs: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "news", "description": "News", "type": 1}
    base.update(kwargs)
    return base


def opt(name: str = "topic", **kwargs: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": name, "description": "d", "type": 3}
    base.update(kwargs)
    return base


@pytest.mark.parametrize(
    ("ok", "bad"),
    [
        (cmd(name="a" * 32), cmd(name="a" * 33)),
        (cmd(name="news-bot_1"), cmd(name="News")),
        (cmd(name="news"), cmd(name="news topic")),
        (cmd(description="d" * 100), cmd(description="d" * 101)),
        (cmd(description="d"), cmd(description="")),
        (
            cmd(options=[opt(f"o{i}") for i in range(25)]),
            cmd(options=[opt(f"o{i}") for i in range(26)]),
        ),
        (cmd(options=[opt(description="d" * 100)]), cmd(options=[opt(description="d" * 101)])),
        (cmd(options=[opt("a"), opt("b")]), cmd(options=[opt("a"), opt("a")])),
        (
            cmd(options=[opt("a", required=True), opt("b")]),
            cmd(options=[opt("a"), opt("b", required=True)]),
        ),
        (
            cmd(options=[opt(choices=[choice()] * 25)]),
            cmd(options=[opt(choices=[choice()] * 26)]),
        ),
        (
            cmd(options=[opt(autocomplete=True)]),
            cmd(options=[opt(autocomplete=True, choices=[choice()])]),
        ),
        (
            cmd(options=[{"name": "sub", "description": "s", "type": 1, "options": [opt()]}]),
            cmd(options=[{"name": "sub", "description": "s", "type": 1, "options": [opt("X")]}]),
        ),
    ],
)
def test_command_validation(ok: dict[str, Any], bad: dict[str, Any]) -> None:
    assert check_commands([ok]) is None
    problem = check_commands([bad])
    assert problem is not None and problem[1]["code"] == 50035


def test_duplicate_commands_rejected() -> None:
    assert check_commands([cmd(), cmd(name="other")]) is None
    assert check_commands([cmd(), cmd()]) is not None


# --------------------------------------------------------------------------- REST over HTTP
async def test_basics_and_content_type(api: Api, stub: DiscordStub) -> None:
    async with api.session.get(
        stub.url + "/users/@me", headers={"Authorization": f"Bot {TOKEN}"}
    ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"
        assert (await resp.json())["id"] == str(stub.bot_user.id)
    status, app, _ = await api.call("GET", "/oauth2/applications/@me")
    assert status == 200 and app["owner"]["id"] == str(stub.owner.id)
    status, gw, _ = await api.call("GET", "/gateway/bot")
    assert gw["url"] == stub.gateway_url and gw["shards"] == 1
    status, _, _ = await api.call("GET", "/users/@me", auth=False)
    assert status == 401


async def test_unknown_route_recorded(api: Api, stub: DiscordStub) -> None:
    status, body, headers = await api.call("GET", "/guilds/111/emojis/5")
    assert status == 404 and body == {"message": "404: Not Found", "code": 0}
    assert headers["Content-Type"] == "application/json"
    assert [(r.method, r.path) for r in stub.unknown_routes] == [("GET", "/guilds/111/emojis/5")]


async def test_invalid_json_does_not_crash(api: Api, stub: DiscordStub) -> None:
    async with api.session.post(
        stub.url + f"/channels/{NEWS_CHANNEL_ID}/messages",
        data=b"{not json",
        headers={"Authorization": f"Bot {TOKEN}", "Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == 50109
    status, body, _ = await api.call("GET", "/channels/not-a-number")
    assert status == 400 and body["code"] == 50035


async def test_message_over_http(api: Api, stub: DiscordStub) -> None:
    body = {"content": "hi", "allowed_mentions": {"parse": []}, "embeds": [{"title": "t"}]}
    status, msg = await api.post(NEWS_CHANNEL_ID, body)
    assert status == 200 and msg["content"] == "hi" and msg["embeds"][0]["type"] == "rich"
    assert "allowed_mentions" not in msg  # not on the wire ...
    assert stub.messages(NEWS_CHANNEL_ID)[0]["allowed_mentions"] == {"parse": []}  # ... recorded
    status, err = await api.post(NEWS_CHANNEL_ID, {"content": "x" * 2001})
    assert status == 400 and "content" in err["errors"]
    status, edited, _ = await api.call(
        "PATCH", f"/channels/{NEWS_CHANNEL_ID}/messages/{msg['id']}", {"content": "edited"}
    )
    assert status == 200 and edited["content"] == "edited" and edited["edited_timestamp"]
    status, listed, _ = await api.call("GET", f"/channels/{NEWS_CHANNEL_ID}/messages")
    assert [m["content"] for m in listed] == ["edited"]
    status, _, _ = await api.call("DELETE", f"/channels/{NEWS_CHANNEL_ID}/messages/{msg['id']}")
    assert status == 204 and stub.messages(NEWS_CHANNEL_ID) == []
    status, err, _ = await api.call("GET", f"/channels/{NEWS_CHANNEL_ID}/messages/{msg['id']}")
    assert status == 404 and err["code"] == 10008


@pytest.mark.parametrize(
    ("channel", "body", "status", "code"),
    [
        (NEWS_CHANNEL_ID, {"content": "ok", "embeds": [{"title": "t"}]}, 200, None),
        (NO_SEND_CHANNEL_ID, {"content": "x"}, 403, 50013),
        (NO_EMBED_CHANNEL_ID, {"content": "plain text is fine"}, 200, None),
        (NO_EMBED_CHANNEL_ID, {"content": "x", "embeds": [{"title": "t"}]}, 403, 50013),
        (HIDDEN_CHANNEL_ID, {"content": "x"}, 403, 50001),
        (987654321, {"content": "x"}, 404, 10003),
    ],
)
async def test_channel_permissions(
    api: Api, channel: int, body: dict[str, Any], status: int, code: int | None
) -> None:
    got, data = await api.post(channel, body)
    assert got == status
    if code is not None:
        assert data["code"] == code


async def test_overwrites_follow_discords_order(api: Api, stub: DiscordStub) -> None:
    guild = stub.guilds[GUILD_ID]
    bot_role = 555
    from tests.discord_stub import RoleSpec

    guild.roles.append(RoleSpec(id=bot_role, name="bot"))
    guild.bot_roles.append(bot_role)
    # @everyone denied, the bot's role allowed: role overwrites win over @everyone
    await stub.set_overwrites(
        NO_SEND_CHANNEL_ID,
        [
            OverwriteSpec(id=GUILD_ID, deny=P.SEND_MESSAGES),
            OverwriteSpec(id=bot_role, allow=P.SEND_MESSAGES),
        ],
    )
    assert (await api.post(NO_SEND_CHANNEL_ID, {"content": "x"}))[0] == 200
    # a member overwrite for the bot wins over its roles
    await stub.set_overwrites(
        NO_SEND_CHANNEL_ID,
        [
            OverwriteSpec(id=bot_role, allow=P.SEND_MESSAGES),
            OverwriteSpec(id=stub.bot_user.id, type=1, deny=P.SEND_MESSAGES),
        ],
    )
    assert (await api.post(NO_SEND_CHANNEL_ID, {"content": "x"}))[0] == 403
    # Administrator ignores overwrites
    guild.role(bot_role).permissions = P.ADMINISTRATOR  # type: ignore[union-attr]
    assert (await api.post(NO_SEND_CHANNEL_ID, {"content": "x"}))[0] == 200


async def test_nonce_only_with_enforce_nonce(api: Api, stub: DiscordStub) -> None:
    body = {"content": "d", "nonce": "n1", "enforce_nonce": True}
    _, first = await api.post(NEWS_CHANNEL_ID, body)
    _, again = await api.post(NEWS_CHANNEL_ID, body)
    assert first["id"] == again["id"]
    _, other_channel = await api.post(NO_EMBED_CHANNEL_ID, body)
    assert other_channel["id"] != first["id"]
    _, not_enforced = await api.post(NEWS_CHANNEL_ID, {"content": "d", "nonce": "n1"})
    assert not_enforced["id"] != first["id"]
    stub.nonce_window = 0.0
    _, expired = await api.post(NEWS_CHANNEL_ID, body)
    assert expired["id"] != first["id"]


async def test_commands_put_get_post_delete(api: Api, stub: DiscordStub) -> None:
    app = stub.application_id
    status, data, _ = await api.call("PUT", f"/applications/{app}/commands", [cmd()])
    assert status == 200 and data[0]["id"] and data[0]["application_id"] == str(app)
    first_id = data[0]["id"]
    status, data, _ = await api.call("PUT", f"/applications/{app}/commands", [cmd()])
    assert data[0]["id"] == first_id  # same name keeps its id, as on Discord
    status, err, _ = await api.call("PUT", f"/applications/{app}/commands", [cmd(name="Bad")])
    assert status == 400 and err["errors"]["0"]["name"]
    assert [c["name"] for c in stub.commands()] == ["news"]  # a rejected PUT changes nothing
    path = f"/applications/{app}/guilds/{GUILD_ID}/commands"
    status, data, _ = await api.call("POST", path, cmd(name="local"))
    assert status == 201 and data["guild_id"] == str(GUILD_ID)
    status, data, _ = await api.call("GET", path)
    assert [c["name"] for c in data] == ["local"]
    status, _, _ = await api.call("DELETE", f"{path}/{data[0]['id']}")
    assert status == 204 and stub.commands(GUILD_ID) == []
    status, err, _ = await api.call("PUT", f"/applications/{app}/guilds/5/commands", [])
    assert status == 403 and err["code"] == 50001


# --------------------------------------------------------------------------- faults
async def test_injected_429_shape(api: Api, stub: DiscordStub) -> None:
    fault = stub.fail("POST", r"/channels/\d+/messages$", status=429, times=2, retry_after=1.5)
    for _ in range(2):
        status, body, headers = await api.call(
            "POST", f"/channels/{NEWS_CHANNEL_ID}/messages", {"content": "x"}
        )
        assert status == 429
        assert body["retry_after"] == 1.5 and body["global"] is False and body["message"]
        assert headers["Via"] == "1.1 google"
        assert headers["Retry-After"] == "2"
        assert headers["X-RateLimit-Remaining"] == "0"
        assert headers["X-RateLimit-Reset-After"] == "1.500"
        for key in (
            "X-RateLimit-Limit",
            "X-RateLimit-Reset",
            "X-RateLimit-Bucket",
            "X-RateLimit-Scope",
        ):
            assert key in headers
    assert fault.exhausted and stub.messages(NEWS_CHANNEL_ID) == []
    status, _ = await api.post(NEWS_CHANNEL_ID, {"content": "x"})
    assert status == 200


async def test_injected_global_429(api: Api, stub: DiscordStub) -> None:
    stub.fail("GET", r"^/users/@me$", status=429, is_global=True, retry_after=0.1)
    status, body, headers = await api.call("GET", "/users/@me")
    assert status == 429 and body["global"] is True
    assert headers["X-RateLimit-Global"] == "true" and headers["X-RateLimit-Scope"] == "global"


@pytest.mark.parametrize("code", [500, 502, 503])
async def test_injected_server_errors(api: Api, stub: DiscordStub, code: int) -> None:
    stub.fail("POST", r"/messages$", status=code, times=1)
    async with api.session.post(
        stub.url + f"/channels/{NEWS_CHANNEL_ID}/messages",
        json={"content": "x"},
        headers={"Authorization": f"Bot {TOKEN}"},
    ) as resp:
        assert resp.status == code
    assert stub.messages(NEWS_CHANNEL_ID) == []
    assert (await api.post(NEWS_CHANNEL_ID, {"content": "x"}))[0] == 200


async def test_fault_matches_method_and_path_only(api: Api, stub: DiscordStub) -> None:
    stub.fail("POST", rf"^/channels/{NO_EMBED_CHANNEL_ID}/messages$", status=500, times=None)
    assert (await api.post(NEWS_CHANNEL_ID, {"content": "x"}))[0] == 200
    assert (await api.call("GET", f"/channels/{NO_EMBED_CHANNEL_ID}"))[0] == 200
    assert (await api.post(NO_EMBED_CHANNEL_ID, {"content": "x"}))[0] == 500
    assert (await api.post(NO_EMBED_CHANNEL_ID, {"content": "x"}))[0] == 500
    stub.clear_faults()
    assert (await api.post(NO_EMBED_CHANNEL_ID, {"content": "x"}))[0] == 200


async def test_delay(api: Api, stub: DiscordStub) -> None:
    fault = stub.delay("GET", r"^/channels/", 0.3)
    start = time.monotonic()
    status, _, _ = await api.call("GET", f"/channels/{NEWS_CHANNEL_ID}")
    assert status == 200 and time.monotonic() - start >= 0.3
    assert fault.exhausted and fault.hits == 1
    await api.call("GET", f"/channels/{NEWS_CHANNEL_ID}")
    assert fault.hits == 1  # only the next request was held


async def test_delay_response_holds_the_answer_not_the_effect(api: Api, stub: DiscordStub) -> None:
    stub.delay("POST", r"/messages$", 0.5, response=True)
    post = asyncio.ensure_future(
        api.call("POST", f"/channels/{NEWS_CHANNEL_ID}/messages", {"content": "held"})
    )
    await stub.wait_for_message(NEWS_CHANNEL_ID, timeout=5)  # in the channel already
    assert not post.done()  # while the client still waits for the answer
    status, body, _ = await post
    assert status == 200 and body["content"] == "held"


async def test_route_buckets(api: Api, stub: DiscordStub) -> None:
    stub.rate_limits(routes=True)
    seen = []
    for _ in range(5):
        status, _, headers = await api.call(
            "POST", f"/channels/{NEWS_CHANNEL_ID}/messages", {"content": "x"}
        )
        assert status == 200
        seen.append(headers["X-RateLimit-Remaining"])
        assert headers["X-RateLimit-Limit"] == "5" and headers["X-RateLimit-Bucket"]
    assert seen == ["4", "3", "2", "1", "0"]
    status, body, headers = await api.call(
        "POST", f"/channels/{NEWS_CHANNEL_ID}/messages", {"content": "x"}
    )
    assert status == 429 and headers["Via"] and 0 < body["retry_after"] <= 5
    # another channel is another bucket
    assert (await api.post(NO_EMBED_CHANNEL_ID, {"content": "x"}))[0] == 200
    assert len(stub.messages(NEWS_CHANNEL_ID)) == 5


async def test_global_limit(api: Api, stub: DiscordStub) -> None:
    stub.rate_limits(routes=False, global_limit=True, per_second=10)
    results = await asyncio.gather(
        *(api.call("GET", f"/channels/{NEWS_CHANNEL_ID}") for _ in range(15))
    )
    statuses = [r[0] for r in results]
    assert statuses.count(200) == 10 and statuses.count(429) == 5
    limited = next(r for r in results if r[0] == 429)
    assert limited[1]["global"] is True and limited[2]["X-RateLimit-Scope"] == "global"
