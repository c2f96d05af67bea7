"""`autocoder matrix` end to end on real files: JSONL in; json, csv, xlsx, html and table out."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from autocoder.cli import app
from autocoder.codebook import load_codebook
from tests.conftest import sentence_report

BOOK = load_codebook()
A, B, C = BOOK.ids[:3]
runner = CliRunner()

SMALL_BOOK = """\
id: klein
name: Klein codeboek
no_code: {label: Geen factor, description: Geen van de factoren.}
priority_questions: [9]
codes:
"""
SMALL_CODE = """\
  - id: f{i}
    name: Factor {i}
    colour: "#{colour}"
    definition: Een factor.
    presence: {{present: aanwezig, absent: afwezig}}
"""


def row(fid: str, respondent: str, group: str, text: str, **coding: Any) -> dict[str, Any]:
    return {"id": fid, "report": f"r{respondent}", "respondent": respondent, "group": group,
            "start": 0, "end": len(text), "text": text, **coding}  # fmt: skip


def suggested(factor: str, presence: str, confidence: float) -> dict[str, Any]:
    return {"suggestion": {"factor": factor, "presence": presence, "confidence": confidence,
            "factor_probs": {factor: confidence}, "presence_prob": 0.8, "reasons": ["x"],
            "model": "m1"}}  # fmt: skip


def coded(factor: str, presence: str, coder: str = "anna", **more: Any) -> dict[str, Any]:
    return {"factor": factor, "presence": presence, "coder": coder, **more}


ROWS = [
    row("f1", "R1", "uitvoerend", "Wij hebben elkaar echt nodig.", **coded(A, "present")),
    row("f2", "R1", "uitvoerend", "Zonder de politie lukt het niet.", **coded(A, "present")),
    row("f3", "R2", "management", "Niemand weet wie de regie heeft.", **coded(B, "absent")),
    row(
        "f4",
        "R2",
        "management",
        "Afspraken zijn het belangrijkste.",
        **coded(B, "absent", priority="high"),
    ),
    row("f5", "R3", "uitvoerend", 'Het vertrouwen is <groot> & "goed".', **coded(C, "present")),
    row("f6", "R3", "uitvoerend", "Er is wel wat afgesproken.", **suggested(B, "present", 0.81)),
    row("f7", "=R4", "management", "Kennismaking met de respondent."),
]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture
def coded_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "coded.jsonl", ROWS)


def run(*args: str | Path) -> Any:
    return runner.invoke(app, ["matrix", *map(str, args)])


def cell(data: dict[str, Any], code: str, column: str) -> dict[str, Any]:
    return next(c for c in data["cells"] if c["code"] == code and c["column"] == column)


def test_json_file_by_group(coded_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    result = run("--fragments", coded_file, "--by", "group", "--format", "json", "--out", out)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text("utf-8"))
    assert data["by"] == "group" and data["columns"] == ["uitvoerend", "management"]
    assert len(data["cells"]) == len(BOOK.codes) * 2
    assert cell(data, A, "uitvoerend")["verdict"] == "present"
    b = cell(data, B, "management")
    assert (b["n_absent"], b["verdict"], b["n_unconfirmed"], b["n_respondents"]) == (
        2,
        "absent",
        0,
        1,
    )
    assert sorted(b["evidence"]) == ["f3", "f4"]
    assert cell(data, B, "uitvoerend")["verdict"] == "not discussed"  # suggestion not counted
    assert data["priority"][B]["rank"] == 1 and data["priority"][B]["fragments"] == ["f4"]


def test_json_to_stdout_with_suggestions(coded_file: Path) -> None:
    result = run("--fragments", coded_file, "--include-suggestions", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    b = cell(data, B, "all")
    assert (b["n_present"], b["n_absent"], b["n_unconfirmed"], b["unconfirmed"]) == (1, 2, 1, True)
    assert data["include_suggestions"] is True and data["n_respondents"] == 4


def test_csv_to_stdout_one_row_per_cell(coded_file: Path) -> None:
    result = run("--fragments", coded_file, "--by", "respondent", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("code,code_name,column,final_verdict,verdict")
    assert len(lines) == 1 + len(BOOK.codes) * 4
    assert any(",'=R4," in line for line in lines)  # formula neutralised


def test_table_marks_unconfirmed(coded_file: Path) -> None:
    result = run("--fragments", coded_file, "--include-suggestions")
    assert result.exit_code == 0, result.output
    assert BOOK.code(A).name[:8] in result.stdout
    assert "unconf." in result.stdout and "not discussed" in result.stdout
    assert "4 respondents" in result.stdout


def test_xlsx_in_codebook_colours(coded_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.xlsx"
    result = run("--fragments", coded_file, "--by", "respondent", "--format", "xlsx", "--out", out)
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Matrix", "Cells", "Priority"]
    sheet = book["Matrix"]
    assert sheet["A4"].value == BOOK.codes[0].name
    assert sheet["A4"].fill.start_color.rgb.endswith(BOOK.codes[0].colour[1:].upper())
    header = [c.value for c in sheet[3]]
    assert header[0] == "code" and sorted(header[1:5]) == ["=R4", "R1", "R2", "R3"]
    assert sheet.cell(row=3, column=header.index("=R4") + 1).data_type == "s"  # not a formula
    first = sheet.cell(row=4, column=header.index("R1") + 1).value
    assert first.startswith("present 1.00 (2/2)")
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)


def test_html_report_is_self_contained(coded_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run("--fragments", coded_file, "--include-suggestions", "--by", "respondent",
                 "--format", "html", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    html = out.read_text("utf-8")
    for forbidden in ("http://", "https://", 'src="http', "<script", "<link", "@import", "url("):
        assert forbidden not in html
    assert len(re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/=]+"', html)) == 2
    assert "Content-Security-Policy" in html
    assert "&lt;groot&gt; &amp; &quot;goed&quot;" in html and "<groot>" not in html
    assert 'class="cell unconf"' in html
    assert "Unconfirmed cells (1)" in html


def test_rules_file_changes_verdicts(coded_file: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[matrix]\nmin_evidence = 3\n", "utf-8")
    result = run("--fragments", coded_file, "--format", "json", "--rules", rules)
    assert result.exit_code == 0, result.output
    assert cell(json.loads(result.stdout), A, "all")["thin_evidence"] is True
    rules.write_text("present_share = 0.2\nabsent_share = 0.5\n", "utf-8")
    bad = run("--fragments", coded_file, "--rules", rules)
    assert bad.exit_code == 1
    assert "invalid matrix rules" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xlsx"], "needs --out"),
        (["--project", "x.db"], "either --project"),
        (["--format", "pdf"], "unknown format"),
    ],
)
def test_bad_requests_give_one_red_line(coded_file: Path, args: list[str], message: str) -> None:
    result = run("--fragments", coded_file, *args)
    assert result.exit_code == 1 and message in result.stderr


def test_bad_by_and_missing_file(tmp_path: Path) -> None:
    assert run("--fragments", tmp_path / "x.jsonl", "--by", "team").exit_code == 2
    missing = run("--fragments", tmp_path / "x.jsonl")
    assert missing.exit_code == 1 and "cannot open" in missing.stderr


def test_several_coders_give_the_team_consensus_or_one_coder(tmp_path: Path) -> None:
    rows = [
        row("f1", "R1", "uitvoerend", "Wij hebben elkaar nodig.", **coded(A, "present")),
        row("f1", "R1", "uitvoerend", "Wij hebben elkaar nodig.", **coded(A, "absent", "bob")),
    ]
    path = write_jsonl(tmp_path / "two.jsonl", rows)
    team = run("--fragments", path, "--format", "json")
    assert team.exit_code == 0, team.output
    data = json.loads(team.stdout)
    assert cell(data, A, "all")["verdict"] == "not discussed"
    assert [d["fragment"] for d in data["disagreements"]] == ["f1"]
    bob = run("--fragments", path, "--coder", "bob", "--format", "json")
    assert cell(json.loads(bob.stdout), A, "all")["verdict"] == "absent"


def test_evidence_lists_the_fragments(coded_file: Path) -> None:
    result = run("evidence", "--fragments", coded_file, "--code", B, "--column", "all",
                 "--include-suggestions")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.index("f3") < result.stdout.index("f6")  # confirmed first
    assert "suggestion 0.81" in result.stdout and "Er is wel wat afgesproken." in result.stdout
    by_guess = run("evidence", "--fragments", coded_file, "--code", A, "--column", "uitvoerend")
    assert by_guess.exit_code == 0 and "f1" in by_guess.stdout
    unknown = run("evidence", "--fragments", coded_file, "--code", A, "--column", "R9")
    assert unknown.exit_code == 1 and "no column 'R9'" in unknown.stderr
    no_code = run("evidence", "--fragments", coded_file, "--code", "nope", "--column", "all")
    assert no_code.exit_code == 1 and "not in codebook" in no_code.stderr


def test_own_codebook_with_five_codes(tmp_path: Path) -> None:
    colours = ["e6194b", "3cb44b", "4363d8", "f58231", "911eb4"]
    text = SMALL_BOOK + "".join(SMALL_CODE.format(i=i, colour=c) for i, c in enumerate(colours))
    book = tmp_path / "klein.yaml"
    book.write_text(text, "utf-8")
    rows = [
        row("k1", "P1", "overig", "Het werkt.", **coded("f0", "present"), question=9),
        row("k2", "P2", "overig", "Het werkt niet.", **coded("f4", "absent")),
    ]
    path = write_jsonl(tmp_path / "klein.jsonl", rows)
    result = run("--fragments", path, "--codebook", book, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [c["id"] for c in data["codes"]] == ["f0", "f1", "f2", "f3", "f4"]
    assert data["priority"]["f0"]["level"] == "core"
    wrong = run("--fragments", coded_file_for(tmp_path), "--codebook", book)
    assert wrong.exit_code == 1 and "not in codebook" in wrong.stderr


def coded_file_for(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "default.jsonl", ROWS)


# --- with a project store ------------------------------------------------------------------


def make_project(path: Path) -> Path:
    store = pytest.importorskip("autocoder.store")
    from autocoder.pipeline import codebook_source
    from autocoder.records import Decision, Presence, Status, Suggestion

    people = {"R1": "uitvoerend", "R2": "management"}
    with store.Project.open(path) as project:
        project.ensure_codebook(codebook_source(None), BOOK)
        model = project.add_model({"model_id": "m", "codebook_hash": BOOK.hash})
        for respondent, group in people.items():
            text = f"{respondent} zegt: wij hebben elkaar nodig. Het mandaat ontbreekt."
            report, fragments = sentence_report(text, f"{respondent}.txt", respondent, group)
            project.add_report(report, fragments, "sentence")
            first, second = fragments
            project.add_suggestions(
                model,
                [
                    (first.id, Suggestion(A, Presence.PRESENT, 0.9, {A: 0.9}, 0.9, (), "m")),
                    (second.id, Suggestion(B, Presence.ABSENT, 0.7, {B: 0.7}, 0.2, (), "m")),
                ],
            )
            project.record_decision(
                Decision(first.id, "anna", A, Presence.PRESENT, None, Status.CONFIRMED, "")
            )
    return path


def test_project_matrix_confirm_and_evidence(tmp_path: Path) -> None:
    db = make_project(tmp_path / "study.db")
    data = json.loads(run("--project", db, "--include-suggestions", "--format", "json").stdout)
    b = cell(data, B, "all")
    assert (b["verdict"], b["n_unconfirmed"], b["unconfirmed"]) == ("absent", 2, True)
    assert cell(data, A, "all")["n_confirmed"] == 2

    confirm = run("confirm", "--project", db, "--code", B, "--column", "all",
                  "--verdict", "partly", "--note", "zie R2", "--coder", "anna")  # fmt: skip
    assert confirm.exit_code == 0, confirm.output
    data = json.loads(run("--project", db, "--include-suggestions", "--format", "json").stdout)
    b = cell(data, B, "all")
    assert (b["verdict"], b["confirmed_verdict"], b["final_verdict"]) == (
        "absent",
        "partly",
        "partly",
    )
    assert b["unconfirmed"] is False and b["confirmation"]["note"] == "zie R2"

    out = tmp_path / "r.html"
    html_run = run("--project", db, "--include-suggestions", "--format", "html", "--out", out)
    assert html_run.exit_code == 0, html_run.output
    html = out.read_text("utf-8")
    assert (
        "✔ partly</div>" in html
        and "confirmed; computed: absent" in html
        and "https://" not in html
    )

    evidence = run("evidence", "--project", db, "--code", B, "--column", "all",
                   "--include-suggestions")  # fmt: skip
    assert evidence.exit_code == 0 and "Het mandaat ontbreekt." in evidence.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--verdict": "maybe"}, "use present, partly or absent"),
        ({"--column": "R9"}, "no column 'R9'"),
        ({"--code": "nope"}, "not in codebook"),
        ({"--coder": " "}, "--coder"),
    ],
)
def test_confirm_rejects_bad_input(tmp_path: Path, change: dict[str, str], message: str) -> None:
    db = make_project(tmp_path / "study.db")
    options = {"--code": A, "--column": "R1", "--verdict": "present", "--coder": "anna"}
    options.update(change)
    args = [item for pair in options.items() for item in pair]
    result = run("confirm", "--project", db, *args)
    assert result.exit_code == 1 and message in result.stderr


def test_confirm_needs_an_existing_project(tmp_path: Path) -> None:
    pytest.importorskip("autocoder.store")
    result = run("confirm", "--project", tmp_path / "none.db", "--code", A, "--column", "all",
                 "--verdict", "present", "--coder", "anna")  # fmt: skip
    assert result.exit_code == 1 and "no such project" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_nothing_counted_warns_but_works(tmp_path: Path) -> None:
    rows = [row("u1", "R1", "uitvoerend", "Kennismaking.", **suggested(A, "present", 0.9))]
    result = run("--fragments", write_jsonl(tmp_path / "open.jsonl", rows), "--format", "json")
    assert result.exit_code == 0
    assert "--include-suggestions counts suggestions" in result.stderr
    assert {c["verdict"] for c in json.loads(result.stdout)["cells"]} == {"not discussed"}
