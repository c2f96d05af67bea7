"""Route handlers: pages (rendered with autoescaped templates) and the small JSON API.

Each request opens the project, does its work in a worker thread (SQLite connections stay in
the thread that made them) and closes it. Every change names the app's coder; the response
carries the fresh state so the page shows what others did meanwhile.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import anyio
import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from autocoder.errors import AutocoderError, StaleError, StoreBusyError
from autocoder.matrix import ALL_COLUMN, CONFIRMABLE, By, build_matrix
from autocoder.review import adjudicate, changes, state
from autocoder.review.blind import blind_mode
from autocoder.review.matrix_view import matrix_context
from autocoder.store import Project

T = TypeVar("T")
MAX_QUEUE = 200


def _run(request: Request, work: Callable[[Project], T]) -> T:
    with Project.open(request.app.state.project_path, create=False) as project:
        return work(project)


async def in_project(request: Request, work: Callable[[Project], T]) -> T:
    # A few worker threads, not anyio's 40: the work is mostly Python (one GIL), and with
    # many clients 40 threads only take turns slower (p95 latency grew 4-fold).
    limiter = request.app.state.limiter
    return await anyio.to_thread.run_sync(functools.partial(_run, request, work), limiter=limiter)


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    app = request.app.state
    base = {
        "coder": app.coder,
        "csrf": app.guard.csrf,
        "codebook": app.codebook,
        "path": request.url.path,
    }
    return app.templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def codes_payload(request: Request) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "name": c.name, "colour": c.colour} for c in request.app.state.codebook.codes
    ]


# --- pages -------------------------------------------------------------------------------------


async def reports_page(request: Request) -> Response:
    coder = request.app.state.coder
    data = await in_project(request, lambda p: state.progress(p, coder))
    return render(request, "reports.html", data)


async def report_page(request: Request) -> Response:
    coder = request.app.state.coder
    report_id = request.path_params["report_id"]
    data = await in_project(request, lambda p: state.report_page(p, coder, report_id))
    page = {"view": {"report": report_id}, "codes": codes_payload(request), **data["state"]}
    return render(request, "report.html", {**data, "page": page, "blind": data["state"]["blind"]})


async def queue_page(request: Request) -> Response:
    coder = request.app.state.coder
    strategy = request.query_params.get("strategy", "least_confidence")
    if strategy not in state.STRATEGIES:
        raise AutocoderError(f"strategy must be one of {', '.join(state.STRATEGIES)}")
    limit = min(max(_int(request.query_params.get("limit"), 25), 1), MAX_QUEUE)
    seed = _int(request.query_params.get("seed"), 0)
    items, blind = await in_project(
        request,
        lambda p: (state.queue_items(p, coder, strategy, limit, seed), blind_mode(p, coder)),
    )
    page = {
        "view": {"ids": [item["fragment"].id for item in items]},
        "codes": codes_payload(request),
        "fragments": [item["state"] for item in items],
        "report_memos": [],
    }
    context = {"items": items, "strategy": strategy, "limit": limit, "seed": seed, "page": page}
    context["blind"] = blind.on
    return render(request, "queue.html", context)


async def matrix_page(request: Request) -> Response:
    coder = request.app.state.coder
    params = request.query_params
    by = params.get("by", By.GROUP.value)
    if by not in {b.value for b in By}:
        raise AutocoderError("by must be respondent, group or all")
    mine = params.get("mine") == "1"
    suggested = params.get("sugg") == "1"  # open fragments count their suggestion
    blind = await in_project(request, lambda p: blind_mode(p, coder))
    mine = mine or blind.on  # blind coding: other coders' codes stay hidden here too

    def work(project: Project) -> dict[str, Any]:
        records = project.coded_fragments(coder if mine else None, include_suggestions=suggested)
        matrix = build_matrix(
            records,
            request.app.state.codebook,
            by=by,
            verdicts=project.verdicts(),
            include_suggestions=suggested,
        )
        return matrix_context(matrix, params.get("code"), params.get("column"))

    context = await in_project(request, work)
    context.update(by=by, mine=mine, sugg=suggested, verdicts=[v.value for v in CONFIRMABLE])
    context["blind"] = blind.on
    return render(request, "matrix.html", context)


async def verdict(request: Request) -> Response:
    from autocoder.matrix_io import ANY_STATE, confirm_verdict

    form = await request.form()
    seen = form.get("seen", ANY_STATE)  # the seq of the verdict the page showed ("": none)
    if isinstance(seen, str) and (seen == "" or (seen.isascii() and seen.isdigit())):
        seen = int(seen) if seen else None  # anything else is refused as stale
    code, column = str(form.get("code", "")), str(form.get("column", ALL_COLUMN))
    by = str(form.get("by", By.GROUP.value))
    await run_in_threadpool(
        confirm_verdict,
        request.app.state.project_path,
        code,
        column,
        str(form.get("verdict", "")),
        str(form.get("note", ""))[:2000],
        request.app.state.coder,
        seen,
    )
    keep = {key: form.get(key, "") for key in ("mine", "sugg")}
    query = urlencode({"by": by, "code": code, "column": column, **keep})
    return RedirectResponse(f"/matrix?{query}", status_code=303)


async def adjudication_page(request: Request) -> Response:
    coder = request.app.state.coder
    page = max(_int(request.query_params.get("page"), 0), 0)
    data = await in_project(request, lambda p: adjudicate.disagreements(p, coder, page))
    return render(request, "adjudicate.html", data)


async def adjudication(request: Request) -> Response:
    form = {key: str(value) for key, value in (await request.form()).items()}
    fragment_id = form.get("fragment_id", "")
    seq_text = form.get("expected_seq", "")
    expected = _int(seq_text, -1) if seq_text else None
    app = request.app.state

    def work(project: Project) -> int:
        return adjudicate.adjudicate(project, app.codebook, app.coder, fragment_id, form, expected)

    await in_project(request, work)
    page = _int(form.get("page"), 0)
    return RedirectResponse(f"/adjudicate?page={page}#f-{fragment_id}", status_code=303)


async def codes_stylesheet(request: Request) -> Response:
    return Response(request.app.state.codes_css, media_type="text/css")


async def no_icon(request: Request) -> Response:
    return Response(status_code=204)


# --- JSON API ----------------------------------------------------------------------------------


async def api_state(request: Request) -> Response:
    coder = request.app.state.coder
    params = request.query_params
    view: dict[str, Any] = {"report": params.get("report")} if params.get("report") else {}
    if not view:
        view = {"ids": [i for i in params.get("ids", "").split(",") if i][:MAX_QUEUE]}
    return JSONResponse(await in_project(request, lambda p: state.state_for(p, coder, view)))


async def api_decide(request: Request) -> Response:
    body = await json_body(request)
    coder, codebook = request.app.state.coder, request.app.state.codebook
    choice = changes.Choice.parse(body, codebook)
    fragment_id = _text(body, "fragment_id")

    def work(project: Project) -> dict[str, Any]:
        seq = changes.decide(project, coder, fragment_id, choice, body.get("expected_seq"))
        return {"seq": seq, "state": state.state_for(project, coder, _view(body))}

    return JSONResponse(await in_project(request, work))


async def api_reject(request: Request) -> Response:
    return await _fragment_change(request, changes.reject)


async def api_undo(request: Request) -> Response:
    return await _fragment_change(request, changes.undo)


async def _fragment_change(
    request: Request, change: Callable[[Project, str, str, Any], int | None]
) -> Response:
    """A change to one fragment that needs no choice (reject, undo): its log entry's number
    and the page's new state."""
    body = await json_body(request)
    coder = request.app.state.coder
    fragment_id = _text(body, "fragment_id")

    def work(project: Project) -> dict[str, Any]:
        seq = change(project, coder, fragment_id, body.get("expected_seq"))
        return {"seq": seq, "state": state.state_for(project, coder, _view(body))}

    return JSONResponse(await in_project(request, work))


