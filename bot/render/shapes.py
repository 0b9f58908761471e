"""The JSON shapes of Discord's HTTP API that the renderer builds.

They are plain dicts at run time, so a payload is sent by the bot and printed by
``newsbot preview --json`` as it is; these types only let the type checker follow the keys.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class EmbedAuthor(TypedDict):
    name: str
    icon_url: NotRequired[str]


class EmbedFooter(TypedDict):
    text: str


class EmbedMedia(TypedDict):
    url: str


class EmbedField(TypedDict):
    name: str
    value: str


class Embed(TypedDict, total=False):
    """Every key may be absent: a text with nothing to show is left out, never sent empty."""

    type: Literal["rich"]
    title: str
    url: str
    description: str
    color: int
    author: EmbedAuthor
    thumbnail: EmbedMedia
    image: EmbedMedia  # a video's thumbnail, shown large
    timestamp: str
    footer: EmbedFooter
    fields: list[EmbedField]  # never built here; counted towards the limits all the same


class Button(TypedDict):
    type: Literal[2]
    style: Literal[2]  # secondary (grey)
    label: str
    custom_id: str


class ActionRow(TypedDict):
    type: Literal[1]
    components: list[Button]


class SelectOption(TypedDict):
    label: str
    value: str
    description: NotRequired[str]


class SelectMenu(TypedDict):
    type: Literal[3]  # a string select
    custom_id: str
    placeholder: str
    options: list[SelectOption]


class SelectRow(TypedDict):
    type: Literal[1]
    components: list[SelectMenu]  # a select fills its row alone


class AllowedMentions(TypedDict):
    parse: list[str]
    roles: NotRequired[list[str]]
    replied_user: bool


class Payload(TypedDict):
    """One message: what the bot sends and what ``newsbot preview --json`` prints."""

    content: str | None
    embeds: list[Embed]
    components: list[ActionRow | SelectRow]
    allowed_mentions: AllowedMentions
