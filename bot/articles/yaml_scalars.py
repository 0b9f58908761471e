"""YAML scalars resolved and built as PyYAML's safe loader does; shared by both readers."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode

_SCALARS = SafeConstructor()  # only its scalar constructors are used; they keep no state
_SCALAR_CONSTRUCTORS: dict[str, Callable[[SafeConstructor, ScalarNode], object]] = {
    tag: SafeConstructor.yaml_constructors[tag]
    for tag in (
        f"tag:yaml.org,2002:{name}"
        for name in ("str", "int", "float", "bool", "null", "timestamp", "binary")
    )
}
SAFE_SCALAR_TAGS = frozenset(_SCALAR_CONSTRUCTORS)
_INT_TAG = "tag:yaml.org,2002:int"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_UTC_SECONDS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
# PyYAML's implicit typing of plain scalars (YAML 1.1), by first character ("" for empty).
_IMPLICIT_RESOLVERS: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    first: tuple(resolvers)
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    if first is not None
}


def plain_scalar(value: str) -> object:
    """The value of a plain scalar: PyYAML's implicit resolvers (Resolver.resolve), then
    its safe constructors."""
    if len(value) == 20 and value[11:13] < "24" and _UTC_SECONDS.fullmatch(value) is not None:
        # "2020-06-25T21:16:00Z", the usual date-time: PyYAML's timestamp resolver is the one
        # that matches it, and its constructor builds what fromisoformat does (both tested)
        try:
            return datetime.fromisoformat(value)
        except ValueError:  # 2020-02-30...: left to PyYAML below
            pass
    resolvers = _IMPLICIT_RESOLVERS.get(value[:1])
    if resolvers is not None:
        for tag, regexp in resolvers:
            if regexp.match(value):
                return _construct_implicit(tag, value)
    return value


def _construct_implicit(tag: str, value: str) -> object:
    """A plain scalar PyYAML resolves to a non-string type; the text itself when it cannot
    be built (``2020-02-30``, a 5,000-digit int, ``=``), where safe_load would raise."""
    if tag == _INT_TAG and (value.isdecimal() or (value[1:].isdecimal() and value[0] in "+-")):
        digits = value.lstrip("+-")
        if digits[0] != "0" or digits == "0":  # plain decimal: no octal, no "_", no base 60
            try:
                return int(value)
            except ValueError:  # more digits than int() accepts
                return value
    elif tag == _BOOL_TAG:
        return _SCALARS.bool_values[value.lower()]
    elif tag == _NULL_TAG:
        return None
    if tag not in _SCALAR_CONSTRUCTORS:
        return value
    return construct_scalar(tag, ScalarNode(tag, value))


def construct_scalar(tag: str, node: ScalarNode) -> object:
    """What PyYAML's safe constructor of ``tag`` (one of SAFE_SCALAR_TAGS) builds from the node;
    the node's text when it cannot build it (``!!int abc``), where safe_load would raise."""
    try:  # the constructors read only the node's value
        return _SCALAR_CONSTRUCTORS[tag](_SCALARS, node)
    except (ValueError, TypeError, OverflowError, AttributeError, yaml.YAMLError):
        return node.value
