"""The gateway websocket: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME, drops.

Sharding as Discord does it: an IDENTIFY with ``shard: [id, count]`` gets READY and
GUILD_CREATE for the guilds on that shard only (``(guild_id >> 22) % count``), and the events
of a guild (interactions among them) go to the session serving its shard, so with two bot
processes on shards 0 and 1 of 2 each guild's commands reach exactly one of them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .server import DiscordStub

log = logging.getLogger("discord_stub.gateway")

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE, RESUME = 0, 1, 2, 3, 4, 6
RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 7, 8, 9, 10, 11

GUILD_MESSAGES_INTENT = 1 << 9


@dataclass
class GatewayFrame:
    """A frame the client sent (token removed)."""

    op: int
    data: Any
    at: float
    path: str


class Connection:
    def __init__(self, ws: web.WebSocketResponse, path: str, compress: str | None) -> None:
        self.ws = ws
        self.path = path
        self.compress = compress
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._lock = asyncio.Lock()
        self.session: GatewaySession | None = None

    async def send(self, frame: dict[str, Any]) -> bool:
        text = json.dumps(frame, separators=(",", ":"))
        async with self._lock:
            if self.ws.closed:
                return False
            try:
                if self._zlib is not None:
                    data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return False
        return True


INVALID_SHARD = 4010


def shard_of(guild_id: int, shard_count: int) -> int:
    """Discord's rule (written here again: the stub does not import the bot)."""
    return (guild_id >> 22) % shard_count


@dataclass
class GatewaySession:
    session_id: str
    intents: int
    seq: int = 0
    buffer: list[dict[str, Any]] = field(default_factory=list)
    conn: Connection | None = None
    shard: tuple[int, int] | None = None  # (id, count) from IDENTIFY; None: every guild

    @property
    def connected(self) -> bool:
        return self.conn is not None and not self.conn.ws.closed

    def serves(self, guild_id: int) -> bool:
        return self.shard is None or shard_of(guild_id, self.shard[1]) == self.shard[0]


