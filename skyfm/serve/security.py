"""Who may talk to ``skyfm serve``: Host header check, access token and request-size limit.

One small ASGI middleware, :class:`Guard`, wraps the whole app (API, page, plots, report,
docs) and answers before the app sees the request:

* **400** when the ``Host`` header names a host that is not allowed (DNS-rebinding
  protection: loopback names by default, plus the bound host and ``--allowed-host`` names);
* **401** when a token is configured and the request carries none or a wrong one. The token
  is accepted as ``Authorization: Bearer <token>``, as the ``skyfm_token_PORT`` cookie, or as
  ``?token=<token>``; opening ``/?token=<token>`` sets the cookie (``skyfm_token_PORT``,
  HttpOnly, SameSite=Strict) and redirects to ``/``, so the page's own fetches carry it;
* **413** when the body is larger than ``max_body`` bytes: rejected by ``Content-Length``
  before anything is read, and while streaming for chunked bodies. The body is never
  parsed nor echoed.

Tokens are compared with :func:`secrets.compare_digest`.
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import socket
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

from starlette.requests import cookie_parser

__all__ = [
    "COOKIE",
    "DEFAULT_MAX_BODY",
    "LOOPBACK_NAMES",
    "TOKEN_ENV",
    "Guard",
    "allowed_hosts_for",
    "check_token",
    "is_loopback",
    "new_token",
]

TOKEN_ENV = "SKYFM_SERVE_TOKEN"
COOKIE = "skyfm_token"
DEFAULT_MAX_BODY = 64 * 1024
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_TOKEN_RE = re.compile(r"[A-Za-z0-9._~-]{16,256}")


def new_token() -> str:
    """A fresh random access token (URL-safe, 256 bits)."""
    return secrets.token_urlsafe(32)


def check_token(token: str) -> str:
    """``token`` when it is usable in a URL and a cookie and not trivially guessable.

    Raises ValueError saying what is expected otherwise.
    """
    if not _TOKEN_RE.fullmatch(token or ""):
        raise ValueError("the token must be 16-256 characters from A-Z a-z 0-9 . _ ~ - "
                         "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return token


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1); False otherwise.

    Wildcards (``0.0.0.0``, ``::``, ``""``) and every other name or address are not loopback.
    """
    h = host.strip().strip("[]").lower()
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    return host.strip().strip("[]") in ("", "0.0.0.0", "::")


def allowed_hosts_for(bind_host: str, extra: Iterable[str] = ()) -> list[str]:
    """Host names the ``Host`` header may carry when serving on ``bind_host``.

    Loopback names always; the bound host itself; for a wildcard bind (``0.0.0.0``, ``::``)
    this machine's host name, fully qualified name and the addresses its name resolves to;
    and ``extra`` (``--allowed-host``).
    ``*`` in ``extra`` allows any host (no DNS-rebinding protection).
    """
    hosts = list(LOOPBACK_NAMES)
    if _is_wildcard(bind_host):
        hosts += [socket.gethostname(), socket.getfqdn()] + _own_addresses()
    else:
        hosts.append(bind_host)
    hosts += list(extra)
    out: list[str] = []
    for h in hosts:
        h = h.strip().strip("[]").lower()
        if h and h not in out:
            out.append(h)
    return out


def _cookie_name(scope) -> str:
    """``skyfm_token_PORT``: cookies are shared by every port of a host, so two servers on
    one machine must not overwrite each other's token."""
    server = scope.get("server") or (None, None)
    return f"{COOKIE}_{server[1]}" if server[1] else COOKIE


