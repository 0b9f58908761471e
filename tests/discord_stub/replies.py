# ruff: noqa: ASYNC109  (test API: `timeout=` parameters are the point)
"""What the bot did with one interaction: the callback, edits of @original, followups."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .messages import StoredMessage

CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

EPHEMERAL = 1 << 6
LOADING = 1 << 7


@dataclass
class ReplyEvent:
    """One request the bot made about this interaction. `at` is seconds after dispatch."""

    kind: str  # "callback", "edit", "followup", "followup_edit", "delete", "rejected"
    at: float
    status: int
    payload: Any
    message_id: int | None = None


class MessageStore(Protocol):
    """Where a Reply looks up the messages its interaction produced (the DiscordStub)."""

    def stored_message(self, message_id: int) -> StoredMessage | None: ...


@dataclass
class Reply:
    interaction_id: int
    token: str
    interaction_type: int  # 2 command, 3 component, 4 autocomplete
    name: str
    channel_id: int | None
    guild_id: int | None
    dispatched_at: float = field(default_factory=time.monotonic)
    callback_type: int | None = None
    callback_data: dict[str, Any] | None = None
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    source_message_id: int | None = None  # the message a clicked component is on
    events: list[ReplyEvent] = field(default_factory=list)
    _store: MessageStore | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _last_activity: float = field(default_factory=time.monotonic)

    # ----- recording (called by the server) -----
    def record(self, event: ReplyEvent) -> None:
        self.events.append(event)
        self._last_activity = time.monotonic()
        self._changed.set()

    def elapsed(self) -> float:
        return time.monotonic() - self.dispatched_at

    # ----- inspection -----
    @property
    def acknowledged(self) -> bool:
        return self.callback_type is not None

    @property
    def rejected(self) -> list[ReplyEvent]:
        """Requests the stub refused (status >= 400), e.g. a late or second acknowledgement."""
        return [e for e in self.events if e.status >= 400]

    @property
    def deferred(self) -> bool:
        return self.callback_type in (DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE)

    @property
    def choices(self) -> list[dict[str, Any]] | None:
        if self.callback_type != AUTOCOMPLETE_RESULT or self.callback_data is None:
            return None
        return list(self.callback_data.get("choices") or [])

    @property
    def original(self) -> dict[str, Any] | None:
        """The current @original message (after edits), or None."""
        if self.original_id is None or self._store is None:
            return None
        msg = self._store.stored_message(self.original_id)
        return None if msg is None else msg.payload()

    @property
    def followups(self) -> list[dict[str, Any]]:
        out = []
        for mid in self.followup_ids:
            msg = self._store.stored_message(mid) if self._store is not None else None
            if msg is not None:
                out.append(msg.payload())
        return out

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message this interaction produced, current state: @original then followups."""
        out = []
        original = self.original
        if original is not None and self.callback_type in (
            CHANNEL_MESSAGE,
            DEFERRED_CHANNEL_MESSAGE,
        ):
            out.append(original)
        out.extend(self.followups)
        return out

    @property
    def final(self) -> dict[str, Any]:
        """The message a user is left looking at: the last followup, else @original. Raises
        LookupError when the interaction left no message (e.g. it was only deferred)."""
        final = self._final_or_none()
        if final is None:
            raise LookupError(f"{self!r} left no message")
        return final

    def _final_or_none(self) -> dict[str, Any] | None:
        msgs = self.messages
        if msgs:
            return msgs[-1]
        return self.original

    @property
    def ephemeral(self) -> bool:
        final = self._final_or_none()
        return bool(final and int(final.get("flags", 0)) & EPHEMERAL)

    @property
    def embeds(self) -> list[dict[str, Any]]:
        final = self._final_or_none()
        return list(final.get("embeds") or []) if final else []

    @property
    def content(self) -> str:
        final = self._final_or_none()
        return str(final.get("content") or "") if final else ""

    def _settled(self) -> bool:
        if self.callback_type is None:
            return False
        if self.callback_type == DEFERRED_CHANNEL_MESSAGE:
            original = self.original
            loading = original is not None and int(original.get("flags", 0)) & LOADING
            return bool(not loading or self.followup_ids)
        if self.callback_type == DEFERRED_UPDATE_MESSAGE:
            return any(e.kind in ("edit", "followup") and e.status < 300 for e in self.events)
        return True

    # ----- waiting -----
    async def wait_for(self, predicate: Callable[[Reply], bool], timeout: float = 10.0) -> Reply:
        async with asyncio.timeout(timeout):
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()
        return self

    async def wait(self, timeout: float = 10.0, settle: float = 0.3) -> Reply:
        """Wait until the bot answered (a deferred answer counts once it was filled in) and then
        made no further request for `settle` seconds. Raises TimeoutError with what happened."""
        try:
            await self.wait_for(lambda r: r._settled(), timeout)
            deadline = time.monotonic() + timeout
            while True:
                quiet = time.monotonic() - self._last_activity
                if quiet >= settle:
                    break
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(settle - quiet)
        except TimeoutError:
            raise TimeoutError(
                f"interaction {self.name!r} not answered within {timeout}s; events={self.events}"
            ) from None
        return self

    def __repr__(self) -> str:
        return (
            f"<Reply {self.name!r} type={self.callback_type} events="
            f"{[(e.kind, e.status, round(e.at, 3)) for e in self.events]}>"
        )
