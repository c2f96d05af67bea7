"""A study's own work is never lost or mixed: codings follow a report into its new version,
`code` keeps the project's active model, and each report file is its own report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocoder import project as project_module
from autocoder.cli import app
from autocoder.records import Decision, Status
from autocoder.store import Project
from tests.conftest import make_docx
from tests.integration.test_code_project import EXAMPLES, train_tiny, write_report

JOBS = pytest.mark.parametrize("jobs", [1, 2])
WEATHER = "Het weer was die dag erg mooi."
EDITED = "Het weer was die dag heel mooi."
TEXTS = [text for _, _, text in EXAMPLES]
PARAGRAPHS = [" ".join(TEXTS[0:3]), " ".join([TEXTS[3], WEATHER, TEXTS[6]]), " ".join(TEXTS[9:12])]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(autouse=True)
def no_default_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(project_module, "DEFAULT_MODEL", tmp_path / "no-default-model")


def run(*args: object) -> object:
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result


def study(tmp_path: Path, paragraphs: list[str]) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir(exist_ok=True)
    make_docx(folder / "gesprek.docx", [("h1", "Gesprek met de wijkagent"), *paragraphs])
    (folder / "metadata.csv").write_text(
        "file,respondent,group\ngesprek.docx,R1,uitvoerend\n", encoding="utf-8"
    )
    for number in (2, 3):
        write_report(folder / f"verslag-{number}.md", number)
    return folder


def docx_report(project: Project) -> dict:
    return next(r for r in project.status()["per_report"] if r["source"].endswith(".docx"))


def matrix_cells(db: Path) -> list[tuple]:
    data = json.loads(run("matrix", "--project", db, "--format", "json").stdout)
    keys = ("code", "column", "verdict", "n_present", "n_absent", "n_respondents")
    return sorted(tuple(cell[k] for k in keys) for cell in data["cells"])


@JOBS
def test_an_edited_docx_keeps_its_codings(tmp_path: Path, model_dir: Path, jobs: int) -> None:
    folder = study(tmp_path, PARAGRAPHS)
    db = tmp_path / "study.db"
    code = ("code", folder, "--project", db, "--model", model_dir, "--jobs", jobs)
    run(*code)
    with Project.open(db) as project:
        report_id = docx_report(project)["id"]
        records = project.coded_fragments(include_suggestions=True, report_ids=[report_id])
        for record in records:
            s = record.suggestion
            weather = record.fragment.text.strip() == WEATHER
            factor, presence = (None, None) if weather else (s.factor, s.presence)
            status = Status.CORRECTED if weather else Status.CONFIRMED
            project.record_decision(
                Decision(record.fragment.id, "anna", factor, presence, None, status, "")
            )
        before = docx_report(project)["coders"]["anna"]
    matrix_before = matrix_cells(db)
    assert before["open"] == 0 and before["confirmed"] == len(records) - 1

    study(tmp_path, [p.replace(WEATHER, EDITED) for p in PARAGRAPHS])
    output = " ".join(run(*code).stdout.split())  # as one line, however the console wraps
    assert "new versions" in output and "1" in output
    carried = len(records) - 1
    assert f"{carried} carried (text unchanged), 1 reopened" in output
    assert "0 dropped" in output

    with Project.open(db) as project:
        row = docx_report(project)
        assert row["version"] == 2 and row["id"] != report_id and row["reopened"] == 1
        after = row["coders"]["anna"]
        assert (after["confirmed"], after["corrected"], after["open"]) == (carried, 0, 1)
        new = project.coded_fragments("anna", report_ids=[row["id"]])
        assert [r.fragment.text for r in new if r.extra["status"] == "open"] == [EDITED]
        reopened = next(r for r in new if r.extra["status"] == "open")
        was = project.earlier_codings(reopened.fragment.id)
        assert [(w["coder"], w["factor"], w["status"]) for w in was] == [
            ("anna", None, "corrected")
        ]
        old_ids = {r.fragment.text: r.fragment.id for r in records}
        for record in new:
            if record.extra["status"] == "open":
                continue
            history = project.decision_history(record.fragment.id, "anna")
            assert history[-1][1].note.startswith("carried from version 1")
            old = project.decision_history(old_ids[record.fragment.text], "anna")[-1][1]
            assert (record.coding.factor, record.coding.presence) == (old.factor, old.presence)
            assert project.earlier_codings(record.fragment.id) == []
        info = project.status()
        assert info["reopened"] == 1 and info["reports"] == 3
    assert matrix_cells(db) == matrix_before
    again = run(*code).stdout  # nothing changed: nothing is carried twice
    assert "carried" not in again


def test_status_prints_reopened_fragments(tmp_path: Path, model_dir: Path) -> None:
    folder = study(tmp_path, PARAGRAPHS)
    db = tmp_path / "study.db"
    run("code", folder, "--project", db, "--model", model_dir)
    with Project.open(db) as project:
        report_id = docx_report(project)["id"]
        for record in project.coded_fragments(report_ids=[report_id]):
            project.record_decision(
                Decision(record.fragment.id, "anna", None, None, None, Status.CORRECTED, "")
            )
    study(tmp_path, [p.replace(WEATHER, EDITED) for p in PARAGRAPHS])
    run("code", folder, "--project", db, "--model", model_dir)
    shown = " ".join(run("status", "--project", db).stdout.split())
    assert "reopened fragments: 1" in shown and "1 reopened" in shown


# --- one report per file ----------------------------------------------------------------------

BODY = "# Verslag\n\n" + " ".join(TEXTS[0:6]) + "\n"


@JOBS
def test_the_same_text_in_two_files_is_two_reports(
    tmp_path: Path, model_dir: Path, jobs: int
) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    for respondent in ("R1", "R2"):
        front = f"---\nrespondent: {respondent}\ngroup: uitvoerend\n---\n"
        (folder / f"{respondent}.md").write_text(front + BODY, encoding="utf-8")
    for name in ("zonder-a", "zonder-b", "zonder-c"):  # no metadata at all
        (folder / f"{name}.txt").write_text(name + ". " + BODY, encoding="utf-8")
    db = tmp_path / "study.db"
    summary = project_module.code_reports([folder], db, model_dir, jobs=jobs)
    assert any("zonder-a.txt" in w and "'zonder-a'" in w for w in summary.warnings)
    with Project.open(db) as project:
        info = project.status()
        assert (
            (info["reports"], info["fragments"])
            == (summary.reports, summary.fragments)
            == (
                5,
                summary.fragments,
            )
        )
        assert {r["respondent"] for r in info["per_report"]} == {
            "R1",
            "R2",
            "zonder-a",
            "zonder-b",
            "zonder-c",
        }
        twins = {Path(r["source"]).name: r["same_text_as"] for r in info["per_report"]}
        assert [Path(s).name for s in twins["R1.md"]] == ["R2.md"] and twins["zonder-a.txt"] == []
        assert info["duplicates"] == 2
    by = ("--by", "respondent", "--include-suggestions", "--format", "json")
    data = json.loads(run("matrix", "--project", db, *by).stdout)
    assert {"R1", "R2", "zonder-a"} <= set(data["columns"])
    shown = run("status", "--project", db).stdout
    assert "2 reports have the same text as another file" in shown and "same text as R2.md" in shown


def v1_project(path: Path) -> tuple[str, list[str]]:
    """A schema-v1 project (report ids were content ids): a.txt and b.txt share one report,
    coded by anna, with b.txt's metadata stored last."""
    import hashlib
    import sqlite3

    from autocoder.store_schema import MIGRATIONS, _statements

    text = "Een zin. Nog een zin."
    sha = hashlib.sha256(text.encode()).hexdigest()
    rid = "r" + sha[:12]
    fragments = [f"{rid}:0-8", f"{rid}:8-21"]
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in _statements(MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    at = "2026-01-01T00:00:00.000+00:00"
    conn.execute("INSERT INTO reports VALUES (?, ?, ?, 'txt', ?)", (rid, sha, text, at))
    for source, respondent in (("/s/a.txt", "Anna R"), ("/s/b.txt", "Bert R")):
        conn.execute(
            "INSERT INTO report_versions VALUES (?, 1, ?, ?, 'unknown', 'unknown', "
            "'uitvoerend', 'unknown', ?)",
            (source, rid, respondent, at),
        )
    for fid, (start, end) in zip(fragments, ((0, 8), (8, 21)), strict=True):
        conn.execute(
            "INSERT INTO fragments VALUES (?, ?, ?, ?, NULL, NULL, 'sentence')",
            (fid, rid, start, end),
        )
    conn.execute(
        "INSERT INTO decisions (fragment_id, coder, factor, presence, priority, status, "
        "timestamp, note) VALUES (?, 'anna', NULL, NULL, NULL, 'corrected', ?, '')",
        (fragments[0], at),
    )
    conn.close()
    return rid, fragments


def test_a_v1_project_splits_shared_reports_and_keeps_decisions(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    rid, fragments = v1_project(db)
    with Project.open(db) as project:
        info = project.status()
        by_source = {r["source"]: r for r in info["per_report"]}
        assert info["reports"] == 2 and info["fragments"] == 4
        assert by_source["/s/a.txt"]["id"] == rid and by_source["/s/a.txt"]["version"] == 1
        assert by_source["/s/a.txt"]["respondent"] == "Anna R"
        b = by_source["/s/b.txt"]
        assert b["id"] != rid and b["version"] == 2 and b["respondent"] == "Bert R"
        assert b["coders"]["anna"]["corrected"] == 1 and b["coders"]["anna"]["open"] == 1
        assert by_source["/s/a.txt"]["coders"]["anna"]["corrected"] == 1
        assert project.decision_history(fragments[0], "anna")[0][1].status is Status.CORRECTED
        copy = project.decision_history(b["id"] + ":0-8", "anna")
        assert copy[0][1].note.startswith(f"carried from {fragments[0]}")
        assert {r.fragment.respondent for r in project.coded_fragments()} == {"Anna R", "Bert R"}
    assert (tmp_path / "old.db.bak").is_file()
    with Project.open(db) as project:  # opening again changes nothing
        assert project.status()["versions"] == 3


# --- the project's active model -------------------------------------------------------------


def suggestion_models(db: Path, name: str) -> set[str]:
    with Project.open(db) as project:
        rows = project.conn.execute(
            "SELECT DISTINCT s.model_id FROM suggestions s JOIN fragments f ON f.id = "
            "s.fragment_id JOIN latest_versions v ON v.report_id = f.report_id "
            "WHERE v.source LIKE ?",
            (f"%{name}",),
        )
        return {row[0] for row in rows}


def active(db: Path) -> str | None:
    with Project.open(db) as project:
        return project.active_model_id()


def test_code_and_rescore_keep_the_active_model(tmp_path: Path, model_dir: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    for number in (1, 2):
        write_report(folder / f"verslag-{number}.md", number)
    db = tmp_path / "study.db"
    run("code", folder, "--project", db, "--model", model_dir)
    first = active(db)
    mine = train_tiny(tmp_path / "mine", seed=5, skip=1)
    run("code", folder, "--project", db, "--model", mine, "--activate")  # files unchanged
    second = active(db)
    assert second not in (None, first)
    with Project.open(db) as project:
        assert project.model_dir(second) == str(mine.resolve())

    run("code", folder, "--project", db)  # no --model, nothing new: the active model stays
    assert active(db) == second
    write_report(folder / "verslag-3.md", 3)
    run("code", folder, "--project", db)  # a new file: scored by the active model
    assert active(db) == second and suggestion_models(db, "verslag-3.md") == {second}

    write_report(folder / "verslag-4.md", 4)
    once = run("code", folder, "--project", db, "--model", model_dir)  # this run only
    assert active(db) == second and suggestion_models(db, "verslag-4.md") == {first}
    assert "active model stays" in once.stderr
    rescored = run("code", "--project", db, "--rescore")  # with the active model
    assert second in rescored.stdout and active(db) == second
    assert suggestion_models(db, "verslag-4.md") == {first, second}

    switched = run("models", "activate", first, "--project", db)
    assert f"active model: {first} (was {second})" in switched.stdout and active(db) == first
    assert first in run("models", "--project", db).stdout
    refused = CliRunner().invoke(app, ["models", "activate", "nope", "--project", str(db)])
    assert refused.exit_code == 1 and "no model 'nope'" in refused.stderr


def test_an_active_model_that_cannot_be_found_is_named(tmp_path: Path, model_dir: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    write_report(folder / "verslag-1.md", 1)
    db = tmp_path / "study.db"
    moved = train_tiny(tmp_path / "moved")
    run("code", folder, "--project", db, "--model", moved)
    (moved / "meta.json").rename(tmp_path / "meta.json")
    write_report(folder / "verslag-2.md", 2)
    result = CliRunner().invoke(app, ["code", str(folder), "--project", str(db)])
    assert result.exit_code == 1
    assert active(db) in result.stderr and "give --model DIR" in result.stderr
