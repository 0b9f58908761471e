"""String selects (component type 3) validated as Discord does: custom_id <= 100, 1-25 options,
each label and value 1-100 characters, description <= 100, values unique, placeholder <= 150,
min_values/max_values within 0-25 and the options."""

from __future__ import annotations

from typing import Any, Protocol

SELECT_OPTIONS = 25
OPTION_TEXT = 100
SELECT_PLACEHOLDER = 150


class Errors(Protocol):
    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None: ...

    def max_length(self, path: tuple[str | int, ...], limit: int) -> None: ...

    def length_between(self, path: tuple[str | int, ...], low: int, high: int) -> None: ...

    def required(self, path: tuple[str | int, ...]) -> None: ...


def check_string_select(
    errors: Errors, path: tuple[str | int, ...], select: dict[str, Any]
) -> None:
    """The checks specific to a string select; custom_id and placeholder are checked with the
    other select kinds."""
    options = select.get("options")
    if not isinstance(options, list) or not 1 <= len(options) <= SELECT_OPTIONS:
        errors.length_between((*path, "options"), 1, SELECT_OPTIONS)
        return
    seen: set[str] = set()
    for index, option in enumerate(options):
        opath = (*path, "options", index)
        if not isinstance(option, dict):
            errors.add(opath, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        for key in ("label", "value"):
            text = option.get(key)
            if not isinstance(text, str) or not text:
                errors.required((*opath, key))
            elif len(text) > OPTION_TEXT:
                errors.length_between((*opath, key), 1, OPTION_TEXT)
        description = option.get("description")
        if description is not None and len(str(description)) > OPTION_TEXT:
            errors.max_length((*opath, "description"), OPTION_TEXT)
        value = option.get("value")
        if isinstance(value, str):
            if value in seen:
                errors.add(
                    (*opath, "value"),
                    "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                    "Select component option values must be unique",
                )
            seen.add(value)
    for key, low in (("min_values", 0), ("max_values", 1)):
        count = select.get(key)
        if count is not None and (not isinstance(count, int) or not low <= count <= len(options)):
            errors.add(
                (*path, key),
                "NUMBER_TYPE_MAX",
                f"{key} must be between {low} and the number of options",
            )


def chosen_problem(select: dict[str, Any], values: list[str]) -> str | None:
    """Why a user could not choose ``values`` in this select (None: they could)."""
    options = {o.get("value") for o in select.get("options") or [] if isinstance(o, dict)}
    low = select.get("min_values", 1)
    high = select.get("max_values", 1)
    if not low <= len(values) <= high:
        return f"choose {low}-{high} values, not {len(values)}"
    unknown = [v for v in values if v not in options]
    return f"not options of the select: {unknown}" if unknown else None
