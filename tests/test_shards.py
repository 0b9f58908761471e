"""Sharding (DESIGN §9): Discord's rule, the shard plan and its config keys and flags, and the
digest service scheduling only the digests of its shards' guilds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main, with_shard_flags
from bot.config import Config, ConfigError, parse_config, render_config
from bot.digests.delivery import Delivery
from bot.digests.service import DigestService, spec_from_settings
from bot.shards import ShardPlan, shard_of
from bot.store import Store
from tests.test_delivery import Clock, FakeDiscord, Jobs

# Guild ids whose shard (of 2) is known by construction: (n << 22) lands on shard n % 2.
GUILD_ON_0 = (10 << 22) | 12345
GUILD_ON_1 = (11 << 22) | 999


def test_shard_of_is_discords_rule():
    guild = 197038439483310086  # its timestamp part, guild >> 22, is 46977624770
    assert shard_of(guild, 1) == 0
    assert shard_of(guild, 16) == 2  # 46977624770 % 16
    assert shard_of(GUILD_ON_0, 2) == 0 and shard_of(GUILD_ON_1, 2) == 1
    assert shard_of(GUILD_ON_1, 3) == 11 % 3
    # the low 22 bits (worker, process, increment) never move a guild
    assert shard_of(GUILD_ON_1 | ((1 << 22) - 1), 2) == 1
    with pytest.raises(ValueError, match="at least 1"):
        shard_of(GUILD_ON_0, 0)


def test_a_plan_owns_the_guilds_of_its_shards_and_shard_0_the_unknown_ones():
    whole = ShardPlan()
    assert not whole.sharded and whole.owns(GUILD_ON_1) and whole.owns(None)
    zero, one = ShardPlan(2, (0,)), ShardPlan(2, (1,))
    assert zero.owns(GUILD_ON_0) and not zero.owns(GUILD_ON_1)
    assert one.owns(GUILD_ON_1) and not one.owns(GUILD_ON_0)
    assert zero.owns(None) and not one.owns(None)  # a guild not known yet: shard 0's
    every = ShardPlan(2)
    assert every.shard_ids == (0, 1) and every.owns(GUILD_ON_0) and every.owns(GUILD_ON_1)
    assert ShardPlan(4, (3, 1)).describe() == "shards 3,1 of 4"


def test_only_the_process_serving_shard_0_syncs_the_commands():
    assert ShardPlan().syncs_commands and ShardPlan(2).syncs_commands
    assert ShardPlan(2, (0,)).syncs_commands and ShardPlan(4, (3, 0)).syncs_commands
    assert not ShardPlan(2, (1,)).syncs_commands


def test_processes_share_the_global_limit_by_their_shards():
    """Discord's 50 requests/s is per bot: two processes of one shard each pace at half."""
    assert ShardPlan().global_share == 1.0
    assert ShardPlan(2).global_share == 1.0  # one process, every shard
    assert ShardPlan(2, (0,)).global_share == ShardPlan(2, (1,)).global_share == 0.5
    assert ShardPlan(4, (3, 1)).global_share == 0.5


@pytest.mark.parametrize(
    ("count", "ids", "message"),
    [
        (None, (0,), "need a shard count"),
        (0, (), "at least 1"),
        (2, (0, 0), "unique"),
        (2, (2,), "from 0 to 1"),
    ],
)
def test_a_plan_refuses_what_cannot_be(count, ids, message):
    with pytest.raises(ValueError, match=message):
        ShardPlan(count, ids)


def test_config_keys_and_check_config():
    config = parse_config("[discord]\nshard_count = 4\nshard_ids = [3, 1]\n", {})
    assert (config.discord.shard_count, config.discord.shard_ids) == (4, (3, 1))
    assert config.discord.shards == ShardPlan(4, (3, 1))
    text = render_config(config)
    assert "shard_count = 4" in text and "shard_ids = [3, 1]" in text
    assert parse_config("", {}).discord.shards == ShardPlan()
    assert "shard_count is not set" in render_config(parse_config("", {}))


