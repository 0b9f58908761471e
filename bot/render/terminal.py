"""Payloads as readable plain text, for ``newsbot preview`` without ``--json``."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.render.shapes import Button, Embed, Payload, SelectMenu
from bot.render.text import SEP


def _wrap(text: str, indent: str = "  ", width: int = 78) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        wrapped = textwrap.wrap(
            paragraph, width=width, initial_indent=indent, subsequent_indent=indent
        )
        lines.extend(wrapped or [indent.rstrip()])
    return lines


def _terminal_embed(embed: Embed) -> list[str]:
    lines: list[str] = []
    title = embed.get("title")
    if title:
        lines.append(f"■ {title}")
    url = embed.get("url")
    if url:
        lines.append(f"  {url}")
    meta = []
    author = embed["author"]["name"] if "author" in embed else ""
    if author:
        meta.append(author)
    timestamp = embed.get("timestamp")
    if timestamp:
        try:
            meta.append(f"{datetime.fromisoformat(timestamp).astimezone(UTC):%Y-%m-%d %H:%M} UTC")
        except ValueError:
            meta.append(timestamp)
    if meta:
        lines.append("  " + SEP.join(meta))
    description = embed.get("description")
    if description:
        lines.extend(_wrap(description))
    for field in embed.get("fields", ()):
        lines.append(f"  {field['name']}: {field['value']}")
    footer = embed["footer"]["text"] if "footer" in embed else ""
    if footer:
        lines.append(f"  [{footer}]")
    return lines


def _terminal_component(component: Button | SelectMenu) -> str:
    if component["type"] == 2:
        return f"[{component['label']}] ({component['custom_id']})"
    labels = " | ".join(option["label"] for option in component["options"])
    return f"[{component['placeholder']} ▾ {labels}] ({component['custom_id']})"


def to_terminal(payloads: Sequence[Payload]) -> str:
    """Payloads as readable plain text, for ``newsbot preview`` without ``--json``."""
    out: list[str] = []
    for number, payload in enumerate(payloads, 1):
        if len(payloads) > 1:
            out.append(f"── message {number}/{len(payloads)} ──")
        if payload["content"]:
            out.append(payload["content"])
        for embed in payload["embeds"]:
            out.append("")
            out.extend(_terminal_embed(embed))
        shown = [_terminal_component(c) for row in payload["components"] for c in row["components"]]
        if shown:
            out.append("")
            out.append("  ".join(shown))
        out.append("")
    return "\n".join(out).rstrip() + "\n"
