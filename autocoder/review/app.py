"""The review app factory: routes, templates (autoescaped), local static files, the guard.

``create_app(project_path, coder, token)`` returns a Starlette app for one project, one coder
and one session token. Nothing is loaded from outside the package: no CDN, no fonts, no
network. See ``security`` for the checks every request passes first.
"""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from autocoder.codebook import Codebook
from autocoder.errors import StoreError
from autocoder.matrix import ink, shade
from autocoder.review import routes
from autocoder.review.security import Guard, GuardMiddleware, allowed_hosts
from autocoder.store import Project
from autocoder.store_review import ADJUDICATED

HERE = Path(__file__).parent
SHADE_STEPS = 10
WORKER_THREADS = 4  # threads reading the project for requests (see routes.in_project)


def templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["basename"] = lambda value: re.split(r"[\\/]", str(value))[-1]
    return Jinja2Templates(env=env)


def codes_css(codebook: Codebook) -> str:
    """One class per code (ids and colours are validated by the codebook schema)."""
    lines = []
    for code in codebook.codes:
        tint, solid = shade(code.colour, 0.1), shade(code.colour, 0.62)
        lines.append(
            f".c-{code.id}{{--tint:{tint};--solid:{solid};--on:{ink(solid)};--edge:{code.colour}}}"
        )
        for step in range(SHADE_STEPS + 1):
            background = shade(code.colour, step / SHADE_STEPS)
            lines.append(f".m-{code.id}-{step}{{background:{background};color:{ink(background)}}}")
    return "\n".join(lines) + "\n"


def load_codebook_of(project_path: Path) -> Codebook:
    with Project.open(project_path, create=False) as project:
        codebook = project.project_codebook()
    if codebook is None:
        raise StoreError(f"{project_path}: the project has no codebook yet; code reports first")
    return codebook


def create_app(
    project_path: Path | str,
    coder: str,
    token: str,
    *,
    port: int | None = None,
    extra_hosts: tuple[str, ...] = (),
) -> Starlette:
    """The review app for one project and coder. Without ``port`` any loopback port is
    accepted in the Host header (for tests); the server always passes its port."""
    if not coder.strip():
        raise StoreError("give the reviewing coder's name with --coder")
    if coder.strip() == ADJUDICATED:
        raise StoreError(
            f"{ADJUDICATED!r} is where adjudicated codes are stored: use your own name"
        )
    if len(token) < 16:
        raise StoreError("the session token is too short")
    project_path = Path(project_path)
    codebook = load_codebook_of(project_path)
    hosts, any_port = allowed_hosts(port, extra_hosts)
    guard = Guard(token=token, hosts=hosts, any_port=any_port)
    app = Starlette(
        debug=False,
        routes=[
            Route("/", routes.reports_page),
            Route("/reports/{report_id:str}", routes.report_page),
            Route("/queue", routes.queue_page),
            Route("/matrix", routes.matrix_page),
            Route("/matrix/verdict", routes.verdict, methods=["POST"]),
            Route("/adjudicate", routes.adjudication_page),
            Route("/adjudicate", routes.adjudication, methods=["POST"]),
            Route("/api/state", routes.api_state),
            Route("/api/decide", routes.api_decide, methods=["POST"]),
            Route("/api/reject", routes.api_reject, methods=["POST"]),
            Route("/api/undo", routes.api_undo, methods=["POST"]),
            Route("/api/memo", routes.api_memo, methods=["POST"]),
            Route("/codes.css", routes.codes_stylesheet),
            Route("/favicon.ico", routes.no_icon),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        middleware=[Middleware(GuardMiddleware, guard=guard)],
        exception_handlers=routes.EXCEPTION_HANDLERS,
    )
    app.state.project_path = project_path
    app.state.coder = coder.strip()
    app.state.guard = guard
    app.state.limiter = anyio.CapacityLimiter(WORKER_THREADS)
    app.state.codebook = codebook
    app.state.codes_css = codes_css(codebook)
    app.state.templates = templates()
    return app
