"""Articles, lists and digests -> Discord message payloads and terminal text. Pure.

Everything here returns plain JSON-able dicts in the shapes of Discord's HTTP API, so the same
payloads are sent by the bot and printed by ``newsbot preview --json``. Every text is cut to
Discord's limits (counting characters as ``len`` does), every URL is http(s) or left out, no
string is ever empty (the key is left out instead), and every payload carries
``allowed_mentions`` that pings no one, except the role an admin configured for a digest.

    limits      Discord's limits
    shapes      the payload types (TypedDicts of Discord's JSON)
    text        cutting, escaping, quoting, quality as written: the one set of text rules
    embeds      article embeds, fitted to 6,000 characters a message; "Also told by"; topics;
                videos marked, with their thumbnail large and their watch URL
    buttons     the Related button and the stories select, their custom_id formats; action rows
    buttons     the Related button and its custom_id format; action rows
    feeds       feed health, for a terminal and for Discord
    payloads    notices, list pages, related, topics, digests; autocomplete choices
    compact     the compact digest: a line per story, a stories select under each message
    digest      a digest in its subscription's layout, message by message
    terminal    payloads as plain text
"""

from bot.render.buttons import (
    RELATED_TEMPLATE,
    STORIES_PLACEHOLDER,
    STORIES_TEMPLATE,
    STORY_VALUE_TEMPLATE,
    related_button,
    related_check,
    related_custom_id,
    stories_custom_id,
)
from bot.render.compact import compact_payloads
from bot.render.digest import DigestMessage, digest_messages
from bot.render.embeds import (
    AMBER,
    BLUE,
    GREEN,
    GREY,
    PURPLE,
    VIDEO_MARK,
    article_embed,
    embed_length,
    quality_colour,
    watch_url,
)
from bot.render.feeds import feeds_payload, feeds_text
from bot.render.limits import LIMITS, Limits
from bot.render.payloads import (
    choices,
    digest_payloads,
    list_pages,
    notice,
    related_payloads,
    topics_payload,
)
from bot.render.shapes import (
    ActionRow,
    AllowedMentions,
    Button,
    Embed,
    Payload,
    SelectMenu,
    SelectOption,
    SelectRow,
)
from bot.render.terminal import to_terminal
from bot.render.text import cut, escape_markdown, neutralise_mentions, quality_text, quote

__all__ = [
    "AMBER",
    "BLUE",
    "GREEN",
    "GREY",
    "LIMITS",
    "PURPLE",
    "RELATED_TEMPLATE",
    "STORIES_PLACEHOLDER",
    "STORIES_TEMPLATE",
    "STORY_VALUE_TEMPLATE",
    "VIDEO_MARK",
    "ActionRow",
    "AllowedMentions",
    "Button",
    "DigestMessage",
    "Embed",
    "Limits",
    "Payload",
    "SelectMenu",
    "SelectOption",
    "SelectRow",
    "article_embed",
    "choices",
    "compact_payloads",
    "cut",
    "digest_messages",
    "digest_payloads",
    "embed_length",
    "escape_markdown",
    "feeds_payload",
    "feeds_text",
    "list_pages",
    "neutralise_mentions",
    "notice",
    "quality_colour",
    "quality_text",
    "quote",
    "related_button",
    "related_check",
    "related_custom_id",
    "related_payloads",
    "stories_custom_id",
    "to_terminal",
    "topics_payload",
    "watch_url",
]