def _own_addresses() -> list[str]:
    """IP addresses this machine's host name resolves to (none when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
    except OSError:
        return []
    return sorted({str(info[4][0]).split("%")[0] for info in infos})


def _host_name(header: str) -> str:
    """The host part of a Host header value (port and IPv6 brackets removed), lower case."""
    h = header.strip().lower()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else ""
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


class Guard:
    """ASGI middleware: Host check (400), token check (401), body-size limit (413).

    ``allowed_hosts``: names the Host header may carry (``"*"`` = any). ``token``: None =
    no token required. ``max_body``: largest request body in bytes.
    """

    def __init__(self, app, *, allowed_hosts: Iterable[str], token: str | None = None,
                 max_body: int = DEFAULT_MAX_BODY):
        self.app = app
        self.allowed = {h.strip().strip("[]").lower() for h in allowed_hosts}
        self.token = None if token is None else check_token(token).encode()
        self.max_body = int(max_body)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    async def _reply(send, status: int, detail: str, headers: list | None = None) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())] + (headers or [])})
        await send({"type": "http.response.body", "body": body})

    def _host_ok(self, headers: dict[bytes, bytes]) -> bool:
        if "*" in self.allowed:
            return True
        raw = headers.get(b"host")
        if raw is None:
            return False
        return _host_name(raw.decode("latin-1")) in self.allowed

    def _matches(self, given: bytes | None) -> bool:
        return given is not None and secrets.compare_digest(given, self.token)

    def _given_tokens(self, scope, headers) -> tuple[bytes | None, bytes | None, bytes | None]:
        """The token from the Authorization header, the cookie and the query string."""
        bearer = cookie = query = None
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer ":
            bearer = auth[7:].strip()
        if b"cookie" in headers:  # starlette's parser is lenient, as browsers are
            jar = cookie_parser(headers[b"cookie"].decode("latin-1"))
            if _cookie_name(scope) in jar:
                cookie = jar[_cookie_name(scope)].encode("latin-1", "replace")
        qs = scope.get("query_string", b"").decode("latin-1")
        if "token=" in qs:
            for k, v in parse_qsl(qs, keep_blank_values=True):
                if k == "token":
                    query = v.encode("latin-1", "replace")
        return bearer, cookie, query

    async def _read_body(self, receive, headers) -> list[dict] | None:
        """The request's body messages, or None when it exceeds ``max_body``."""
        length = headers.get(b"content-length")
        if length is not None:
            try:
                if int(length) > self.max_body:
                    return None
            except ValueError:
                pass  # the server rejects a malformed Content-Length itself
        messages, total = [], 0
        while True:
            msg = await receive()
            if msg["type"] != "http.request":
                messages.append(msg)
                return messages
            total += len(msg.get("body", b""))
            if total > self.max_body:
                return None
            messages.append(msg)
            if not msg.get("more_body", False):
                return messages

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {}
        for k, v in scope.get("headers", []):
            headers.setdefault(k.lower(), v)
        if scope["type"] == "websocket":  # no websocket routes: refuse them outright
            return await send({"type": "websocket.close", "code": 1008})
        if not self._host_ok(headers):
            return await self._reply(
                send, 400, "Host header not allowed: this server answers only to the names it "
                           "was started with (skyfm serve --allowed-host NAME adds one)")
        if self.token is not None:
            bearer, cookie, query = self._given_tokens(scope, headers)
            if self._matches(query) and scope.get("path") == "/" and scope["method"] == "GET":
                rest = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode(
                    "latin-1"), keep_blank_values=True) if k != "token"]
                where = "/" + ("?" + urlencode(rest) if rest else "")
                cookie_hdr = (f"{_cookie_name(scope)}={self.token.decode()}; HttpOnly; "
                              "SameSite=Strict; Path=/").encode()
                return await self._reply(send, 303, "see /", [(b"location", where.encode()),
                                                               (b"set-cookie", cookie_hdr)])
            if not any(self._matches(t) for t in (bearer, cookie, query)):
                return await self._reply(
                    send, 401, "missing or wrong access token: open the URL `skyfm serve` "
                               "printed (http://HOST:PORT/?token=...) or send "
                               "'Authorization: Bearer <token>'",
                    [(b"www-authenticate", b"Bearer")])
        messages = await self._read_body(receive, headers)
        if messages is None:
            return await self._reply(send, 413, f"request body larger than {self.max_body} "
                                                "bytes: refused unread")
        pending = list(messages)

        async def replay():
            if pending:
                return pending.pop(0)
            return await receive()

        return await self.app(scope, replay, send)
