"""The matrix per coder and for the team (consensus, disagreements listed), on a real SQLite
project coded by two people; the terminal table at 80 columns; priority labels; quotes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autocoder.cli import app
from autocoder.codebook import load_codebook
from autocoder.pipeline import codebook_source
from autocoder.records import Decision, Presence, Status, Suggestion
from autocoder.store import Project
from tests.conftest import sentence_report

BOOK = load_codebook()
A, B, C = BOOK.ids[:3]
PRESENT, ABSENT = Presence.PRESENT, Presence.ABSENT
runner = CliRunner()


def run(*args: Any):
    return runner.invoke(app, ["matrix", *[str(a) for a in args]])


def cell(data: dict, code: str, column: str = "all") -> dict:
    return next(c for c in data["cells"] if c["code"] == code and c["column"] == column)


@pytest.fixture
def study(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """R1: f1 both A present (anna: priority high), f2 anna B present / bob B absent;
    R2: f3 only anna C present, f4 bob rejected its suggestion; R3: f5 open, suggested B."""
    path = tmp_path / "study.db"
    ids: dict[str, str] = {}
    texts = {
        "R1": ("uitvoerend", "Wij hebben elkaar echt nodig. Het mandaat is er wel degelijk."),
        "R2": ("management", "De afspraken zijn heel concreet gemaakt. Het loopt vanzelf goed."),
        "R3": ("overig", "Er is genoeg geld voor het project."),
    }
    with Project.open(path) as project:
        project.ensure_codebook(codebook_source(None), BOOK)
        model = project.add_model({"model_id": "m", "codebook_hash": BOOK.hash})
        for respondent, (group, text) in texts.items():
            report, fragments = sentence_report(text, f"{respondent}.txt", respondent, group)
            project.add_report(report, fragments, "sentence")
            for fragment in fragments:
                ids[f"f{len(ids) + 1}"] = fragment.id
        project.add_suggestions(
            model,
            [
                (ids["f4"], Suggestion(A, PRESENT, 0.9, {A: 0.9}, 0.9, (), "m")),
                (ids["f5"], Suggestion(B, PRESENT, 0.8, {B: 0.8}, 0.8, (), "m")),
            ],
        )

        def decide(key: str, coder: str, factor: Any, presence: Any, **more: Any) -> None:
            status = more.pop("status", Status.CONFIRMED)
            project.record_decision(
                Decision(ids[key], coder, factor, presence, more.get("priority"), status, "")
            )

        decide("f1", "anna", A, PRESENT, priority="high")
        decide("f1", "bob", A, PRESENT)
        decide("f2", "anna", B, PRESENT)
        decide("f2", "bob", B, ABSENT, status=Status.CORRECTED)
        decide("f3", "anna", C, PRESENT)
        decide("f4", "bob", None, None, status=Status.REJECTED)
    return path, ids


def test_each_coder_has_their_own_matrix(study) -> None:
    db, _ = study
    anna = json.loads(run("--project", db, "--coder", "anna", "--format", "json").stdout)
    bob = json.loads(run("--project", db, "--coder", "bob", "--format", "json").stdout)
    assert anna["codings"] == "coder anna" and bob["codings"] == "coder bob"
    assert (cell(anna, B)["n_present"], cell(anna, B)["n_absent"]) == (1, 0)
    assert (cell(bob, B)["n_present"], cell(bob, B)["n_absent"]) == (0, 1)
    assert cell(anna, C)["n_present"] == 1
    assert cell(bob, C)["n_present"] == 0
    assert anna["priority"][A]["n_respondents"] == 1 and bob["priority"][A]["n_respondents"] == 0
    assert anna["disagreements"] == [] and bob["disagreements"] == []


def test_the_team_matrix_counts_consensus_and_lists_disagreements(study) -> None:
    db, ids = study
    default = json.loads(run("--project", db, "--format", "json").stdout)
    team = json.loads(run("--project", db, "--team", "--format", "json").stdout)
    assert default == team and team["codings"] == "team"
    assert cell(team, A)["n_present"] == 1  # f1: both agree
    assert cell(team, B)["n_present"] + cell(team, B)["n_absent"] == 0  # f2: they differ
    assert cell(team, C)["n_present"] == 1  # f3: anna alone coded it
    assert team["priority"][A]["n_respondents"] == 0  # only anna marked f1 high
    assert team["disagreements"] == [
        {
            "fragment": ids["f2"],
            "respondent": "R1",
            "codings": [
                {"coder": "anna", "factor": B, "presence": "present"},
                {"coder": "bob", "factor": B, "presence": "absent"},
            ],
        }
    ]
    with_suggestions = json.loads(
        run("--project", db, "--include-suggestions", "--format", "json").stdout
    )
    assert cell(with_suggestions, B)["n_unconfirmed"] == 1  # f5's; not f2's (people decided)
    assert cell(with_suggestions, A)["n_unconfirmed"] == 0  # f4's suggestion was rejected


def test_the_team_table_and_report_show_the_disagreements(study, tmp_path) -> None:
    db, ids = study
    table = run("--project", db)
    assert table.exit_code == 0, table.output
    assert "codings: the team's consensus" in table.stdout
    assert "1 fragments where coders disagree (not counted):" in table.stdout
    flat = " ".join(table.stdout.split())  # lines wrap at 80 columns
    assert f"{ids['f2']} (R1): anna: {B} present; bob: {B} absent" in flat
    out = tmp_path / "team.html"
    assert run("--project", db, "--format", "html", "--out", out).exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert "Coder disagreements (1)" in html and ids["f2"] in html
    assert "codings: the team&#x27;s consensus" in html or "codings: the team's consensus" in html


def test_coder_and_team_together_are_refused(study) -> None:
    db, _ = study
    both = run("--project", db, "--coder", "anna", "--team")
    assert both.exit_code == 2 and "--coder NAME or --team" in both.output


def test_the_library_gives_the_codings_of_a_project(study) -> None:
    from autocoder.matrix_io import project_codings
    from autocoder.matrix_team import codings_matrix

    db, ids = study
    with Project.open(db, create=False) as project:
        team = project_codings(project)
        anna = project_codings(project, "anna")
    assert team.coders == ("anna", "bob") and [d.fragment_id for d in team.disagreements] == [
        ids["f2"]
    ]
    matrix = codings_matrix(anna, BOOK, by="respondent")
    assert matrix.codings == "coder anna" and matrix.cell(B, "R1").n_present == 1


# --- a coded file, the terminal table, labels and quotes -----------------------------------


def row(fid: str, respondent: str, text: str, factor: str, presence: str, **more: Any) -> dict:
    return {"id": fid, "report": f"r{respondent}", "respondent": respondent,
            "group": "uitvoerend", "start": 0, "end": len(text), "text": text,
            "factor": factor, "presence": presence, "coder": "anna", **more}  # fmt: skip


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_two_coders_in_a_file_give_the_consensus(tmp_path) -> None:
    rows = [
        row("f1", "R1", "Wij hebben elkaar nodig.", A, "present"),
        row("f1", "R1", "Wij hebben elkaar nodig.", A, "absent", coder="bob"),
        row("f2", "R1", "Het mandaat ontbreekt.", B, "absent"),
        row("f2", "R1", "Het mandaat ontbreekt.", B, "absent", coder="bob"),
    ]
    path = write_jsonl(tmp_path / "two.jsonl", rows)
    team = json.loads(run("--fragments", path, "--format", "json").stdout)
    assert cell(team, A)["n_present"] + cell(team, A)["n_absent"] == 0
    assert cell(team, B)["n_absent"] == 1
    assert [d["fragment"] for d in team["disagreements"]] == ["f1"]
    bob = json.loads(run("--fragments", path, "--coder", "bob", "--format", "json").stdout)
    assert cell(bob, A)["verdict"] == "absent"


def test_the_table_fits_80_columns_with_many_respondents(tmp_path) -> None:
    names = [f"Respondent{i:02d}" for i in range(1, 13)]
    rows = [
        row(f"f{i}", name, "Wij hebben elkaar nodig.", A, "present") for i, name in enumerate(names)
    ]
    path = write_jsonl(tmp_path / "many.jsonl", rows)
    result = run("--fragments", path, "--by", "respondent")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert all(name in result.stdout for name in names)  # every header whole, none cut
    assert "…" not in result.stdout
    assert result.stdout.count("priority") == 1  # with the last of the folded tables


def test_a_code_nobody_named_is_supporting_without_a_rank(tmp_path) -> None:
    path = write_jsonl(
        tmp_path / "one.jsonl",
        [row("f1", "R1", "Wij zijn het eens.", A, "present", priority="high")],
    )
    table = run("--fragments", path).stdout
    assert "#1 (1)" in table and "core" in table  # the label folds: "core", then "#1 (1)"
    assert "#2" not in table and "(0)" not in table and "supporting" in table
    out = tmp_path / "m.html"
    assert run("--fragments", path, "--format", "html", "--out", out).exit_code == 0
    assert "rank 2" not in out.read_text(encoding="utf-8")  # the other codes tie at rank 2


def test_one_word_answers_are_quoted_only_when_nothing_longer_is_left(tmp_path) -> None:
    long_text = "Wij hebben elkaar nodig om dit project te laten slagen."
    rows = [
        row("f1", "R1", "Nee.", A, "absent"),  # the strongest by order: first in the reports
        row("f2", "R2", long_text, A, "present"),
        row("f3", "R3", "Ja.", B, "present"),  # B has nothing longer
    ]
    path = write_jsonl(tmp_path / "short.jsonl", rows)
    rules = tmp_path / "rules.toml"
    rules.write_text("quotes_per_cell = 1\n", encoding="utf-8")
    out = tmp_path / "q.html"
    result = run("--fragments", path, "--rules", rules, "--format", "html", "--out", out)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    evidence = html[html.index("<h2>Evidence</h2>") :]
    assert long_text in evidence and "Nee." not in evidence
    assert "Ja." in evidence
