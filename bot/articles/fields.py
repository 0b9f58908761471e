"""The field rules of DESIGN.md §3 (Required, Optional): a file's front matter, as a mapping,
becomes an Article with warnings, or is rejected. Pure."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from bot.articles.describe import kind, show
from bot.articles.identity import (
    PLAIN_HTTP_URL,
    canonical_url,
    canonical_url_of_match,
    is_plain_http_url,
    split_http_url,
    topic_key,
    url_entities_decoded,
)
from bot.articles.model import ArticleRejected, ArticleValues, FieldWarning, ParsedFile

MAX_HEAT = 2**63 - 1  # fits an SQLite INTEGER (whole qualities too)

_CONTROLS = [*range(0x20), *range(0x7F, 0xA0)]
_CONTROL_TO_SPACE = dict.fromkeys(_CONTROLS, " ")
_EXCERPT_TABLE: dict[int, str | None] = dict.fromkeys(_CONTROLS)
_EXCERPT_TABLE[ord("\n")] = "\n"
_EXCERPT_TABLE[ord("\t")] = " "
_URL_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_HOST_OK = re.compile(r"[\w.\-:%]+")
_HAS_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class _Invalid(Exception):
    """A field value that cannot be used; the message does not name the field."""


def build_article(doc: dict[Any, Any]) -> ParsedFile:
    """The article a file's front matter (a mapping, YAML already read) describes, with the
    warnings of its optional fields; ArticleRejected when a required field is unusable."""
    values, warnings = read_article(doc)
    return ParsedFile(values.article(), warnings)


def read_article(doc: dict[Any, Any]) -> tuple[ArticleValues, tuple[FieldWarning, ...]]:
    """build_article's rules, its article as plain values (what a parse worker stores)."""
    warnings: list[FieldWarning] = []
    try:
        title = _title(doc.get("title"))
    except _Invalid as exc:
        raise ArticleRejected(f"title: {exc}") from None
    # the link: webUrl, else originalUrl (real video files have only originalUrl, a watch URL);
    # one that is given must be valid
    link_field, link = "webUrl", doc.get("webUrl")
    if link is None:
        link_field, link = "originalUrl", doc.get("originalUrl")
        if link is None:
            raise ArticleRejected("webUrl or originalUrl: missing (required)")
    try:
        url, canonical = _web_url(link)
    except _Invalid as exc:
        raise ArticleRejected(f"{link_field}: {exc}") from None
    try:
        published_at = _datetime(doc.get("publishedDateTime"))
    except _Invalid as exc:
        raise ArticleRejected(f"publishedDateTime: {exc}") from None
    if published_at is None:
        raise ArticleRejected("publishedDateTime: missing (required)")

    opt = _optional_fields(doc, "", warnings)
    published = _optional(doc, "published", _bool, "", warnings)
    removed = "removed" in doc and _optional(doc, "removed", _bool, "", warnings) is True
    topics = _topics(doc.get("topics"), "topics", warnings)
    related = _related(doc.get("related"), canonical, warnings)
    excerpt, quality, heat, provider, *links = opt
    values = ArticleValues._make(
        (
            url,
            canonical,
            title,
            published_at,
            excerpt,
            quality,
            heat,
            published or False,
            published is not None,
            removed,
            topics,
            provider,
            *links,
            related,
        )
    )
    return values, tuple(warnings)


def _optional_fields(doc: dict[Any, Any], prefix: str, warnings: list[FieldWarning]) -> list[Any]:
    """The optional fields an article and a related stub share, in _OPTIONAL_FIELDS' order
    (ArticleValues' order from excerpt on, with provider after heat); None when absent."""
    fields: list[Any] = []
    for name, check in _OPTIONAL_FIELDS:
        value = doc.get(name)
        if value is None:
            fields.append(None)
        elif check is None:
            fields.append(_provider(value, prefix + name, warnings))
        else:
            try:
                fields.append(check(value))
            except _Invalid as exc:
                warnings.append(FieldWarning(prefix + name, str(exc)))
                fields.append(None)
    return fields


def _optional(
    doc: dict[Any, Any],
    name: str,
    check: Callable[[Any], Any],
    prefix: str,
    warnings: list[FieldWarning],
) -> Any:
    """check(value), or None with a warning naming the field; None when absent."""
    value = doc.get(name)
    if value is None:
        return None
    try:
        return check(value)
    except _Invalid as exc:
        warnings.append(FieldWarning(prefix + name, str(exc)))
        return None


