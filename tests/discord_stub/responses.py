"""JSON answers shaped as Discord sends them."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # discord.py compares Content-Type to exactly "application/json" (no charset).
    resp = web.Response(status=status, body=json.dumps(body).encode(), headers=headers)
    resp.headers["Content-Type"] = "application/json"
    return resp
