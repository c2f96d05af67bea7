"""The review web app through Starlette's TestClient: the guard (Host, token, CSRF, headers),
escaping, and every change landing in the project's append-only log under the coder's name."""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("jinja2")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx 0.28 works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from autocoder.codebook import DEFAULT_CODEBOOK, load_codebook
from autocoder.matrix import counted_evidence
from autocoder.records import Fragment, Presence, Report, ReportMeta, Suggestion
from autocoder.review import create_app
from autocoder.review.blind import set_blind_options
from autocoder.store import Project

CODEBOOK = load_codebook()
CODEBOOK_TEXT = (resources.files("autocoder") / "codebooks" / f"{DEFAULT_CODEBOOK}.yaml").read_text(
    encoding="utf-8"
)
FIRST, SECOND = CODEBOOK.ids[0], CODEBOOK.ids[1]
TOKEN = "test-token-0123456789abcdefghij"
BASE = "http://127.0.0.1:8765"
HOSTILE = '<script>alert("x")</script> & <b>vet</b>'
TEXTS = {
    "a.txt": f"Eerste zin over afspraken. Tweede zin {HOSTILE}. Derde zin over tijd. Vierde zin.",
    "b.txt": "Andere zin een. Andere zin twee.",
}
CONFIDENCES = (0.9, 0.3, 0.6, 0.8, 0.5, 0.4)


def make_report(text: str, source: str, respondent: str) -> tuple[Report, list[Fragment]]:
    digest = hashlib.sha256(text.encode()).hexdigest()
    rid = "r" + digest[:12]
    meta = ReportMeta(respondent=respondent, group="uitvoerend")  # type: ignore[arg-type]
    report = Report(rid, source, text, meta, "txt", digest)
    fragments = [
        Fragment(f"{rid}:{m.start()}-{m.end()}", rid, m.start(), m.end(), m.group(), respondent)
        for m in re.finditer(r"[^.\s][^.]*\.", text)
    ]
    return report, fragments


def suggestion(factor: str | None, confidence: float) -> Suggestion:
    probs = {FIRST: confidence, SECOND: round((1 - confidence) / 2, 4), "none": 0.05}
    presence = Presence.PRESENT if factor else None
    return Suggestion(factor, presence, confidence, probs, 0.8, ("indicator 'x'",), "m")


@pytest.fixture
def project_path(tmp_path: Path) -> Path:
    path = tmp_path / "study.db"
    confidences = iter(CONFIDENCES)
    with Project.open(path) as project:
        project.ensure_codebook(CODEBOOK_TEXT, CODEBOOK)
        model = project.add_model({"model_id": "m", "codebook_hash": CODEBOOK.hash})
        for index, (source, text) in enumerate(TEXTS.items()):
            report, fragments = make_report(text, source, f"R{index + 1}")
            project.add_report(report, fragments, "sentence")
            items = [(f.id, suggestion(FIRST, next(confidences))) for f in fragments]
            project.add_suggestions(model, items)
    return path


def client_for(path: Path, coder: str = "anna", port: int | None = None) -> TestClient:
    base = f"http://127.0.0.1:{port}" if port else BASE
    return TestClient(create_app(path, coder, TOKEN, port=port), base_url=base)


@pytest.fixture
def client(project_path: Path) -> Iterator[TestClient]:
    with client_for(project_path) as test_client:
        assert "set-cookie" in test_client.get(f"/?token={TOKEN}").headers
        yield test_client


def fragments(path: Path, source: str = "a.txt") -> list[Fragment]:
    with Project.open(path, create=False) as project:
        rid = next(r["id"] for r in project.reports() if r["source"] == source)
        return project.fragments(rid)


def csrf(client: TestClient) -> str:
    page = client.get("/").text
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert match
    return match.group(1)


def post(client: TestClient, url: str, body: dict, token: str | None = None) -> object:
    headers = {"X-CSRF-Token": token if token is not None else csrf(client)}
    return client.post(url, json=body, headers=headers)


