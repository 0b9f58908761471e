"""The stub's string selects are validated as Discord does, and its pings follow Discord's rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.discord_stub import DiscordStub, GuildSpec, RoleSpec
from tests.discord_stub import permissions as P
from tests.discord_stub.specs import ChannelSpec
from tests.discord_stub.validation import check_message


def select(**changes: Any) -> dict[str, Any]:
    menu = {
        "type": 3,
        "custom_id": "s",
        "placeholder": "pick",
        "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}],
    }
    menu.update(changes)
    return {"content": "x", "components": [{"type": 1, "components": [menu]}]}


@pytest.mark.parametrize(
    "changes",
    [
        {"options": []},
        {"options": [{"label": f"L{n}", "value": f"v{n}"} for n in range(26)]},
        {"options": [{"label": "A", "value": "a"}, {"label": "B", "value": "a"}]},
        {"options": [{"label": "", "value": "a"}]},
        {"options": [{"label": "A", "value": "v" * 101}]},
        {"options": [{"label": "A", "value": "a", "description": "d" * 101}]},
        {"placeholder": "p" * 151},
        {"custom_id": "c" * 101},
        {"max_values": 3},
    ],
)
def test_invalid_selects_are_refused(changes: dict[str, Any]):
    problem = check_message(select(**changes))
    assert problem is not None and problem[0] == 400, changes


def test_a_valid_select_is_accepted():
    options = [{"label": "L" * 100, "value": f"{n}", "description": "d" * 100} for n in range(25)]
    assert check_message(select(options=options)) is None


GUILD = 10
CHANNEL = 11


async def test_pings_follow_allowed_mentions_and_mentionable_roles():
    guild = GuildSpec(
        id=GUILD,
        channels=[ChannelSpec(id=CHANNEL, name="c")],
        roles=[RoleSpec(id=21, mentionable=True), RoleSpec(id=22)],
    )
    async with DiscordStub(guilds=[guild]) as stub:

        def post(content: str, mentions: dict[str, Any] | None) -> int:
            body: dict[str, Any] = {"content": content}
            if mentions is not None:
                body["allowed_mentions"] = mentions
            return stub._new_message(CHANNEL, body).id

        only_21 = {"parse": [], "roles": ["21"]}
        assert stub.pings(post("<@&21> <@&22> @everyone <@5>", only_21)).roles == {21}
        assert stub.pings(post("<@&21> @everyone <@5>", {"parse": []})).nobody
        everything = stub.pings(post("<@&21> <@&22> <@5> @everyone", None))
        assert everything.roles == {21} and everything.users == {5}  # 22 is not mentionable
        assert not everything.everyone  # the bot has no Mention Everyone here
        assert stub.pings(post("\\<@&21> <@\u200b&21>", only_21)).nobody
        await stub.roles.create(
            GUILD, RoleSpec(id=23, permissions=P.MENTION_EVERYONE), give_bot=True
        )
        assert stub.pings(post("<@&22>", {"parse": [], "roles": ["22"]})).roles == {22}
        await stub.roles.delete(GUILD, 21)
        assert stub.pings(post("<@&21>", only_21)).nobody
