"""Who may talk to the studio: only the page this process opened, on this machine.

- A random token in the URL, required on every request (``?token=`` or the ``X-Studio-Token`` header) and
  compared in constant time: another local program or user cannot drive the model or read the song.
- The Host header must name this server as the page does (``127.0.0.1:PORT`` or ``localhost:PORT``): a web page
  that rebinds its own domain name to 127.0.0.1 (DNS rebinding) sends its own host name and is refused.
- A browser's Origin header, when sent, must be this server's: other sites' pages get nothing, and no CORS
  header is ever sent.
- Responses carry a strict Content-Security-Policy (nothing loaded from elsewhere), no-referrer (the token never
  leaves in a Referer), nosniff, no framing and no caching.

A pure ASGI middleware (no web framework import), so it guards every route, static files included.
"""

from __future__ import annotations

import hmac
import json
import secrets
from urllib.parse import parse_qs

TOKEN_HEADER = "x-studio-token"
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
     b"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]  # fmt: skip


def new_token() -> str:
    return secrets.token_urlsafe(24)


def allowed_hosts(port: int) -> set[str]:
    return {f"127.0.0.1:{port}", f"localhost:{port}"}


def refusal(headers: dict[str, str], query: str, token: str, port: int) -> str | None:
    """Why a request is refused (one line), or None when it may pass. ``headers`` with lower-case names."""
    host = headers.get("host", "")
    if host.lower() not in allowed_hosts(port):
        return "forbidden: this studio answers only at 127.0.0.1 or localhost on its own port"
    origin = headers.get("origin")
    if origin is not None and origin.lower() not in {f"http://{h}" for h in allowed_hosts(port)}:
        return "forbidden: requests from other sites are refused"
    given = headers.get(TOKEN_HEADER)
    if given is None:
        values = parse_qs(query).get("token", [])
        given = values[0] if len(values) == 1 else None
    if given is None or not hmac.compare_digest(given.encode(), token.encode()):
        return "forbidden: open the studio with the link (and its token) that `getmusic studio` printed"
    return None


class Guard:
    """ASGI middleware: refuse (403, one JSON line) any request that ``refusal`` objects to; add the safety
    headers to every response."""

    def __init__(self, app, token: str, port: int):
        self.app, self.token, self.port = app, token, port

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, send)
        if scope["type"] != "http":  # no websockets here
            return None
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        why = refusal(headers, scope.get("query_string", b"").decode("latin-1"), self.token, self.port)
        if why is not None:
            body = json.dumps({"error": why}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                    + SECURITY_HEADERS,
                }
            )
            await send({"type": "http.response.body", "body": body})
            return None

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        return await self.app(scope, receive, send_with_headers)
