"""Adding feeds to config.toml (`newsbot feeds import`): new ``[[feeds.sources]]`` tables are
appended as text, so every comment and key of the file stays as it was; the result is validated
before it replaces the file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.config.dump import toml_string
from bot.config.feeds import feed_url
from bot.config.load import parse_config
from bot.config.model import ConfigError


@dataclass(slots=True)
class SourcesAdded:
    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # listed in the file before
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)


def add_feed_sources(
    path: Path,
    feeds: Sequence[tuple[str, str | None]],
    env: Mapping[str, str],
    *,
    note: str,
) -> SourcesAdded:
    """Append a ``[[feeds.sources]]`` (url, name) for each feed the file does not list yet;
    ``note`` heads the appended block as a comment. A missing file is created. ConfigError when
    the file (before or after) does not validate: then it is left untouched."""
    text = ""
    if path.exists():
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file '{path}': {exc}") from None
    config = parse_config(text, env, path)
    known = {source.url for source in config.feeds.sources}
    result = SourcesAdded()
    blocks: list[str] = []
    for raw_url, name in feeds:
        try:
            url = feed_url(raw_url, "xmlUrl")
        except ConfigError as exc:
            result.invalid.append((raw_url, str(exc)))
            continue
        if url in known:
            result.already.append(url)
            continue
        known.add(url)
        block = f"[[feeds.sources]]\nurl = {toml_string(url)}\n"
        if name and name.strip():
            block += f"name = {toml_string(' '.join(name.split()))}\n"
        blocks.append(block)
        result.added.append(url)
    if not blocks:
        return result
    separator = (
        "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    )
    comment = "# " + " ".join(note.split()) + "\n"
    fresh = text + separator + comment + "\n".join(blocks)
    parse_config(fresh, env, path)  # what is written must load
    _replace(path, fresh)
    return result


def _replace(path: Path, text: str) -> None:
    """Write text to path in one step (a crash leaves the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o777)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
