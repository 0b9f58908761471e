"""One article file's bytes -> an Article plus warnings, or the reason it is rejected. Pure."""

from __future__ import annotations

from typing import Any

from bot.articles.describe import kind
from bot.articles.fields import build_article, read_article
from bot.articles.model import ArticleRejected, ArticleValues, FieldWarning, ParsedFile
from bot.articles.yaml_events import read_document
from bot.articles.yaml_fast import simple_yaml

DEFAULT_MAX_BYTES = 1_048_576
_BOM = b"\xef\xbb\xbf"


def parse_article(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedFile:
    """Read one article file. Raises ArticleRejected with the reason shown to the operator."""
    return build_article(_document(data, max_bytes))


def parse_values(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[ArticleValues, tuple[FieldWarning, ...]]:
    """parse_article's article as plain values, and its warnings (a parse worker's form)."""
    return read_article(_document(data, max_bytes))


def _document(data: bytes, max_bytes: int) -> dict[Any, Any]:
    """A file's front matter as a mapping; ArticleRejected when it is not one."""
    size = len(data)
    if size > max_bytes:
        raise ArticleRejected.too_large(size, max_bytes)
    if data.startswith(_BOM):
        data = data[3:]
    if b"\x00" in data:
        raise ArticleRejected("binary data (NUL bytes), not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ArticleRejected(
            f"not UTF-8 text: byte 0x{data[exc.start]:02X} at line {line} "
            f"(offset {exc.start}); save the file as UTF-8"
        ) from None
    if not text or text.isspace():
        raise ArticleRejected("empty file")
    if "\r" in text:
        text = text.replace("\r\n", "\n")

    doc, first_line = _front_matter(text)
    root = simple_yaml(doc)
    if root is None:  # not the plain block style, or empty: the event parser reads it
        root = read_document(doc, first_line)
    if not isinstance(root, dict):
        if root is None:
            raise ArticleRejected("front matter is empty, expected a mapping")
        if isinstance(root, str) and first_line == 1:
            raise ArticleRejected(
                "plain text, no front matter: expected a YAML mapping "
                "with title, webUrl and publishedDateTime"
            )
        raise ArticleRejected(f"front matter is {kind(root)}, expected a mapping")
    return root


def _front_matter(text: str) -> tuple[str, int]:
    """The YAML part of a file and the line number (1-based) it starts at."""
    if text.startswith("---"):
        eol = text.find("\n")
        if eol == -1:
            eol = len(text)
        if not text[3:eol].strip(" \t"):
            pos = eol
            while (pos := text.find("\n---", pos)) != -1:
                end = text.find("\n", pos + 4)
                if not text[pos + 4 : end if end != -1 else len(text)].strip(" \t"):
                    return text[eol + 1 : pos + 1], 2
                pos += 4
            return text[eol:], 1  # no closing fence: the rest of the file is the document
    return text, 1
