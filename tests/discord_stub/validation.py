"""Discord's request validation, answered in Discord's error shape.

Every check returns a `FormErrors`; an empty one means the payload is accepted. `FormErrors.body()`
is the 400 body: `{"code": 50035, "message": "Invalid Form Body", "errors": {...}}` where errors
nest by field path and end in `{"_errors": [{"code", "message"}]}`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from .selects import check_string_select

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
EMBED_LIMITS = {"title": 256, "description": 4096}
MAX_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER_TEXT = 2048
AUTHOR_NAME = 256
MAX_ACTION_ROWS = 5
MAX_ROW_BUTTONS = 5
CUSTOM_ID = 100
BUTTON_LABEL = 80
MAX_CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100
MAX_OPTIONS = 25
MAX_COMMANDS = 100
COMMAND_NAME_RE = re.compile(r"^[-_'\w]{1,32}$", re.UNICODE)
COMMAND_DESCRIPTION = 100
SELECT_PLACEHOLDER = 150


class FormErrors:
    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_length(self, path: tuple[str | int, ...], limit: int) -> None:
        self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def length_between(self, path: tuple[str | int, ...], low: int, high: int) -> None:
        self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def required(self, path: tuple[str | int, ...]) -> None:
        self.add(path, "BASE_TYPE_REQUIRED", "This field is required")

    def __bool__(self) -> bool:
        return bool(self.tree)

    def body(self) -> dict[str, Any]:
        return {"code": 50035, "message": "Invalid Form Body", "errors": self.tree}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def check_url(
    errors: FormErrors, path: tuple[str | int, ...], url: Any, *, attachment: bool = False
) -> None:
    if url is None:
        return
    if not isinstance(url, str):
        errors.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")
        return
    parsed = urlparse(url)
    allowed = ("http", "https", "attachment") if attachment else ("http", "https")
    if parsed.scheme.lower() not in allowed:
        errors.add(
            path,
            "URL_TYPE_INVALID_SCHEME",
            f'Scheme "{parsed.scheme}" is not supported. Scheme must be one of {allowed}.',
        )
        return
    if parsed.scheme != "attachment" and not parsed.netloc:
        errors.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")


def embed_size(embed: dict[str, Any]) -> int:
    total = len(_str(embed.get("title"))) + len(_str(embed.get("description")))
    for f in embed.get("fields") or []:
        if isinstance(f, dict):
            total += len(_str(f.get("name"))) + len(_str(f.get("value")))
    footer = embed.get("footer") or {}
    author = embed.get("author") or {}
    if isinstance(footer, dict):
        total += len(_str(footer.get("text")))
    if isinstance(author, dict):
        total += len(_str(author.get("name")))
    return total


def check_embed(errors: FormErrors, path: tuple[str | int, ...], embed: Any) -> None:
    if not isinstance(embed, dict):
        errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    for key, limit in EMBED_LIMITS.items():
        if len(_str(embed.get(key))) > limit:
            errors.max_length((*path, key), limit)
    check_url(errors, (*path, "url"), embed.get("url"))
    for key in ("image", "thumbnail"):
        sub = embed.get(key)
        if sub is not None:
            if not isinstance(sub, dict) or "url" not in sub:
                errors.required((*path, key, "url"))
            else:
                check_url(errors, (*path, key, "url"), sub.get("url"), attachment=True)
    color = embed.get("color")
    if color is not None and (not isinstance(color, int) or not 0 <= color <= 0xFFFFFF):
        errors.add((*path, "color"), "NUMBER_TYPE_MAX", "int value should be <= 16777215.")
    ts = embed.get("timestamp")
    if ts is not None:
        try:
            datetime.fromisoformat(str(ts))
        except ValueError:
            errors.add(
                (*path, "timestamp"), "DATE_TYPE_PARSE", "Could not parse %s. Should be ISO8601."
            )
    fields = embed.get("fields")
    if fields is not None:
        if not isinstance(fields, list):
            errors.add(
                (*path, "fields"), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"
            )
        else:
            if len(fields) > MAX_FIELDS:
                errors.max_length((*path, "fields"), MAX_FIELDS)
            for i, f in enumerate(fields):
                fpath = (*path, "fields", i)
                if not isinstance(f, dict):
                    errors.add(
                        fpath, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
                    )
                    continue
                for key, limit in (("name", FIELD_NAME), ("value", FIELD_VALUE)):
                    text = f.get(key)
                    if text is None or _str(text) == "":
                        errors.required((*fpath, key))
                    elif len(_str(text)) > limit:
                        errors.max_length((*fpath, key), limit)
    footer = embed.get("footer")
    if footer is not None:
        if not isinstance(footer, dict) or not _str(footer.get("text")):
            errors.required((*path, "footer", "text"))
        else:
            if len(_str(footer["text"])) > FOOTER_TEXT:
                errors.max_length((*path, "footer", "text"), FOOTER_TEXT)
            check_url(
                errors, (*path, "footer", "icon_url"), footer.get("icon_url"), attachment=True
            )
    author = embed.get("author")
    if author is not None:
        if not isinstance(author, dict) or not _str(author.get("name")):
            errors.required((*path, "author", "name"))
        else:
            if len(_str(author["name"])) > AUTHOR_NAME:
                errors.max_length((*path, "author", "name"), AUTHOR_NAME)
            check_url(errors, (*path, "author", "url"), author.get("url"))
            check_url(
                errors, (*path, "author", "icon_url"), author.get("icon_url"), attachment=True
            )


def check_components(errors: FormErrors, components: Any) -> None:
    if not isinstance(components, list):
        errors.add(("components",), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return
    if len(components) > MAX_ACTION_ROWS:
        errors.max_length(("components",), MAX_ACTION_ROWS)
    seen: set[str] = set()
    for r, row in enumerate(components):
        rpath: tuple[str | int, ...] = ("components", r)
        if not isinstance(row, dict) or row.get("type") != 1:
            errors.add(
                (*rpath, "type"), "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1,).'
            )
            continue
        children = row.get("components")
        if not isinstance(children, list) or not children:
            errors.length_between((*rpath, "components"), 1, MAX_ROW_BUTTONS)
            continue
        if len(children) > MAX_ROW_BUTTONS:
            errors.length_between((*rpath, "components"), 1, MAX_ROW_BUTTONS)
        has_select = any(isinstance(c, dict) and c.get("type") in (3, 5, 6, 7, 8) for c in children)
        if has_select and len(children) > 1:
            errors.add(
                (*rpath, "components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        for c, comp in enumerate(children):
            cpath = (*rpath, "components", c)
            if not isinstance(comp, dict):
                errors.add(
                    cpath, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
                )
                continue
            ctype = comp.get("type")
            custom_id = comp.get("custom_id")
            if ctype == 2:
                style = comp.get("style")
                if style not in (1, 2, 3, 4, 5, 6):
                    errors.add(
                        (*cpath, "style"),
                        "BASE_TYPE_CHOICES",
                        "Value must be one of {1, 2, 3, 4, 5, 6}.",
                    )
                if style == 5:
                    if not comp.get("url"):
                        errors.add(
                            (*cpath, "url"), "BUTTON_COMPONENT_URL_REQUIRED", "A url is required"
                        )
                    else:
                        check_url(errors, (*cpath, "url"), comp.get("url"))
                    if custom_id is not None:
                        errors.add(
                            (*cpath, "custom_id"),
                            "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                            "A custom id cannot be specified",
                        )
                    custom_id = None
                elif style != 6 and not custom_id:
                    errors.add(
                        (*cpath, "custom_id"),
                        "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED",
                        "A custom id required",
                    )
                label = comp.get("label")
                if label is not None and len(_str(label)) > BUTTON_LABEL:
                    errors.max_length((*cpath, "label"), BUTTON_LABEL)
            elif ctype in (3, 5, 6, 7, 8):
                if not custom_id:
                    errors.required((*cpath, "custom_id"))
                placeholder = comp.get("placeholder")
                if placeholder is not None and len(_str(placeholder)) > SELECT_PLACEHOLDER:
                    errors.max_length((*cpath, "placeholder"), SELECT_PLACEHOLDER)
                if ctype == 3:
                    check_string_select(errors, cpath, comp)
            else:
                errors.add(
                    (*cpath, "type"),
                    "UNION_TYPE_CHOICES",
                    'Value of field "type" must be one of (2, 3, 5, 6, 7, 8).',
                )
                continue
            if custom_id is not None:
                if len(_str(custom_id)) > CUSTOM_ID:
                    errors.max_length((*cpath, "custom_id"), CUSTOM_ID)
                if custom_id in seen:
                    errors.add(
                        (*cpath, "custom_id"),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                seen.add(custom_id)


def check_message(payload: Any, *, require_body: bool = True) -> tuple[int, dict[str, Any]] | None:
    """Validate a message create/edit payload. Returns (status, body) for a rejection, else None."""
    if not isinstance(payload, dict):
        return 400, {"code": 50109, "message": "The request body contains invalid JSON."}
    errors = FormErrors()
    content = payload.get("content")
    if content is not None and len(_str(content)) > MAX_CONTENT:
        errors.max_length(("content",), MAX_CONTENT)
    embeds = payload.get("embeds")
    if embeds is not None:
        if not isinstance(embeds, list):
            errors.add(("embeds",), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        else:
            if len(embeds) > MAX_EMBEDS:
                errors.max_length(("embeds",), MAX_EMBEDS)
            for i, embed in enumerate(embeds):
                check_embed(errors, ("embeds", i), embed)
            total = sum(embed_size(e) for e in embeds if isinstance(e, dict))
            if total > MAX_EMBED_TOTAL:
                errors.add(
                    ("embeds",),
                    "MAX_EMBED_SIZE_EXCEEDED",
                    f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
                )
    if payload.get("components") is not None:
        check_components(errors, payload["components"])
    if errors:
        return 400, errors.body()
    if require_body and not (
        _str(content)
        or embeds
        or payload.get("components")
        or payload.get("sticker_ids")
        or payload.get("attachments")
        or payload.get("poll")
    ):
        return 400, {"code": 50006, "message": "Cannot send an empty message"}
    return None


def check_choices(data: Any) -> tuple[int, dict[str, Any]] | None:
    """Validate an autocomplete result (callback type 8) `data`."""
    errors = FormErrors()
    choices = data.get("choices") if isinstance(data, dict) else None
    if choices is None:
        errors.required(("data", "choices"))
        return 400, errors.body()
    if not isinstance(choices, list):
        errors.add(
            ("data", "choices"), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"
        )
        return 400, errors.body()
    if len(choices) > MAX_CHOICES:
        errors.max_length(("data", "choices"), MAX_CHOICES)
    for i, choice in enumerate(choices):
        _check_choice(errors, ("data", "choices", i), choice)
    return (400, errors.body()) if errors else None


def _check_choice(errors: FormErrors, path: tuple[str | int, ...], choice: Any) -> None:
    if not isinstance(choice, dict):
        errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    name = _str(choice.get("name"))
    if not 1 <= len(name) <= CHOICE_NAME:
        errors.length_between((*path, "name"), 1, CHOICE_NAME)
    if "value" not in choice:
        errors.required((*path, "value"))
        return
    value = choice["value"]
    if isinstance(value, str) and len(value) > CHOICE_VALUE:
        errors.max_length((*path, "value"), CHOICE_VALUE)


def _check_name(errors: FormErrors, path: tuple[str | int, ...], name: Any, *, lower: bool) -> None:
    valid = isinstance(name, str) and COMMAND_NAME_RE.match(name) is not None
    if not valid or (lower and name != name.lower()):
        errors.add((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _check_description(errors: FormErrors, path: tuple[str | int, ...], desc: Any) -> None:
    if not isinstance(desc, str) or not 1 <= len(desc) <= COMMAND_DESCRIPTION:
        errors.length_between((*path, "description"), 1, COMMAND_DESCRIPTION)


def _check_options(
    errors: FormErrors, path: tuple[str | int, ...], options: Any, depth: int
) -> None:
    if options is None:
        return
    if not isinstance(options, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return
    if len(options) > MAX_OPTIONS:
        errors.max_length(path, MAX_OPTIONS)
    names: set[str] = set()
    seen_optional = False
    for i, opt in enumerate(options):
        opath = (*path, i)
        if not isinstance(opt, dict):
            errors.add(opath, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        otype = opt.get("type")
        if otype not in range(1, 12):
            errors.add((*opath, "type"), "BASE_TYPE_CHOICES", "Value must be one of 1..11.")
            continue
        _check_name(errors, opath, opt.get("name"), lower=True)
        _check_description(errors, opath, opt.get("description"))
        name = opt.get("name")
        if name in names:
            errors.add(
                (*opath, "name"),
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option name already exists",
            )
        names.add(str(name))
        if otype in (1, 2):
            if (otype == 2 and depth > 0) or (otype == 1 and depth > 1):
                errors.add(
                    (*opath, "type"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-command and sub-command group option types are mutually exclusive"
                    " to all other types",
                )
            _check_options(errors, (*opath, "options"), opt.get("options"), depth + 1)
            continue
        if opt.get("required"):
            if seen_optional:
                errors.add(
                    (*opath, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        choices = opt.get("choices")
        if choices:
            if opt.get("autocomplete"):
                errors.add(
                    (*opath, "autocomplete"),
                    "AUTOCOMPLETE_CHOICES_NOT_ALLOWED",
                    "Autocomplete cannot be set with choices",
                )
            if len(choices) > MAX_CHOICES:
                errors.max_length((*opath, "choices"), MAX_CHOICES)
            for c, choice in enumerate(choices):
                _check_choice(errors, (*opath, "choices", c), choice)
        if opt.get("autocomplete") and otype not in (3, 4, 10):
            errors.add(
                (*opath, "autocomplete"),
                "AUTOCOMPLETE_INVALID_TYPE",
                "Autocomplete is only supported for string, integer and number options",
            )


def check_command(errors: FormErrors, path: tuple[str | int, ...], cmd: Any) -> None:
    if not isinstance(cmd, dict):
        errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    ctype = cmd.get("type", 1)
    if ctype not in (1, 2, 3, 4):
        errors.add((*path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4}.")
        return
    if ctype == 1:
        _check_name(errors, path, cmd.get("name"), lower=True)
        _check_description(errors, path, cmd.get("description"))
        _check_options(errors, (*path, "options"), cmd.get("options"), 0)
    else:
        name = cmd.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 32:
            errors.length_between((*path, "name"), 1, 32)
        if cmd.get("description"):
            errors.add(
                (*path, "description"),
                "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                "Context menu commands cannot have description",
            )
        if cmd.get("options"):
            errors.add(
                (*path, "options"),
                "APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS",
                "Context menu commands cannot have options",
            )


def check_commands(payload: Any) -> tuple[int, dict[str, Any]] | None:
    """Validate a bulk overwrite (list of commands)."""
    if not isinstance(payload, list):
        return 400, {"code": 50109, "message": "The request body contains invalid JSON."}
    errors = FormErrors()
    if sum(1 for c in payload if isinstance(c, dict) and c.get("type", 1) == 1) > MAX_COMMANDS:
        errors.max_length((), MAX_COMMANDS)
    seen: set[tuple[Any, Any]] = set()
    for i, cmd in enumerate(payload):
        check_command(errors, (i,), cmd)
        if isinstance(cmd, dict):
            key = (cmd.get("type", 1), cmd.get("name"))
            if key in seen:
                errors.add(
                    (i, "name"),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    f"Application command names must be unique: {cmd.get('name')}",
                )
            seen.add(key)
    return (400, errors.body()) if errors else None
