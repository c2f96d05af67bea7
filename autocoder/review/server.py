"""Run the review app with uvicorn: loopback only by default, quiet logs, a token URL.

uvicorn's access log is off and its log level is "warning", so neither paths with report
ids nor any text reach the terminal; the server prints one line with the URL to open.
"""

from __future__ import annotations

import html
import ipaddress
import os
import socket
import tempfile
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path

import uvicorn

from autocoder.errors import AutocoderError
from autocoder.review.app import create_app
from autocoder.review.security import LOOPBACK_NAMES, new_token


def bind(host: str, port: int) -> socket.socket:
    """Bind first, so that a free port (``port=0``) is known before the app is made."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise AutocoderError(f"cannot listen on {host}:{port} ({exc.strerror})") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def exposure_warning(host: str) -> str | None:
    """One warning line when ``host`` is not a loopback address (the app leaves this computer)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:  # a host name: loopback only if it is localhost
        address = None
    if host.lower() in LOOPBACK_NAMES or (address is not None and address.is_loopback):
        return None
    where = "every network interface" if address is not None and address.is_unspecified else host
    return (
        f"--host {host}: the review app listens on {where}, so other computers on the network "
        "can reach it and only the token in the link keeps them from the reports; "
        "use the default --host 127.0.0.1 unless you need this"
    )


def url_for(host: str, port: int, token: str) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{shown}:{port}/?token={token}"


def make_server(
    project_path: Path | str, coder: str, host: str = "127.0.0.1", port: int = 0
) -> tuple[uvicorn.Server, socket.socket, str]:
    """The uvicorn server (not started), its bound socket and the URL to open."""
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    token = new_token()
    extra = () if host in LOOPBACK_NAMES else (host,)
    try:
        app = create_app(project_path, coder, token, port=actual, extra_hosts=extra)
    except BaseException:
        sock.close()
        raise
    config = uvicorn.Config(
        app,
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=False,
        proxy_headers=False,
        lifespan="off",
        ws="none",
    )
    return uvicorn.Server(config), sock, url_for(host, actual, token)


def redirect_file(url: str) -> Path:
    """A private (0600) HTML file that forwards to ``url``: the browser is opened on this file,
    so the token never shows up on a process command line (as notebook servers do)."""
    handle, name = tempfile.mkstemp(prefix="autocoder-review-", suffix=".html")
    target = html.escape(url, quote=True)
    page = (
        f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={target}">'
        f'<title>autocoder review</title><a href="{target}">Open the autocoder review app</a>\n'
    )
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(page)
    return Path(name)


def serve(
    project_path: Path | str,
    coder: str,
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = True,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve until Ctrl+C; prints the URL with the session token (and opens it)."""
    server, sock, url = make_server(project_path, coder, host, port)
    announce(url)
    opener = redirect_file(url) if open_browser else None
    if opener is not None:
        threading.Timer(0.5, webbrowser.open, args=(opener.as_uri(),)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        if opener is not None:
            opener.unlink(missing_ok=True)
