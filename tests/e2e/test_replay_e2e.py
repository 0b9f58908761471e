"""Replay (issue 11): an article folder that changes over many steps, as a real news site's does,
with `/newsbot ingest` and `/digest now` after every step, through the real bot and the stub.

The scenario and its oracle are in tests/fixtures/replay.py: videos with only `originalUrl`,
quality above 100, `published` flipped both ways, quality revised, only `secured` changed,
`removed: true`, files deleted and restored, files broken and fixed. The channel must end with
every story that became eligible posted exactly once, after the step the oracle names, and
nothing else.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.discord_stub import DiscordStub
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.world import ADMIN, DIGEST_CHANNEL_ID, GUILD_ID, OWNER
from tests.fixtures.replay import Article, Scenario, generate, oracle, shown_after

SEED = 11
DIGEST = {"min_quality": 60, "max_items": 25, "max_age_days": 0, "only_published": True}
NEVER = "0 0 29 2 *"  # the subscription's own schedule stays out of the way: runs are by hand
_URL = re.compile(r"https?://[^\s<>()\[\]|\"']+")
_YOUTUBE_HOSTS = {"youtube.com", "m.youtube.com", "youtu.be"}


def url_key(url: str) -> str:
    """One key for the forms of one link a post may show: host case, `www.`, a trailing slash,
    a fragment; a YouTube video by its id, whatever the watch URL's form."""
    parts = urlsplit(url.strip().rstrip(".,;:!?"))
    host = (parts.hostname or "").removeprefix("www.")
    if host in _YOUTUBE_HOSTS:
        video = parse_qs(parts.query).get("v", [""])[0] or parts.path.strip("/").split("/")[-1]
        return f"youtube:{video}"
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{parts.path.rstrip('/')}{query}"


@dataclass(slots=True)
class Observed:
    """What the channel received: the steps after which each story was posted, and whose links
    it showed."""

    links: dict[str, Article]  # url_key -> the article
    steps: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    shown: list[tuple[int, Article]] = field(default_factory=list)
    unidentified: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def _article(self, step: int, url: str, where: object) -> Article | None:
        article = self.links.get(url_key(url))
        if article is None:
            self.unidentified.append(f"step {step}: {url or 'no link'} in {where!r}")
        else:
            self.shown.append((step, article))
        return article

    def record(self, step: int, messages: list[dict[str, Any]]) -> None:
        """A story counts once per embed that links it; a story only in message content (a
        watch URL posted for Discord to play) once per message."""
        in_embeds: Counter[str] = Counter()
        in_content: Counter[str] = Counter()
        for message in messages:
            for embed in message.get("embeds") or []:
                article = self._article(step, embed.get("url") or "", embed)
                if article is not None:
                    in_embeds[article.title] += 1
            content = message.get("content") or ""
            named: set[str] = set()
            for url in _URL.findall(content):
                article = self._article(step, url, content)
                if article is not None:
                    named.add(article.title)
            in_content.update(named)
        for story in in_embeds.keys() | in_content.keys():
            self.steps[story] += [step] * (in_embeds[story] or in_content[story])


async def replay(
    stub: DiscordStub,
    newsbot: NewsbotProcess,
    folder: Path,
    scenario: Scenario,
    digest: dict[str, Any],
) -> None:
    """Run ``scenario`` through the bot with ``digest`` as the `[digest]` config and assert that
    the channel got exactly what the oracle says."""
    await newsbot.start({"digest": digest}, articles_dir=folder)
    await newsbot.wait_for_log(r"ingest: ", timeout=20)
    subscribed = await (
        await stub.invoke(
            "digest subscribe",
            {"channel": DIGEST_CHANNEL_ID, "schedule": NEVER},
            guild_id=GUILD_ID,
            user=ADMIN,
        )
    ).wait(timeout=30)
    assert "Subscribed" in subscribed.content, subscribed.content

    observed = Observed({url_key(article.url): article for article in scenario.articles})
    seen = len(stub.messages(DIGEST_CHANNEL_ID))
    for step in range(len(scenario.steps)):
        scenario.apply(step, folder)
        ingest = await (
            await stub.invoke("newsbot ingest", {}, guild_id=GUILD_ID, user=OWNER)
        ).wait(timeout=30)
        now = await (
            await stub.invoke(
                "digest now", {"channel": DIGEST_CHANNEL_ID}, guild_id=GUILD_ID, user=ADMIN
            )
        ).wait(timeout=30)
        messages = stub.messages(DIGEST_CHANNEL_ID)
        observed.record(step, messages[seen:])
        seen = len(messages)
        observed.log.append(f"step {step}: ingest {ingest.content!r}; now {now.content!r}")

    expected = oracle(scenario, digest["min_quality"])
    wrong = [
        f"{title!r}: expected after step {expected.get(title)}, posted after steps "
        f"{observed.steps.get(title, [])}\n    " + "\n    ".join(scenario.history(title))
        for title in sorted(expected.keys() | observed.steps.keys())
        if observed.steps.get(title, []) != ([expected[title]] if title in expected else [])
    ]
    shown = shown_after(scenario)
    gone = [
        f"step {step}: showed {article.url} of {article.name}, which is gone"
        for step, article in observed.shown
        if article.name not in shown[step]
    ]
    report = "\n".join([*wrong, *observed.unidentified, *gone, "", *observed.log])
    assert not wrong and not observed.unidentified and not gone, report


async def test_replay_posts_every_story_that_became_eligible_once(
    discord_stub: DiscordStub, newsbot: NewsbotProcess, tmp_path: Path
):
    scenario = generate(SEED, now=datetime.now(UTC))
    await replay(discord_stub, newsbot, tmp_path / "articles", scenario, DIGEST)
