"""`newsbot preview ...`: the payloads the bot would send, from the same services it uses."""

from __future__ import annotations

import argparse

from bot.cli_errors import UsageError
from bot.config import Config
from bot.errors import UserError
from bot.news import NewsService
from bot.render import Payload
from bot.store import Store


async def preview_payloads(config: Config, store: Store, args: argparse.Namespace) -> list[Payload]:
    news = NewsService(
        store,
        canonical_topic=config.topics.canonical,
        latest_min_quality=lambda: config.digest.min_quality,
    )
    try:
        if args.what == "topic":
            return await news.topic(
                " ".join(args.name), min_quality=args.min_quality, count=args.count
            )
        if args.what == "related":
            return await news.related(" ".join(args.url))
        if args.what == "search":
            return await news.search(" ".join(args.text))
        if args.what == "latest":
            return await news.latest(" ".join(args.topic) or None)
        if args.what == "digest":
            from bot.digest import preview_digest

            # On a terminal, say what was left out and why; --json is exactly what would be sent.
            return await preview_digest(config, store, args.channel, explain=not args.json)
    except UserError as exc:
        raise UsageError(str(exc)) from None
    raise UsageError(f"unknown preview {args.what!r}")
