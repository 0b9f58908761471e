"""Fetching a feed politely: a conditional GET with the stored validators sent back unchanged,
redirects followed by hand (at most 5, http(s) only, a permanent one reported), the body read
and inflated up to max_bytes and no further, one deadline for the whole request, and at most 2
requests in flight per host and a bounded number overall."""

from __future__ import annotations

import asyncio
import email.utils
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urljoin, urlsplit

import aiohttp

MAX_REDIRECTS = 5
PER_HOST = 2  # requests in flight to one host
TOTAL = 16  # requests in flight overall
PERMANENT = frozenset({301, 308})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml,"
    " application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
_CHUNK = 65_536

FetchStatus = Literal["ok", "not_modified", "failed"]


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one fetch got. ``moved_to``: where a chain of permanent redirects from the asked
    URL led (only when the fetch then succeeded); ``retry_after``: seconds a 429/503 asked."""

    status: FetchStatus
    url: str  # the URL the final answer came from
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    moved_status: int | None = None
    error: str | None = None
    retry_after: float | None = None


class FetchFailed(Exception):
    """A fetch that failed; str(exc) is the reason shown to the operator."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class Fetcher:
    """Fetches feeds over one aiohttp session (opened and closed by bot.app)."""

    def __init__(
        self, session: aiohttp.ClientSession, *, per_host: int = PER_HOST, total: int = TOTAL
    ):
        self._session = session
        self._per_host = per_host
        self._total = asyncio.Semaphore(total)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._host_users: dict[str, int] = {}  # requests holding or awaiting each host's slot

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        timeout_s: float,
        max_bytes: int,
        user_agent: str,
    ) -> Fetched:
        """GET url; never raises for what a server or the network does (status 'failed')."""
        deadline: float | None = None
        current = url
        moved_to: str | None = None
        moved_status: int | None = None
        permanent_so_far = True
        loop = asyncio.get_running_loop()
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                _check_scheme(current)
                async with self._slot(current):
                    if deadline is None:  # waiting for a slot is not the request's time
                        deadline = loop.time() + timeout_s
                    try:
                        async with asyncio.timeout_at(deadline):
                            answer = await self._request(
                                current, etag, last_modified, max_bytes, user_agent
                            )
                    except TimeoutError:
                        raise FetchFailed(f"timed out after {timeout_s:g} s") from None
                if isinstance(answer, _Redirect):
                    if answer.status in PERMANENT and permanent_so_far:
                        moved_to, moved_status = answer.location, answer.status
                    else:
                        permanent_so_far = False
                    current = answer.location
                    continue
                return Fetched(
                    status=answer.status,
                    url=current,
                    body=answer.body,
                    content_type=answer.content_type,
                    # a 304 may send newer validators (RFC 9110 15.4.5); without them, the asked
                    etag=answer.etag if answer.status == "ok" else answer.etag or etag,
                    last_modified=answer.last_modified
                    if answer.status == "ok"
                    else answer.last_modified or last_modified,
                    moved_to=moved_to,
                    moved_status=moved_status,
                )
            raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")
        except FetchFailed as exc:
            return Fetched("failed", current, error=str(exc), retry_after=exc.retry_after)

    @asynccontextmanager
    async def _slot(self, url: str) -> AsyncIterator[None]:
        host = (urlsplit(url).hostname or "").lower()
        per_host = self._hosts.get(host)
        if per_host is None:
            per_host = self._hosts[host] = asyncio.Semaphore(self._per_host)
        self._host_users[host] = self._host_users.get(host, 0) + 1
        try:
            async with per_host, self._total:
                yield
        finally:
            self._host_users[host] -= 1
            if not self._host_users[host]:  # idle: a thousand hosts leave no thousand semaphores
                del self._host_users[host], self._hosts[host]

    async def _request(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        max_bytes: int,
        user_agent: str,
    ) -> _Answer | _Redirect:
        headers = {
            "User-Agent": user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": "gzip, deflate",
        }
        if etag is not None:
            headers["If-None-Match"] = etag
        if last_modified is not None:
            headers["If-Modified-Since"] = last_modified
        try:
            async with self._session.get(
                url, headers=headers, allow_redirects=False, auto_decompress=False
            ) as response:
                status = response.status
                if status in REDIRECTS:
                    return _Redirect(status, _location(url, response.headers.get("Location")))
                if status == 304:
                    return _Answer(
                        "not_modified",
                        etag=response.headers.get("ETag"),
                        last_modified=response.headers.get("Last-Modified"),
                    )
                if status in RETRY_AFTER_STATUSES:
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
                    said = f"; retry after {wait:.0f} s" if wait is not None else ""
                    raise FetchFailed(f"HTTP {status} {response.reason or ''}".strip() + said, wait)
                if status != 200:
                    raise FetchFailed(f"HTTP {status} {response.reason or ''}".strip())
                body = await read_body(
                    response.content,
                    response.headers.get("Content-Encoding"),
                    response.content_length,
                    max_bytes,
                )
                return _Answer(
                    "ok",
                    body,
                    response.headers.get("Content-Type"),
                    response.headers.get("ETag"),
                    response.headers.get("Last-Modified"),
                )
        except aiohttp.ClientError as exc:
            raise FetchFailed(_network_reason(exc)) from None
        except (OSError, ValueError) as exc:  # a refused connection, a bad header value
            raise FetchFailed(f"{type(exc).__name__}: {exc}") from None


