"""Which process serves which guild: Discord's sharding rule, pure (DESIGN §9).

A bot in many servers runs several processes, each connected to some of Discord's shards; a
guild lives on shard ``(guild_id >> 22) % shard_count``. A process answers the commands of its
shards' guilds (Discord routes them) and schedules only their digests. A subscription whose guild
is not known yet (a ``[[digest.channels]]`` entry whose channel no process has seen) belongs to
shard 0 until a process that sees its channel records the guild.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COMMANDS_SHARD", "UNKNOWN_GUILD_SHARD", "ShardPlan", "shard_of"]

UNKNOWN_GUILD_SHARD = 0  # the shard that runs the digests of channels whose guild is unknown
COMMANDS_SHARD = 0  # the shard whose process syncs the application's commands


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard of a guild: Discord's rule, ``(guild_id >> 22) % shard_count``."""
    if shard_count < 1:
        raise ValueError(f"shard_count must be at least 1, not {shard_count}")
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """The shards one process connects to: ``ids`` of ``count``. No count: not sharded (one
    process, every guild, as with a single connection)."""

    count: int | None = None
    ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.count is None:
            if self.ids:
                raise ValueError("shard ids need a shard count")
            return
        if self.count < 1:
            raise ValueError(f"the shard count must be at least 1, not {self.count}")
        if len(set(self.ids)) != len(self.ids):
            raise ValueError(f"shard ids must be unique, not {list(self.ids)}")
        if any(not 0 <= i < self.count for i in self.ids):
            raise ValueError(
                f"shard ids must be from 0 to {self.count - 1} (the count less one),"
                f" not {list(self.ids)}"
            )

    @property
    def sharded(self) -> bool:
        return self.count is not None

    @property
    def shard_ids(self) -> tuple[int, ...]:
        """The shards this process connects to (every one when no ids were given)."""
        if self.count is None:
            return (0,)
        return self.ids or tuple(range(self.count))

    def owns(self, guild_id: int | None) -> bool:
        """Whether this process serves the guild (None: a guild not known yet, shard 0's)."""
        if self.count is None:
            return True
        shard = UNKNOWN_GUILD_SHARD if guild_id is None else shard_of(guild_id, self.count)
        return shard in self.shard_ids

    @property
    def syncs_commands(self) -> bool:
        """Whether this process syncs the commands: they are the application's, one set for
        every shard, and processes starting together that each synced them would trip
        Discord's limit on that route and wait a minute before serving anything."""
        return COMMANDS_SHARD in self.shard_ids

    @property
    def global_share(self) -> float:
        """This process's part of the bot's global request limit (Discord's 50/s is per bot
        token, whatever the shards and processes): its shards of the count. Processes that
        each paced at the whole limit would together exceed it and retry in 429 storms."""
        if self.count is None:
            return 1.0
        return len(self.shard_ids) / self.count

    def describe(self) -> str:
        if self.count is None:
            return "not sharded"
        return f"shards {','.join(map(str, self.shard_ids))} of {self.count}"
