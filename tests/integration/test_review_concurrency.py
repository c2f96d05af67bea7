"""Nothing lost under concurrency: many review changes made at once from the same page state.

A real uvicorn server on 127.0.0.1 and real HTTP clients in threads, or real store connections
in threads and in separate processes, all writing one SQLite project: of the changes made from
one state exactly one lands, the rest are refused as stale (409) and the log has one entry.
The same for a matrix cell's verdict, and for the codebook of a new project.
"""

from __future__ import annotations

import multiprocessing
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

import httpx

from autocoder.codebook import DEFAULT_CODEBOOK, load_codebook
from autocoder.errors import StaleError
from autocoder.records import Decision, Presence, Status, Suggestion
from autocoder.review import changes
from autocoder.review.state import Conflict
from autocoder.store import Project
from tests.conftest import sentence_report

CODEBOOK = load_codebook()
CODEBOOK_TEXT = (resources.files("autocoder") / "codebooks" / f"{DEFAULT_CODEBOOK}.yaml").read_text(
    encoding="utf-8"
)
FIRST, SECOND = CODEBOOK.ids[0], CODEBOOK.ids[1]
TEXT = "Eerste zin over afspraken. Tweede zin over geld. Derde zin over tijd. Vierde zin."
CLIENTS = 100


@pytest.fixture
def project_path(tmp_path: Path) -> Path:
    path = tmp_path / "study.db"
    with Project.open(path) as project:
        project.ensure_codebook(CODEBOOK_TEXT, CODEBOOK)
        model = project.add_model({"model_id": "m", "codebook_hash": CODEBOOK.hash})
        report, fragments = sentence_report(TEXT)
        project.add_report(report, fragments, "sentence")
        guess = Suggestion(FIRST, Presence.PRESENT, 0.6, {FIRST: 0.6}, 0.8, (), "m")
        project.add_suggestions(model, [(f.id, guess) for f in fragments])
    return path


def fragment_ids(path: Path) -> list[str]:
    with Project.open(path, create=False) as project:
        return [f.id for f in project.fragments(project.reports()[0]["id"])]


def log(path: Path) -> list[tuple[Any, ...]]:
    with Project.open(path, create=False) as project:
        return project.conn.execute("SELECT seq, fragment_id, coder FROM decisions").fetchall()


@pytest.fixture
def server(project_path: Path) -> Iterator[httpx.Client]:
    """The review app served by uvicorn in a thread; a logged-in client (safe across threads)."""
    from autocoder.review.server import make_server

    app_server, sock, url = make_server(project_path, "anna")
    thread = threading.Thread(target=app_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()  # the socket already listens: requests queue until uvicorn accepts them
    limits = httpx.Limits(max_connections=CLIENTS)
    try:
        with httpx.Client(base_url=url.split("/?")[0], limits=limits, timeout=60) as client:
            client.get(url)  # the token becomes the session cookie
            page = client.get("/").text
            match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
            assert match
            client.headers["X-CSRF-Token"] = match.group(1)
            yield client
    finally:
        app_server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def all_at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count)

    def run(index: int) -> Any:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_100_simultaneous_decisions_from_one_state_land_once(
    server: httpx.Client, project_path: Path
) -> None:
    fid = fragment_ids(project_path)[0]
    body = {"fragment_id": fid, "factor": SECOND, "presence": "present", "expected_seq": None}
    codes = all_at_once(CLIENTS, lambda _: server.post("/api/decide", json=body).status_code)
    accepted = codes.count(200)
    print(f"\n{accepted} of {CLIENTS} simultaneous decisions accepted, {codes.count(409)} got 409")
    assert (accepted, codes.count(409)) == (1, CLIENTS - 1)
    assert len(log(project_path)) == 1


def test_simultaneous_decisions_on_different_fragments_all_land(
    server: httpx.Client, project_path: Path
) -> None:
    ids = fragment_ids(project_path)

    def decide(index: int) -> int:
        body = {"fragment_id": ids[index], "factor": FIRST, "presence": "absent"}
        return server.post("/api/decide", json={**body, "expected_seq": None}).status_code

    assert all_at_once(len(ids), decide) == [200] * len(ids)
    assert sorted(row[1] for row in log(project_path)) == sorted(ids)


def test_simultaneous_undos_step_back_once(server: httpx.Client, project_path: Path) -> None:
    fid = fragment_ids(project_path)[0]
    body = {"fragment_id": fid, "factor": SECOND, "presence": "present", "expected_seq": None}
    first = server.post("/api/decide", json=body).json()["seq"]
    second = server.post("/api/decide", json={**body, "expected_seq": first}).json()
    assert second["seq"] is None  # the same choice again: nothing appended
    again = {**body, "presence": "absent", "expected_seq": first}
    latest = server.post("/api/decide", json=again).json()["seq"]
    undo = {"fragment_id": fid, "expected_seq": latest}
    codes = all_at_once(20, lambda _: server.post("/api/undo", json=undo).status_code)
    assert (codes.count(200), codes.count(409)) == (1, 19)
    assert len(log(project_path)) == 3