def log(path: Path) -> list[tuple]:
    with Project.open(path, create=False) as project:
        rows = project.conn.execute(
            "SELECT seq, fragment_id, coder, factor, presence, priority, status, note "
            "FROM decisions ORDER BY seq"
        )
        return rows.fetchall()


def state_of(response: object, fragment_id: str) -> dict:
    data = response.json()  # type: ignore[attr-defined]
    return next(f for f in data["state"]["fragments"] if f["id"] == fragment_id)


# --- the guard ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/static/review.css", "/codes.css", "/api/state", "/queue"])
def test_no_token_no_entry(project_path: Path, url: str) -> None:
    with client_for(project_path) as anonymous:
        assert anonymous.get(url).status_code == 403
        assert anonymous.get(url + "?token=wrong-token-xxxxxxxxxxxx").status_code == 403


def test_token_becomes_a_strict_httponly_cookie_and_leaves_the_url(project_path: Path) -> None:
    with client_for(project_path) as fresh:
        response = fresh.get(f"/queue?token={TOKEN}&strategy=margin", follow_redirects=False)
        assert response.status_code == 200
        assert '<meta http-equiv="refresh" content="0;url=/queue?strategy=margin">' in response.text
        assert TOKEN not in response.text
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert TOKEN not in cookie  # a session id of its own
        assert fresh.get("/").status_code == 200


def test_the_link_works_once(project_path: Path) -> None:
    app = create_app(project_path, "anna", TOKEN)
    with TestClient(app, base_url=BASE) as first, TestClient(app, base_url=BASE) as second:
        assert "set-cookie" in first.get(f"/?token={TOKEN}").headers
        again = first.get(f"/queue?token={TOKEN}")  # the same browser: just moves on
        assert again.status_code == 200 and "set-cookie" not in again.headers
        refused = second.get(f"/?token={TOKEN}")  # a fresh browser
        assert refused.status_code == 403 and "already been used" in refused.text
        assert "set-cookie" not in refused.headers
        assert second.get("/").status_code == 403
        assert first.get("/").status_code == 200
        forged = {app.state.guard.cookie_name: TOKEN}  # the token is no session id
        assert second.get("/", cookies=forged).status_code == 403


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8765", "127.0.0.1.evil.example:8765", ""]
)
def test_foreign_host_refused(client: TestClient, host: str) -> None:
    response = client.get("/", headers={"Host": host})
    assert response.status_code == 400
    assert "Host" in response.text


def test_host_allow_list_includes_the_port(project_path: Path) -> None:
    with client_for(project_path, port=8765) as bound:
        assert bound.get(f"/?token={TOKEN}").status_code == 200
        assert bound.get("/", headers={"Host": "localhost:8765"}).status_code == 200
        assert bound.get("/", headers={"Host": "127.0.0.1:9999"}).status_code == 400


def test_security_headers(client: TestClient) -> None:
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cache-control"] == "no-store"
    assert headers["x-frame-options"] == "DENY"


def test_post_without_or_with_wrong_csrf_is_refused(client: TestClient, project_path: Path) -> None:
    fid = fragments(project_path)[0].id
    body = {"fragment_id": fid, "factor": FIRST, "presence": "present", "expected_seq": None}
    assert client.post("/api/decide", json=body).status_code == 403
    assert post(client, "/api/decide", body, token="nope").status_code == 403
    form = {"code": FIRST, "column": "all", "verdict": "present"}
    assert client.post("/matrix/verdict", data=form).status_code == 403
    assert client.post("/matrix/verdict", data={**form, "csrf": "nope"}).status_code == 403
    assert log(project_path) == []


