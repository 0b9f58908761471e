"""The /news commands as a service: options in, message payloads out (shared by cog and CLI)."""

from __future__ import annotations

import difflib
import re

from bot import render
from bot.articles import StoryEntry, canonical_url
from bot.config import MAX_QUALITY_BAR, LiveConfig
from bot.errors import UserError
from bot.render import Payload
from bot.store import StoreInterface

MAX_COUNT = 25
SUGGESTIONS = 3
_WORD = re.compile(r"\w")


class NewsService:
    def __init__(self, store: StoreInterface, config: LiveConfig):
        self.store = store
        self._config = config  # read at call time: a reload changes aliases and min_quality

    # ------------------------------------------------------------ commands
    async def topic(self, name: str, *, min_quality: int = 0, count: int = 10) -> list[Payload]:
        _check_range("min_quality", min_quality, 0, MAX_QUALITY_BAR)
        _check_range("count", count, 1, MAX_COUNT)
        topic = await self.resolve_topic(name)
        entries = await self.store.reads.topic_entries(topic, min_quality=min_quality, limit=count)
        if not entries:
            raise UserError(
                f"No articles on {_name(topic)} at quality {min_quality} or above;"
                " try a lower `min_quality`."
            )
        return render.list_pages(entries, heading=f"**{topic}**: newest articles")

    async def related(self, reference: str) -> list[Payload]:
        entry = await self.find_article(reference)
        return await self.related_for(entry)

    async def related_for(self, entry: StoryEntry) -> list[Payload]:
        related = await self.store.reads.related(entry.article_id)
        same_story = await self.store.reads.story_members(entry.article_id)
        return render.related_payloads(entry, related, same_story)

    async def related_by_id(self, article_id: int, *, check: str | None = None) -> list[Payload]:
        """A Related button's article; `check` guards against an id reused by a rebuilt
        database pointing an old button at another article."""
        entry = await self.store.reads.entry(article_id)
        if entry is None or (
            check is not None and render.related_check(entry.article.canonical_url) != check
        ):
            raise UserError(
                "That article is no longer in the database; find it again with `/news search`."
            )
        return await self.related_for(entry)

    async def search(self, query: str, *, count: int = 10) -> list[Payload]:
        text = query.strip()
        if not text:
            raise UserError("Type some words to search for, e.g. `/news search query:facial`.")
        if len(text) > 200:
            raise UserError("That query is too long; use at most 200 characters.")
        entries = await self.store.reads.search(text, limit=count)
        if not entries:
            raise UserError(
                f"No articles match {render.quote(text)}; try fewer or other words,"
                " or `/news topics` for what there is."
            )
        return render.list_pages(entries, heading=f"Search: {render.quote(text)}")

    async def latest(self, topic: str | None = None, *, count: int = 10) -> list[Payload]:
        min_quality = self._config.current().digest.min_quality
        resolved = await self.resolve_topic(topic) if topic else None
        entries = await self.store.reads.latest(
            min_quality=min_quality, limit=count, topic=resolved
        )
        if not entries:
            where = f" on {_name(resolved)}" if resolved else ""
            raise UserError(f"No published articles{where} at quality {min_quality} or above yet.")
        heading = f"**Latest{' on ' + resolved if resolved else ''}**"
        return render.list_pages(entries, heading=heading)

    async def topics(self) -> list[Payload]:
        topics = await self.store.reads.topics(limit=1000)
        if not topics:
            raise UserError("No articles have been loaded yet; ask the operator to run an ingest.")
        return [render.topics_payload(topics)]

    # ------------------------------------------------------------ lookups
    async def resolve_topic(self, name: str) -> str:
        wanted = self._config.current().topics.canonical(name.strip())
        found = await self.store.reads.topic_name(wanted)
        if found is not None:
            return found
        known = [t for t, _ in await self.store.reads.topics(limit=5000)]
        close = _nearest(wanted, known)
        if close:
            hint = f"; did you mean {_or_list([_name(c) for c in close])}?"
        else:
            hint = "; see `/news topics`."
        raise UserError(f"No articles on topic {render.quote(name.strip())}{hint}")

    async def find_article(self, reference: str) -> StoryEntry:
        """An autocomplete value (article id), a URL, or a title typed by hand."""
        text = reference.strip()
        entry = None
        if text.isdigit():
            entry = await self.store.reads.entry(int(text))
        elif text.lower().startswith(("http://", "https://")):
            try:
                entry = await self.store.reads.entry_by_url(canonical_url(text))
            except ValueError:
                entry = None
        elif _WORD.search(text):  # no word, no title: not "the newest article"
            choices = await self.store.reads.title_choices(text, limit=1)
            if choices:
                entry = await self.store.reads.entry(choices[0][0])
        if entry is None:
            raise UserError(
                f"No article matches {render.quote(text)}; pick one from the list as you type."
            )
        return entry

    async def topic_choices(self, current: str) -> list[dict[str, str]]:
        topics = await self.store.reads.topics(current, limit=25)
        return render.choices((f"{name} ({count})", name) for name, count in topics)

    async def article_choices(self, current: str) -> list[dict[str, str]]:
        found = await self.store.reads.title_choices(current, limit=25)
        return render.choices((title, str(article_id)) for article_id, title in found)


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise UserError(f"`{name}` must be between {low} and {high}; you gave {value}.")


def _nearest(wanted: str, known: list[str]) -> list[str]:
    by_key = {k.casefold(): k for k in known}
    close = difflib.get_close_matches(wanted.casefold(), list(by_key), n=SUGGESTIONS, cutoff=0.6)
    prefix = [k for k in known if k.casefold().startswith(wanted.casefold()[:3])] if wanted else []
    names = [by_key[c] for c in close] + [p for p in prefix if p not in close]
    unique = list(dict.fromkeys(names))
    return unique[:SUGGESTIONS]


def _or_list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _name(topic: str) -> str:
    """A topic name from the files, in a reply: it cannot even look like a mention."""
    return render.neutralise_mentions(topic)
