"""The local review web app: people confirm or correct suggestions, keyboard first.

``create_app`` builds the Starlette app (routes, templates, guard); ``server.serve`` runs it
with uvicorn on 127.0.0.1 and prints the URL with the session token. Import this package only
when used (the web stack takes a moment to load).
"""

from __future__ import annotations

from autocoder.review.app import create_app

__all__ = ["create_app"]