def test_cross_site_post_is_refused_even_with_csrf(client: TestClient, project_path: Path) -> None:
    fid = fragments(project_path)[0].id
    body = {"fragment_id": fid, "factor": FIRST, "presence": "present", "expected_seq": None}
    headers = {"X-CSRF-Token": csrf(client), "Origin": "http://evil.example"}
    assert client.post("/api/decide", json=body, headers=headers).status_code == 403
    for site in ("cross-site", "same-site"):  # same-site: another port on this machine
        headers = {"X-CSRF-Token": csrf(client), "Sec-Fetch-Site": site}
        assert client.post("/api/decide", json=body, headers=headers).status_code == 403
    headers = {"X-CSRF-Token": csrf(client), "Origin": "null"}
    assert client.post("/api/decide", json=body, headers=headers).status_code == 403
    assert log(project_path) == []


def test_other_methods_refused(client: TestClient) -> None:
    assert client.put("/api/decide", json={}).status_code == 405
    assert client.delete("/").status_code == 405


# --- pages -------------------------------------------------------------------------------------


def test_report_list_shows_progress(client: TestClient) -> None:
    page = client.get("/").text
    assert "a.txt" in page and "b.txt" in page
    assert "<progress" in page and "anna (you)" in page


def test_report_text_is_escaped_everywhere(client: TestClient, project_path: Path) -> None:
    rid = fragments(project_path)[0].report
    page = client.get(f"/reports/{rid}").text
    assert "<script>alert" not in page and "<b>vet</b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    embedded = re.search(r'<script id="page-state" type="application/json">(.*?)</script>', page)
    assert embedded and "<" not in embedded.group(1)
    assert json.loads(embedded.group(1))["view"] == {"report": rid}
    assert page.count('class="frag" data-id=') == len(fragments(project_path))


def test_every_script_and_style_is_local(client: TestClient, project_path: Path) -> None:
    rid = fragments(project_path)[0].report
    page = client.get(f"/reports/{rid}").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/") for s in sources)
    for asset in ("/static/review.js", "/static/review.css", "/codes.css"):
        assert client.get(asset).status_code == 200
    assert f".c-{FIRST}{{" in client.get("/codes.css").text


def test_unknown_report_is_404(client: TestClient) -> None:
    assert client.get("/reports/r000000000000").status_code == 404


# --- changes -----------------------------------------------------------------------------------