@dataclass(frozen=True, slots=True)
class _Answer:
    status: Literal["ok", "not_modified"]
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class _Redirect:
    status: int
    location: str


def _check_scheme(url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise FetchFailed(f"not an http(s) URL: {url[:200]}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchFailed(f"refused to fetch a non-http(s) URL: {url[:200]}")


def _location(base: str, location: str | None) -> str:
    if not location or not location.strip():
        raise FetchFailed("redirect without a Location")
    try:
        target = urljoin(base, location.strip())
    except ValueError:
        raise FetchFailed(f"redirect to a bad URL: {location[:200]}") from None
    scheme = urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchFailed(f"refused a redirect to a non-http(s) URL: {target[:200]}")
    return target


def _network_reason(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"broken body: {exc}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header as seconds from now: delay-seconds or an HTTP date; None when
    absent or unreadable (a date in the past is 0)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


async def read_body(
    stream: aiohttp.StreamReader,
    encoding: str | None,
    content_length: int | None,
    max_bytes: int,
) -> bytes:
    """The body, inflated when gzip or deflate, refused as soon as more than max_bytes would be
    read or inflated (a bomb stops at max_bytes + one chunk, whatever it would grow to)."""
    if content_length is not None and content_length > max_bytes:
        raise FetchFailed(f"too large: {content_length} bytes, over max_bytes ({max_bytes})")
    coding = (encoding or "identity").strip().lower()
    inflater: zlib._Decompress | None
    if coding in ("", "identity"):
        inflater = None
    elif coding in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif coding == "deflate":
        inflater = zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib header or gzip, detected
    else:
        raise FetchFailed(f"unsupported Content-Encoding: {coding[:40]}")
    parts: list[bytes] = []
    size = 0
    raw_size = 0
    too_large = f"too large: more than max_bytes ({max_bytes}) bytes"
    while True:
        # one byte past max_bytes at most: enough to know the body is too large
        chunk = await stream.read(min(_CHUNK, max_bytes + 1 - raw_size))
        if not chunk:
            break
        raw_size += len(chunk)
        if raw_size > max_bytes:
            raise FetchFailed(too_large)
        if inflater is None:
            parts.append(chunk)
            size += len(chunk)
        else:
            data = chunk
            while data:
                try:
                    out = inflater.decompress(data, max_bytes - size + 1)
                except zlib.error as exc:
                    raise FetchFailed(f"broken {coding} body: {exc}") from None
                size += len(out)
                if size > max_bytes:
                    raise FetchFailed(too_large + " inflated")
                parts.append(out)
                data = inflater.unconsumed_tail
        if size > max_bytes:
            raise FetchFailed(too_large)
    if inflater is not None:
        tail = inflater.flush()
        size += len(tail)
        if size > max_bytes:
            raise FetchFailed(too_large + " inflated")
        parts.append(tail)
    return b"".join(parts)
