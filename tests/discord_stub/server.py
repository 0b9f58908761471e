# ruff: noqa: ASYNC109  (test API: `timeout=` parameters are the point)
"""DiscordStub: a local Discord (REST API v10 + gateway) on 127.0.0.1 for end-to-end tests."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from . import permissions as P
from .crosspost import Crossposts
from .faults import Fault, RateLimiter, rate_limit_response
from .gateway import GUILD_MESSAGES_INTENT, Gateway, GatewaySession
from .mentions import Pings, pings
from .messages import LOADING, StoredMessage
from .replies import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE_MESSAGE,
    EPHEMERAL,
    MODAL,
    UPDATE_MESSAGE,
    Reply,
    ReplyEvent,
)
from .responses import json_response
from .roles import Roles
from .selects import chosen_problem
from .specs import ChannelSpec, GuildSpec, MemberSpec, OverwriteSpec, UserSpec, snowflake
from .threads import ForumThreads
from .validation import check_choices, check_commands, check_message

log = logging.getLogger("discord_stub")

try:
    _BODY: Any = web.RequestKey("discord_stub_json", object)
except AttributeError:  # aiohttp < 3.11
    _BODY = "discord_stub_json"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON = dict[str, Any]
_T = TypeVar("_T")

ALLOWED_CALLBACKS = {
    2: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    3: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE, MODAL},
    4: {AUTOCOMPLETE_RESULT},
    5: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE},
}

OPTION_TYPES = {"sub_command": 1, "sub_command_group": 2}


class StubError(Exception):
    """Raised by the test API when the stub cannot do what a test asked."""


class DiscordError(Exception):
    """Used inside handlers to answer with a Discord error."""

    def __init__(self, status: int, code: int, message: str, body: JSON | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {"message": message, "code": code}


def _err(status: int, code: int, message: str) -> DiscordError:
    return DiscordError(status, code, message)


def unknown(code: int, what: str) -> DiscordError:
    return _err(404, code, f"Unknown {what}")


@dataclass
class RecordedRequest:
    method: str
    path: str  # relative to the API base, e.g. /channels/1/messages
    query: dict[str, str]
    json: Any
    at: float
    status: int = 0
    response: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StoredCommand:
    data: JSON
    guild_id: int | None


class DiscordStub:
    """A fake Discord. Use as ``async with DiscordStub(guilds=[GuildSpec(...)]) as discord:``."""

    API_PREFIX = "/api/v10"

    def __init__(
        self,
        guilds: Iterable[GuildSpec] = (),
        *,
        token: str | None = "stub-token",
        bot_user: UserSpec | None = None,
        owner: UserSpec | None = None,
        default_user: UserSpec | None = None,
        interaction_deadline: float = 3.0,
        nonce_window: float = 300.0,
        heartbeat_interval: float = 41.25,
        shard_count: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.bot_user = bot_user or UserSpec(id=700000000000000001, username="newsbot", bot=True)
        self.application_id = self.bot_user.id
        self.owner = owner or UserSpec(id=999, username="owner")
        self.default_user = default_user or UserSpec(id=4242, username="tester")
        self.guilds: dict[int, GuildSpec] = {g.id: g for g in guilds}
        self.interaction_deadline = interaction_deadline
        self.nonce_window = nonce_window
        self.shard_count = shard_count  # what GET /gateway/bot recommends
        self.host = host
        self.port = port
        self.limiter = RateLimiter()
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self.unknown_routes: list[RecordedRequest] = []
        self.errors: list[str] = []
        self.gateway = Gateway(self, heartbeat_interval)
        self.roles = Roles(self)  # create, update, delete roles (with their gateway events)
        self._messages: dict[int, StoredMessage] = {}
        self._nonces: dict[tuple[int, str], tuple[float, int]] = {}
        self._commands: dict[int | None, dict[str, StoredCommand]] = {}
        self._command_ids: dict[tuple[int | None, int, str], int] = {}
        self._interactions: dict[int, Reply] = {}
        self._by_token: dict[str, Reply] = {}
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self.threads = ForumThreads(self)  # forum posts (threads.py)
        self.crossposts = Crossposts(self)  # announcement publications (crosspost.py)

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> DiscordStub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        self._add_routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]

    async def close(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """REST base, for ``discord.http.Route.BASE``."""
        return self.base + self.API_PREFIX

    @property
    def gateway_url(self) -> str:
        """For ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``."""
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway/resume"

    # ------------------------------------------------------------------ world helpers
    def bot_member(self, guild: GuildSpec) -> MemberSpec:
        return MemberSpec(user=self.bot_user, roles=list(guild.bot_roles))

    def member(
        self, guild: GuildSpec, user: UserSpec | int | None, roles: Iterable[int] | None = None
    ) -> MemberSpec:
        if isinstance(user, int):
            found = guild.member(user)
            user = found.user if found else UserSpec(id=user, username=f"user{user}")
        user = user or self.default_user
        if user.id == self.bot_user.id:
            return self.bot_member(guild)
        found = guild.member(user.id)
        member = found or MemberSpec(user=user, roles=[])
        if roles is not None:
            member = MemberSpec(user=member.user, roles=list(roles), nick=member.nick)
        return member

    def permissions_for(
        self, guild: GuildSpec, channel: ChannelSpec | None, member: MemberSpec
    ) -> int:
        role_perms = {r.id: r.permissions for r in guild.roles}
        base = P.base_permissions(
            guild_id=guild.id,
            owner_id=guild.owner_id,
            user_id=member.user.id,
            member_roles=member.roles,
            role_permissions=role_perms,
        )
        if channel is None:
            return base
        return P.channel_permissions(
            base,
            guild_id=guild.id,
            user_id=member.user.id,
            member_roles=member.roles,
            overwrites=channel.permission_overwrites,
        )

    def bot_permissions(self, channel_id: int) -> int:
        guild, channel = self.find_channel(channel_id)
        if guild is None or channel is None:
            return 0
        return self.permissions_for(guild, channel, self.bot_member(guild))

    def find_channel(self, channel_id: int) -> tuple[GuildSpec | None, ChannelSpec | None]:
        for guild in self.guilds.values():
            channel = guild.channel(channel_id)
            if channel is not None:
                return guild, channel
        return self.threads.find(channel_id)  # type: ignore[return-value]  # a thread is a channel

    def guild_create_payload(self, guild: GuildSpec) -> JSON:
        data = guild.payload()
        members = [self.bot_member(guild)] + [
            m for m in guild.members if m.user.id != self.bot_user.id
        ]
        data.update(
            channels=[c.payload(guild.id) for c in guild.channels],
            members=[m.payload() for m in members],
            member_count=len(members),
            large=False,
            unavailable=False,
            joined_at="2024-01-01T00:00:00+00:00",
            threads=[],
            presences=[],
            voice_states=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
            embedded_activities=[],
            lazy=True,
        )
        return data

    # world mutation (dispatches the matching gateway events)
    async def set_overwrites(self, channel_id: int, overwrites: list[OverwriteSpec]) -> None:
        guild, channel = self.find_channel(channel_id)
        if guild is None or channel is None:
            raise StubError(f"unknown channel {channel_id}")
        channel.permission_overwrites = list(overwrites)
        await self.gateway.dispatch("CHANNEL_UPDATE", channel.payload(guild.id), guild_id=guild.id)

    async def delete_channel(self, channel_id: int) -> None:
        guild, channel = self.find_channel(channel_id)
        if guild is None or channel is None:
            raise StubError(f"unknown channel {channel_id}")
        guild.channels.remove(channel)
        await self.gateway.dispatch("CHANNEL_DELETE", channel.payload(guild.id), guild_id=guild.id)

    # ------------------------------------------------------------------ test API: inspection
    def commands(self, guild_id: int | None = None) -> list[JSON]:
        """The commands registered globally (guild_id None) or for one guild."""
        return [c.data for c in self._commands.get(guild_id, {}).values()]

    def command(self, name: str, guild_id: int | None = None) -> JSON | None:
        cmd = self._commands.get(guild_id, {}).get(name)
        return cmd.data if cmd else None

    def messages(self, channel_id: int, *, include_ephemeral: bool = False) -> list[JSON]:
        """Messages in a channel, oldest first (deleted ones left out)."""
        return [
            m.payload()
            for m in self._messages.values()
            if m.channel_id == channel_id
            and not m.deleted
            and (include_ephemeral or not m.ephemeral)
        ]

    def embed_titles(self, channel_id: int) -> list[str]:
        """The titles of the embeds in a channel's messages, oldest first."""
        return [
            e.get("title", "") for m in self.messages(channel_id) for e in m.get("embeds") or []
        ]

    def message(self, message_id: int | str) -> JSON | None:
        msg = self._messages.get(int(message_id))
        return None if msg is None else msg.payload()

    def pings(self, message: JSON | int | str) -> Pings:
        """Who a message pinged, from its content and allowed_mentions, as Discord decides."""
        return pings(self, message)

    def stored_message(self, message_id: int) -> StoredMessage | None:
        return self._messages.get(message_id)

    def count(self, method: str, path: str, status: int | None = None) -> int:
        """How many recorded requests match (path is a regex searched in the relative path)."""
        rx = re.compile(path)
        return sum(
            1
            for r in self.requests
            if r.method == method.upper()
            and rx.search(r.path)
            and (status is None or r.status == status)
        )

    @property
    def interactions(self) -> list[Reply]:
        return list(self._interactions.values())

    # ------------------------------------------------------------------ test API: waiting
    async def _wait(self, predicate: Callable[[], _T | None], timeout: float, what: str) -> _T:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    result = predicate()
                    if result:
                        return result
                    ev = self._changed
                    gw = self.gateway.changed
                    waiters = [asyncio.ensure_future(ev.wait()), asyncio.ensure_future(gw.wait())]
                    try:
                        await asyncio.wait(
                            waiters, timeout=0.25, return_when=asyncio.FIRST_COMPLETED
                        )
                    finally:
                        for w in waiters:
                            w.cancel()
        except TimeoutError:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}") from None

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_ready(self, timeout: float = 10.0, count: int = 1) -> None:
        """Wait until READY (+ GUILD_CREATEs) was sent `count` times in total."""
        await self._wait(lambda: self.gateway.ready_count >= count, timeout, f"READY #{count}")

    async def wait_resumed(self, timeout: float = 10.0, count: int = 1) -> None:
        await self._wait(lambda: self.gateway.resumed_count >= count, timeout, f"RESUMED #{count}")

    async def wait_for_request(
        self,
        method: str,
        path: str,
        *,
        timeout: float = 10.0,
        after: int = 0,
        status: int | None = None,
    ) -> RecordedRequest:
        """The first recorded request (index >= after) matching method, path regex and status."""
        rx = re.compile(path)

        def find() -> RecordedRequest | None:
            for r in self.requests[after:]:
                if (
                    r.method == method.upper()
                    and rx.search(r.path)
                    and r.status
                    and (status is None or r.status == status)
                ):
                    return r
            return None

        return await self._wait(find, timeout, f"{method} {path}")

    async def wait_for_message(
        self,
        channel_id: int,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 10.0,
    ) -> JSON:
        def find() -> JSON | None:
            for m in self.messages(channel_id):
                if predicate is None or predicate(m):
                    return m
            return None

        return await self._wait(find, timeout, f"a message in {channel_id}")

    # ------------------------------------------------------------------ test API: faults
    def fail(
        self,
        method: str,
        path: str,
        status: int = 429,
        *,
        times: int | None = 1,
        retry_after: float = 1.0,
        is_global: bool = False,
    ) -> Fault:
        """The next `times` requests matching get `status` (429 with Discord's body and headers,
        or 500/502/503/504) without being processed."""
        fault = Fault(
            method.upper(),
            re.compile(path),
            status=status,
            times=times,
            retry_after=retry_after,
            is_global=is_global,
        )
        self.faults.append(fault)
        return fault

    def delay(
        self,
        method: str,
        path: str,
        seconds: float,
        *,
        times: int | None = 1,
        response: bool = False,
    ) -> Fault:
        """Hold the next `times` matching requests for `seconds` before processing them; with
        `response`, process them at once and hold the answer (Discord has the message, the
        client does not know yet: the window a crash-safety test needs)."""
        fault = Fault(
            method.upper(),
            re.compile(path),
            status=None,
            times=times,
            delay=seconds,
            delay_response=response,
        )
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def rate_limits(
        self, *, routes: bool = True, global_limit: bool = False, per_second: int = 50
    ) -> None:
        """Switch on per-route buckets (5 messages / 5 s per channel, ...) and/or the global
        requests-per-second limit."""
        self.limiter.routes_enabled = routes
        self.limiter.global_enabled = global_limit
        self.limiter.global_per_second = per_second

    async def drop_gateway(self, code: int = 4000) -> None:
        await self.gateway.drop(code)

    async def invalidate_session(self, resumable: bool = False) -> None:
        await self.gateway.invalidate(resumable)

    # ------------------------------------------------------------------ test API: interactions
    def _resolve_guild_channel(
        self, guild_id: int | None, channel_id: int | None
    ) -> tuple[GuildSpec, ChannelSpec]:
        if channel_id is not None:
            guild, channel = self.find_channel(channel_id)
            if guild is None or channel is None:
                raise StubError(f"unknown channel {channel_id}")
            return guild, channel
        if guild_id is None:
            if not self.guilds:
                raise StubError("no guild configured")
            guild_id = next(iter(self.guilds))
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise StubError(f"unknown guild {guild_id}")
        channel = next((c for c in guild.channels if c.type in (0, 5)), None)
        if channel is None:
            raise StubError(f"guild {guild_id} has no text channel")
        return guild, channel

    def _find_command(self, root: str, guild_id: int) -> StoredCommand:
        cmd = self._commands.get(guild_id, {}).get(root) or self._commands.get(None, {}).get(root)
        if cmd is None:
            known = sorted({n for cmds in self._commands.values() for n in cmds})
            raise StubError(f"command {root!r} is not registered (registered: {known})")
        return cmd

    def _build_options(
        self,
        guild: GuildSpec,
        schema: list[JSON],
        options: dict[str, Any],
        focused: str | None,
        resolved: JSON,
    ) -> list[JSON]:
        by_name = {o["name"]: o for o in schema}
        out: list[JSON] = []
        for name, value in options.items():
            opt = by_name.get(name)
            if opt is None:
                raise StubError(f"unknown option {name!r}; known: {sorted(by_name)}")
            otype = int(opt["type"])
            entry: JSON = {"name": name, "type": otype}
            if name == focused:
                entry["focused"] = True
                entry["value"] = str(value)
            elif otype == 3:
                entry["value"] = str(value)
            elif otype == 4:
                entry["value"] = int(value)
            elif otype == 5:
                entry["value"] = bool(value)
            elif otype == 10:
                entry["value"] = float(value)
            elif otype in (6, 7, 8, 9, 11):
                entry["value"] = str(int(value))
                self._resolve(guild, otype, int(value), resolved)
            else:
                raise StubError(f"option {name!r} has type {otype}, which takes no value")
            out.append(entry)
        missing = [o["name"] for o in schema if o.get("required") and o["name"] not in options]
        if missing and focused is None:
            raise StubError(f"missing required options {missing}")
        return out

    def _resolve(self, guild: GuildSpec, otype: int, value: int, resolved: JSON) -> None:
        if otype == 7:
            home, channel = self.find_channel(value)
            if channel is None or home is None:
                data = {
                    "id": str(value),
                    "type": 0,
                    "name": f"deleted-{value}",
                    "permissions": "0",
                    "guild_id": str(guild.id),
                }
            else:
                # A channel keeps its own guild, so a crafted cross-guild id stays visible as such.
                data = channel.payload(home.id)
                data["permissions"] = str(
                    self.permissions_for(home, channel, self.member(home, None))
                )
            resolved.setdefault("channels", {})[str(value)] = data
        elif otype == 8 or (otype == 9 and guild.role(value)):
            role = guild.role(value)
            if role is not None:
                resolved.setdefault("roles", {})[str(value)] = role.payload()
        elif otype in (6, 9):
            member = self.member(guild, value)
            resolved.setdefault("users", {})[str(value)] = member.user.payload()
            m = member.payload()
            m.pop("user")
            m["permissions"] = str(self.permissions_for(guild, None, member))
            resolved.setdefault("members", {})[str(value)] = m

    def _command_data(
        self, name: str, options: dict[str, Any] | None, guild: GuildSpec, focused: str | None
    ) -> JSON:
        parts = name.split()
        cmd = self._find_command(parts[0], guild.id)
        data: JSON = {"id": cmd.data["id"], "name": parts[0], "type": cmd.data.get("type", 1)}
        if cmd.guild_id is not None:
            data["guild_id"] = str(cmd.guild_id)
        resolved: JSON = {}
        schema = cmd.data.get("options") or []
        container = data
        for part in parts[1:]:
            sub = next((o for o in schema if o["name"] == part and o["type"] in (1, 2)), None)
            if sub is None:
                raise StubError(f"{name!r}: no subcommand {part!r}")
            entry: JSON = {"name": part, "type": sub["type"], "options": []}
            container["options"] = [entry]
            container = entry
            schema = sub.get("options") or []
        if any(o["type"] in (1, 2) for o in schema):
            raise StubError(f"{name!r} needs a subcommand")
        container["options"] = self._build_options(guild, schema, options or {}, focused, resolved)
        if resolved:
            data["resolved"] = resolved
        return data

    def _base_interaction(  # noqa: PLR0917
        self,
        itype: int,
        guild: GuildSpec,
        channel: ChannelSpec,
        user: UserSpec | int | None,
        permissions: int | None,
        roles: Iterable[int] | None,
        locale: str,
    ) -> JSON:
        member = self.member(guild, user, roles)
        perms = self.permissions_for(guild, channel, member) if permissions is None else permissions
        member_payload = member.payload()
        member_payload["permissions"] = str(perms)
        app_perms = self.permissions_for(guild, channel, self.bot_member(guild))
        channel_payload = channel.payload(guild.id)
        channel_payload["permissions"] = str(perms)
        iid = snowflake()
        return {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "token": f"tok-{iid}-{snowflake()}",
            "version": 1,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel_payload,
            "member": member_payload,
            "app_permissions": str(app_perms),
            "locale": locale,
            "guild_locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }

    async def _dispatch_interaction(
        self,
        payload: JSON,
        name: str,
        message_id: int | None = None,
        session: GatewaySession | None = None,
    ) -> Reply:
        session = session or self.gateway.session_for(int(payload["guild_id"]))
        if session is None or not session.connected:
            raise StubError("no bot connected to the gateway")
        reply = Reply(
            interaction_id=int(payload["id"]),
            token=payload["token"],
            interaction_type=payload["type"],
            name=name,
            channel_id=int(payload["channel_id"]),
            guild_id=int(payload["guild_id"]),
            source_message_id=message_id,
            _store=self,
        )
        self._interactions[reply.interaction_id] = reply
        self._by_token[reply.token] = reply
        reply.dispatched_at = time.monotonic()
        await self.gateway.dispatch("INTERACTION_CREATE", payload, session)
        return reply

    async def invoke(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user: UserSpec | int | None = None,
        permissions: int | None = None,
        roles: Iterable[int] | None = None,
        locale: str = "en-US",
        session: GatewaySession | None = None,
    ) -> Reply:
        """Dispatch a slash command. `name` may hold subcommands ("news topic"). `permissions`
        overrides the member's computed channel permissions. `session`: the gateway session
        (one bot process of several) that gets it; default the last to connect. Returns at
        once; use ``await reply.wait()``."""
        guild, channel = self._resolve_guild_channel(guild_id, channel_id)
        payload = self._base_interaction(2, guild, channel, user, permissions, roles, locale)
        payload["data"] = self._command_data(name, options, guild, None)
        return await self._dispatch_interaction(payload, name, session=session)

    async def dispatch_autocomplete(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        focused: str,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user: UserSpec | int | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> Reply:
        guild, channel = self._resolve_guild_channel(guild_id, channel_id)
        opts = dict(options or {})
        opts.setdefault(focused, "")
        payload = self._base_interaction(4, guild, channel, user, permissions, None, locale)
        payload["data"] = self._command_data(name, opts, guild, focused)
        return await self._dispatch_interaction(payload, name)

    async def autocomplete(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        focused: str,
        timeout: float = 5.0,
        **kwargs: Any,
    ) -> list[JSON]:
        """Dispatch an autocomplete interaction and return the accepted choices. Raises StubError
        when the bot's answer was rejected (e.g. 26 choices, a late answer)."""
        reply = await self.dispatch_autocomplete(name, options, focused=focused, **kwargs)
        await reply.wait_for(lambda r: r.acknowledged or bool(r.rejected), timeout)
        if not reply.acknowledged:
            raise StubError(f"autocomplete answer rejected: {reply.rejected}")
        return reply.choices or []

    async def click(
        self,
        message: JSON | int | str,
        custom_id: str,
        *,
        user: UserSpec | int | None = None,
        values: list[str] | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> Reply:
        """Press a button (or choose `values` in a select menu) on a message the bot sent."""
        mid = int(message["id"]) if isinstance(message, dict) else int(message)
        stored = self._messages.get(mid)
        if stored is None or stored.deleted:
            raise StubError(f"unknown message {mid}")
        component = None
        for row in stored.components:
            for comp in row.get("components", []):
                if comp.get("custom_id") == custom_id:
                    component = comp
        if component is None:
            ids = [c.get("custom_id") for r in stored.components for c in r.get("components", [])]
            raise StubError(f"message {mid} has no component {custom_id!r}; has {ids}")
        if component.get("disabled"):
            raise StubError(f"component {custom_id!r} is disabled")
        guild, channel = self._resolve_guild_channel(None, stored.channel_id)
        payload = self._base_interaction(3, guild, channel, user, permissions, None, locale)
        data: JSON = {"custom_id": custom_id, "component_type": component.get("type", 2)}
        if component.get("type") != 2:
            data["values"] = list(values or [])
            problem = chosen_problem(component, data["values"]) if component["type"] == 3 else None
            if problem:
                raise StubError(f"select {custom_id!r}: {problem}")
        payload["data"] = data
        payload["message"] = stored.payload()
        return await self._dispatch_interaction(payload, f"click:{custom_id}", mid)

    # ------------------------------------------------------------------ HTTP plumbing
    def _add_routes(self, app: web.Application) -> None:
        a = self.API_PREFIX
        r = app.router
        r.add_get("/gateway", self.gateway.handle)
        r.add_get("/gateway/resume", self.gateway.handle)
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/users/@me", self.h_me),
            ("GET", "/users/{user_id}", self.h_user),
            ("GET", "/oauth2/applications/@me", self.h_application),
            ("GET", "/applications/@me", self.h_application),
            ("GET", "/gateway", self.h_gateway),
            ("GET", "/gateway/bot", self.h_gateway_bot),
            ("GET", "/applications/{app_id}/commands", self.h_commands_get),
            ("PUT", "/applications/{app_id}/commands", self.h_commands_put),
            ("POST", "/applications/{app_id}/commands", self.h_command_post),
            ("GET", "/applications/{app_id}/commands/{cmd_id}", self.h_command_get),
            ("DELETE", "/applications/{app_id}/commands/{cmd_id}", self.h_command_delete),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self.h_commands_get),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self.h_commands_put),
            ("POST", "/applications/{app_id}/guilds/{guild_id}/commands", self.h_command_post),
            (
                "GET",
                "/applications/{app_id}/guilds/{guild_id}/commands/{cmd_id}",
                self.h_command_get,
            ),
            (
                "DELETE",
                "/applications/{app_id}/guilds/{guild_id}/commands/{cmd_id}",
                self.h_command_delete,
            ),
            ("POST", "/interactions/{iid}/{token}/callback", self.h_callback),
            ("POST", "/webhooks/{app_id}/{token}", self.h_followup),
            ("GET", "/webhooks/{app_id}/{token}/messages/{mid}", self.h_webhook_message_get),
            ("PATCH", "/webhooks/{app_id}/{token}/messages/{mid}", self.h_webhook_message_edit),
            ("DELETE", "/webhooks/{app_id}/{token}/messages/{mid}", self.h_webhook_message_delete),
            ("GET", "/channels/{channel_id}", self.h_channel),
            ("GET", "/channels/{channel_id}/messages", self.h_messages_get),
            ("POST", "/channels/{channel_id}/messages", self.h_message_post),
            ("GET", "/channels/{channel_id}/messages/{mid}", self.h_message_get),
            ("PATCH", "/channels/{channel_id}/messages/{mid}", self.h_message_edit),
            ("DELETE", "/channels/{channel_id}/messages/{mid}", self.h_message_delete),
            ("GET", "/guilds/{guild_id}", self.h_guild),
            ("GET", "/guilds/{guild_id}/channels", self.h_guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self.h_guild_roles),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self.h_guild_member),
            ("POST", "/channels/{channel_id}/threads", self.threads.h_create),
            ("GET", "/guilds/{guild_id}/threads/active", self.threads.h_active),
            (
                "GET",
                "/channels/{channel_id}/threads/archived/public",
                self.threads.h_archived_public,
            ),
            (
                "POST",
                "/channels/{channel_id}/messages/{mid}/crosspost",
                self.crossposts.h_crosspost,
            ),
        ]
        for method, path, handler in routes:
            r.add_route(method, a + path, handler)
        r.add_route("*", "/{tail:.*}", self.h_unknown)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/gateway"):
            return await handler(request)
        path = request.path
        rel = path[len(self.API_PREFIX) :] if path.startswith(self.API_PREFIX) else path
        rec = RecordedRequest(request.method, rel, dict(request.query), None, time.monotonic())
        self.requests.append(rec)
        try:
            rec.json = await self._read_body(request)
            request[_BODY] = rec.json
            resp = await self._pipeline(request, handler, rec)
        except DiscordError as exc:
            resp = json_response(exc.body, exc.status)
        except Exception:
            tb = traceback.format_exc()
            log.error("stub handler crashed on %s %s\n%s", request.method, rel, tb)
            self.errors.append(f"{request.method} {rel}\n{tb}")
            resp = json_response({"message": "500: Internal Server Error", "code": 0}, 500)
        rec.status = resp.status
        rec.headers = {k: v for k, v in resp.headers.items() if k.lower().startswith("x-ratelimit")}
        if isinstance(resp, web.Response) and resp.body is not None and resp.status != 204:
            try:
                rec.response = json.loads(bytes(resp.body))  # type: ignore[arg-type]
            except (ValueError, TypeError):
                rec.response = None
        self._notify()
        return resp

    async def _read_body(self, request: web.Request) -> Any:
        if not request.can_read_body:
            return None
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            form = await request.post()
            raw = form.get("payload_json")
            if raw is None:
                return {}
            text = raw if isinstance(raw, str) else raw.file.read().decode()  # type: ignore[union-attr]
            return json.loads(text)
        text = await request.text()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise DiscordError(400, 50109, "The request body contains invalid JSON.") from None

    async def _pipeline(
        self, request: web.Request, handler: Handler, rec: RecordedRequest
    ) -> web.StreamResponse:
        method, rel = request.method, rec.path
        exempt = rel.startswith(("/interactions/", "/webhooks/"))
        known = request.match_info.route.resource is not None and handler != self.h_unknown
        authorised = request.headers.get("Authorization") == f"Bot {self.token}"
        if known and not exempt and self.token is not None and not authorised:
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        hold = 0.0
        for fault in list(self.faults):
            if fault.matches(method, rel):
                fault.hits += 1
                if fault.delay and fault.delay_response:
                    hold += fault.delay
                elif fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status is not None:
                    return self._fault_response(fault)
        limited = self.limiter.check_global(rel)
        if limited is not None:
            body, headers = limited
            return json_response(body, 429, headers)
        limited, rl_headers = self.limiter.check_route(method, rel)
        if limited is not None:
            body, headers = limited
            return json_response(body, 429, headers)
        resp = await handler(request)
        for k, v in rl_headers.items():
            resp.headers[k] = v
        if hold:
            await asyncio.sleep(hold)
        return resp

    def _fault_response(self, fault: Fault) -> web.Response:
        status = fault.status or 500
        if status == 429:
            body, headers = rate_limit_response(
                fault.retry_after, is_global=fault.is_global, bucket="stubfault", limit=5
            )
            return json_response(body, 429, headers)
        if status == 502:
            return web.Response(
                status=502,
                text="<html><body>502 Bad Gateway</body></html>",
                content_type="text/html",
            )
        if status == 503:
            return json_response(
                {
                    "message": "upstream connect error or disconnect/reset before "
                    "headers. reset reason: overflow",
                    "code": 0,
                },
                503,
            )
        return json_response({"message": f"{status}: Internal Server Error", "code": 0}, status)

    # ------------------------------------------------------------------ handlers: basics
    async def h_unknown(self, request: web.Request) -> web.Response:
        path = request.path
        rel = path[len(self.API_PREFIX) :] if path.startswith(self.API_PREFIX) else path
        rec = RecordedRequest(
            request.method, rel, dict(request.query), request.get(_BODY), time.monotonic(), 404
        )
        self.unknown_routes.append(rec)
        log.warning("discord stub: unknown route %s %s", request.method, rel)
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    async def h_me(self, request: web.Request) -> web.Response:
        data = self.bot_user.payload()
        data.update(verified=True, mfa_enabled=False, locale="en-US", email=None)
        return json_response(data)

    async def h_user(self, request: web.Request) -> web.Response:
        uid = _int(request.match_info["user_id"])
        users = [self.bot_user, self.owner, self.default_user]
        users += [m.user for g in self.guilds.values() for m in g.members]
        for u in users:
            if u.id == uid:
                return json_response(u.payload())
        raise unknown(10013, "User")

    async def h_application(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "id": str(self.application_id),
                "name": self.bot_user.username,
                "icon": None,
                "description": "newsbot under test",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.owner.payload(),
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "summary": "",
                "tags": [],
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "bot": self.bot_user.payload(),
                "approximate_guild_count": len(self.guilds),
            }
        )

    async def h_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def h_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.gateway_url,
                "shards": self.shard_count,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14400000,
                    "max_concurrency": 1,
                },
            }
        )

    # ------------------------------------------------------------------ handlers: commands
    def _command_scope(self, request: web.Request) -> int | None:
        if _int(request.match_info["app_id"]) != self.application_id:
            raise _err(403, 50001, "Missing Access")
        gid = request.match_info.get("guild_id")
        if gid is None:
            return None
        guild_id = _int(gid)
        if guild_id not in self.guilds:
            raise _err(403, 50001, "Missing Access")
        return guild_id

    def _store_command(self, scope: int | None, cmd: JSON) -> JSON:
        ctype = int(cmd.get("type", 1))
        key = (scope, ctype, cmd["name"])
        cid = self._command_ids.setdefault(key, snowflake())
        data = dict(cmd)
        data.update(
            id=str(cid),
            application_id=str(self.application_id),
            type=ctype,
            version=str(snowflake()),
            description=cmd.get("description", ""),
            options=cmd.get("options") or [],
            default_member_permissions=cmd.get("default_member_permissions"),
            nsfw=bool(cmd.get("nsfw", False)),
        )
        if scope is not None:
            data["guild_id"] = str(scope)
        else:
            data.setdefault("contexts", cmd.get("contexts"))
            data.setdefault("integration_types", cmd.get("integration_types") or [0])
        return data

    async def h_commands_get(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        return json_response(self.commands(scope))

    async def h_commands_put(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        body = request[_BODY]
        problem = check_commands(body)
        if problem is not None:
            return json_response(problem[1], problem[0])
        stored = {c["name"]: StoredCommand(self._store_command(scope, c), scope) for c in body}
        self._commands[scope] = stored
        return json_response([c.data for c in stored.values()])

    async def h_command_post(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        body = request[_BODY]
        problem = check_commands([body])
        if problem is not None:
            errors = problem[1].get("errors", {}).get("0", problem[1].get("errors"))
            return json_response({**problem[1], "errors": errors}, problem[0])
        data = self._store_command(scope, body)
        existed = body["name"] in self._commands.get(scope, {})
        self._commands.setdefault(scope, {})[body["name"]] = StoredCommand(data, scope)
        return json_response(data, 200 if existed else 201)

    def _command_by_id(self, scope: int | None, cmd_id: str) -> StoredCommand:
        for cmd in self._commands.get(scope, {}).values():
            if cmd.data["id"] == cmd_id:
                return cmd
        raise unknown(10063, "application command")

    async def h_command_get(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        return json_response(self._command_by_id(scope, request.match_info["cmd_id"]).data)

    async def h_command_delete(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        cmd = self._command_by_id(scope, request.match_info["cmd_id"])
        del self._commands[scope][cmd.data["name"]]
        return web.Response(status=204)

    # ------------------------------------------------------------------ handlers: interactions
    def _author(self) -> JSON:
        return self.bot_user.payload()

    def _new_message(
        self, channel_id: int, body: JSON, *, reply: Reply | None = None, nonce: str | None = None
    ) -> StoredMessage:
        guild, _ = self.find_channel(channel_id)
        msg = StoredMessage(
            id=snowflake(),
            channel_id=channel_id,
            guild_id=guild.id if guild else None,
            author=self._author(),
            nonce=nonce,
        )
        if reply is not None:
            msg.webhook_id = self.application_id
            msg.application_id = self.application_id
            msg.interaction_id = reply.interaction_id
            msg.type = 20 if reply.interaction_type == 2 else 0
        msg.apply(body, edit=False)
        self._messages[msg.id] = msg
        return msg

    async def _announce(self, event: str, msg: StoredMessage) -> None:
        if msg.ephemeral:
            return
        session = self.gateway.session_for(msg.guild_id)
        if session is None or not session.intents & GUILD_MESSAGES_INTENT:
            return
        if event == "MESSAGE_DELETE":
            data: JSON = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.guild_id:
                data["guild_id"] = str(msg.guild_id)
        else:
            data = msg.payload()
            data.pop("allowed_mentions", None)
        await self.gateway.dispatch(event, data, session)

    def _reply_for(self, request: web.Request, *, webhook: bool) -> Reply:
        if webhook:
            if _int(request.match_info["app_id"]) != self.application_id:
                raise unknown(10015, "Webhook")
            reply = self._by_token.get(request.match_info["token"])
            if reply is None:
                raise unknown(10015, "Webhook")
            return reply
        reply = self._interactions.get(_int(request.match_info["iid"]))
        if reply is None or reply.token != request.match_info["token"]:
            raise unknown(10062, "interaction")
        return reply

    def _reject(self, reply: Reply, kind: str, status: int, body: JSON) -> web.Response:
        reply.record(ReplyEvent(f"rejected:{kind}", reply.elapsed(), status, body))
        return json_response(body, status)

    async def h_callback(self, request: web.Request) -> web.StreamResponse:
        reply = self._reply_for(request, webhook=False)
        body = request[_BODY] or {}
        if reply.acknowledged:
            return self._reject(
                reply,
                "callback",
                400,
                {"message": "Interaction has already been acknowledged.", "code": 40060},
            )
        if reply.elapsed() > self.interaction_deadline:
            return self._reject(
                reply, "callback", 404, {"message": "Unknown interaction", "code": 10062}
            )
        ctype = body.get("type")
        data = body.get("data") or {}
        if ctype not in ALLOWED_CALLBACKS.get(reply.interaction_type, set()):
            errors = {
                "type": {
                    "_errors": [
                        {
                            "code": "INTERACTION_RESPONSE_TYPE_INVALID",
                            "message": "Interaction response type is invalid.",
                        }
                    ]
                }
            }
            return self._reject(
                reply,
                "callback",
                400,
                {"code": 50035, "message": "Invalid Form Body", "errors": errors},
            )
        problem = None
        if ctype in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
            problem = check_message(data, require_body=ctype == CHANNEL_MESSAGE)
        elif ctype == AUTOCOMPLETE_RESULT:
            problem = check_choices(data)
        if problem is not None:
            status, err = problem
            if "errors" in err and ctype != AUTOCOMPLETE_RESULT:
                err = {**err, "errors": {"data": err["errors"]}}
            return self._reject(reply, "callback", status, err)
        assert reply.channel_id is not None
        source = reply.source_message_id
        msg: StoredMessage | None = None
        if ctype == CHANNEL_MESSAGE:
            msg = self._new_message(reply.channel_id, data, reply=reply)
            reply.original_id = msg.id
            await self._announce("MESSAGE_CREATE", msg)
        elif ctype == DEFERRED_CHANNEL_MESSAGE:
            flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            msg = self._new_message(reply.channel_id, {"content": "", "flags": flags}, reply=reply)
            reply.original_id = msg.id
        elif ctype in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            reply.original_id = source
            msg = self._messages.get(source) if source else None
            if ctype == UPDATE_MESSAGE and msg is not None:
                msg.apply(data, edit=True)
                await self._announce("MESSAGE_UPDATE", msg)
        reply.callback_type = ctype
        reply.callback_data = data
        reply.record(ReplyEvent("callback", reply.elapsed(), 200, body, msg.id if msg else None))
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        interaction: JSON = {"id": str(reply.interaction_id), "type": reply.interaction_type}
        resource: JSON = {"type": ctype}
        if msg is not None and ctype in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, UPDATE_MESSAGE):
            interaction["response_message_id"] = str(msg.id)
            interaction["response_message_loading"] = ctype == DEFERRED_CHANNEL_MESSAGE
            interaction["response_message_ephemeral"] = msg.ephemeral
            resource["message"] = _wire(msg)
        return json_response({"interaction": interaction, "resource": resource})

    async def h_followup(self, request: web.Request) -> web.StreamResponse:
        reply = self._reply_for(request, webhook=True)
        body = request[_BODY] or {}
        if not reply.acknowledged:
            return self._reject(
                reply, "followup", 404, {"message": "Unknown Webhook", "code": 10015}
            )
        problem = check_message(body)
        if problem is not None:
            return self._reject(reply, "followup", *problem)
        assert reply.channel_id is not None
        msg = self._new_message(reply.channel_id, body, reply=reply)
        reply.followup_ids.append(msg.id)
        reply.record(ReplyEvent("followup", reply.elapsed(), 200, body, msg.id))
        await self._announce("MESSAGE_CREATE", msg)
        if request.query.get("wait") in ("1", "true", "True"):
            return json_response(_wire(msg))
        return web.Response(status=204)

    def _webhook_target(self, reply: Reply, mid: str) -> StoredMessage:
        if mid == "@original":
            target = reply.original_id
            if target is None:
                raise unknown(10008, "Message")
        else:
            target = _int(mid)
            if target not in reply.followup_ids and target != reply.original_id:
                raise unknown(10008, "Message")
        msg = self._messages.get(target)
        if msg is None or msg.deleted:
            raise unknown(10008, "Message")
        return msg

    async def h_webhook_message_get(self, request: web.Request) -> web.Response:
        reply = self._reply_for(request, webhook=True)
        return json_response(_wire(self._webhook_target(reply, request.match_info["mid"])))

    async def h_webhook_message_edit(self, request: web.Request) -> web.Response:
        reply = self._reply_for(request, webhook=True)
        body = request[_BODY] or {}
        mid = request.match_info["mid"]
        if not reply.acknowledged:
            return self._reject(reply, "edit", 404, {"message": "Unknown Webhook", "code": 10015})
        msg = self._webhook_target(reply, mid)
        problem = check_message(body, require_body=False)
        if problem is not None:
            return self._reject(reply, "edit", *problem)
        msg.apply(body, edit=True)
        kind = "edit" if mid == "@original" else "followup_edit"
        reply.record(ReplyEvent(kind, reply.elapsed(), 200, body, msg.id))
        await self._announce("MESSAGE_UPDATE", msg)
        return json_response(_wire(msg))

    async def h_webhook_message_delete(self, request: web.Request) -> web.Response:
        reply = self._reply_for(request, webhook=True)
        msg = self._webhook_target(reply, request.match_info["mid"])
        msg.deleted = True
        reply.record(ReplyEvent("delete", reply.elapsed(), 204, None, msg.id))
        await self._announce("MESSAGE_DELETE", msg)
        return web.Response(status=204)

    # ------------------------------------------------------------------ handlers: channels
    def _channel(self, request: web.Request) -> tuple[GuildSpec, ChannelSpec]:
        guild, channel = self.find_channel(_int(request.match_info["channel_id"]))
        if guild is None or channel is None:
            raise unknown(10003, "Channel")
        return guild, channel

    def _require(self, channel: ChannelSpec, *bits: int) -> None:
        perms = self.bot_permissions(channel.id)
        if not perms & P.VIEW_CHANNEL:
            raise _err(403, 50001, "Missing Access")
        for bit in bits:
            if not perms & bit:
                raise _err(403, 50013, "Missing Permissions")

    async def h_channel(self, request: web.Request) -> web.Response:
        guild, channel = self._channel(request)
        self._require(channel)
        return json_response(channel.payload(guild.id))

    def _channel_message(self, request: web.Request, channel: ChannelSpec) -> StoredMessage:
        msg = self._messages.get(_int(request.match_info["mid"]))
        if msg is None or msg.deleted or msg.channel_id != channel.id or msg.ephemeral:
            raise unknown(10008, "Message")
        return msg

    async def h_messages_get(self, request: web.Request) -> web.Response:
        _, channel = self._channel(request)
        self._require(channel, P.READ_MESSAGE_HISTORY)
        limit = max(1, min(100, int(request.query.get("limit", "50"))))
        msgs = [
            m
            for m in self._messages.values()
            if m.channel_id == channel.id and not m.deleted and not m.ephemeral
        ]
        if "before" in request.query:
            msgs = [m for m in msgs if m.id < int(request.query["before"])]
        if "after" in request.query:
            msgs = [m for m in msgs if m.id > int(request.query["after"])]
            msgs = msgs[:limit]
        msgs.sort(key=lambda m: m.id, reverse=True)
        return json_response([_wire(m) for m in msgs[:limit]])

    async def h_message_get(self, request: web.Request) -> web.Response:
        _, channel = self._channel(request)
        self._require(channel, P.READ_MESSAGE_HISTORY)
        return json_response(_wire(self._channel_message(request, channel)))

    def request_body(self, request: web.Request) -> JSON:
        body = request[_BODY] or {}
        if not isinstance(body, dict):
            raise DiscordError(400, 50109, "The request body contains invalid JSON.")
        return body

    async def h_message_post(self, request: web.Request) -> web.Response:
        _, channel = self._channel(request)
        body = self.request_body(request)
        if channel.type == 15:  # a forum takes posts (threads.py), not messages
            raise _err(400, 50024, "Cannot execute action on this channel type")
        in_thread = getattr(channel, "is_thread", False)
        needs = [P.SEND_MESSAGES_IN_THREADS if in_thread else P.SEND_MESSAGES]
        if body.get("embeds"):
            needs.append(P.EMBED_LINKS)
        self._require(channel, *needs)
        problem = check_message(body)
        if problem is not None:
            return json_response(problem[1], problem[0])
        nonce = body.get("nonce")
        nonce = None if nonce is None else str(nonce)
        if nonce is not None and body.get("enforce_nonce"):
            self._expire_nonces()
            seen = self._nonces.get((channel.id, nonce))
            if seen is not None and seen[1] in self._messages:
                return json_response(_wire(self._messages[seen[1]]))
        msg = self._new_message(channel.id, body, nonce=nonce)
        if nonce is not None and body.get("enforce_nonce"):
            self._nonces[(channel.id, nonce)] = (time.monotonic(), msg.id)
        await self._announce("MESSAGE_CREATE", msg)
        return json_response(_wire(msg))

    def _expire_nonces(self) -> None:
        now = time.monotonic()
        for key, (at, _) in list(self._nonces.items()):
            if now - at > self.nonce_window:
                del self._nonces[key]

    async def h_message_edit(self, request: web.Request) -> web.Response:
        _, channel = self._channel(request)
        self._require(channel)
        msg = self._channel_message(request, channel)
        if msg.author.get("id") != str(self.bot_user.id):
            raise _err(403, 50005, "Cannot edit a message authored by another user")
        body = request[_BODY] or {}
        if body.get("embeds"):
            self._require(channel, P.EMBED_LINKS)
        problem = check_message(body, require_body=False)
        if problem is not None:
            return json_response(problem[1], problem[0])
        msg.apply(body, edit=True)
        await self._announce("MESSAGE_UPDATE", msg)
        return json_response(_wire(msg))

    async def h_message_delete(self, request: web.Request) -> web.Response:
        _, channel = self._channel(request)
        self._require(channel)
        msg = self._channel_message(request, channel)
        if msg.author.get("id") != str(self.bot_user.id):
            self._require(channel, P.MANAGE_MESSAGES)
        msg.deleted = True
        await self._announce("MESSAGE_DELETE", msg)
        return web.Response(status=204)

    # ------------------------------------------------------------------ handlers: guilds
    def _guild(self, request: web.Request) -> GuildSpec:
        guild = self.guilds.get(_int(request.match_info["guild_id"]))
        if guild is None:
            raise unknown(10004, "Guild")
        return guild

    async def h_guild(self, request: web.Request) -> web.Response:
        return json_response(self._guild(request).payload())

    async def h_guild_channels(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return json_response([c.payload(guild.id) for c in guild.channels])

    async def h_guild_roles(self, request: web.Request) -> web.Response:
        return json_response([r.payload() for r in self._guild(request).roles])

    async def h_guild_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        uid = _int(request.match_info["user_id"])
        if uid == self.bot_user.id:
            return json_response(self.bot_member(guild).payload())
        member = guild.member(uid)
        if member is None:
            raise unknown(10007, "Member")
        return json_response(member.payload())


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise DiscordError(
            400,
            50035,
            "Invalid Form Body",
            {
                "code": 50035,
                "message": "Invalid Form Body",
                "errors": {
                    "id": {
                        "_errors": [
                            {
                                "code": "NUMBER_TYPE_COERCE",
                                "message": f'Value "{value}" is not snowflake.',
                            }
                        ]
                    }
                },
            },
        ) from None


def _wire(msg: StoredMessage) -> JSON:
    data = msg.payload()
    data.pop("allowed_mentions", None)
    return data
