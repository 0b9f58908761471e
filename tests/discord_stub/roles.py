"""Guild roles as a test changes them: create, update (mentionable, permissions), delete; each
change dispatches its gateway event as Discord does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .specs import GuildSpec, RoleSpec

if TYPE_CHECKING:
    from .server import DiscordStub


class Roles:
    def __init__(self, stub: DiscordStub) -> None:
        self._stub = stub

    def _guild(self, guild_id: int) -> GuildSpec:
        guild = self._stub.guilds.get(guild_id)
        if guild is None:
            raise KeyError(f"unknown guild {guild_id}")
        return guild

    async def create(self, guild_id: int, role: RoleSpec, *, give_bot: bool = False) -> None:
        """Add a role (to the bot's roles too with ``give_bot``)."""
        guild = self._guild(guild_id)
        guild.roles.append(role)
        await self._stub.gateway.dispatch(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": role.payload()}
        )
        if give_bot:
            guild.bot_roles.append(role.id)
            member = self._stub.bot_member(guild).payload()
            await self._stub.gateway.dispatch(
                "GUILD_MEMBER_UPDATE", {"guild_id": str(guild_id), **member}
            )

    async def update(
        self,
        guild_id: int,
        role_id: int,
        *,
        mentionable: bool | None = None,
        permissions: int | None = None,
    ) -> None:
        guild = self._guild(guild_id)
        role = guild.role(role_id)
        if role is None:
            raise KeyError(f"unknown role {role_id}")
        if mentionable is not None:
            role.mentionable = mentionable
        if permissions is not None:
            role.permissions = permissions
        await self._stub.gateway.dispatch(
            "GUILD_ROLE_UPDATE", {"guild_id": str(guild_id), "role": role.payload()}
        )

    async def delete(self, guild_id: int, role_id: int) -> None:
        guild = self._guild(guild_id)
        role = guild.role(role_id)
        if role is None:
            raise KeyError(f"unknown role {role_id}")
        guild.roles.remove(role)
        if role_id in guild.bot_roles:
            guild.bot_roles.remove(role_id)
        for member in guild.members:
            if role_id in member.roles:
                member.roles.remove(role_id)
        await self._stub.gateway.dispatch(
            "GUILD_ROLE_DELETE", {"guild_id": str(guild_id), "role_id": str(role_id)}
        )