@pytest.mark.parametrize(
    ("toml", "key", "says"),
    [
        ("shard_count = 0", "discord.shard_count", "from 1"),
        ('shard_count = "2"', "discord.shard_count", "whole number"),
        ("shard_ids = [0]", "discord.shard_ids", "need a shard count"),
        ("shard_count = 2\nshard_ids = [0, 2]", "discord.shard_ids", "from 0 to 1"),
        ("shard_count = 2\nshard_ids = [1, 1]", "discord.shard_ids", "unique"),
        ("shard_count = 2\nshard_ids = 1", "discord.shard_ids", "a list"),
        ("shard_count = 2\nshard_ids = [-1]", "discord.shard_ids[0]", "whole number"),
    ],
)
def test_config_refuses_bad_shards(toml, key, says):
    with pytest.raises(ConfigError, match=says) as raised:
        parse_config(f"[discord]\n{toml}\n", {})
    assert raised.value.key == key


def test_flags_override_the_file():
    base = parse_config("[discord]\nshard_count = 4\nshard_ids = [0, 1]\n", {})
    assert with_shard_flags(base, None, None) is base
    assert with_shard_flags(base, None, "2,3").discord.shards == ShardPlan(4, (2, 3))
    # a new count drops the file's ids (they were ids of another count)
    assert with_shard_flags(base, 2, None).discord.shards == ShardPlan(2, ())
    assert with_shard_flags(Config(), 2, "1").discord.shards == ShardPlan(2, (1,))
    with pytest.raises(ConfigError, match="set --shard-count too"):
        with_shard_flags(Config(), None, "0")
    with pytest.raises(ConfigError, match="like 0,1"):
        with_shard_flags(Config(), 2, "0;1")


@pytest.mark.parametrize(
    "flags",
    [
        ["--shard-ids", "0"],
        ["--shard-count", "2", "--shard-ids", "0,2"],
        ["--shard-count", "0"],
        ["--shard-count", "2", "--shard-ids", "x"],
    ],
)
def test_run_refuses_bad_flags_with_exit_2(flags, capsys, monkeypatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSBOT_CONFIG", raising=False)
    assert main(["run", *flags]) == 2
    assert "--shard" in capsys.readouterr().err


async def _service(tmp_path: Path, plan: ShardPlan) -> tuple[Store, DigestService, Jobs]:
    store = await Store.open(tmp_path / "db.sqlite3")
    clock = Clock()
    delivery = Delivery(store, FakeDiscord(), config=Config, clock=clock)
    jobs = Jobs()
    service = DigestService(
        store, config=Config, delivery=delivery, jobs=jobs, clock=clock, owns=plan.owns
    )
    return store, service, jobs


async def test_a_process_schedules_only_its_shards_digests(tmp_path: Path):
    store, service, jobs = await _service(tmp_path, ShardPlan(2, (1,)))
    try:
        await service.subscribe(GUILD_ON_0, 10)
        await service.subscribe(GUILD_ON_1, 11)
        spec = spec_from_settings(Config().digest)
        await store.digests.sync_file_subscriptions([(12, spec)], since=0, now=1)  # guild unknown
        assert await service.rebuild_jobs() == 1
        assert set(jobs.jobs) == {11}
        # a job of another shard's guild that fires anyway (left from before) is not run
        outcome = await service.run(10)
        assert outcome.status == "skipped" and "another shard" in (outcome.error or "")
        # the guild of the file's channel becomes known here: shard 1's, so it is scheduled
        resolved = await service.resolve_guilds(lambda ch: GUILD_ON_1 if ch == 12 else None)
        assert resolved == [12] and set(jobs.jobs) == {11, 12}
        assert await service.resolve_guilds(lambda ch: GUILD_ON_1) == []  # known now
    finally:
        await store.close()


async def test_shard_0_runs_unknown_guilds_until_another_shard_claims_them(tmp_path: Path):
    store, service, jobs = await _service(tmp_path, ShardPlan(2, (0,)))
    try:
        spec = spec_from_settings(Config().digest)
        await store.digests.sync_file_subscriptions([(12, spec)], since=0, now=1)
        await service.rebuild_jobs()
        assert set(jobs.jobs) == {12}
        # shard 1's process saw the channel and recorded its guild
        await store.digests.set_subscription_guild(12, GUILD_ON_1)
        outcome = await service.run(12)
        assert outcome.status == "skipped" and 12 not in jobs.jobs
    finally:
        await store.close()
