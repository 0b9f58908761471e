r"""A local Discord (REST API v10 + gateway) on 127.0.0.1 for end-to-end tests.

    async with DiscordStub(guilds=[default_guild()]) as discord:
        # point discord.py at it: Route.BASE = discord.url,
        # DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(discord.gateway_url)
        await discord.wait_ready()
        reply = await (await discord.invoke("news topic", {"topic": "AI"})).wait()
        reply.callback_type, reply.final, reply.embeds, reply.ephemeral, reply.events
        await discord.autocomplete("news topic", {"topic": "A"}, focused="topic")  # -> choices
        await (await discord.click(reply.final, "custom-id")).wait()
        discord.messages(channel_id)        # with "allowed_mentions" as the bot sent it
        discord.fail("POST", r"/channels/\d+/messages$", status=429, retry_after=0.5)
        discord.delay("GET", r"^/channels/", 1.0); discord.rate_limits(routes=True)
        await discord.drop_gateway(code=4000); await discord.wait_resumed()

Discord's validation (embed/content/component limits, 25 choices, command schemas), the
3-second first response (`interaction_deadline`), 40060 on a second acknowledgement, nonce
de-duplication and channel permissions are enforced. Stub-side crashes land in `.errors`;
unknown routes are answered 404 and kept in `.unknown_routes`. See tests/conftest.py for the
`discord_stub` and `newsbot` fixtures and world.py for the default guild's ids.
"""

from . import permissions
from .faults import Fault
from .messages import StoredMessage
from .replies import Reply, ReplyEvent
from .server import DiscordStub, RecordedRequest, StubError
from .specs import ChannelSpec, GuildSpec, MemberSpec, OverwriteSpec, RoleSpec, UserSpec, snowflake

__all__ = [
    "ChannelSpec",
    "DiscordStub",
    "Fault",
    "GuildSpec",
    "MemberSpec",
    "OverwriteSpec",
    "RecordedRequest",
    "Reply",
    "ReplyEvent",
    "RoleSpec",
    "StoredMessage",
    "StubError",
    "UserSpec",
    "permissions",
    "snowflake",
]