def _title(value: object) -> str:
    if value is None:
        raise _Invalid("missing (required)")
    if not isinstance(value, str):
        raise _Invalid(f"must be text, got {kind(value)}")
    title = _collapsed(value)
    if not title:
        raise _Invalid("is empty")
    return title


def _collapsed(text: str) -> str:
    """Control characters as spaces, whitespace runs as one space, stripped."""
    if text and text.isprintable() and "  " not in text and text[0] != " " and text[-1] != " ":
        return text  # already so: the only whitespace isprintable() lets through is " "
    if _HAS_CONTROL.search(text):
        text = text.translate(_CONTROL_TO_SPACE)
    return " ".join(text.split())


def _web_url(value: object) -> tuple[str, str]:
    if value is None:
        raise _Invalid("missing (required)")
    if isinstance(value, str):  # the usual shape matched once for both checks
        url = value.strip()
        if ";" in url and "&" in url:  # a character reference needs both
            url = url_entities_decoded(url)
        fast = PLAIN_HTTP_URL.fullmatch(url)
        if fast is not None:
            return url, canonical_url_of_match(url, fast)
    url = _http_url(value)
    return url, canonical_url(url)


def _http_url(value: object) -> str:
    """An absolute http(s) URL, stripped; _Invalid otherwise."""
    if not isinstance(value, str):
        raise _Invalid(f"must be a URL, got {kind(value)}")
    url = value.strip()
    if ";" in url and "&" in url:
        url = url_entities_decoded(url)
    if is_plain_http_url(url):
        return url
    if not url:
        raise _Invalid("is empty")
    if _URL_SPACE_OR_CONTROL.search(url):
        raise _Invalid(f"{show(url)} contains spaces or control characters")
    try:
        parts = split_http_url(url)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    host = parts.hostname or ""
    if not _HOST_OK.fullmatch(host):
        raise _Invalid(f"{show(url)} has an invalid host")
    return url