def test_accept_confirms_and_a_different_choice_corrects(
    client: TestClient, project_path: Path
) -> None:
    first, second = fragments(project_path)[:2]
    body = {"fragment_id": first.id, "factor": FIRST, "presence": "present", "expected_seq": None}
    response = post(client, "/api/decide", {**body, "view": {"report": first.report}})
    assert response.status_code == 200
    assert state_of(response, first.id)["mine"]["status"] == "confirmed"
    body = {"fragment_id": second.id, "factor": SECOND, "presence": "absent", "priority": "high"}
    response = post(client, "/api/decide", {**body, "expected_seq": None})
    assert response.status_code == 200
    rows = log(project_path)
    assert [(r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows] == [
        (first.id, "anna", FIRST, "present", None, "confirmed"),
        (second.id, "anna", SECOND, "absent", "high", "corrected"),
    ]


def test_stale_page_gets_409_and_nothing_is_lost(client: TestClient, project_path: Path) -> None:
    fid = fragments(project_path)[0].id
    body = {"fragment_id": fid, "factor": FIRST, "presence": "present", "expected_seq": None}
    assert post(client, "/api/decide", body).status_code == 200
    other_tab = {**body, "factor": SECOND}  # still believes nothing was decided
    response = post(client, "/api/decide", other_tab)
    assert response.status_code == 409
    assert "another tab" in response.json()["error"]
    assert len(log(project_path)) == 1


def test_undo_appends_the_previous_state(client: TestClient, project_path: Path) -> None:
    fid = fragments(project_path)[0].id
    body = {"fragment_id": fid, "factor": FIRST, "presence": "present", "expected_seq": None}
    seq1 = post(client, "/api/decide", body).json()["seq"]
    seq2 = post(client, "/api/decide", {**body, "factor": SECOND, "expected_seq": seq1}).json()
    view = {"ids": [fid]}
    # the state to go back to comes from the log, never from the page
    forged = {"factor": SECOND, "presence": "absent", "status": "corrected"}
    body = {"fragment_id": fid, "expected_seq": seq2["seq"], "before": forged, "view": view}
    response = post(client, "/api/undo", body)
    assert state_of(response, fid)["mine"]["factor"] == FIRST
    body = {"fragment_id": fid, "expected_seq": response.json()["seq"], "view": view}
    response = post(client, "/api/undo", body)  # a second undo goes one step further back
    assert state_of(response, fid)["mine"] is None
    body = {"fragment_id": fid, "expected_seq": response.json()["seq"], "view": view}
    assert post(client, "/api/undo", body).status_code == 409  # nothing left to undo
    rows = log(project_path)
    assert [(r[3], r[6], r[7]) for r in rows] == [
        (FIRST, "confirmed", ""),
        (SECOND, "corrected", ""),
        (FIRST, "confirmed", f"undo of #{seq2['seq']}"),
        (None, "suggested", f"undo of #{seq1}"),
    ]


def test_reject_marks_a_fragment_not_to_code_and_undo_reopens_it(
    client: TestClient, project_path: Path
) -> None:
    fid = fragments(project_path)[0].id
    view = {"ids": [fid]}
    assert fid in client.get("/queue?limit=50").text
    response = post(client, "/api/reject", {"fragment_id": fid, "expected_seq": None, "view": view})
    assert response.status_code == 200
    seq = response.json()["seq"]
    mine = state_of(response, fid)["mine"]
    assert (mine["status"], mine["factor"], mine["presence"]) == ("rejected", None, None)
    again = post(client, "/api/reject", {"fragment_id": fid, "expected_seq": seq, "view": view})
    assert again.json()["seq"] is None  # already rejected: nothing appended
    stale = post(client, "/api/reject", {"fragment_id": fid, "expected_seq": None})
    assert stale.status_code == 409
    assert fid not in client.get("/queue?limit=50").text  # decided: off the queue
    with Project.open(project_path, create=False) as project:
        records = project.coded_fragments("anna", include_suggestions=True)
    counted, _ = counted_evidence(records, CODEBOOK, include_suggestions=True)
    assert fid not in {item.fragment_id for item in counted}  # its suggestion no longer counts
    assert any(r.fragment.id == fid and r.suggestion.factor for r in records)
    body = {"fragment_id": fid, "expected_seq": seq, "view": view}
    assert state_of(post(client, "/api/undo", body), fid)["mine"] is None
    assert [(r[3], r[6]) for r in log(project_path)] == [(None, "rejected"), (None, "suggested")]


def test_undo_needs_no_page_history_and_keeps_to_the_coder(project_path: Path) -> None:
    fid = fragments(project_path)[0].id
    body = {"fragment_id": fid, "factor": FIRST, "presence": "present", "expected_seq": None}
    with client_for(project_path, "anna") as anna, client_for(project_path, "bob") as bob:
        anna.get(f"/?token={TOKEN}")
        bob.get(f"/?token={TOKEN}")
        first = post(anna, "/api/decide", body).json()["seq"]
        post(bob, "/api/decide", {**body, "factor": SECOND})  # between anna's two entries
        second = {**body, "presence": "absent", "priority": "high", "expected_seq": first}
        latest = post(anna, "/api/decide", second).json()["seq"]
    # a fresh page (another day, the tab closed) steps anna's coding back, from the log
    with client_for(project_path, "anna") as fresh:
        fresh.get(f"/?token={TOKEN}")
        undo = {"fragment_id": fid, "expected_seq": latest, "view": {"ids": [fid]}}
        mine = state_of(post(fresh, "/api/undo", undo), fid)["mine"]
        assert (mine["factor"], mine["presence"], mine["priority"], mine["status"]) == (
            FIRST,
            "present",
            None,
            "confirmed",
        )
        nothing = {"fragment_id": fragments(project_path)[1].id, "expected_seq": None}
        assert post(fresh, "/api/undo", nothing).status_code == 409  # no entry of anna's
    assert [(r[2], r[3], r[4], r[7]) for r in log(project_path)][-1] == (
        "anna",
        FIRST,
        "present",
        f"undo of #{latest}",
    )


def test_two_coders_keep_their_own_work_and_see_each_other(project_path: Path) -> None:
    assert set_blind_options(project_path, "anna", "off", None) == ["review.blind = off"]
    fid = fragments(project_path)[0].id
    body = {"fragment_id": fid, "factor": FIRST, "presence": "present", "expected_seq": None}
    with client_for(project_path, "anna") as anna, client_for(project_path, "bob") as bob:
        anna.get(f"/?token={TOKEN}")
        bob.get(f"/?token={TOKEN}")
        assert post(anna, "/api/decide", body).status_code == 200
        response = post(bob, "/api/decide", {**body, "factor": SECOND, "view": {"ids": [fid]}})
        assert response.status_code == 200
        seen_by_bob = state_of(response, fid)
        assert seen_by_bob["mine"]["factor"] == SECOND
        assert [(o["coder"], o["factor"]) for o in seen_by_bob["others"]] == [("anna", FIRST)]
        fresh = anna.get(f"/api/state?ids={fid}").json()["fragments"][0]
        assert fresh["mine"]["factor"] == FIRST and fresh["others"][0]["coder"] == "bob"
    assert [(r[2], r[3]) for r in log(project_path)] == [("anna", FIRST), ("bob", SECOND)]


@pytest.mark.parametrize(
    "change",
    [{"factor": "nope"}, {"presence": "maybe"}, {"priority": "low"}, {"presence": None}],
)
def test_invalid_choices_are_refused(client: TestClient, project_path: Path, change: dict) -> None:
    fid = fragments(project_path)[0].id
    body = {"fragment_id": fid, "factor": FIRST, "presence": "present", "expected_seq": None}
    response = post(client, "/api/decide", {**body, **change})
    assert response.status_code == 400
    assert log(project_path) == []


def test_memos_per_report_and_fragment(client: TestClient, project_path: Path) -> None:
    fragment = fragments(project_path)[0]
    view = {"report": fragment.report}
    body = {"kind": "report", "target_id": fragment.report, "text": HOSTILE, "view": view}
    response = post(client, "/api/memo", body)
    assert response.json()["state"]["report_memos"][0]["text"] == HOSTILE
    body = {"kind": "fragment", "target_id": fragment.id, "text": "let op", "view": view}
    response = post(client, "/api/memo", body)
    assert state_of(response, fragment.id)["memos"][0]["coder"] == "anna"
    assert post(client, "/api/memo", {**body, "text": "  "}).status_code == 400


# --- queue and matrix --------------------------------------------------------------------------


def test_queue_orders_least_certain_first_and_drops_decided(
    client: TestClient, project_path: Path
) -> None:
    page = client.get("/queue?limit=3").text
    ids = re.findall(r'class="frag" data-id="([^"]+)"', page)
    every = fragments(project_path) + fragments(project_path, "b.txt")
    by_confidence = [f.id for _, f in sorted(zip(CONFIDENCES, every, strict=True))]
    assert ids == by_confidence[:3]
    assert 'class="context"' in page
    body = {"fragment_id": ids[0], "factor": FIRST, "presence": "present", "expected_seq": None}
    post(client, "/api/decide", body)
    assert ids[0] not in client.get("/queue?strategy=margin&limit=50").text
    assert client.get("/queue?strategy=random&seed=3").status_code == 200
    assert client.get("/queue?strategy=bogus").status_code == 400


def test_matrix_is_live_and_confirms_verdicts(client: TestClient, project_path: Path) -> None:
    fid = fragments(project_path)[0].id
    body = {"fragment_id": fid, "factor": FIRST, "presence": "present", "expected_seq": None}
    post(client, "/api/decide", body)
    page = client.get(f"/matrix?by=all&code={FIRST}&column=all").text
    assert f'data-code="{FIRST}" data-column="all" data-verdict="present"' in page
    assert "Eerste zin over afspraken." in page
    form = {"code": FIRST, "column": "all", "verdict": "partly", "note": "<i>x</i>", "by": "all"}
    response = client.post(
        "/matrix/verdict", data={**form, "csrf": csrf(client)}, follow_redirects=False
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert 'data-verdict="partly"' in page and "&lt;i&gt;x&lt;/i&gt;" in page
    with Project.open(project_path, create=False) as project:
        assert [(v["code"], v["verdict"], v["coder"]) for v in project.verdicts()] == [
            (FIRST, "partly", "anna")
        ]


def test_matrix_previews_open_suggestions_on_request(
    client: TestClient, project_path: Path
) -> None:
    cell = f'data-code="{FIRST}" data-column="all" data-verdict='
    assert f'{cell}"not discussed"' in client.get("/matrix?by=all").text
    fid = fragments(project_path)[0].id
    body = {"fragment_id": fid, "factor": SECOND, "presence": "absent", "expected_seq": None}
    post(client, "/api/decide", body)  # a person's decision wins over its suggestion
    page = client.get(f"/matrix?by=all&sugg=1&code={FIRST}&column=all").text
    assert f'{cell}"present"' in page  # all six suggestions say FIRST, present; one decided
    assert "5+ 0−" in page and "5 unconfirmed" in page
    assert page.count('class="tag unconfirmed">suggested') == 5
    assert "Eerste zin over afspraken." not in page  # decided as another code
    form = {"code": FIRST, "column": "all", "verdict": "present", "by": "all", "sugg": "1"}
    response = client.post(
        "/matrix/verdict", data={**form, "csrf": csrf(client)}, follow_redirects=False
    )
    assert "sugg=1" in response.headers["location"]  # the preview stays on


def test_server_keeps_logs_quiet(project_path: Path) -> None:
    from autocoder.review.server import make_server

    server, sock, url = make_server(project_path, "anna")
    try:
        assert server.config.access_log is False
        assert server.config.log_level == "warning"
        assert url.startswith(f"http://127.0.0.1:{sock.getsockname()[1]}/?token=")
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


def test_cli_registers_review() -> None:
    from typer.testing import CliRunner

    from autocoder.cli import app

    result = CliRunner().invoke(app, ["review", "--help"])
    assert result.exit_code == 0 and "--coder" in result.output


def test_oversized_post_is_refused(client: TestClient) -> None:
    body = {"kind": "report", "target_id": "x", "text": "x" * 300_000}
    assert post(client, "/api/memo", body).status_code == 413


def test_unexpected_errors_are_logged_without_their_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from autocoder.review.security import Guard, GuardMiddleware

    async def failing(scope, receive, send) -> None:
        raise ValueError("Vertrouwelijke zin uit een rapport")

    guard = Guard(token=TOKEN, hosts=frozenset({"127.0.0.1"}), any_port=True)
    raw = TestClient(GuardMiddleware(failing, guard), base_url=BASE)  # no lifespan
    raw.get(f"/?token={TOKEN}")  # the cookie
    response = raw.get("/")
    assert response.status_code == 500
    assert "ValueError" in caplog.text and "Vertrouwelijke" not in caplog.text
    assert "Vertrouwelijke" not in response.text


def test_browser_is_opened_through_a_private_redirect_file() -> None:
    from autocoder.review.server import redirect_file

    url = f"http://127.0.0.1:1234/?token={TOKEN}&x=<y>"
    path = redirect_file(url)
    try:
        assert path.stat().st_mode & 0o777 == 0o600
        text = path.read_text(encoding="utf-8")
        assert "&amp;x=&lt;y&gt;" in text and "<y>" not in text
    finally:
        path.unlink()


def test_favicon_is_quietly_empty(client: TestClient) -> None:
    assert client.get("/favicon.ico").status_code == 204
