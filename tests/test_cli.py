"""The `newsbot` command line: exit codes, JSON shapes, --config anywhere, masking."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\npath = "{tmp_path / "db.sqlite3"}"\n[ingest]\npaths = ["{REPO / "seeds"}"]\n',
        encoding="utf-8",
    )
    return path


def run(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO):
    full_env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "NEWSBOT_CONFIG")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
    )


def test_ingest_json_then_unchanged(config: Path, capsys):
    assert main(["ingest", str(REPO / "seeds"), "--config", str(config), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["added"] == 5 and first["rejected"] == [] and first["related_added"] > 0
    assert set(first) >= {"added", "updated", "unchanged", "rejected", "warnings"}
    assert main(["--config", str(config), "ingest", "--json"]) == 0  # config before the command
    second = json.loads(capsys.readouterr().out)
    assert (second["added"], second["updated"], second["unchanged"]) == (0, 0, 5)


def test_ingest_rejected_file_exits_1_and_names_it(tmp_path: Path, config: Path, capsys):
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: x\n---\n", encoding="utf-8")
    assert main(["ingest", str(bad), "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}: " in out and "webUrl" in out


def test_broken_edit_and_deleted_file_in_ingest_and_status(tmp_path: Path, capsys):
    """A good file edited into a broken one: rejected with its reason on every run (exit 1)
    while its article stays; `status` names it; a deleted file is counted as gone."""
    articles = tmp_path / "articles"
    shutil.copytree(REPO / "seeds", articles)
    config = tmp_path / "c.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "db.sqlite3"}"\n[ingest]\npaths = ["{articles}"]\n',
        encoding="utf-8",
    )
    assert main(["ingest", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["status", "--json", "--config", str(config)]) == 0
    before = json.loads(capsys.readouterr().out)
    first, second = sorted(articles.glob("*.txt"))[:2]
    first.write_text(first.read_text(encoding="utf-8").replace("webUrl:", "web:"), "utf-8")
    second.unlink()
    capsys.readouterr()
    for gone in (1, 0):
        assert main(["ingest", "--json", "--config", str(config)]) == 1
        report = json.loads(capsys.readouterr().out)
        assert report["rejected"] == [
            {"path": str(first), "reason": "webUrl or originalUrl: missing (required)"}
        ]
        assert report["gone"] == gone
    assert main(["ingest", "--config", str(config)]) == 1
    assert f"{first}: webUrl or originalUrl: missing (required)" in capsys.readouterr().out
    assert main(["status", "--json", "--config", str(config)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["rejected_files"] == [
        {"path": str(first), "reason": "webUrl or originalUrl: missing (required)"}
    ]
    assert (status["gone_files"], status["files"]) == (1, 4)
    assert status["articles"] == before["articles"] - 1  # the broken file's is still there
    assert main(["status", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "rejected files: 1\n" in text and "gone files: 1\n" in text
    assert f"{first}: webUrl or originalUrl: missing (required)" in text


def test_ingest_warnings_name_the_field(tmp_path: Path, config: Path, capsys):
    f = tmp_path / "warn.md"
    f.write_text(
        "---\ntitle: T\nwebUrl: https://e.com/a\n"
        "publishedDateTime: 2024-01-01\nquality: -150\n---\n",
        encoding="utf-8",
    )
    assert main(["ingest", str(f), "--config", str(config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [w["field"] for w in report["warnings"]] == ["quality"]


VIDEO_FILE = """---
title: Robots fold laundry
type: video
originalUrl: https://www.youtube.com/watch?v=abc123
featuredContent: '<iframe src="https://www.youtube.com/embed/abc123"></iframe>'
images:
  - url: https://i.ytimg.com/vi/abc123/hqdefault.jpg
publishedDateTime: 2024-03-01T09:30:00Z
published: true
quality: 150
topics:
  - Robotics
---
"""


def test_preview_topic_shows_a_video_file_as_a_video(tmp_path: Path, config: Path, capsys):
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "video.md").write_text(VIDEO_FILE, encoding="utf-8")
    assert main(["ingest", str(folder), "--config", str(config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 1
    assert main(["preview", "topic", "Robotics", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "■ ▶ Video · Robots fold laundry" in out
    assert "\nhttps://www.youtube.com/watch?v=abc123\n" in out  # in the content, to be played
    assert "quality 150" in out
    assert "iframe" not in out


def test_usage_and_config_errors_exit_2(tmp_path: Path, capsys):
    assert main(["ingest", "--no-such-flag"]) == 2
    broken = tmp_path / "broken.toml"
    broken.write_text("[digest]\nmin_qualty = 5\n", encoding="utf-8")
    assert main(["status", "--config", str(broken)]) == 2
    assert "min_quality" in capsys.readouterr().err
    assert main(["ingest", str(tmp_path / "missing"), "--config", str(broken)]) == 2


def test_missing_path_exits_2(config: Path, tmp_path: Path, capsys):
    assert main(["ingest", str(tmp_path / "nope"), "--config", str(config)]) == 2
    assert "no such file or folder" in capsys.readouterr().out


def test_status_json_keys(config: Path, capsys):
    main(["ingest", "--config", str(config)])
    capsys.readouterr()
    assert main(["status", "--json", "--config", str(config)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert set(status) == {
        "articles",
        "stories",
        "topics",
        "files",
        "rejected_files",
        "gone_files",
        "subscriptions",
        "failing_subscriptions",
        "paused_subscriptions",
        "feeds",
        "failing_feeds",
        "last_ingest_at",
    }
    assert status["files"] == 5 and status["last_ingest_at"]


def test_check_config_masks_token(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text('[discord]\ntoken = "file-secret-token-123"\n', encoding="utf-8")
    done = run("check-config", str(path), env={"DISCORD_TOKEN": "env-secret-token-456"})
    assert done.returncode == 0, done.stderr
    assert "secret" not in done.stdout + done.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[ingest]\ninterval_minutes = -1\n", encoding="utf-8")
    done = run("check-config", str(bad))
    assert done.returncode == 2 and "interval_minutes" in done.stderr


def test_run_without_token_exits_2_with_help(tmp_path: Path):
    done = run("run", cwd=tmp_path)
    assert done.returncode == 2
    assert "DISCORD_TOKEN" in done.stderr and "make demo" in done.stderr


def test_fresh_directory_works_with_no_config(tmp_path: Path):
    (tmp_path / "seeds").symlink_to(REPO / "seeds")
    done = run("ingest", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "newsbot.sqlite3").exists()


def test_preview_topic_json_and_unknown_topic(config: Path, capsys):
    main(["ingest", "--config", str(config)])
    capsys.readouterr()
    assert main(["preview", "topic", "AI", "--json", "--config", str(config)]) == 0
    payloads = json.loads(capsys.readouterr().out)
    assert payloads and all(set(p) >= {"content", "embeds", "components"} for p in payloads)
    assert main(["preview", "topic", "Compter", "Vision", "--config", str(config)]) == 2
    assert "Computer Vision" in capsys.readouterr().err
