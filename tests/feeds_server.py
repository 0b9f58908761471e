"""A local feed server on 127.0.0.1 for the fetcher's tests, the end-to-end test and the
benchmark: the fixture feeds (tests/fixtures/feeds) with ETag and Last-Modified, and hostile
behaviours, each at its own path.

    async with FeedServer() as server:
        url = server.url("/feed/rss2_cdata_media.xml")
        ...
        assert server.requests[-1].headers["If-None-Match"]

Paths:
    /feed/NAME          a fixture (tests.fixtures.feed_files.feed_body), its own Content-Type,
                        ETag and Last-Modified; 304 when either validator matches
    /gzip/NAME          the same, gzip-encoded
    /deflate/NAME       the same, deflate-encoded (zlib)
    /bomb               gzip that inflates to BOMB_BYTES of spaces inside an RSS document
    /big                BIG_BYTES streamed without a Content-Length
    /big-declared       BIG_BYTES with a Content-Length
    /hang               accepts and never answers
    /loop/N             a redirect to /loop/N+1, for ever
    /moved              301 to /feed/rss2_cdata_media.xml; /moved-308 the same with 308
    /temporary          302 to /feed/atom_xhtml.xml
    /to-file            a redirect to file:///etc/passwd
    /flaky              HTTP 500 while ``fail_flaky`` > 0 (each answer counts it down), then a feed
    /limited            429 with Retry-After: RETRY_AFTER_S
    /unavailable        503 with Retry-After as an HTTP date an hour ahead
    /slow/N             a small feed after SLOW_S, counting requests in flight (``max_in_flight``)
    /revalidated        a feed with ETag "v1"; its 304 (to "v1" or "v2") sends the newer "v2"
    /set/KEY            whatever ``server.set(KEY, body, content_type)`` put there (200), with ETag
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import TracebackType

from aiohttp import web
from aiohttp.typedefs import Handler

from tests.fixtures.feed_files import CONTENT_TYPES, RSS, feed_body

BIG_BYTES = 50 * 1024 * 1024
BOMB_BYTES = 200 * 1024 * 1024
RETRY_AFTER_S = 7200
SLOW_S = 0.3
LAST_MODIFIED = "Sun, 29 Nov 2026 10:00:00 GMT"


@dataclass(frozen=True)
class SeenRequest:
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self) -> None:
        self.requests: list[SeenRequest] = []
        self.fail_flaky = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.sent_bytes = 0  # body bytes the hostile streams wrote before the client left
        self._set: dict[str, tuple[bytes, str]] = {}
        self._runner: web.AppRunner | None = None
        self._hung: list[asyncio.Event] = []
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def set(self, key: str, body: bytes, content_type: str = RSS) -> str:
        self._set[key] = (body, content_type)
        return self.url(f"/set/{key}")

    def seen(self, path: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.path == path]

    async def __aenter__(self) -> FeedServer:
        app = web.Application()
        app.middlewares.append(self._record)
        app.router.add_get("/feed/{name}", self._feed)
        app.router.add_get("/gzip/{name}", self._gzip)
        app.router.add_get("/deflate/{name}", self._deflate)
        app.router.add_get("/bomb", self._bomb)
        app.router.add_get("/big", self._big)
        app.router.add_get("/big-declared", self._big_declared)
        app.router.add_get("/hang", self._hang)
        app.router.add_get("/loop/{n}", self._loop)
        app.router.add_get("/moved", self._moved)
        app.router.add_get("/moved-308", self._moved)
        app.router.add_get("/temporary", self._temporary)
        app.router.add_get("/to-file", self._to_file)
        app.router.add_get("/flaky", self._flaky)
        app.router.add_get("/limited", self._limited)
        app.router.add_get("/unavailable", self._unavailable)
        app.router.add_get("/set/{key}", self._set_body)
        app.router.add_get("/slow/{n}", self._slow)
        app.router.add_get("/revalidated", self._revalidated)
        self._runner = web.AppRunner(
            app, handle_signals=False, shutdown_timeout=0.5, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for event in self._hung:
            event.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(SeenRequest(request.path, dict(request.headers)))
        return await handler(request)

    # ---------------------------------------------------------------- good feeds
    def _validated(self, request: web.Request, body: bytes, content_type: str) -> web.Response:
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
        if request.headers.get("If-None-Match") == etag or (
            request.headers.get("If-Modified-Since") == LAST_MODIFIED
            and "If-None-Match" not in request.headers
        ):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers=headers | {"Content-Type": content_type})

    async def _feed(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return self._validated(request, feed_body(name), CONTENT_TYPES.get(name, RSS))

    async def _gzip(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = gzip.compress(feed_body(name))
        return web.Response(
            body=body,
            headers={"Content-Type": CONTENT_TYPES.get(name, RSS), "Content-Encoding": "gzip"},
        )

    async def _deflate(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = zlib.compress(feed_body(name))
        return web.Response(
            body=body,
            headers={"Content-Type": CONTENT_TYPES.get(name, RSS), "Content-Encoding": "deflate"},
        )

    async def _slow(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(SLOW_S)
        finally:
            self.in_flight -= 1
        return web.Response(body=feed_body("rss1_rdf.xml"), content_type="application/rdf+xml")

    async def _set_body(self, request: web.Request) -> web.Response:
        body, content_type = self._set[request.match_info["key"]]
        return self._validated(request, body, content_type)

    # ---------------------------------------------------------------- hostile
    async def _bomb(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": RSS, "Content-Encoding": "gzip"})
        await response.prepare(request)
        packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        await response.write(packer.compress(b'<?xml version="1.0"?><rss><channel><title>'))
        block = b" " * 1_048_576
        with contextlib.suppress(ConnectionError):  # the client hangs up at max_bytes
            for _ in range(BOMB_BYTES // len(block)):
                data = packer.compress(block)
                if data:
                    await response.write(data)
                    self.sent_bytes += len(data)
            await response.write(packer.compress(b"</title></channel></rss>") + packer.flush())
        return response

    async def _big(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": RSS})
        await response.prepare(request)
        await self._stream_big(response)
        return response

    async def _big_declared(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": RSS})
        response.content_length = BIG_BYTES
        await response.prepare(request)
        await self._stream_big(response)
        return response

    async def _stream_big(self, response: web.StreamResponse) -> None:
        block = b"<!-- " + b"x" * 65_526 + b" -->"
        with contextlib.suppress(ConnectionError):  # the client hangs up at max_bytes
            for _ in range(BIG_BYTES // len(block)):
                await response.write(block)
                self.sent_bytes += len(block)

    async def _hang(self, request: web.Request) -> web.StreamResponse:
        event = asyncio.Event()
        self._hung.append(event)
        await event.wait()
        return web.Response(status=204)

    async def _loop(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        raise web.HTTPFound(f"/loop/{n + 1}")

    async def _moved(self, request: web.Request) -> web.Response:
        target = "/feed/rss2_cdata_media.xml"
        if request.path == "/moved-308":
            raise web.HTTPPermanentRedirect(target)
        raise web.HTTPMovedPermanently(target)

    async def _temporary(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/feed/atom_xhtml.xml")

    async def _to_file(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("file:///etc/passwd")

    async def _revalidated(self, request: web.Request) -> web.Response:
        # a server whose 304 hands out a newer validator: "v1" answers 304 with "v2"
        asked = request.headers.get("If-None-Match")
        if asked in ('"v1"', '"v2"'):
            return web.Response(status=304, headers={"ETag": '"v2"'})
        body = feed_body("rss1_rdf.xml")
        return web.Response(body=body, headers={"ETag": '"v1"', "Content-Type": RSS})

    async def _flaky(self, request: web.Request) -> web.Response:
        if self.fail_flaky > 0:
            self.fail_flaky -= 1
            return web.Response(status=500, text="oops")
        return self._validated(request, feed_body("rss1_rdf.xml"), "application/rdf+xml")

    async def _limited(self, request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": str(RETRY_AFTER_S)})

    async def _unavailable(self, request: web.Request) -> web.Response:
        when = datetime.now(UTC) + timedelta(hours=1)
        return web.Response(status=503, headers={"Retry-After": format_datetime(when, True)})