async def api_memo(request: Request) -> Response:
    body = await json_body(request)
    coder = request.app.state.coder
    kind, target, text = _text(body, "kind"), _text(body, "target_id"), _text(body, "text")

    def work(project: Project) -> dict[str, Any]:
        seq = changes.add_memo(project, coder, kind, target, text)
        return {"seq": seq, "state": state.state_for(project, coder, _view(body))}

    return JSONResponse(await in_project(request, work))


async def json_body(request: Request) -> dict[str, Any]:
    if "application/json" not in request.headers.get("content-type", ""):
        raise AutocoderError("send JSON")
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise AutocoderError("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise AutocoderError("the request body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise AutocoderError(f"{key} is missing")
    return value


def _view(body: dict[str, Any]) -> dict[str, Any]:
    view = body.get("view")
    return view if isinstance(view, dict) else {}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


# --- errors ------------------------------------------------------------------------------------


async def autocoder_error(request: Request, exc: Exception) -> Response:
    status = 400
    if isinstance(exc, state.Conflict | StaleError):
        status = 409
    elif isinstance(exc, state.NotFound):
        status = 404
    elif isinstance(exc, StoreBusyError):  # locked past the busy timeout: try again later
        status = 503
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": str(exc)}, status_code=status)
    return PlainTextResponse(f"{exc}", status_code=status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(exc.detail, status_code=exc.status_code)


EXCEPTION_HANDLERS: dict[Any, Any] = {AutocoderError: autocoder_error, HTTPException: http_error}
