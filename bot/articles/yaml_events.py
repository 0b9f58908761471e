"""Any YAML document the line scanner leaves alone, built from the parser's events.

libyaml's event parser (``yaml.CSafeLoader``, or ``yaml.SafeLoader`` where libyaml is missing)
feeds one iterative pass that builds Python values: anchors and aliases are refused at the first
one (a billion-laughs file never expands), nesting deeper than ``MAX_DEPTH`` is refused before
libyaml reads further (a 20,000-deep ``[[[[`` cannot recurse anywhere), and errors name their
line. Faster than ``yaml.load(..., Loader=CSafeLoader)``, which composes a node tree first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import yaml
from yaml import events as _ev
from yaml.nodes import ScalarNode

from bot.articles.describe import kind
from bot.articles.model import ArticleRejected
from bot.articles.yaml_scalars import SAFE_SCALAR_TAGS, construct_scalar, plain_scalar

MAX_DEPTH = 64  # nesting of YAML collections; article files need 4


class _EventSource(Protocol):
    """libyaml's parser, or PyYAML's pure-Python one."""

    # Any: _values tells the events' classes apart by identity (faster than isinstance), which
    # mypy does not narrow on; their attributes differ by class.
    def get_event(self) -> Any: ...

    def dispose(self) -> None: ...


_Loader: Callable[[str], _EventSource] = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
_SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")


def read_document(doc: str, first_line: int) -> object:
    """safe_load-equivalent values of one YAML document (``first_line``: its line in the file),
    read from the parser's events; ArticleRejected, naming the line, for what cannot be read."""
    loader = None
    try:
        loader = _Loader(doc)  # the pure-Python reader checks characters here already
        return _values(loader, first_line - 1)
    except yaml.reader.ReaderError as exc:  # a character YAML does not accept
        char = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
        line = doc.count("\n", 0, max(doc.find(char), 0)) + first_line
        raise ArticleRejected(
            f"unacceptable character U+{ord(char[:1] or ' '):04X} at line {line}: {exc.reason}"
            " (not a text file?)"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark and "nesting depth" in (exc.problem or ""):
            # libyaml >= 0.2.6 (PyYAML 6.0.4 wheels) stops at 1,000 levels before our own cap
            raise ArticleRejected(
                f"YAML nested deeper than {MAX_DEPTH} levels at line {mark.line + first_line}"
            ) from None
        where = f" at line {mark.line + first_line}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ArticleRejected(f"YAML syntax error{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise ArticleRejected(f"YAML error: {' '.join(str(exc).split())}") from None
    except (RecursionError, MemoryError):
        raise ArticleRejected("YAML too complex to read") from None
    finally:
        if loader is not None:
            loader.dispose()


def _values(loader: _EventSource, offset: int) -> object:
    """The events of one document as Python values, iteratively; no recursion at any depth."""
    stack: list[tuple[Any, Any]] = []
    cur: Any = None  # the open collection: list, or dict
    key: Any = _NO_KEY  # for a dict: the pending key, or _NO_KEY when a key comes next
    root: object = None
    documents = 0
    get_event = loader.get_event
    scalar_event = _ev.ScalarEvent
    while True:
        event = get_event()
        cls = event.__class__
        if cls is scalar_event:
            if event.anchor is not None:
                _refuse_anchor(event, offset)
            value = event.value
            tag = event.tag
            if tag is None or tag == "!":
                if event.implicit[0]:
                    value = plain_scalar(value)
            elif tag != _STR_TAG:
                value = _construct_tagged(tag, event, offset)
        elif cls is _ev.MappingStartEvent or cls is _ev.SequenceStartEvent:
            if event.anchor is not None:
                _refuse_anchor(event, offset)
            mapping = cls is _ev.MappingStartEvent
            if event.tag not in (_MAP_TAGS if mapping else _SEQ_TAGS):
                raise ArticleRejected(
                    f"unsupported YAML tag {event.tag} at line {_line(event, offset)}"
                )
            if len(stack) >= MAX_DEPTH:
                raise ArticleRejected(
                    f"YAML nested deeper than {MAX_DEPTH} levels at line {_line(event, offset)}"
                )
            stack.append((cur, key))
            if mapping:
                cur, key = {}, _NO_KEY
            else:
                cur, key = [], None
            continue
        elif cls is _ev.MappingEndEvent or cls is _ev.SequenceEndEvent:
            value = cur
            cur, key = stack.pop()
        elif cls is _ev.AliasEvent:
            _refuse_anchor(event, offset)
        elif cls is _ev.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise ArticleRejected(
                    "expected one YAML document, found another at line "
                    f"{_line(event, offset)} (a '---' line without a leading '---' line?)"
                )
            continue
        elif cls is _ev.StreamEndEvent:
            return root
        else:
            continue
        # attach value to the open collection
        if cur is None:
            root = value
        elif cur.__class__ is list:
            cur.append(value)
        elif key is _NO_KEY:
            if value.__class__ is list or value.__class__ is dict:
                raise ArticleRejected(
                    f"a mapping key at line {_line(event, offset)} is {kind(value)}; "
                    "keys must be plain values"
                )
            key = value
        else:
            cur[key] = value
            key = _NO_KEY


class _NoKey:
    __slots__ = ()


_NO_KEY: Any = _NoKey()


def _line(event: _ev.Event, offset: int) -> int:
    mark = event.start_mark
    assert mark is not None  # both parsers mark every event
    return mark.line + 1 + offset


def _refuse_anchor(event: _ev.Event, offset: int) -> None:
    raise ArticleRejected(f"YAML anchors and aliases are not allowed (line {_line(event, offset)})")


def _construct_tagged(tag: str, event: _ev.ScalarEvent, offset: int) -> object:
    """A scalar with an explicit tag: only PyYAML's safe scalar types are accepted. A value the
    tag cannot build (``!!int abc``, a timestamp with a seconds offset) stays text, so the field
    it belongs to is judged like any other wrong value."""
    if tag not in SAFE_SCALAR_TAGS:
        raise ArticleRejected(f"unsupported YAML tag {tag} at line {_line(event, offset)}")
    return construct_scalar(tag, ScalarNode(tag, event.value, style=event.style))
