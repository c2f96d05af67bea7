"""Double coding in the review app (per-coder queue, blind mode, adjudication) and the
pages' light Markdown and question wording, through Starlette's TestClient."""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("jinja2")
pytest.importorskip("httpx")

import test_review_app  # pytest puts this folder on sys.path
from test_review_app import (
    CODEBOOK,
    CODEBOOK_TEXT,
    CONFIDENCES,
    FIRST,
    SECOND,
    TOKEN,
    TestClient,
    client_for,
    csrf,
    fragments,
    log,
    post,
    suggestion,
)

from autocoder.errors import StoreError
from autocoder.records import Fragment, Report, ReportMeta
from autocoder.review import create_app
from autocoder.review.blind import set_blind_options
from autocoder.store import Project

project_path = test_review_app.project_path  # the same project fixture

# --- double coding -----------------------------------------------------------------------------


def decide(client: TestClient, fid: str, factor: str | None, **extra: object) -> object:
    body = {"fragment_id": fid, "factor": factor, "presence": "present" if factor else None}
    return post(client, "/api/decide", {**body, "expected_seq": None, **extra})


def test_blind_by_default_once_a_second_coder_decides(project_path: Path) -> None:
    fid = fragments(project_path)[1].id
    with client_for(project_path, "anna") as anna, client_for(project_path, "bob") as bob:
        anna.get(f"/?token={TOKEN}")
        bob.get(f"/?token={TOKEN}")
        alone = anna.get(f"/api/state?ids={fid}").json()
        assert alone["blind"] is False  # a lone coder: nothing to hide
        assert decide(anna, fid, FIRST).status_code == 200
        seen = bob.get(f"/api/state?ids={fid}").json()
        assert seen["blind"] is True and seen["fragments"][0]["others"] == []
        assert seen["fragments"][0]["suggestion"] is not None  # shown unless asked otherwise
        page = bob.get(f"/reports/{report_of(fid)}").text
        assert "Blind coding" in page and '"others": [{' not in page
        assert decide(bob, fid, SECOND).status_code == 200
        assert anna.get(f"/api/state?ids={fid}").json()["fragments"][0]["others"] == []
        set_blind_options(project_path, "bob", None, "on")
        hidden = bob.get(f"/api/state?ids={fid}").json()
        assert hidden["blind_suggestions"] is True and hidden["fragments"][0]["suggestion"] is None
        set_blind_options(project_path, "bob", "off", None)
        shown = bob.get(f"/api/state?ids={fid}").json()["fragments"][0]
        assert [o["coder"] for o in shown["others"]] == ["anna"] and shown["suggestion"]
        set_blind_options(project_path, "bob", "on", None)
        assert 'name="mine" value="1" checked' in anna.get("/matrix?by=all").text
    with pytest.raises(StoreError, match="must be one of"):
        set_blind_options(project_path, "bob", "maybe", None)


def report_of(fragment_id: str) -> str:
    return fragment_id.split(":", 1)[0]


def test_queue_is_per_coder_even_after_a_new_model(project_path: Path) -> None:
    every = fragments(project_path) + fragments(project_path, "b.txt")
    least = every[CONFIDENCES.index(min(CONFIDENCES))].id
    with client_for(project_path, "anna") as anna:
        anna.get(f"/?token={TOKEN}")
        decide(anna, least, FIRST)
        assert least not in anna.get("/queue?limit=50").text
    # a retrained model scores only the fragments nobody decided (as rescoring does)
    with Project.open(project_path, create=False) as project:
        model = project.add_model({"model_id": "m2", "codebook_hash": CODEBOOK.hash})
        rescored = [(f.id, suggestion(SECOND, 0.7)) for f in every if f.id != least]
        project.add_suggestions(model, rescored)
    with client_for(project_path, "bob") as bob:
        bob.get(f"/?token={TOKEN}")
        ids = re.findall(r'class="frag" data-id="([^"]+)"', bob.get("/queue?limit=50").text)
    assert sorted(ids) == sorted(f.id for f in every)  # anna's fragment included
    assert ids[0] == least  # its older suggestion (0.3) is the least certain


def test_adjudication_records_a_final_code_by_name(project_path: Path) -> None:
    one, two = (f.id for f in fragments(project_path)[:2])
    with client_for(project_path, "anna") as anna, client_for(project_path, "bob") as bob:
        anna.get(f"/?token={TOKEN}")
        bob.get(f"/?token={TOKEN}")
        decide(anna, one, FIRST)
        decide(bob, one, SECOND)
        decide(bob, two, SECOND)
        decide(anna, two, SECOND)  # agreed: not listed
        assert one in bob.get("/adjudicate").text
    with client_for(project_path, "carol") as carol:
        carol.get(f"/?token={TOKEN}")
        page = carol.get("/adjudicate").text
        assert f'data-id="{one}"' in page and f'data-id="{two}"' not in page
        assert 'data-coder="anna"' in page and 'data-coder="bob"' in page
        form = {"csrf": csrf(carol), "fragment_id": one, "expected_seq": "", "take": "anna"}
        response = carol.post("/adjudicate", data=form, follow_redirects=False)
        assert response.status_code == 303
        stale = carol.post("/adjudicate", data=form, follow_redirects=False)
        assert stale.status_code == 409  # the page knew no adjudication yet
        assert "Adjudicated by <strong>carol</strong>" in carol.get("/adjudicate").text
    last = log(project_path)[-1]
    assert last[2:4] == ("adjudicated", FIRST) and last[7] == "adjudicated by carol"
    with Project.open(project_path, create=False) as project:
        coded = {r.fragment.id: r.coding for r in project.coded_fragments("adjudicated")}
    assert coded[one] is not None and coded[one].factor == FIRST and coded[two] is None
    with pytest.raises(StoreError, match="adjudicated"):
        create_app(project_path, "adjudicated", TOKEN)


