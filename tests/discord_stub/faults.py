"""Fault injection and rate limits, shaped like Discord's answers."""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    """The next `times` requests matching `method` and `path` (re.search on the path relative to
    the API base, e.g. ``/channels/123/messages``) get `status` (or are delayed by `delay`)."""

    method: str
    path: re.Pattern[str]
    status: int | None = None
    times: int | None = 1
    retry_after: float = 1.0
    is_global: bool = False
    delay: float = 0.0
    delay_response: bool = False  # hold the answer after the request took effect, not before
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method not in ("*", method.upper()):
            return False
        return self.path.search(path) is not None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


def _bucket_hash(route: str) -> str:
    return hashlib.sha1(route.encode()).hexdigest()[:16]


def rate_limit_response(
    retry_after: float, *, is_global: bool, bucket: str | None, limit: int = 5, scope: str = "user"
) -> tuple[dict[str, Any], dict[str, str]]:
    """The body and headers of a Discord 429 (with the `Via` header that marks it as Discord's
    own and not a Cloudflare ban)."""
    retry_after = max(retry_after, 0.0)
    body = {
        "message": "You are being rate limited.",
        "retry_after": round(retry_after, 3),
        "global": is_global,
    }
    if is_global:
        body["code"] = 0
    headers = {
        "Retry-After": str(max(1, math.ceil(retry_after))),
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
        "X-RateLimit-Scope": "global" if is_global else scope,
        "Via": "1.1 google",
    }
    if bucket:
        headers["X-RateLimit-Bucket"] = bucket
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    return body, headers


@dataclass
class _Window:
    reset_at: float
    count: int = 0


@dataclass
class RouteLimit:
    method: str
    path: re.Pattern[str]
    limit: int
    per: float
    name: str

    @property
    def bucket(self) -> str:
        return _bucket_hash(self.name)


# Discord's documented-in-practice limits for the routes the bot uses most.
DEFAULT_ROUTE_LIMITS: list[tuple[str, str, int, float]] = [
    ("POST", r"^/channels/(\d+)/messages$", 5, 5.0),
    ("PATCH", r"^/channels/(\d+)/messages/\d+$", 5, 5.0),
    ("DELETE", r"^/channels/(\d+)/messages/\d+$", 5, 1.0),
    ("GET", r"^/channels/(\d+)/messages$", 5, 5.0),
    ("PUT", r"^/applications/\d+/(?:guilds/(\d+)/)?commands$", 2, 60.0),
]


@dataclass
class RateLimiter:
    """Per-route buckets (keyed by the major parameter, the first capture group) and the global
    requests-per-second limit. Both are off until switched on."""

    routes_enabled: bool = False
    global_enabled: bool = False
    global_per_second: int = 50
    routes: list[RouteLimit] = field(default_factory=list)
    _windows: dict[tuple[str, str], _Window] = field(default_factory=dict)
    _global_times: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        if not self.routes:
            for method, pattern, limit, per in DEFAULT_ROUTE_LIMITS:
                self.add_route(method, pattern, limit, per)

    def add_route(self, method: str, pattern: str, limit: int, per: float) -> None:
        self.routes = [
            r for r in self.routes if not (r.method == method and r.path.pattern == pattern)
        ]
        self.routes.append(
            RouteLimit(method, re.compile(pattern), limit, per, f"{method} {pattern}")
        )

    def check_global(self, path: str) -> tuple[dict[str, Any], dict[str, str]] | None:
        """Interaction callbacks and webhooks are exempt, as on Discord."""
        if not self.global_enabled or path.startswith(("/interactions/", "/webhooks/")):
            return None
        now = time.monotonic()
        times = self._global_times
        while times and now - times[0] >= 1.0:
            times.popleft()
        if len(times) >= self.global_per_second:
            retry = 1.0 - (now - times[0])
            return rate_limit_response(
                retry, is_global=True, bucket=None, limit=self.global_per_second
            )
        times.append(now)
        return None

    def check_route(
        self, method: str, path: str
    ) -> tuple[tuple[dict[str, Any], dict[str, str]] | None, dict[str, str]]:
        """Returns (429 answer or None, X-RateLimit headers for the reply)."""
        if not self.routes_enabled:
            return None, {}
        for route in self.routes:
            if route.method != method.upper():
                continue
            m = route.path.search(path)
            if m is None:
                continue
            major = next((g for g in m.groups() if g), "")
            key = (route.name, major)
            now = time.monotonic()
            win = self._windows.get(key)
            if win is None or now >= win.reset_at:
                win = self._windows[key] = _Window(reset_at=now + route.per)
            if win.count >= route.limit:
                retry = win.reset_at - now
                return rate_limit_response(
                    retry, is_global=False, bucket=route.bucket, limit=route.limit
                ), {}
            win.count += 1
            reset_after = win.reset_at - now
            headers = {
                "X-RateLimit-Limit": str(route.limit),
                "X-RateLimit-Remaining": str(route.limit - win.count),
                "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Bucket": route.bucket,
            }
            return None, headers
        return None, {}
