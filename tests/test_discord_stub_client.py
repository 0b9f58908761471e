"""A plain discord.py client against the stub: login, sync, interactions, faults, resume."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
import yarl
from discord import app_commands

from tests.discord_stub import ChannelSpec, DiscordStub, GuildSpec, OverwriteSpec, RoleSpec
from tests.discord_stub import permissions as P

GUILD = 111
CHANNEL = 222
LOCKED = 333  # the bot cannot send here
ADMIN_ROLE = 444


def make_guild() -> GuildSpec:
    return GuildSpec(
        id=GUILD,
        name="Stub Guild",
        owner_id=999,
        roles=[RoleSpec(id=ADMIN_ROLE, name="admin", permissions=P.MANAGE_GUILD)],
        channels=[
            ChannelSpec(id=CHANNEL, name="general"),
            ChannelSpec(
                id=LOCKED,
                name="locked",
                permission_overwrites=[OverwriteSpec(id=GUILD, type=0, deny=P.SEND_MESSAGES)],
            ),
        ],
    )


class Panel(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Next", custom_id="panel:next")
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content="page 2")


class StubClient(discord.Client):
    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        self.errors: list[BaseException] = []
        self.late_delay = 0.0
        self.choices_count = 3
        self._register()

    async def setup_hook(self) -> None:
        self.add_view(Panel())
        await self.tree.sync()
        await self.tree.sync(guild=discord.Object(GUILD))

    def _register(self) -> None:
        tree = self.tree

        @tree.command(description="Answer at once")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong")

        @tree.command(description="Answer after late_delay seconds")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(self.late_delay)
            try:
                await interaction.response.send_message("too late")
            except discord.HTTPException as exc:
                self.errors.append(exc)

        @tree.command(description="Acknowledge twice")
        async def double(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("first")
            interaction.response._response_type = None  # bypass discord.py's own guard
            try:
                await interaction.response.send_message("second")
            except discord.HTTPException as exc:
                self.errors.append(exc)

        @tree.command(description="Defer then follow up")
        async def later(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.edit_original_response(content="done")
            await interaction.followup.send("and one more", ephemeral=True)

        @tree.command(description="A too large embed")
        async def huge(interaction: discord.Interaction) -> None:
            try:
                await interaction.response.send_message(embed=discord.Embed(title="x" * 257))
            except discord.HTTPException as exc:
                self.errors.append(exc)
                await interaction.response.send_message("fallback", ephemeral=True)

        @tree.command(description="Buttons")
        async def panel(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("page 1", view=Panel())

        @tree.command(description="Post into a channel")
        @app_commands.describe(channel="where")
        async def post(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
            assert isinstance(interaction.user, discord.Member)  # a guild command
            await interaction.response.send_message(
                f"{channel.name}:{channel.permissions_for(interaction.user).send_messages}"
            )

        news = app_commands.Group(name="news", description="News")

        @news.command(name="topic", description="Articles on a topic")
        async def topic(interaction: discord.Interaction, topic: str, count: int = 5) -> None:
            await interaction.response.send_message(f"{topic} x{count}")

        @topic.autocomplete("topic")
        async def topic_complete(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [
                app_commands.Choice(name=f"{current}{i}", value=f"{current}{i}")
                for i in range(self.choices_count)
            ]

        tree.add_command(news)

        @tree.command(description="Guild only", guild=discord.Object(GUILD))
        async def local(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(
                f"perms={interaction.permissions.manage_guild}", ephemeral=True
            )


def text_channel(guild: discord.Guild, channel_id: int) -> discord.TextChannel:
    channel = guild.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel), channel
    return channel


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    async with DiscordStub(guilds=[make_guild()], interaction_deadline=0.5) as s:
        yield s
        assert not s.errors, s.errors


@pytest.fixture
async def client(stub: DiscordStub, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[StubClient]:
    monkeypatch.setattr(discord.http.Route, "BASE", stub.url)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(stub.gateway_url)
    )
    c = StubClient()
    task = asyncio.create_task(c.start(stub.token or "x"))
    try:
        await stub.wait_ready(timeout=10)
        await asyncio.wait_for(c.wait_until_ready(), 10)
        yield c
    finally:
        await c.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)


async def test_login_and_sync(stub: DiscordStub, client: StubClient) -> None:
    names = sorted(c["name"] for c in stub.commands())
    assert names == ["double", "huge", "later", "news", "panel", "ping", "post", "slow"]
    assert [c["name"] for c in stub.commands(guild_id=GUILD)] == ["local"]
    news = stub.command("news")
    assert news is not None and news["options"][0]["name"] == "topic"
    assert client.user is not None and client.user.id == stub.bot_user.id
    guild = client.get_guild(GUILD)
    assert guild is not None and guild.me is not None
    assert text_channel(guild, CHANNEL).permissions_for(guild.me).send_messages
    assert not text_channel(guild, LOCKED).permissions_for(guild.me).send_messages
    assert stub.unknown_routes == []
    app = await client.application_info()
    assert app.owner.id == stub.owner.id


async def test_interaction_answered(stub: DiscordStub, client: StubClient) -> None:
    reply = await (await stub.invoke("ping")).wait()
    assert reply.callback_type == 4
    assert reply.content == "pong"
    assert reply.events[0].kind == "callback" and reply.events[0].at >= 0
    assert stub.messages(CHANNEL)[-1]["content"] == "pong"


async def test_subcommand_with_options(stub: DiscordStub, client: StubClient) -> None:
    reply = await (await stub.invoke("news topic", {"topic": "AI", "count": 2})).wait()
    assert reply.content == "AI x2"


async def test_guild_command_and_permissions(stub: DiscordStub, client: StubClient) -> None:
    reply = await (await stub.invoke("local", roles=[ADMIN_ROLE])).wait()
    assert reply.content == "perms=True" and reply.ephemeral
    assert stub.messages(CHANNEL) == []  # ephemeral messages are not in the channel
    reply = await (await stub.invoke("local")).wait()
    assert reply.content == "perms=False"
    reply = await (await stub.invoke("local", permissions=P.MANAGE_GUILD | P.VIEW_CHANNEL)).wait()
    assert reply.content == "perms=True"


async def test_channel_option_resolved(stub: DiscordStub, client: StubClient) -> None:
    reply = await (await stub.invoke("post", {"channel": LOCKED})).wait()
    assert reply.content == "locked:False"


async def test_late_answer_is_unknown_interaction(stub: DiscordStub, client: StubClient) -> None:
    client.late_delay = stub.interaction_deadline + 0.2
    reply = await stub.invoke("slow")
    await reply.wait_for(lambda r: bool(r.rejected), timeout=5)
    assert not reply.acknowledged
    assert reply.rejected[0].status == 404 and reply.rejected[0].payload["code"] == 10062
    await asyncio.sleep(0.05)
    assert isinstance(client.errors[0], discord.NotFound) and client.errors[0].code == 10062


async def test_answer_just_inside_deadline(stub: DiscordStub, client: StubClient) -> None:
    stub.interaction_deadline = 3.0
    client.late_delay = 0.3
    reply = await (await stub.invoke("slow")).wait()
    assert reply.acknowledged and reply.content == "too late"


async def test_double_ack(stub: DiscordStub, client: StubClient) -> None:
    reply = await stub.invoke("double")
    await reply.wait_for(lambda r: bool(r.rejected))
    assert reply.content == "first"
    assert reply.rejected[0].payload["code"] == 40060
    await asyncio.sleep(0.05)
    assert isinstance(client.errors[0], discord.HTTPException) and client.errors[0].code == 40060


async def test_deferred_then_edit_and_followup(stub: DiscordStub, client: StubClient) -> None:
    reply = await (await stub.invoke("later")).wait()
    assert reply.callback_type == 5
    assert [e.kind for e in reply.events] == ["callback", "edit", "followup"]
    assert reply.original is not None and reply.original["content"] == "done"
    assert not reply.original["flags"] & 128  # no longer "thinking"
    assert reply.final["content"] == "and one more"
    assert reply.ephemeral


async def test_invalid_embed_rejected_then_fallback(stub: DiscordStub, client: StubClient) -> None:
    reply = await (await stub.invoke("huge")).wait()
    assert reply.rejected[0].payload["code"] == 50035
    assert "title" in reply.rejected[0].payload["errors"]["data"]["embeds"]["0"]
    assert reply.content == "fallback"
    assert client.errors and isinstance(client.errors[0], discord.HTTPException)
    assert client.errors[0].code == 50035


async def test_autocomplete(stub: DiscordStub, client: StubClient) -> None:
    choices = await stub.autocomplete("news topic", {"topic": "Rob"}, focused="topic")
    assert [c["name"] for c in choices] == ["Rob0", "Rob1", "Rob2"]
    client.choices_count = 25
    assert len(await stub.autocomplete("news topic", focused="topic")) == 25


async def test_autocomplete_too_many_choices(stub: DiscordStub, client: StubClient) -> None:
    client.choices_count = 26
    reply = await stub.dispatch_autocomplete("news topic", focused="topic")
    await reply.wait_for(lambda r: bool(r.rejected))
    assert reply.rejected[0].status == 400
    assert "choices" in reply.rejected[0].payload["errors"]["data"]


async def test_button_click_updates_message(stub: DiscordStub, client: StubClient) -> None:
    reply = await (await stub.invoke("panel")).wait()
    message = reply.final
    click = await (await stub.click(message, "panel:next")).wait()
    assert click.callback_type == 7
    clicked = stub.message(message["id"])
    assert clicked is not None and clicked["content"] == "page 2"


async def test_429_on_channel_post_is_waited_out(stub: DiscordStub, client: StubClient) -> None:
    stub.fail("POST", rf"^/channels/{CHANNEL}/messages$", status=429, retry_after=0.3)
    channel = client.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("hello")
    assert [m["content"] for m in stub.messages(CHANNEL)] == ["hello"]
    assert stub.count("POST", rf"/channels/{CHANNEL}/messages", status=429) == 1
    assert stub.count("POST", rf"/channels/{CHANNEL}/messages", status=200) == 1
    assert sent.id == int(stub.messages(CHANNEL)[0]["id"])


async def test_500_is_retried_and_503_surfaces(stub: DiscordStub, client: StubClient) -> None:
    channel = client.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    stub.fail("POST", rf"^/channels/{CHANNEL}/messages$", status=500)
    await channel.send("after 500")
    assert len(stub.messages(CHANNEL)) == 1
    stub.fail("POST", rf"^/channels/{CHANNEL}/messages$", status=503)
    with pytest.raises(discord.DiscordServerError):
        await channel.send("after 503")
    assert len(stub.messages(CHANNEL)) == 1


async def test_missing_permissions(stub: DiscordStub, client: StubClient) -> None:
    channel = client.get_channel(LOCKED)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.Forbidden) as info:
        await channel.send("nope")
    assert info.value.code == 50013


async def test_nonce_deduplicates(stub: DiscordStub, client: StubClient) -> None:
    channel = client.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    first = await channel.send("digest", nonce="run-1")
    second = await channel.send("digest", nonce="run-1")
    third = await channel.send("digest", nonce="run-2")
    assert first.id == second.id != third.id
    assert len(stub.messages(CHANNEL)) == 2


@pytest.mark.parametrize("code", [4000, 1001])
async def test_resume_after_drop(stub: DiscordStub, client: StubClient, code: int) -> None:
    resumed = asyncio.Event()
    client.event(_on_resumed(resumed))
    await stub.drop_gateway(code=code)
    await stub.wait_resumed(timeout=10)
    await asyncio.wait_for(resumed.wait(), 5)
    ops = [(f.op, f.path) for f in stub.gateway.frames if f.op in (2, 6)]
    assert ops == [(2, "/gateway"), (6, "/gateway/resume")]  # RESUME at resume_gateway_url
    assert stub.gateway.close_codes == [code]
    reply = await (await stub.invoke("ping")).wait()
    assert reply.content == "pong"


def _on_resumed(event: asyncio.Event) -> Any:
    async def on_resumed() -> None:
        event.set()

    return on_resumed


async def test_events_missed_while_away_are_replayed(stub: DiscordStub, client: StubClient) -> None:
    seen: list[int] = []

    async def on_guild_channel_update(before: Any, after: Any) -> None:
        seen.append(after.id)

    client.event(on_guild_channel_update)
    await stub.drop_gateway(code=4000)
    await stub.set_overwrites(CHANNEL, [OverwriteSpec(id=GUILD, deny=P.EMBED_LINKS)])
    await stub.wait_resumed(timeout=10)
    for _ in range(50):
        if seen:
            break
        await asyncio.sleep(0.05)
    assert seen == [CHANNEL]
    guild = client.get_guild(GUILD)
    assert guild is not None
    assert not text_channel(guild, CHANNEL).permissions_for(guild.me).embed_links


async def test_invalid_session_makes_client_identify(
    stub: DiscordStub, client: StubClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_wait(*args: Any, **kwargs: Any) -> None:  # discord.py sleeps 5 s here
        return None

    monkeypatch.setattr(client, "before_identify_hook", no_wait)
    await stub.invalidate_session(resumable=False)
    await stub.wait_ready(count=2, timeout=10)
    assert stub.gateway.identify_count == 2


async def test_client_paces_itself_under_route_buckets(
    stub: DiscordStub, client: StubClient
) -> None:
    stub.rate_limits(routes=True)
    stub.limiter.add_route("POST", r"^/channels/(\d+)/messages$", 3, 0.5)
    channel = client.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    for i in range(7):
        await channel.send(f"m{i}")
    assert [m["content"] for m in stub.messages(CHANNEL)] == [f"m{i}" for i in range(7)]
    posts = [r for r in stub.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert all(r.status == 200 for r in posts), [r.status for r in posts]
    assert posts[0].headers["X-RateLimit-Limit"] == "3"


async def test_global_429_waited_out(stub: DiscordStub, client: StubClient) -> None:
    stub.fail(
        "POST", rf"^/channels/{CHANNEL}/messages$", status=429, is_global=True, retry_after=0.2
    )
    channel = client.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("after global")
    assert [m["content"] for m in stub.messages(CHANNEL)] == ["after global"]


async def test_own_messages_arrive_over_the_gateway(stub: DiscordStub, client: StubClient) -> None:
    seen: asyncio.Queue[discord.Message] = asyncio.Queue()

    async def on_message(message: discord.Message) -> None:
        await seen.put(message)

    client.event(on_message)
    channel = client.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("echo", embed=discord.Embed(title="t"))
    got = await asyncio.wait_for(seen.get(), 5)
    assert got.id == sent.id and got.author.id == stub.bot_user.id
    assert got.embeds[0].title == "t" and got.guild is not None
