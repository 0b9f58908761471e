"""The `newsbot` command line: ingest, preview, run, status, check-config, fetch, feeds."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.config import (
    DIGEST_LAYOUTS,
    Config,
    ConfigError,
    load_config,
    render_config,
    resolve_config_path,
    shard_plan,
)
from bot.config.model import MASK, url_passwords
from bot.store.interface import DatabaseUnavailable

if TYPE_CHECKING:
    from bot.app import App
    from bot.ingest import IngestReport
    from bot.ingest.walk import ColdScan
    from bot.render import Payload

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input on the command line; `newsbot` exits 2 with the message."""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="config file (default: $NEWSBOT_CONFIG, else ./config.toml, else built-in defaults)",
    )
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="A Discord bot that serves ranked news digests from article files.",
        parents=[common],
    )
    parser.epilog = (
        "Environment: DISCORD_TOKEN (the bot token), NEWSBOT_CONFIG (config path),"
        " DISCORD_API_BASE (REST through a Discord-compatible proxy)."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ingest = sub.add_parser(
        "ingest",
        parents=[common],
        help="load article files into the database",
        description="Load article files (default: [ingest] paths) into the database. Exit 0 when"
        " every file loaded, 1 when some file was rejected, 2 on a usage or config error.",
    )
    ingest.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to load")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")

    preview = sub.add_parser(
        "preview",
        parents=[common],
        help="show exactly what the bot would send",
        description="Show exactly what the bot would send to Discord, rendered for a terminal,"
        " or with --json as the list of message payloads.",
    )
    what = preview.add_subparsers(dest="what", metavar="WHAT", required=True)
    for name, helptext, arg in (
        ("topic", "/news topic: newest articles on a topic", "name"),
        ("related", "/news related: an article (URL or title) and its related articles", "url"),
        ("search", "/news search: full-text search", "text"),
    ):
        p = what.add_parser(name, parents=[common], help=helptext)
        p.add_argument(arg, nargs="+")
        p.add_argument("--json", action="store_true", help="print message payloads as JSON")
        if name == "topic":
            p.add_argument("--min-quality", type=int, default=0)
            p.add_argument("--count", type=int, default=10)
    latest = what.add_parser("latest", parents=[common], help="/news latest")
    latest.add_argument("topic", nargs="*")
    latest.add_argument("--json", action="store_true", help="print message payloads as JSON")
    digest = what.add_parser(
        "digest",
        parents=[common],
        help="the digest a channel would get now (records nothing)",
        description="The digest a channel would get now, from the same code as a scheduled"
        " run; records nothing. On a terminal it also lists the best articles left out and"
        " why; --json prints exactly the messages that would be sent ([] when nothing is new).",
    )
    digest.add_argument("--channel", type=int, metavar="ID", help="a subscribed channel")
    digest.add_argument(
        "--max-age-days",
        type=int,
        metavar="DAYS",
        help="preview with this max_age_days instead of the subscription's (0: no limit)",
    )
    digest.add_argument(
        "--layout", choices=DIGEST_LAYOUTS, help="preview in this layout instead of its own"
    )
    digest.add_argument(
        "--keywords",
        metavar="WORDS",
        help='only stories with one of these comma-separated words or "phrases" (-: none)',
    )
    digest.add_argument(
        "--exclude",
        metavar="WORDS",
        help='leave out stories with any of these words or "phrases" (-: none)',
    )
    digest.add_argument(
        "--role", type=int, metavar="ID", help="mention this role at the top (0: none)"
    )
    digest.add_argument("--json", action="store_true", help="print message payloads as JSON")

    run = sub.add_parser(
        "run",
        parents=[common],
        help="run the bot (one per database)",
        description="Run the bot: ingest at start and every [ingest] interval_minutes, serve"
        " commands, post digests. Needs DISCORD_TOKEN or [discord] token. One `newsbot run`"
        " per database: a second one on the same [database] path refuses to start (exit 2)"
        " and names the running one's pid; `newsbot ingest` and the other commands may run"
        " beside it. On PostgreSQL several may run, each serving some of Discord's shards"
        " (--shard-count, --shard-ids; README, Scale out).",
    )
    run.add_argument(
        "--shard-count",
        type=int,
        metavar="N",
        help="Discord shards in all (overrides [discord] shard_count); see README, Scale out",
    )
    run.add_argument(
        "--shard-ids",
        metavar="IDS",
        help="the shards this process serves, like 0,1 (default: all of --shard-count)",
    )
    db = sub.add_parser("db", parents=[common], help="database tools (copy)")
    db_what = db.add_subparsers(dest="what", metavar="WHAT", required=True)
    copy = db_what.add_parser(
        "copy",
        parents=[common],
        help="copy a whole database between SQLite and PostgreSQL",
        description="Copy a whole database (articles, stories, topics, files, subscriptions,"
        " runs, the delivery ledger, everything) from SOURCE to TARGET, each a SQLite file"
        " path or a postgresql://user:password@host:5432/name URL, ids kept. TARGET must be"
        " empty, or an unchanged earlier copy of SOURCE (running the copy again is safe);"
        " --replace overwrites anything else. Exit 0 when copied, 2 on bad input.",
    )
    copy.add_argument("source", metavar="SOURCE", help="SQLite path or postgresql:// URL")
    copy.add_argument("target", metavar="TARGET", help="SQLite path or postgresql:// URL")
    copy.add_argument(
        "--replace",
        action="store_true",
        help="overwrite a TARGET that holds another database (its data is lost)",
    )
    status = sub.add_parser("status", parents=[common], help="counts and last ingest")
    status.add_argument("--json", action="store_true", help="print as JSON")
    fetch = sub.add_parser(
        "fetch",
        parents=[common],
        help="fetch the configured feeds once, now, and store their items",
        description="Fetch every feed in [[feeds.sources]] (or the ones given) once, now, and"
        " store their items. A disabled feed is fetched only when named. Exit 0 when every feed"
        " was fetched or not modified, 1 when some failed, 2 on a usage or config error.",
    )
    fetch.add_argument("urls", nargs="*", metavar="URL", help="configured feed URLs to fetch")
    fetch.add_argument("--json", action="store_true", help="print the report as JSON")
    feeds = sub.add_parser(
        "feeds",
        parents=[common],
        help="feed health; `feeds import FILE.opml`, `feeds export`",
        description="Each configured feed's health: last fetch, items, last error, failures,"
        " next fetch, disabled and why. `feeds import FILE.opml` appends the file's feeds to"
        " the config file's [[feeds.sources]]; `feeds export` prints them as OPML.",
    )
    feeds.add_argument("--json", action="store_true", help="print as JSON")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", metavar="ACTION")
    opml_in = feeds_sub.add_parser(
        "import",
        parents=[common],
        help="add an OPML file's feeds to config.toml",
        description="Append a [[feeds.sources]] to the config file (--config, $NEWSBOT_CONFIG,"
        " else ./config.toml, created when missing) for each feed of the OPML file that it does"
        " not list yet. The file's comments and keys stay as they are.",
    )
    opml_in.add_argument("file", metavar="FILE.opml")
    feeds_sub.add_parser("export", parents=[common], help="print the configured feeds as OPML")
    check = sub.add_parser(
        "check-config",
        parents=[common],
        help="validate the config and print it with secrets masked",
    )
    check.add_argument("path", nargs="?", metavar="PATH", help="config file to check")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage message
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK
    try:
        config = _load(args)
    except ConfigError as exc:
        print(f"newsbot: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "check-config":
        print(render_config(config))
        return EXIT_OK
    if args.command == "run":
        try:
            config = with_shard_flags(config, args.shard_count, args.shard_ids)
        except ConfigError as exc:
            print(f"newsbot: {exc}", file=sys.stderr)
            return EXIT_USAGE
    _setup_logging(config, quiet=args.command != "run")
    try:
        scanned: ColdScan | None = None
        if args.command == "ingest":
            found = _ingest_unchanged(config, args, sys.stdout, sys.stderr)
            if isinstance(found, int):
                return found
            scanned = found
        # Imported here: a cold ingest of an unchanged tree (above) runs no event loop.
        import asyncio

        if args.command == "ingest":
            return asyncio.run(_ingest(config, args, sys.stdout, sys.stderr, scanned))
        if args.command == "status":
            return asyncio.run(_status(config, args.json, sys.stdout))
        if args.command == "preview":
            return asyncio.run(_preview(config, args, sys.stdout))
        if args.command == "db":
            return asyncio.run(_db_copy(args, sys.stdout, sys.stderr))
        if args.command == "fetch":
            return asyncio.run(_fetch(config, args, sys.stdout, sys.stderr))
        if args.command == "feeds":
            return _feeds(config, args, sys.stdout)
        if args.command != "run":
            parser.error(f"unknown command {args.command!r}")
        from bot.client import run_bot

        return run_bot(config)
    except UsageError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DatabaseUnavailable as exc:  # its message masks the password
        print(f"newsbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return EXIT_OK


def _load(args: argparse.Namespace) -> Config:
    cli_path = getattr(args, "config", None)
    if args.command == "check-config" and args.path:
        cli_path = args.path
    path = resolve_config_path(cli_path, os.environ, Path.cwd())
    return load_config(path, os.environ)


def with_shard_flags(config: Config, count: int | None, ids_text: str | None) -> Config:
    """The config with ``--shard-count`` and ``--shard-ids`` applied; ConfigError when they do
    not make sense. A new count drops the file's ids (they were ids of another count)."""
    if count is None and ids_text is None:
        return config
    ids: list[int] = []
    if ids_text is not None:
        parts = [part.strip() for part in ids_text.split(",")]
        if not all(part.isdigit() for part in parts):
            raise ConfigError(
                f"invalid --shard-ids {ids_text!r}: give shard numbers separated by commas,"
                " like 0,1",
                "--shard-ids",
            )
        ids = [int(part) for part in parts]
    if count is None:
        count = config.discord.shard_count
    shard_count, shard_ids = shard_plan(count, ids, "--")
    discord = replace(config.discord, shard_count=shard_count, shard_ids=shard_ids)
    return replace(config, discord=discord)


def _setup_logging(config: Config, *, quiet: bool) -> None:
    # One-shot commands keep stdout for their output and log warnings and worse to stderr.
    level = config.logging.level if not quiet else max(logging.WARNING, _level(config))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _level(config: Config) -> int:
    return logging.getLevelNamesMapping()[config.logging.level]


def _ingest_unchanged(
    config: Config, args: argparse.Namespace, out: TextIO, err: TextIO
) -> int | ColdScan | None:
    """`newsbot ingest` when no file changed, without the event loop (bot.ingest.unchanged):
    its exit code; else the walk that found changes, or None, for the full ingest (_ingest)."""
    if config.database.url is not None:
        return None  # PostgreSQL: the store's own path
    from bot.ingest.report import IngestReport
    from bot.ingest.unchanged import unchanged_ingest

    progress = _ProgressBar(err) if err.isatty() and not args.json else None
    found = unchanged_ingest(
        config.database.path,
        _ingest_roots(config, args),
        max_file_bytes=config.ingest.max_file_bytes,
        progress=progress,
    )
    return _ingest_done(found, progress, args, out) if isinstance(found, IngestReport) else found


def _ingest_roots(config: Config, args: argparse.Namespace) -> list[Path]:
    return [Path(p) for p in args.paths] if args.paths else list(config.ingest.paths)


async def _ingest(
    config: Config,
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    scanned: ColdScan | None = None,
) -> int:
    from bot.app import open_ingest

    progress = _ProgressBar(err) if err.isatty() and not args.json else None
    async with open_ingest(config) as ingestor:  # one run: nothing to watch for afterwards
        report = await ingestor.run(_ingest_roots(config, args), progress, scanned=scanned)
    return _ingest_done(report, progress, args, out)


def _ingest_done(
    report: IngestReport, progress: _ProgressBar | None, args: argparse.Namespace, out: TextIO
) -> int:
    """Print the report of `newsbot ingest`; its exit code."""
    if progress:
        progress.finish()
    if args.json:
        json.dump(report.as_dict(), out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        for path in report.missing_paths:
            print(f"{path}: no such file or folder", file=out)
        for path, reason in report.rejected:
            print(f"{path}: {reason}", file=out)
        for path, field_name, reason in report.warnings:
            print(f"{path}: {field_name}: {reason}", file=out)
        print(report.summary(), file=out)
    if report.missing_paths and not report.files_seen:
        return EXIT_USAGE
    return EXIT_OK if report.ok else EXIT_REJECTED


async def _status(config: Config, as_json: bool, out: TextIO) -> int:
    from bot.app import open_app

    async with open_app(config) as app:
        await app.feeds.sync()  # the feeds this config lists
        status = await app.store.status()
    data = status.as_dict()
    if as_json:
        json.dump(data, out, indent=2)
        out.write("\n")
    else:
        print(f"database: {config.database.shown}", file=out)
        counts = data | {"rejected_files": len(status.rejected_files)}
        for key, value in counts.items():
            print(f"{key.replace('_', ' ')}: {value if value is not None else 'never'}", file=out)
        for path, reason in status.rejected_files:
            print(f"{path}: {reason}", file=out)
    return EXIT_OK


async def _preview(config: Config, args: argparse.Namespace, out: TextIO) -> int:
    from bot.app import open_app
    from bot.render import to_terminal

    async with open_app(config) as app:
        payloads = await preview_payloads(app, args)
    if args.json:
        json.dump(payloads, out, ensure_ascii=False, indent=2, default=_json_default)
        out.write("\n")
    else:
        out.write(to_terminal(payloads))
        out.write("\n")
    return EXIT_OK


async def _db_copy(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from urllib.parse import unquote

    from bot.store.copy import CopyRefused, copy_database, same_database
    from bot.store.copy_ends import open_end

    def masked(text: str) -> str:
        for spec in (args.source, args.target):
            for password in url_passwords(spec):  # as written and as decoded
                for shown in sorted({password, unquote(password)}, key=len, reverse=True):
                    text = text.replace(shown, MASK)
        return text

    if same_database(args.source, args.target):
        print(f"newsbot: {masked(args.source)} is both SOURCE and TARGET", file=err)
        return EXIT_USAGE
    progress = _ProgressBar(err, unit="rows") if err.isatty() else None
    try:
        source = await open_end(args.source, target=False)
        try:
            target = await open_end(args.target, target=True)
            try:
                report = await copy_database(
                    source, target, replace=args.replace, progress=progress
                )
            finally:
                await target.close()
        finally:
            await source.close()
    except CopyRefused as exc:
        if progress:
            progress.finish()
        print(f"newsbot: {masked(str(exc))}", file=err)
        return EXIT_USAGE
    except (OSError, ConnectionError) as exc:  # an unreachable server, a refused login
        print(f"newsbot: cannot open the database: {masked(str(exc))}", file=err)
        return EXIT_USAGE
    if progress:
        progress.finish()
    tables = ", ".join(f"{table} {rows}" for table, rows in report.rows.items() if rows)
    print(
        f"copied {report.total} rows from {source.label} to {target.label}"
        + (f" ({tables})" if tables else ""),
        file=out,
    )
    return EXIT_OK


async def _fetch(config: Config, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.app import open_app
    from bot.feeds.service import UnknownFeed

    async with open_app(config) as app:
        try:
            reports = await app.feeds.fetch(args.urls or None)
        except UnknownFeed as exc:
            raise UsageError(str(exc)) from None
    if args.json:
        data = {
            "feeds": [report.as_dict() for report in reports],
            "added": sum(report.added for report in reports),
            "updated": sum(report.updated for report in reports),
        }
        json.dump(data, out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        if not reports:
            print("no feeds configured ([[feeds.sources]] in config.toml)", file=err)
        for report in reports:
            print(report.line(), file=out)
            for warning in report.warnings[:5]:
                print(f"  warning: {warning}", file=out)
    fine = all(report.status in ("ok", "not_modified") for report in reports)
    return EXIT_OK if fine else EXIT_REJECTED


def _feeds(config: Config, args: argparse.Namespace, out: TextIO) -> int:
    if args.feeds_command == "import":
        return _import_opml(config, Path(args.file), out)
    if args.feeds_command == "export":
        from bot.feeds.opml import OpmlFeed, write_opml

        feeds = [OpmlFeed(source.url, source.name) for source in config.feeds.sources]
        out.write(write_opml(feeds))
        return EXIT_OK
    import asyncio  # as in main()

    return asyncio.run(_feed_health(config, args.json, out))


async def _feed_health(config: Config, as_json: bool, out: TextIO) -> int:
    from bot.app import open_app
    from bot.render import feeds_text

    async with open_app(config) as app:
        health = await app.feeds.health()
    if as_json:
        json.dump([_health_dict(h) for h in health], out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        print(feeds_text([h.state for h in health], [m for h in health for m in h.moves]), file=out)
    return EXIT_OK


def _health_dict(health: Any) -> dict[str, Any]:
    state = health.state
    return {
        "url": state.url,
        "name": health.source.name,
        "title": state.title,
        "fetch_url": state.fetch_url,
        "last_fetch": _iso(state.last_fetch),
        "last_status": state.last_status,
        "items": state.items,
        "last_error": state.last_error,
        "failures": state.failures,
        "failing_since": _iso(state.first_failure_at),
        "next_fetch": _iso(state.next_fetch),
        "disabled": state.disabled_reason is not None,
        "disabled_reason": state.disabled_reason,
        "moves": [
            {"from": m.from_url, "to": m.to_url, "status": m.status, "at": _iso(m.at)}
            for m in health.moves
        ],
    }


def _iso(moment: float | None) -> str | None:
    from datetime import UTC, datetime

    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat()


def _import_opml(config: Config, opml: Path, out: TextIO) -> int:
    from datetime import UTC, datetime

    from bot.config.edit import add_feed_sources
    from bot.feeds.opml import OpmlError, read_opml

    try:
        data = opml.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {opml}: {exc.strerror or exc}") from None
    try:
        feeds = read_opml(data)
    except OpmlError as exc:
        raise UsageError(f"{opml}: not a usable OPML file: {exc}") from None
    target = config.source or Path.cwd() / "config.toml"
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    try:
        result = add_feed_sources(
            target,
            [(feed.url, feed.title) for feed in feeds],
            os.environ,
            note=f"imported from {opml.name} on {when} by `newsbot feeds import`",
        )
    except ConfigError as exc:
        raise UsageError(f"{target} not changed: {exc}") from None
    for url, reason in result.invalid:
        print(f"skipped {url[:200]}: {reason}", file=out)
    print(
        f"{target}: {len(result.added)} feeds added, {len(result.already)} already there"
        + (f", {len(result.invalid)} skipped" if result.invalid else ""),
        file=out,
    )
    return EXIT_OK


def _json_default(value: Any) -> Any:
    return str(value)


class _ProgressBar:
    """A one-line progress bar on a terminal; silent elsewhere."""

    def __init__(self, stream: TextIO, unit: str = "files"):
        self.stream = stream
        self.unit = unit
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total < 500:
            return
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} {self.unit}")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


async def preview_payloads(app: App, args: argparse.Namespace) -> list[Payload]:
    from bot.errors import UserError

    news = app.news
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
            from bot.digests.service import preview_digest

            # On a terminal, say what was left out and why; --json is exactly what would be sent.
            return await preview_digest(
                app.config.current(),
                app.store,
                args.channel,
                explain=not args.json,
                max_age_days=args.max_age_days,
                layout=args.layout,
                keywords=args.keywords,
                exclude=args.exclude,
                role_id=args.role,
            )
    except UserError as exc:
        raise UsageError(str(exc)) from None
    raise UsageError(f"unknown preview {args.what!r}")
