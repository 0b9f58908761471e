"""`newsbot fetch`, `newsbot feeds`, `feeds import` and `feeds export`: output, JSON and exit
codes, against the local feed server (run on its own thread: the CLI runs its own loop)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.feeds.opml import read_opml
from tests.feeds_server import FeedServer


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    ready = threading.Event()
    stop: list[asyncio.Event] = []
    holder: list[FeedServer] = []

    async def serve() -> None:
        async with FeedServer() as running:
            holder.append(running)
            stop.append(asyncio.Event())
            ready.set()
            await stop[0].wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield holder[0]
    loop.call_soon_threadsafe(stop[0].set)
    thread.join(10)


def write_config(tmp_path: Path, urls: list[str], head: str = "") -> Path:
    path = tmp_path / "config.toml"
    sources = "".join(f'\n[[feeds.sources]]\nurl = "{url}"\n' for url in urls)
    path.write_text(
        f"# my settings, keep this comment\n{head}"
        f'[database]\npath = "{tmp_path / "db.sqlite3"}"  # the database\n'
        f"[feeds]\ntimeout_seconds = 2\n{sources}",
        encoding="utf-8",
    )
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_fetch_json_then_not_modified(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    urls = [server.url("/feed/rss2_cdata_media.xml"), server.url("/feed/jsonfeed_1_1.json")]
    config = str(write_config(tmp_path, urls))
    code, out, _err = run(capsys, "fetch", "--json", "--config", config)
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"feeds", "added", "updated"}
    assert [f["url"] for f in data["feeds"]] == urls
    assert all(set(f) == {"url", "status", "added", "updated", "error"} for f in data["feeds"])
    assert [f["status"] for f in data["feeds"]] == ["ok", "ok"]
    assert data["added"] == sum(f["added"] for f in data["feeds"]) > 0
    code, out, _err = run(capsys, "fetch", "--config", config)
    assert code == 0
    assert out.splitlines() == [f"{url}: not modified" for url in urls]
    code, out, _err = run(capsys, "status", "--json", "--config", config)
    status = json.loads(out)
    assert (status["feeds"], status["failing_feeds"]) == (2, 0)
    assert status["articles"] == data["added"]


def test_fetch_exit_codes(server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    good, bad = server.url("/feed/rss1_rdf.xml"), server.url("/feed/billion_laughs.xml")
    config = str(write_config(tmp_path, [good, bad]))
    code, out, _err = run(capsys, "fetch", "--config", config)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"{good}: 2 added, 0 updated"
    assert lines[1].startswith(f"{bad}: failed: entity declarations are refused")
    code, out, _err = run(capsys, "fetch", good, "--json", "--config", config)
    assert code == 0 and [f["status"] for f in json.loads(out)["feeds"]] == ["not_modified"]
    code, _out, err = run(capsys, "fetch", "https://nowhere.example/feed", "--config", config)
    assert code == 2 and "not in [[feeds.sources]]" in err
    (tmp_path / "bad.toml").write_text('[[feeds.sources]]\nurl = "ftp://x.example/feed"\n')
    code, _out, err = run(capsys, "fetch", "--config", str(tmp_path / "bad.toml"))
    assert code == 2 and "feeds.sources[0].url" in err


def test_feeds_health_table_and_json(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    good, failing = server.url("/feed/atom_xhtml.xml"), server.url("/limited")
    config = str(write_config(tmp_path, [good, failing]))
    code, out, _err = run(capsys, "feeds", "--config", config)
    assert code == 0 and "not fetched yet" in out and "2 feeds, 0 failing" in out
    assert run(capsys, "fetch", "--config", config)[0] == 1
    code, out, _err = run(capsys, "feeds", "--json", "--config", config)
    assert code == 0
    first, second = json.loads(out)
    assert first["url"] == good and first["last_status"] == "ok" and first["items"] == 2
    assert first["failures"] == 0 and first["disabled"] is False
    assert second["failures"] == 1 and "HTTP 429" in second["last_error"]
    assert second["next_fetch"] > second["last_fetch"]
    code, out, _err = run(capsys, "feeds", "--config", config)
    assert "failing: 1 in a row" in out and "last error: HTTP 429" in out
    assert "2 feeds, 1 failing" in out


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My reader</title></head>
  <body>
    <outline text="Tech">
      <outline type="rss" text="Already" xmlUrl="{known}"/>
      <outline type="rss" text="New &amp; shiny" title="New &amp; Shiny" xmlUrl="https://new.example/rss"/>
    </outline>
    <outline type="rss" text="FTP" xmlUrl="ftp://old.example/feed"/>
    <outline type="rss" text="Second" xmlUrl="https://second.example/atom.xml"/>
  </body>
</opml>
"""


def test_import_appends_sources_keeping_comments_then_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    known = "https://known.example/feed.xml"
    config = write_config(tmp_path, [known])
    before = config.read_text()
    opml = tmp_path / "reader.opml"
    opml.write_text(OPML.format(known=known))
    code, out, _err = run(capsys, "feeds", "import", str(opml), "--config", str(config))
    assert code == 0
    assert f"{config}: 2 feeds added, 1 already there, 1 skipped" in out
    assert "skipped ftp://old.example/feed" in out
    after = config.read_text()
    assert after.startswith(before)  # every comment and key as it was
    assert "# imported from reader.opml" in after
    assert 'name = "New & Shiny"' in after
    assert run(capsys, "check-config", str(config))[0] == 0
    code, out, _err = run(capsys, "feeds", "import", str(opml), "--config", str(config))
    assert code == 0 and "0 feeds added, 3 already there" in out
    assert config.read_text() == after
    code, out, _err = run(capsys, "feeds", "export", "--config", str(config))
    assert code == 0
    exported = read_opml(out.encode())
    assert [(f.url, f.title) for f in exported] == [
        (known, known),  # no name: titled by its URL
        ("https://new.example/rss", "New & Shiny"),
        ("https://second.example/atom.xml", "Second"),
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not xml at all", "malformed XML"),
        ("<html><body/></html>", "root element is <html>"),
        (
            '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<opml><body><outline xmlUrl="https://a.example/&x;"/></body></opml>',
            "DOCTYPE is not allowed",
        ),
    ],
)
def test_import_refuses_bad_opml_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, reason: str
):
    config = write_config(tmp_path, [])
    before = config.read_text()
    opml = tmp_path / "bad.opml"
    opml.write_text(body)
    code, _out, err = run(capsys, "feeds", "import", str(opml), "--config", str(config))
    assert code == 2 and "not a usable OPML file" in err and reason in err
    assert config.read_text() == before
    code, _out, err = run(capsys, "feeds", "import", str(tmp_path / "missing.opml"))
    assert code == 2 and "cannot read" in err


def test_fetched_items_preview_with_provider_image_and_excerpt(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    url = server.url("/feed/rss2_cdata_media.xml")
    config = str(write_config(tmp_path, [url]))
    assert run(capsys, "fetch", "--config", config)[0] == 0
    code, out, _err = run(capsys, "preview", "topic", "Robotics", "--json", "--config", config)
    assert code == 0
    [embed] = json.loads(out)[0]["embeds"]
    assert embed["title"] == "Robots learn to fold laundry & towels"
    assert embed["author"]["name"] == "The Example Ledger"
    assert embed["thumbnail"]["url"].endswith("/images/robots-thumb.jpg")
    assert embed["description"]
