"""The identity of an article: its canonical URL (DESIGN §3 Identity), and the keys that group
titles into stories and topic names into topics. Pure."""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from urllib.parse import SplitResult, urlsplit

from bot.articles.describe import show

# scheme://host[/path][?query][#fragment] with a plain host: no userinfo, port or IPv6, and
# no spaces or control characters anywhere. URLs of this shape skip urlsplit.
_URL_TAIL_CHAR = r"[^\s\x00-\x1f\x7f-\x9f"
PLAIN_HTTP_URL = re.compile(
    r"(?i:(https?))://([\w\-]+(?:\.[\w\-]+)*)"
    rf"((?:/{_URL_TAIL_CHAR}?#]*)?)(?:\?({_URL_TAIL_CHAR}#]*))?(?:#{_URL_TAIL_CHAR}]*)?"
)
# The start of a PLAIN_HTTP_URL up to its host: in a printable ASCII URL without spaces, what
# follows always completes the match (path, then ?query, then #fragment).
_PLAIN_HTTP_URL_HEAD = re.compile(
    r"(?i:https?)://[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*(?=[/?#]|\Z)"
)
_TRACKING_PARAMS = frozenset({"fbclid", "gclid"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

_QUOTES = {
    **dict.fromkeys("‘’‚‛′‵ʹʼ`´", "'"),
    **dict.fromkeys("“”„‟″‶«»〝〞〟", '"'),
    **dict.fromkeys("‹›", "'"),
    **dict.fromkeys("‐‑‒–—―−⁃﹘﹣－", "-"),
}
_PLAIN_PUNCT = str.maketrans(_QUOTES)
_NON_ALNUM_RUN = re.compile(r"[\W_]+")


def canonical_url(url: str) -> str:
    """The identity of an article URL (DESIGN §3 Identity). ValueError unless absolute http(s).

    Scheme and host lowercased (IDNA hosts as punycode), ``www.`` and the default port dropped,
    userinfo and fragment dropped, trailing slashes dropped (the root path becomes empty),
    ``utm_*``, ``fbclid`` and ``gclid`` dropped from the query, the rest sorted by key then value.
    ``http`` and ``https`` stay distinct.
    """
    return canonical_url_of_match(url, PLAIN_HTTP_URL.fullmatch(url))


def canonical_url_of_match(url: str, fast: re.Match[str] | None) -> str:
    """canonical_url(url), given ``PLAIN_HTTP_URL.fullmatch(url)``."""
    if fast is not None and fast[2].isascii():  # the common shape, without urlsplit
        scheme, host, path, query = fast[1].lower(), fast[2].lower(), fast[3], fast[4]
        port = None
    else:
        parts = split_http_url(url)
        scheme, path, query, port = parts.scheme.lower(), parts.path, parts.query, parts.port
        host = (parts.hostname or "").rstrip(".")
        if not host.isascii():
            # not IDNA 2003-encodable: keep the lowercased Unicode host
            with contextlib.suppress(UnicodeError):
                host = host.encode("idna").decode("ascii")
        if ":" in host:
            host = f"[{host}]"
    if host.startswith("www.") and "." in host[4:]:
        host = host[4:]
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = path.rstrip("/")
    if query:
        kept: list[tuple[str, str, str]] = []  # (key, value, the pair as written)
        for item in query.split("&"):
            if not item:
                continue
            key, _, value = item.partition("=")
            low = key.lower()
            if low.startswith("utm_") or low in _TRACKING_PARAMS:
                continue
            kept.append((key, value, item))
        kept.sort()
        query = "&".join(item for _, _, item in kept)
    return f"{scheme}://{netloc}{path}?{query}" if query else f"{scheme}://{netloc}{path}"


def is_plain_http_url(url: str) -> bool:
    """Whether PLAIN_HTTP_URL matches the whole of url; for a printable ASCII URL, faster."""
    if url.isascii() and url.isprintable() and " " not in url:
        return _PLAIN_HTTP_URL_HEAD.match(url) is not None
    return PLAIN_HTTP_URL.fullmatch(url) is not None


def split_http_url(url: str) -> SplitResult:
    """urlsplit for absolute http(s) URLs with a host and a valid port; ValueError otherwise."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ValueError(f"{show(url)} is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        if not scheme or not url[len(scheme) :].startswith(":"):
            raise ValueError(f"{show(url)} is not an absolute http(s) URL")
        raise ValueError(f"{show(url)} is a {scheme}: URL, expected http or https")
    if not parts.hostname:
        raise ValueError(f"{show(url)} has no host")
    return parts


def story_key(title: str) -> str:
    """Titles that normalise alike belong to one story (DESIGN §3 Stories).

    NFKC, typographic quotes and dashes to plain ones, case-folded; apostrophes removed
    ("Let’s" and "Lets" match); every other run of punctuation or space becomes one space.
    A title with no letters or digits at all keys on its case-folded text instead of "".
    """
    if title.isascii():  # NFKC and the quote table change nothing in ASCII but "`"
        text = title.replace("`", "'").lower()
    else:
        # before NFKC too: it turns "´" into a space and a combining accent, "″" into two "′"
        text = unicodedata.normalize("NFKC", title.translate(_PLAIN_PUNCT))
        text = text.translate(_PLAIN_PUNCT).casefold()
    key = _NON_ALNUM_RUN.sub(" ", text.replace("'", "")).strip()
    return key or " ".join(text.split())


@functools.lru_cache(maxsize=4096)  # the writer keys every topic of every article: few distinct
def topic_key(name: str) -> str:
    """Case-insensitive topic identity: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())