def _datetime(value: object) -> datetime | None:
    """Aware UTC datetime; naive values are UTC. None when the value is absent."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _Invalid(f"{show(value)} is not an ISO 8601 date-time") from None
    else:
        raise _Invalid(f"{show(value)} is not an ISO 8601 date-time")
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _Invalid(f"{show(value)} is out of range in UTC") from None


def _excerpt(value: object) -> str | None:
    if not isinstance(value, str):
        raise _Invalid(f"must be text, got {kind(value)}")
    has_control = not value.isprintable() and _HAS_CONTROL.search(value)  # controls never are
    text = value.translate(_EXCERPT_TABLE) if has_control else value
    text = text.strip()
    return text or None


def _label(value: object) -> str | None:
    if not isinstance(value, str):
        raise _Invalid(f"must be text, got {kind(value)}")
    return _collapsed(value) or None


def _whole_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"{show(value)} is not a number")
    if isinstance(value, float):
        if not value.is_integer():
            raise _Invalid(f"{show(value)} is not a whole number")
        return int(value)
    return value


def _quality(value: object) -> float:
    """Any non-negative number, no upper bound (the best real articles are over 100); a whole
    one as an int, so 150 and 150.0 are one value."""
    if type(value) is int and 0 <= value <= MAX_HEAT:  # the usual case (a bool is not an int here)
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"{show(value)} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise _Invalid(f"{show(value)} is not a finite number")
    if value < 0:
        raise _Invalid(f"{show(value)} is negative")
    if isinstance(value, int):
        raise _Invalid(f"{show(value)} is too large")
    return int(value) if value.is_integer() and value <= MAX_HEAT else value


def _heat(value: object) -> int | None:
    number = _whole_number(value)
    if not -1 <= number <= MAX_HEAT:
        raise _Invalid(f"{show(value)} is out of range (-1 for unknown, or 0 and up)")
    return None if number == -1 else number


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"{show(value)} is not true or false")
    return value


def _topics(value: object, where: str, warnings: list[FieldWarning]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[object] = [value]
        single = True
    elif isinstance(value, list):
        items = value
        single = False
    else:
        warnings.append(FieldWarning(where, f"must be a list of topics, got {kind(value)}"))
        return ()
    topics: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        here = where if single else f"{where}[{index}]"
        if not isinstance(item, str):
            warnings.append(FieldWarning(here, f"{show(item)} is not a topic name"))
            continue
        name = _collapsed(item)
        if not name:
            warnings.append(FieldWarning(here, "is empty"))
            continue
        key = topic_key(name)
        if key not in seen:
            seen.add(key)
            topics.append(name)
    return tuple(topics)


def _provider(
    value: object, where: str, warnings: list[FieldWarning]
) -> tuple[str | None, str | None, str | None] | None:
    """(name, domain, icon_url), as Provider takes them; None when it says none of them."""
    if value is None:
        return None
    if not isinstance(value, dict):
        warnings.append(FieldWarning(where, f"must be a mapping, got {kind(value)}"))
        return None
    name = domain = icon = None
    try:
        name = None if value.get("name") is None else _label(value["name"])
    except _Invalid as exc:
        warnings.append(FieldWarning(f"{where}.name", str(exc)))
    try:
        domain = None if value.get("domain") is None else _label(value["domain"])
        domain = domain.lower() if domain else None
    except _Invalid as exc:
        warnings.append(FieldWarning(f"{where}.domain", str(exc)))
    images = value.get("images")
    if images is not None:
        try:
            if not isinstance(images, list):
                raise _Invalid(f"must be a list, got {kind(images)}")
            if images:
                icon = _image_entry_url(images[0])
        except _Invalid as exc:
            warnings.append(FieldWarning(f"{where}.images", str(exc)))
    if name is None and domain is None and icon is None:
        return None
    return (name, domain, icon)


def _image_entry_url(entry: object) -> str:
    url = entry.get("url") if isinstance(entry, dict) else entry
    if url is None:
        raise _Invalid("first image has no url")
    return _http_url(url)


def _images(value: object) -> str | None:
    if not isinstance(value, list):
        raise _Invalid(f"must be a list, got {kind(value)}")
    first_problem: str | None = None
    for entry in value:
        try:
            return _image_entry_url(entry)
        except _Invalid as exc:
            first_problem = first_problem or str(exc)
    if first_problem is not None:
        raise _Invalid(f"no usable http(s) image: {first_problem}")
    return None


# (key in the file, check) in the order their warnings are given and of their values; provider's
# check (None) is _provider, which warns for its own sub-fields
_OPTIONAL_FIELDS: tuple[tuple[str, Callable[[Any], Any] | None], ...] = (
    ("excerpt", _excerpt),
    ("quality", _quality),
    ("heat", _heat),
    ("provider", None),
    ("images", _images),
    ("category", _label),
    ("type", _label),
    ("originalUrl", _http_url),
    ("ampWebUrl", _http_url),
    ("cdnAmpWebUrl", _http_url),
)


def _related(
    value: object, own_canonical: str, warnings: list[FieldWarning]
) -> tuple[ArticleValues, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        warnings.append(FieldWarning("related", f"must be a list, got {kind(value)}"))
        return ()
    stubs: list[ArticleValues] = []
    seen = {own_canonical}
    for index, entry in enumerate(value):
        where = f"related[{index}]"
        if not isinstance(entry, dict):
            warnings.append(FieldWarning(where, f"must be a mapping, got {kind(entry)}"))
            continue
        try:
            title = _title(entry.get("title"))
        except _Invalid as exc:
            warnings.append(FieldWarning(where, f"title: {exc}"))
            continue
        try:
            url, canonical = _web_url(entry.get("webUrl"))
        except _Invalid as exc:
            warnings.append(FieldWarning(where, f"webUrl: {exc}"))
            continue
        if canonical in seen:
            continue  # the article itself, or an entry already listed
        seen.add(canonical)
        prefix = where + "."
        try:
            published_at = _datetime(entry.get("publishedDateTime"))
        except _Invalid as exc:
            warnings.append(FieldWarning(prefix + "publishedDateTime", str(exc)))
            published_at = None
        excerpt, quality, heat, provider, *links = _optional_fields(entry, prefix, warnings)
        # a stub: not published, not removed, no topics nor related of its own (Article's
        # defaults)
        stubs.append(
            ArticleValues._make(
                (
                    url,
                    canonical,
                    title,
                    published_at,
                    excerpt,
                    quality,
                    heat,
                    False,
                    True,
                    False,
                    (),
                    provider,
                    *links,
                    (),
                )
            )
        )
    return tuple(stubs)
