"""The replay scenario generator and its oracle (tests/fixtures/replay.py), without the bot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.replay import (
    Article,
    Change,
    Operation,
    Scenario,
    TrivialScenario,
    Version,
    check_coverage,
    file_text,
    generate,
    oracle,
    shown_after,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def article(name: str, title: str, *, video: bool = False) -> Article:
    url = f"https://www.youtube.com/watch?v={name:_<11}" if video else f"https://example.org/{name}"
    return Article(name, title, url, video, "Example", "example.org", 2.0, ("AI",))


def v(published: bool | None, quality: float, *, removed: bool = False, s: str = "x") -> Version:
    return Version(published=published, quality=quality, secured=s, removed=removed)


def front_matter(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    _, matter, _ = text.split("---\n", 2)
    loaded = yaml.safe_load(matter)
    assert isinstance(loaded, dict)
    return loaded


def test_oracle_on_a_hand_written_scenario():
    a, b, b2, c = (
        article("a", "A story"),
        article("b", "B story"),
        article("b2", "B story"),  # the same story from another provider
        article("c", "C story"),
    )
    d, e, f = article("d", "D story"), article("e", "E story"), article("f", "F story")
    video = article("vid", "V story", video=True)
    steps = (
        (
            Operation(Change.CREATE, a, v(True, 70)),
            Operation(Change.CREATE, b, v(False, 90)),
            Operation(Change.CREATE, c, v(True, 59)),
            Operation(Change.CREATE, video, v(True, 150)),
            Operation(Change.CREATE, e, v(None, 95)),  # no published key: never
            Operation(Change.CREATE, f, v(False, 80)),
        ),
        (
            Operation(Change.CREATE, b2, v(True, 65)),
            Operation(Change.REVISE_QUALITY, c, v(True, 60)),  # at the bar is enough
            Operation(Change.SECURED_ONLY, a, v(True, 70, s="y")),
            Operation(Change.BREAK_YAML, f, v(True, 90)),  # the broken text is not taken
        ),
        (
            Operation(Change.PUBLISH, b, v(True, 90)),  # story B went out at step 1
            Operation(Change.DELETE, a, None),
            Operation(Change.CREATE, d, v(True, 80, removed=True)),
        ),
        (
            Operation(Change.RESTORE, a, v(True, 70, s="y")),  # back: not again
            Operation(Change.BREAK_TITLE, d, v(True, 90)),
            Operation(Change.UNPUBLISH, c, v(False, 60)),
        ),
        (
            Operation(Change.FIX, d, v(True, 80)),  # removed dropped with the fix
            Operation(Change.PUBLISH, c, v(True, 60)),  # posted before: not again
        ),
    )
    scenario = Scenario(NOW, (a, b, b2, c, d, e, f, video), steps)
    assert oracle(scenario, 60) == {
        "A story": 0,
        "V story": 0,
        "B story": 1,
        "C story": 1,
        "D story": 4,
    }
    assert oracle(scenario, 100) == {"V story": 0}  # 150 is over any bar up to 150
    assert oracle(scenario, 151) == {}


def test_deleted_or_removed_article_is_not_eligible():
    a, b = article("a", "A story"), article("b", "B story")
    steps = (
        (Operation(Change.CREATE, a, v(False, 80)), Operation(Change.CREATE, b, v(False, 80))),
        (
            Operation(Change.DELETE, a, None),
            Operation(Change.REMOVE, b, v(False, 80, removed=True)),
        ),
        # a comes back published, b is published while removed
        (
            Operation(Change.RESTORE, a, v(True, 80)),
            Operation(Change.PUBLISH, b, v(True, 80, removed=True)),
        ),
        ((Operation(Change.UNREMOVE, b, v(True, 80))),),
    )
    scenario = Scenario(NOW, (a, b), steps)
    assert oracle(scenario, 60) == {"A story": 2, "B story": 3}
    assert shown_after(scenario) == [{"a", "b"}, set(), {"a"}, {"a", "b"}]


def test_generator_is_deterministic_per_seed():
    assert generate(7, NOW) == generate(7, NOW)
    assert generate(7, NOW) != generate(8, NOW)
    assert generate(7, NOW, restricted=True) == generate(7, NOW, restricted=True)


@pytest.mark.parametrize("seed", range(12))
def test_every_kind_of_change_occurs(seed: int):
    scenario = generate(seed, NOW)
    assert set(scenario.changes()) == set(Change)
    assert 12 <= len(scenario.steps) <= 20 and 30 <= len(scenario.articles) <= 40
    assert any(len(articles) > 1 for articles in scenario.stories().values())
    posted = oracle(scenario, 60)
    assert 0 < len(posted) < len(scenario.stories())


def test_coverage_check_refuses_a_trivial_scenario():
    with pytest.raises(TrivialScenario, match="no published flipped to true"):
        check_coverage(generate(3, NOW, restricted=True))
    with pytest.raises(ValueError, match="articles are needed"):
        generate(3, NOW, articles=5)


def test_restricted_variant_only_creates_what_works_before_issue_11():
    scenario = generate(11, NOW, restricted=True)
    assert set(scenario.changes()) == {Change.CREATE}
    for _, operation in scenario.operations():
        assert operation.written is not None and operation.written.published is True
        assert operation.written.quality <= 100 and not operation.written.removed
        assert not operation.article.video
    assert oracle(scenario, 60)


def test_files_say_what_the_scenario_says(tmp_path: Path):
    scenario = generate(5, NOW)
    by_name: dict[str, str] = {}
    for step, operations in enumerate(scenario.steps):
        scenario.apply(step, tmp_path)
        assert not list(tmp_path.glob(".*")), "no partial file is left behind"
        for operation in operations:
            path = tmp_path / f"{operation.article.name}.txt"
            written = operation.written
            if written is None:
                assert not path.exists()
                continue
            text = path.read_text(encoding="utf-8")
            before = by_name.get(operation.article.name)
            by_name[operation.article.name] = text
            if operation.change is Change.BREAK_YAML:
                with pytest.raises(yaml.YAMLError):
                    front_matter(path)
                continue
            fields = front_matter(path)
            assert ("title" in fields) == (operation.change is not Change.BREAK_TITLE)
            assert fields["quality"] == written.quality
            assert fields.get("published") == written.published
            assert "published" in fields or written.published is None
            assert fields.get("removed", False) == written.removed
            assert fields["secured"] == written.secured
            when = fields["publishedDateTime"]  # YAML reads a timestamp as a datetime
            assert NOW - timedelta(days=1) < when < NOW
            if operation.article.video:
                assert "webUrl" not in fields and fields["type"] == "video"
                assert fields["originalUrl"].startswith("https://www.youtube.com/watch?v=")
                assert fields["featuredContent"].startswith("<iframe")
                assert fields["images"][0]["url"].startswith("https://")
            else:
                assert fields["webUrl"] == operation.article.url
            if operation.change is Change.SECURED_ONLY:
                assert before is not None
                changed = set(text.splitlines()) ^ set(before.splitlines())
                assert {line.split(":")[0] for line in changed} == {"secured"}


def test_a_break_is_a_trap_and_a_restore_brings_back_the_file():
    a = article("a", "A story")
    good = v(False, 80)
    lure = v(True, 90)
    assert "\ntitle:" not in file_text(a, lure, NOW, Change.BREAK_TITLE)
    assert "\npublished: true\n" in file_text(a, lure, NOW, Change.BREAK_TITLE)
    assert file_text(a, good, NOW, Change.RESTORE) == file_text(a, good, NOW, Change.CREATE)
    assert "\npublished:" not in file_text(a, v(None, 80), NOW, Change.CREATE)
