"""/newsbot status|ingest|reload and SIGHUP: owners only; a bad config edit is refused and the
running config stays; a good one takes effect (file-managed digests included) without restart."""

from __future__ import annotations

import signal
from typing import Any

from tests.discord_stub import DiscordStub, Reply, UserSpec
from tests.discord_stub.process import NewsbotProcess
from tests.discord_stub.world import DIGEST_CHANNEL_ID, GUILD_ID, MEMBER, OWNER
from tests.fixtures.seeds import SEEDS


async def owner(stub: DiscordStub, name: str, user: UserSpec = OWNER) -> Reply:
    reply = await stub.invoke(f"newsbot {name}", {}, guild_id=GUILD_ID, user=user)
    return await reply.wait(timeout=30)


def file_subscriptions(newsbot: NewsbotProcess) -> list[tuple[Any, ...]]:
    return newsbot.query("SELECT channel_id, schedule FROM subscriptions WHERE managed_by = 'file'")


async def test_owner_only_status_and_ingest(discord_stub: DiscordStub, newsbot: NewsbotProcess):
    await newsbot.start(articles_dir=SEEDS)
    refused = await owner(discord_stub, "status", user=MEMBER)
    assert refused.ephemeral and "owner" in refused.content, refused.content
    status = await owner(discord_stub, "status")
    assert status.ephemeral and "articles" in status.content and "ingest" in status.content
    assert "this process**: not sharded; leads: file ingest" in status.content
    ingest = await owner(discord_stub, "ingest")
    assert "unchanged" in ingest.content, ingest.content


async def test_reload_refuses_bad_edit_and_applies_good_one(
    discord_stub: DiscordStub, newsbot: NewsbotProcess
):
    await newsbot.start(articles_dir=SEEDS)
    good = newsbot.config_path.read_text(encoding="utf-8")

    # a misspelt key in the [digest] table the harness writes
    bad = good.replace("[digest]\n", "[digest]\nmin_qualty = 5\n", 1)
    assert bad != good
    newsbot.config_path.write_text(bad, encoding="utf-8")
    refused = await owner(discord_stub, "reload")
    assert refused.ephemeral and "min_quality" in refused.content, refused.content
    assert "running config stays" in refused.content

    channel = f'\n[[digest.channels]]\nchannel_id = {DIGEST_CHANNEL_ID}\nschedule = "daily 07:30"\n'
    newsbot.config_path.write_text(good + channel, encoding="utf-8")
    applied = await owner(discord_stub, "reload")
    assert "reloaded" in applied.content, applied.content
    assert file_subscriptions(newsbot) == [(DIGEST_CHANNEL_ID, "daily 07:30")]
    listing = await (
        await discord_stub.invoke("digest list", {}, guild_id=GUILD_ID, user=OWNER)
    ).wait(timeout=30)
    assert "file" in listing.content and "07:30" in listing.content, listing.content

    # SIGHUP does the same as /newsbot reload.
    newsbot.config_path.write_text(good + channel.replace("07:30", "08:45"), encoding="utf-8")
    assert newsbot.proc is not None
    before = newsbot.log.count("config reloaded")
    newsbot.proc.send_signal(signal.SIGHUP)
    await newsbot.wait_for_log(rf"(?s)(config reloaded.*){{{before + 1}}}", timeout=10)
    assert file_subscriptions(newsbot) == [(DIGEST_CHANNEL_ID, "daily 08:45")]
