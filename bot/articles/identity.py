"""The identity of an article: its canonical URL (DESIGN §3 Identity), and the keys that group
titles into stories and topic names into topics. Pure."""

from __future__ import annotations

import contextlib
import functools
import html
import re
import string
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
# A percent-escape (its hex, or a lone "%"), or a run of non-ASCII characters: what
# _normal_escapes rewrites.
_ESCAPE_OR_NON_ASCII = re.compile(r"%([0-9A-Fa-f]{2})?|[^\x00-\x7f]+")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
# An HTML character reference ended by ";" that real files leave in URLs: &amp; &#038; &#x26;
_URL_ENTITY = re.compile(r"&(?:amp|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_DEFAULT_PORTS = {"http": 80, "https": 443}

_QUOTES = {
    **dict.fromkeys("‘’‚‛′‵ʹʼ`´", "'"),
    **dict.fromkeys("“”„‟″‶«»〝〞〟", '"'),
    **dict.fromkeys("‹›", "'"),
    **dict.fromkeys("‐‑‒–—―−⁃﹘﹣－", "-"),
}
_PLAIN_PUNCT = str.maketrans(_QUOTES)
_NON_ALNUM_RUN = re.compile(r"[\W_]+")
_ASCII_NON_ALNUM_TO_SPACE = str.maketrans(
    dict.fromkeys((c for c in map(chr, range(128)) if not c.isalnum()), " ")
)


def canonical_url(url: str) -> str:
    """The identity of an article URL (DESIGN §3 Identity). ValueError unless absolute http(s).

    Scheme and host lowercased (IDNA hosts as punycode), ``www.`` and the default port dropped,
    userinfo and fragment dropped, trailing slashes dropped (the root path becomes empty),
    ``utm_*``, ``fbclid`` and ``gclid`` dropped from the query, the rest sorted by key then value.
    ``http`` and ``https`` stay distinct. Percent-encoding of the path and query is normalised
    (see _normal_escapes): ``/a%7eb`` is ``/a~b``, ``/ä`` is ``/%C3%A4``.
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
    while host.startswith("www.") and "." in host[4:]:  # every one: canonical again is the same
        host = host[4:]
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    if "%" in path or not path.isascii():
        path = _normal_escapes(path)
    path = path.rstrip("/")
    if query:
        if "%" in query or not query.isascii():
            query = _normal_escapes(query)
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


def _normal_escapes(text: str) -> str:
    """One spelling of a path or query: escaped unreserved characters decoded, the hex of other
    escapes uppercased, non-ASCII characters escaped as UTF-8, a lone "%" escaped as "%25".
    Reserved characters keep their meaning: an escaped "/", "&" or "=" stays escaped."""
    return _ESCAPE_OR_NON_ASCII.sub(_normal_escape, text)


def _normal_escape(match: re.Match[str]) -> str:
    hex_digits = match[1]
    if hex_digits is not None:
        char = chr(int(hex_digits, 16))
        return char if char in _UNRESERVED else "%" + hex_digits.upper()
    if match[0] == "%":  # not an escape: the "%" itself, escaped, so no later decoding makes one
        return "%25"
    return "".join(f"%{byte:02X}" for byte in match[0].encode("utf-8", "surrogatepass"))


def url_entities_decoded(url: str) -> str:
    """A URL with the HTML character references real files carry (``&#038;``, ``&amp;``)
    decoded; left as they are, they make the rest of the URL a fragment. Only references ended
    by ";" are, so a query's ``&copy=1`` stays as written."""
    return _URL_ENTITY.sub(_entity_char, url)


def _entity_char(match: re.Match[str]) -> str:
    return html.unescape(match[0])


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
        # what the regex below does, by a table (ASCII \W is every character but [A-Za-z0-9_])
        key = " ".join(text.replace("'", "").translate(_ASCII_NON_ALNUM_TO_SPACE).split())
        return key or " ".join(text.split())
    # before NFKC too: it turns "´" into a space and a combining accent, "″" into two "′"
    text = unicodedata.normalize("NFKC", title.translate(_PLAIN_PUNCT))
    text = text.translate(_PLAIN_PUNCT).casefold()
    key = _NON_ALNUM_RUN.sub(" ", text.replace("'", "")).strip()
    return key or " ".join(text.split())


@functools.lru_cache(maxsize=4096)  # the writer keys every topic of every article: few distinct
def topic_key(name: str) -> str:
    """Case-insensitive topic identity: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())