class Gateway:
    def __init__(self, stub: DiscordStub, heartbeat_interval: float) -> None:
        self.stub = stub
        self.heartbeat_interval = heartbeat_interval
        self.sessions: dict[str, GatewaySession] = {}
        self.current: GatewaySession | None = None
        self.connections: set[Connection] = set()
        self.frames: list[GatewayFrame] = []
        self.ready_count = 0
        self.resumed_count = 0
        self.identify_count = 0
        self.close_codes: list[int] = []
        self.changed = asyncio.Event()

    def _notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def session_for(self, guild_id: int | None) -> GatewaySession | None:
        """The session that gets a guild's events: the last to connect when it serves the
        guild's shard, else the newest connected one serving it (else the newest serving it,
        whose buffer a RESUME replays); no guild: the last to connect."""
        current = self.current
        if guild_id is None or (current and current.connected and current.serves(guild_id)):
            return current
        serving = [s for s in reversed(self.sessions.values()) if s.serves(guild_id)]
        connected = [s for s in serving if s.connected]
        found = connected or serving
        return found[0] if found else None

    # ----- sending -----
    async def dispatch(
        self,
        event: str,
        data: dict[str, Any],
        session: GatewaySession | None = None,
        *,
        guild_id: int | None = None,
    ) -> GatewaySession | None:
        """Send an event to ``session``, else to the one serving ``guild_id``'s shard."""
        session = session or self.session_for(guild_id)
        if session is None:
            return None
        session.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.buffer.append(frame)
        if session.conn is not None:
            await session.conn.send(frame)
        return session

    async def drop(self, code: int = 4000) -> None:
        """Close the current connection with `code` (as Discord does before a RESUME)."""
        session = self.current
        if session is None or session.conn is None:
            raise RuntimeError("no gateway connection to drop")
        conn = session.conn
        session.conn = None
        self.close_codes.append(code)
        await conn.ws.close(code=code, message=b"stub drop")

    async def reconnect(self) -> None:
        """Send op 7 RECONNECT, asking the client to reconnect and resume."""
        if self.current and self.current.conn:
            await self.current.conn.send({"op": RECONNECT, "d": None})

    async def invalidate(self, resumable: bool = False) -> None:
        session = self.current
        if session is None or session.conn is None:
            raise RuntimeError("no gateway connection")
        if not resumable:
            self.sessions.pop(session.session_id, None)
        await session.conn.send({"op": INVALID_SESSION, "d": resumable})

    async def close_all(self) -> None:
        for conn in list(self.connections):
            with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
                await asyncio.wait_for(conn.ws.close(code=1001, message=b"stub shutdown"), 2)

    # ----- receiving -----
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        conn = Connection(ws, request.path, request.query.get("compress"))
        self.connections.add(conn)
        try:
            await conn.send(
                {
                    "op": HELLO,
                    "d": {
                        "heartbeat_interval": int(self.heartbeat_interval * 1000),
                        "_trace": ["stub"],
                    },
                }
            )
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                try:
                    await self._on_frame(conn, frame)
                except Exception:
                    log.exception("gateway frame handling failed: %r", frame)
                    self.stub.errors.append(f"gateway: {frame!r}")
        finally:
            self.connections.discard(conn)
            if conn.session is not None and conn.session.conn is conn:
                conn.session.conn = None
            self._notify()
        return ws

    async def _on_frame(self, conn: Connection, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        data = frame.get("d")
        if isinstance(data, dict) and "token" in data:
            data = {k: v for k, v in data.items() if k != "token"}
        self.frames.append(GatewayFrame(int(op or 0), data, time.monotonic(), conn.path))
        if op == HEARTBEAT:
            await conn.send({"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            await self._identify(conn, frame.get("d") or {})
        elif op == RESUME:
            await self._resume(conn, frame.get("d") or {})
        elif op == REQUEST_MEMBERS:
            await self._request_members(conn, frame.get("d") or {})
        self._notify()

    def _token_ok(self, token: Any) -> bool:
        expected = self.stub.token
        return expected is None or token == expected

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        self.identify_count += 1
        if not self._token_ok(data.get("token")):
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        try:
            shard = _shard(data.get("shard"))
        except ValueError:
            await conn.ws.close(code=INVALID_SHARD, message=b"Invalid shard.")
            return
        session = GatewaySession(
            session_id=secrets.token_hex(16), intents=int(data.get("intents") or 0), shard=shard
        )
        self.sessions[session.session_id] = session
        # Like Discord, a token may hold several sessions (two bot processes): the others stay
        # connected; a guild's events go to the newest serving its shard (session_for) unless a
        # caller names a session.
        self.current = session
        session.conn = conn
        conn.session = session
        stub = self.stub
        guilds = [g for g in stub.guilds.values() if session.serves(g.id)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": stub.bot_user.payload(),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": stub.resume_gateway_url,
            "application": {"id": str(stub.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth_session_id_hash": "stub",
            "_trace": ["stub"],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self.dispatch("READY", ready, session)
        for guild in guilds:
            await self.dispatch("GUILD_CREATE", stub.guild_create_payload(guild), session)
        self.ready_count += 1

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or not self._token_ok(data.get("token")):
            await conn.send({"op": INVALID_SESSION, "d": False})
            return
        if session.conn is not None and session.conn is not conn:
            old = session.conn
            session.conn = None
            await old.ws.close(code=4000, message=b"session resumed elsewhere")
        session.conn = conn
        conn.session = session
        self.current = session
        seq = int(data.get("seq") or 0)
        for frame in session.buffer:
            if frame["s"] > seq:
                await conn.send(frame)
        await self.dispatch("RESUMED", {"_trace": ["stub"]}, session)
        self.resumed_count += 1

    async def _request_members(self, conn: Connection, data: dict[str, Any]) -> None:
        if conn.session is None:
            return
        guild = self.stub.guilds.get(int(data.get("guild_id") or 0))
        if guild is None or not conn.session.serves(guild.id):
            return
        members = [self.stub.bot_member(guild).payload()] + [m.payload() for m in guild.members]
        chunk = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self.dispatch("GUILD_MEMBERS_CHUNK", chunk, conn.session)


def _shard(value: Any) -> tuple[int, int] | None:
    """IDENTIFY's ``shard``: (id, count), None when absent; ValueError when Discord would
    refuse it."""
    if value is None:
        return None
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) for v in value)
        and 0 <= value[0] < value[1]
    ):
        return (value[0], value[1])
    raise ValueError(f"invalid shard {value!r}")
