"""A digest in the layout its subscription asks for: each message with how many stories it
carries, in order (what a run records, message by message)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from bot.articles import StoryEntry
from bot.render.compact import compact_payloads
from bot.render.payloads import digest_payloads
from bot.render.shapes import Payload


class DigestMessage(NamedTuple):
    payload: Payload
    stories: int  # how many of the digest's entries, in order, this message carries


def digest_messages(
    entries: Sequence[StoryEntry],
    *,
    layout: str,
    more: int,
    heading: str,
    mention_role_id: int | None = None,
) -> list[DigestMessage]:
    """``cards``: an embed per story (``digest_payloads``); ``compact``: a line per story with
    a stories select under each message (``compact_payloads``)."""
    if layout == "compact":
        pairs = compact_payloads(
            entries, more=more, heading=heading, mention_role_id=mention_role_id
        )
        return [DigestMessage(payload, count) for payload, count in pairs]
    payloads = digest_payloads(entries, more=more, heading=heading, mention_role_id=mention_role_id)
    return [DigestMessage(payload, len(payload["embeds"])) for payload in payloads]