def test_a_project_locked_past_the_busy_timeout_answers_503(
    server: httpx.Client, project_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autocoder.review import routes

    opened = routes.Project.open
    monkeypatch.setattr(
        routes.Project, "open", lambda path, create: opened(path, create, timeout=0.2)
    )
    fid = fragment_ids(project_path)[0]
    body = {"fragment_id": fid, "factor": SECOND, "presence": "present", "expected_seq": None}
    with Project.open(project_path, create=False) as holder, holder.transaction():
        response = server.post("/api/decide", json=body)  # another writer holds the lock
    assert response.status_code == 503
    assert "in use by another program" in response.json()["error"]
    assert server.post("/api/decide", json=body).status_code == 200  # free again: it lands
    assert len(log(project_path)) == 1


# --- the store itself, from threads and from processes -------------------------------------------


def _decide_from(path: str, fragment_id: str, seen: int | None, coder: str) -> str:
    """One connection of its own: append a decision made from state ``seen``."""
    decision = Decision(fragment_id, coder, SECOND, Presence.PRESENT, None, Status.CORRECTED, "")
    with Project.open(path, create=False) as project:
        try:
            project.record_decision_if_latest(decision, seen)
        except StaleError:
            return "stale"
    return "appended"


def _process_worker(path: str, fragment_id: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    results.put(_decide_from(path, fragment_id, None, "anna"))


def test_store_connections_in_threads_append_once(project_path: Path) -> None:
    ids = fragment_ids(project_path)
    results = all_at_once(CLIENTS, lambda _: _decide_from(str(project_path), ids[0], None, "anna"))
    assert (results.count("appended"), results.count("stale")) == (1, CLIENTS - 1)
    others = all_at_once(len(ids), lambda i: _decide_from(str(project_path), ids[i], None, "bob"))
    assert others == ["appended"] * len(ids)  # another coder, or other fragments: no conflict
    assert len(log(project_path)) == 1 + len(ids)


def test_store_connections_in_processes_append_once(project_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    count = 6
    barrier, results = context.Barrier(count), context.Queue()
    fid = fragment_ids(project_path)[1]
    workers = [
        context.Process(target=_process_worker, args=(str(project_path), fid, barrier, results))
        for _ in range(count)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert (outcomes.count("appended"), outcomes.count("stale")) == (1, count - 1)
    assert len(log(project_path)) == 1


def test_a_stale_change_raises_conflict_in_changes(project_path: Path) -> None:
    fid = fragment_ids(project_path)[2]
    with Project.open(project_path, create=False) as project:
        first = changes.reject(project, "anna", fid, None)
        assert first is not None
        with pytest.raises(StaleError):
            project.record_decision_if_latest(
                Decision(fid, "anna", None, None, None, Status.REJECTED, ""), None
            )
        with pytest.raises(StaleError):
            project.record_decision_if_latest(
                Decision(fid, "anna", None, None, None, Status.REJECTED, ""), str(first)
            )
        with pytest.raises(Conflict):
            changes.undo(project, "anna", fid, None)
    assert len(log(project_path)) == 1


# --- matrix verdicts: the same check for a cell's confirmed verdict -----------------------------


def seen_on_page(client: httpx.Client) -> str:
    page = client.get(f"/matrix?by=all&code={FIRST}&column=all").text
    match = re.search(r'<input type="hidden" name="seen" value="([^"]*)">', page)
    assert match
    return match.group(1)


def test_simultaneous_verdicts_from_one_page_land_once(
    server: httpx.Client, project_path: Path
) -> None:
    seen = seen_on_page(server)
    assert seen == ""  # no verdict yet
    form = {"code": FIRST, "column": "all", "verdict": "partly", "by": "all", "seen": seen}
    codes = all_at_once(20, lambda _: server.post("/matrix/verdict", data=form).status_code)
    assert (codes.count(303), codes.count(409)) == (1, 19)
    with Project.open(project_path, create=False) as project:
        assert len(project.conn.execute("SELECT seq FROM verdicts").fetchall()) == 1
        (stored,) = project.verdicts()
    assert seen_on_page(server) == str(stored["seq"])
    absent = {**form, "verdict": "absent"}
    assert server.post("/matrix/verdict", data=absent).status_code == 409  # the old page
    fresh = {**absent, "seen": str(stored["seq"])}
    assert server.post("/matrix/verdict", data=fresh).status_code == 303
    assert server.post("/matrix/verdict", data={**fresh, "seen": "²"}).status_code == 409


def test_store_verdicts_from_threads_append_once(project_path: Path) -> None:
    def confirm(index: int) -> str:
        with Project.open(project_path, create=False) as project:
            try:
                project.add_verdict_if_latest(FIRST, "all", "present", "", f"c{index}", None)
            except StaleError:
                return "stale"
        return "appended"

    results = all_at_once(30, confirm)
    assert (results.count("appended"), results.count("stale")) == (1, 29)
    with Project.open(project_path, create=False) as project:
        assert len(project.verdicts()) == 1


# --- the codebook of a new project, set by several workers at once --------------------------------


def test_workers_starting_one_new_project_at_once_all_get_its_codebook(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Project.open(path).close()

    def ensure(_: int) -> str:
        with Project.open(path, create=False) as project:
            project.ensure_codebook(CODEBOOK_TEXT, CODEBOOK)
            return project.setting("codebook") or ""

    assert all_at_once(8, ensure) == [CODEBOOK.hash] * 8
