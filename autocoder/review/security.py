"""Guards for the local review app: Host allow-list, session token, CSRF, safe headers.

One pure-ASGI middleware runs before every route (static files included):

1. the Host header must be on the allow-list (``127.0.0.1:PORT``, ``localhost:PORT``),
   else 400; this stops DNS-rebinding pages from talking to the app;
2. the request must carry a session cookie (HttpOnly, SameSite=Strict, a random session id,
   never the token), else 403. The link's ``?token=...`` is one-time: its first use (a GET)
   exchanges it for a session cookie and a page moving on to the same URL without it; any
   later use from a browser without that cookie is refused with a page saying why;
3. every POST must carry the per-session CSRF token (``X-CSRF-Token`` header or a ``csrf``
   form field, compared in constant time), must not come from another site (``Origin``,
   ``Sec-Fetch-Site``), else 403;
4. every response gets a strict Content-Security-Policy (scripts and styles from the app only),
   ``same-origin`` referrers, ``nosniff``, ``DENY`` framing and ``no-store`` caching;
5. an unexpected error is logged by its type only (a message could quote report text).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("autocoder.review")
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_BODY_BYTES = 256 * 1024
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def new_token() -> str:
    """A random session token for the URL the server opens."""
    return secrets.token_urlsafe(32)


class Sessions:
    """The link token's one use and the session ids it was exchanged for (in memory: a
    restarted server prints a new link)."""

    def __init__(self) -> None:
        self.token_used = False
        self.ids: set[str] = set()

    def start(self) -> str:
        self.token_used = True
        session = secrets.token_urlsafe(32)
        self.ids.add(session)
        return session

    def valid(self, value: str | None) -> bool:
        return bool(value) and any(
            hmac.compare_digest(str(value).encode(), known.encode()) for known in self.ids
        )


@dataclass(frozen=True)
class Guard:
    """What the middleware checks against: one link token and its session per server."""

    token: str
    hosts: frozenset[str]
    any_port: bool = False
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    sessions: Sessions = field(default_factory=Sessions, compare=False)

    @property
    def cookie_name(self) -> str:
        # Cookies ignore ports: a name per server keeps two servers on one host apart.
        return "autocoder_" + hashlib.sha256(self.token.encode()).hexdigest()[:10]

    def host_ok(self, host: str | None) -> bool:
        if not host:
            return False
        host = host.lower()
        if self.any_port:
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            return name in self.hosts
        return host in self.hosts

    def token_ok(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(str(value).encode(), self.token.encode())

    def csrf_ok(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(str(value).encode(), self.csrf.encode())


def allowed_hosts(port: int | None, extra: Iterable[str] = ()) -> tuple[frozenset[str], bool]:
    """The Host values to accept; without a port any port of the loopback names is fine."""
    names = {*LOOPBACK_NAMES, *(name.lower() for name in extra)}
    if port is None:
        return frozenset(names), True
    return frozenset(f"{name}:{port}" for name in names), False


def used_link_page() -> Response:
    page = (
        '<!doctype html><meta charset="utf-8"><title>Link already used · autocoder review</title>'
        "<h1>This review link has already been used</h1><p>The link <code>autocoder review</code>"
        " prints works once, in the browser that opened it first. Go back to that browser "
        "window, or stop the app (Ctrl+C) and start <code>autocoder review</code> again for a "
        "new link.</p>\n"
    )
    return HTMLResponse(page, status_code=403, headers=SECURITY_HEADERS)


def refuse(status: int, text: str) -> Response:
    return PlainTextResponse(text, status_code=status, headers=SECURITY_HEADERS)


class GuardMiddleware:
    """Pure ASGI: checks run before routing, and the body stays readable for the routes."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets: never accepted
        headers = Headers(scope=scope)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        problem = self.check_request(scope, headers, query)
        if problem is None and "token" in query and scope["method"] in ("GET", "HEAD"):
            problem = self.exchange(scope, query, self.session_of(headers))
        if problem is None and scope["method"] == "POST":
            receive, problem = await self.check_post(headers, receive)
        if problem is not None:
            await problem(scope, receive, send)
            return
        await self.run_quietly(scope, receive, send)

    def check_request(
        self, scope: Scope, headers: Headers, query: dict[str, str]
    ) -> Response | None:
        if not self.guard.host_ok(headers.get("host")):
            return refuse(400, "Bad Host header: open the app through the URL it printed.")
        if scope["method"] not in ("GET", "HEAD", "POST"):
            return refuse(405, "Method not allowed.")
        if self.session_of(headers) is None:
            link = query.get("token") if scope["method"] in ("GET", "HEAD") else None
            if not self.guard.token_ok(link):
                return refuse(
                    403,
                    "Forbidden: open the review app through the link `autocoder review` printed.",
                )
            if self.guard.sessions.token_used:
                return used_link_page()
        if scope["method"] == "POST" and not self.same_origin(headers):
            return refuse(403, "Forbidden: cross-site request.")
        return None

    def session_of(self, headers: Headers) -> str | None:
        cookie = cookie_parser(headers.get("cookie", "")).get(self.guard.cookie_name)
        return cookie if self.guard.sessions.valid(cookie) else None

    def same_origin(self, headers: Headers) -> bool:
        """Browsers say where a request comes from (``Sec-Fetch-Site``, ``Origin``); a page
        of another site, or of another port on this machine, is refused."""
        fetch_site = headers.get("sec-fetch-site")
        if fetch_site not in (None, "same-origin", "none"):
            return False
        origin = headers.get("origin")
        if origin is None:
            return True
        if origin == "null":  # privacy-minded browsers; only when vouched for as same-origin
            return fetch_site == "same-origin"
        return origin.startswith("http://") and self.guard.host_ok(origin[len("http://") :])

    def exchange(self, scope: Scope, query: dict[str, str], session: str | None) -> Response:
        """Trade the URL token for a session cookie (once; a browser that has its session
        just moves on), then move on to the same URL without it.

        A small page that refreshes itself rather than a redirect: a SameSite=Strict cookie
        is not sent along a redirect chain that another site (or a local file, as the browser
        is opened) started, but it is sent on a navigation this app's own page starts."""
        rest = urlencode({k: v for k, v in query.items() if k != "token"})
        target = html.escape(scope.get("path", "/") + (f"?{rest}" if rest else ""), quote=True)
        page = (
            f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url='
            f'{target}"><title>autocoder review</title><a href="{target}">Continue</a>\n'
        )
        response = HTMLResponse(page, headers=SECURITY_HEADERS)
        if session is None:
            response.set_cookie(
                self.guard.cookie_name,
                self.guard.sessions.start(),
                httponly=True,
                samesite="strict",
                path="/",
            )
        return response

    async def check_post(
        self, headers: Headers, receive: Receive
    ) -> tuple[Receive, Response | None]:
        """Read the (capped) body; the CSRF token comes in the header or a form field."""
        body = await read_body(receive, MAX_BODY_BYTES)
        if body is None:
            return receive, refuse(413, "Request too large.")
        replay = replay_body(body)
        if self.guard.csrf_ok(headers.get(CSRF_HEADER)):
            return replay, None
        if "application/x-www-form-urlencoded" in headers.get("content-type", ""):
            fields = dict(parse_qsl(body.decode("utf-8", "replace")))
            if self.guard.csrf_ok(fields.get(CSRF_FIELD)):
                return replay, None
        return replay, refuse(403, "Forbidden: missing or wrong CSRF token; reload the page.")

    async def run_quietly(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the safe headers; an unexpected error is logged by type only (its message
        could quote report text) and answered with a plain 500."""
        started = False

        async def wrapped(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": with_safe_headers(message.get("headers", []))}
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        except Exception as exc:
            logger.error("review app: %s while answering a request", type(exc).__name__)
            if not started:
                await refuse(500, "Internal error; see the terminal.")(scope, receive, send)


def with_safe_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    result = list(headers)
    present = {name.lower() for name, _ in result}
    for name, value in SECURITY_HEADERS.items():
        if name.encode() not in present:
            result.append((name.encode(), value.encode()))
    return result


async def read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay_body(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