# --- light Markdown and questions --------------------------------------------------------------

MARKDOWN = (
    "# Verslag <i>T9</i>\n\n"
    "**Interviewer:** Vraag 5. Hoe werkt u samen?\n\n"
    "**Respondent:** Eerste antwoord. Tweede antwoord.\n\n"
    "**Interviewer:** Vraag 6. Wat kan beter?\n\n"
    "**Respondent:** Derde antwoord.\n"
)


@pytest.fixture
def markdown_project(tmp_path: Path) -> tuple[Path, list[Fragment]]:
    path = tmp_path / "md.db"
    digest = hashlib.sha256(MARKDOWN.encode()).hexdigest()
    rid = "r" + digest[:12]
    meta = ReportMeta(respondent="T9", group="uitvoerend")  # type: ignore[arg-type]
    report = Report(rid, "t9.md", MARKDOWN, meta, "md", digest)
    answers = (
        ("Eerste antwoord.", 5, 0.5),
        ("Tweede antwoord.", 5, 0.4),
        ("Derde antwoord.", 6, 0.3),
    )
    found = []
    for sentence, question, _ in answers:
        start = MARKDOWN.index(sentence)
        end = start + len(sentence)
        found.append(
            Fragment(
                f"{rid}:{start}-{end}", rid, start, end, sentence, "T9", "uitvoerend", question
            )
        )
    with Project.open(path) as project:
        project.ensure_codebook(CODEBOOK_TEXT, CODEBOOK)
        model = project.add_model({"model_id": "m", "codebook_hash": CODEBOOK.hash})
        project.add_report(report, found, "sentence")
        project.add_suggestions(
            model, [(f.id, suggestion(FIRST, c)) for f, (*_, c) in zip(found, answers, strict=True)]
        )
    return path, found


def test_report_page_renders_light_markdown_and_keeps_the_text(markdown_project: tuple) -> None:
    path, found = markdown_project
    with client_for(path) as client:
        client.get(f"/?token={TOKEN}")
        page = client.get(f"/reports/{found[0].report}").text
    assert '<span class="md-b">Interviewer:</span>' in page
    assert '<span class="mk">**</span>' in page and '<span class="mk"># </span>' in page
    assert '<span class="md-h md-h1">Verslag &lt;i&gt;T9&lt;/i&gt;</span>' in page  # escaped
    body = re.search(r'<div class="report-text" id="text">(.*?)</div>', page, re.S).group(1)
    assert html.unescape(re.sub(r"<[^>]+>", "", body)) == MARKDOWN  # every character, in place
    for fragment in found:
        span = re.search(
            rf'<span class="frag" data-id="{re.escape(fragment.id)}">(.*?)</span>', body
        )
        assert span and html.unescape(span.group(1)) == fragment.text


def test_queue_shows_the_question_and_keeps_context_within_it(markdown_project: tuple) -> None:
    path, found = markdown_project
    with client_for(path) as client:
        client.get(f"/?token={TOKEN}")
        page = client.get("/queue").text
    items = re.findall(r'<li class="q-item">(.*?)</li>', page, re.S)
    by_id = {re.search(r'class="frag" data-id="([^"]+)"', item).group(1): item for item in items}
    third, second, first = (by_id[f.id] for f in reversed(found))
    assert 'question 6: <span class="q-wording">Wat kan beter?</span>' in third
    assert 'class="context"' not in third  # "Tweede antwoord." answers question 5
    assert "Eerste antwoord." in second and "Derde antwoord." not in second
    assert 'question 5: <span class="q-wording">Hoe werkt u samen?</span>' in first
    state = client_state(path, found[2].id)
    assert state["question_text"] == "Wat kan beter?"


def client_state(path: Path, fragment_id: str) -> dict:
    with client_for(path) as client:
        client.get(f"/?token={TOKEN}")
        return client.get(f"/api/state?ids={fragment_id}").json()["fragments"][0]


def test_cli_blind_option_is_checked_and_logged(project_path: Path) -> None:
    from typer.testing import CliRunner

    from autocoder.cli import app

    args = ["review", "--project", str(project_path), "--coder", "anna", "--no-browser"]
    result = CliRunner().invoke(app, [*args, "--blind", "maybe"])
    assert result.exit_code == 1 and "review.blind must be one of auto, on, off" in result.output
    with Project.open(project_path, create=False) as project:
        rows = project.conn.execute("SELECT key, value, coder FROM options").fetchall()
    assert rows == []  # nothing logged, no server started
    assert set_blind_options(project_path, "anna", "on", "on") == [
        "review.blind = on",
        "review.blind_suggestions = on",
    ]
    assert set_blind_options(project_path, "anna", "on", None) == []  # unchanged: no entry
