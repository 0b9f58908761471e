"""DiscordSender.find_sent: a digest message is found in history though Discord added to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import discord

from bot.articles import Article, StoryEntry
from bot.digests.sender import DiscordSender
from bot.render import digest_payloads

WATCH = "https://www.youtube.com/watch?v=abc123"
ME = 1


class _Channel(discord.abc.Messageable):
    """A text channel whose history is the given messages."""

    def __init__(self, messages: list[Any]) -> None:
        self.messages = messages

    async def _get_channel(self) -> Any:
        return self

    def history(self, **_: Any) -> AsyncIterator[Any]:
        async def messages() -> AsyncIterator[Any]:
            for message in self.messages:
                yield message

        return messages()


def _sender(channel: _Channel) -> DiscordSender:
    client = SimpleNamespace(get_channel=lambda _id: channel, user=SimpleNamespace(id=ME))
    return DiscordSender(cast(discord.Client, client))


async def test_a_sent_video_digest_is_found_though_discord_unfurled_its_watch_url() -> None:
    video = Article(
        url=WATCH,
        canonical_url="https://youtube.com/watch?v=abc123",
        title="Robots fold laundry",
        published_at=datetime(2024, 3, 1, tzinfo=UTC),
        type="video",
        original_url=WATCH,
    )
    (payload,) = digest_payloads([StoryEntry(3, video)], more=0, heading="Digest")
    player = {"type": "video", "title": "Robots fold laundry - YouTube", "url": WATCH}
    sent = SimpleNamespace(
        id=77,
        author=SimpleNamespace(id=ME),
        content=payload["content"],
        embeds=[discord.Embed.from_dict(e) for e in [*payload["embeds"], player]],
    )
    sender = _sender(_Channel([sent]))
    assert await sender.find_sent(5, payload, since=0.0) == 77
    other = SimpleNamespace(**{**vars(sent), "content": "Digest"})
    assert await _sender(_Channel([other])).find_sent(5, payload, since=0.0) is None
