"""The stub's sharded gateway: IDENTIFY with ``shard: [id, count]`` gets its shard's guilds
only, and each guild's events (interactions, messages) reach the session serving its shard."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.discord_stub import DiscordStub
from tests.discord_stub.world import (
    ADMIN,
    BOT_TOKEN,
    OWNER,
    SHARD_COUNT,
    SHARDED_GUILDS,
    sharded_guilds,
    sharded_news_channel,
)

COMMAND = {"name": "ping", "description": "answers", "type": 1}


class Shard:
    """A raw gateway connection: HELLO, IDENTIFY (with a shard), then the events it gets."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[tuple[str, dict[str, Any]]] = []

    @classmethod
    async def connect(
        cls, session: aiohttp.ClientSession, stub: DiscordStub, shard: list[int] | None
    ) -> Shard:
        ws = await session.ws_connect(stub.gateway_url)
        hello = json.loads((await ws.receive()).data)
        assert hello["op"] == 10
        identify: dict[str, Any] = {"token": BOT_TOKEN, "intents": 1 | 1 << 9, "properties": {}}
        if shard is not None:
            identify["shard"] = shard
        await ws.send_json({"op": 2, "d": identify})
        return cls(ws)

    async def until(self, event: str, count: int = 1) -> list[dict[str, Any]]:
        while sum(1 for name, _ in self.events if name == event) < count:
            msg = await asyncio.wait_for(self.ws.receive(), 5)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"gateway closed: {msg.type} {msg.data} {msg.extra}")
            frame = json.loads(msg.data)
            if frame["op"] == 0:
                self.events.append((frame["t"], frame["d"]))
        return [data for name, data in self.events if name == event]

    def guilds_of(self, event: str) -> set[int]:
        return {
            int(data.get("guild_id") or data["id"]) for name, data in self.events if name == event
        }


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    async with DiscordStub(
        sharded_guilds(), token=BOT_TOKEN, owner=OWNER, shard_count=SHARD_COUNT
    ) as s:
        yield s
        assert s.errors == []


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def on_shard(shard: int) -> set[int]:
    return {guild for guild, on in SHARDED_GUILDS.items() if on == shard}


def test_the_four_guilds_are_two_on_each_shard():
    for guild, shard in SHARDED_GUILDS.items():
        assert (guild >> 22) % SHARD_COUNT == shard
    assert len(on_shard(0)) == len(on_shard(1)) == 2


async def test_gateway_bot_recommends_the_shard_count(stub: DiscordStub, http):
    headers = {"Authorization": f"Bot {BOT_TOKEN}"}
    async with http.get(stub.url + "/gateway/bot", headers=headers) as resp:
        body = await resp.json()
    assert body["shards"] == SHARD_COUNT and body["url"] == stub.gateway_url


async def test_each_shard_gets_its_guilds_and_their_interactions_only(stub: DiscordStub, http):
    headers = {"Authorization": f"Bot {BOT_TOKEN}"}
    path = f"{stub.url}/applications/{stub.application_id}/commands"
    async with http.put(path, json=[COMMAND], headers=headers) as resp:
        assert resp.status == 200
    zero = await Shard.connect(http, stub, [0, SHARD_COUNT])
    ready = (await zero.until("READY"))[0]
    assert ready["shard"] == [0, SHARD_COUNT]
    assert {int(g["id"]) for g in ready["guilds"]} == on_shard(0)
    await zero.until("GUILD_CREATE", 2)
    one = await Shard.connect(http, stub, [1, SHARD_COUNT])
    assert {int(g["id"]) for g in (await one.until("READY"))[0]["guilds"]} == on_shard(1)
    await one.until("GUILD_CREATE", 2)
    assert zero.guilds_of("GUILD_CREATE") == on_shard(0)
    assert one.guilds_of("GUILD_CREATE") == on_shard(1)

    # Every guild's command goes to the one session serving its shard, whichever connected last.
    for guild in SHARDED_GUILDS:
        await stub.invoke(
            "ping", guild_id=guild, channel_id=sharded_news_channel(guild), user=ADMIN
        )
    await zero.until("INTERACTION_CREATE", 2)
    await one.until("INTERACTION_CREATE", 2)
    assert zero.guilds_of("INTERACTION_CREATE") == on_shard(0)
    assert one.guilds_of("INTERACTION_CREATE") == on_shard(1)
    # guild events too
    guild = next(iter(on_shard(0)))
    await stub.delete_channel(sharded_news_channel(guild))
    assert (await zero.until("CHANNEL_DELETE"))[0]["guild_id"] == str(guild)
    assert one.guilds_of("CHANNEL_DELETE") == set()
    await zero.ws.close()
    await one.ws.close()


async def test_an_unsharded_session_gets_every_guild(stub: DiscordStub, http):
    whole = await Shard.connect(http, stub, None)
    await whole.until("GUILD_CREATE", 4)
    assert whole.guilds_of("GUILD_CREATE") == set(SHARDED_GUILDS)
    await whole.ws.close()


@pytest.mark.parametrize("shard", [[2, 2], [0, 0], [-1, 2], [0]])
async def test_an_invalid_shard_is_refused_with_4010(stub: DiscordStub, http, shard):
    conn = await Shard.connect(http, stub, shard)
    msg = await asyncio.wait_for(conn.ws.receive(), 5)
    assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4010
