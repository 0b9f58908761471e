"""Discord's limits on what one message may carry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Discord's limits (https://discord.com/developers/docs/resources/message#embed-object)."""

    title: int = 256
    description: int = 4096
    fields: int = 25
    field_name: int = 256
    field_value: int = 1024
    footer: int = 2048
    author_name: int = 256
    embeds: int = 10  # per message
    embed_total: int = 6000  # characters over all embeds of one message
    content: int = 2000
    choices: int = 25
    choice_name: int = 100
    choice_value: int = 100
    button_label: int = 80
    custom_id: int = 100
    action_rows: int = 5
    row_buttons: int = 5
    select_options: int = 25
    select_text: int = 100  # an option's label, value and description
    url: int = 2048  # longer URLs are left out rather than risk a rejected message


LIMITS = Limits()

# Rows the renderer may fill; the cogs add one row of pager buttons.
OWN_ROWS = LIMITS.action_rows - 1
