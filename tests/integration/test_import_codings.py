"""`import-codings` on real .xlsx, .csv and .jsonl files into a real SQLite project: all rows
or none, --partial, rows matched by their offsets, a second coder's blank sheet."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import openpyxl
import openpyxl.utils
import pytest
from typer.testing import CliRunner

from autocoder import project as project_module
from autocoder.cli import app
from autocoder.codebook import load_codebook
from autocoder.pipeline import codebook_source
from autocoder.project import code_reports, export_project
from autocoder.records import Decision, Presence, Status
from autocoder.store import Project

CODEBOOK = load_codebook()
A, B, C = CODEBOOK.ids[:3]
SENTENCES = [
    "We hebben elkaar echt nodig in deze zaken.",
    "De werkafspraken zijn duidelijk vastgelegd.",
    "Er is veel vertrouwen tussen de partners.",
    "Het gesprek vond plaats op het kantoor.",
    "Zonder de politie lukt het ons niet.",
]
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with two reports, segmented without a model."""
    monkeypatch.setattr(project_module, "DEFAULT_MODEL", tmp_path / "no-default-model")
    folder = tmp_path / "reports"
    folder.mkdir()
    for number in range(2):
        (folder / f"verslag-{number}.txt").write_text(
            f"---\nrespondent: R0{number}\ngroup: uitvoerend\n---\n"
            + " ".join(SENTENCES[number:] + SENTENCES[:number])
            + "\n",
            encoding="utf-8",
        )
    path = tmp_path / "study.db"
    code_reports([folder], path, None)
    with Project.open(path, create=False) as project:
        project.ensure_codebook(codebook_source(None), CODEBOOK)
    return path


def decision_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM decisions").fetchone()[0])


def fragment_ids(db: Path) -> list[str]:
    with Project.open(db, create=False) as project:
        return [r.fragment.id for r in project.coded_fragments()]


def import_file(path: Path, db: Path, coder: str, *extra: str) -> object:
    arguments = ["import-codings", str(path), "--project", str(db), "--coder", coder, *extra]
    return runner.invoke(app, arguments)


def fill(path: Path, choices: dict[str, str], twice: str | None = None) -> None:
    """Fill in the factor of the chosen fragments, as a coder would; ``twice``: that fragment
    gets a second row (with another code)."""
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path)
        for sheet in book.worksheets[1:]:
            header = [c.value for c in sheet[2]]  # the first row says whose codes these are
            for row in list(sheet.iter_rows(min_row=3)):
                fid = row[header.index("fragment")].value
                if fid in choices:
                    row[header.index("factor")].value = choices[fid]
                if fid == twice:
                    copy = [c.value for c in row]
                    copy[header.index("factor")] = C
                    sheet.append(copy)
        book.save(path)
    elif path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            row["factor"] = choices.get(row["id"], row["factor"])
        rows += [{**row, "factor": C} for row in rows if row["id"] == twice]
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for data in lines:
            if data["id"] in choices:
                data["factor"], data["presence"] = choices[data["id"]], "present"
        lines += [{**d, "factor": C} for d in lines if d["id"] == twice]
        path.write_text("\n".join(json.dumps(d) for d in lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "jsonl"])
def test_a_conflict_writes_nothing_and_partial_imports_the_other_rows(
    fmt: str, db: Path, tmp_path: Path
) -> None:
    first, second, third, fourth = fragment_ids(db)[:4]
    sheet = tmp_path / f"review.{fmt}"
    export_project(db, fmt, sheet, coder="anna")
    fill(sheet, {first: A, second: B, third: A, fourth: "geen_code"}, twice=third)
    before = decision_rows(db)

    refused = import_file(sheet, db, "anna")
    assert refused.exit_code == 1, refused.output
    output = " ".join(refused.output.split())
    assert "3 conflicts" in output and "nothing imported" in output
    assert "2 rows give this fragment; keep one" in output
    assert "'geen_code' is not a code" in output
    assert decision_rows(db) == before

    partial = import_file(sheet, db, "anna", "--partial")
    assert partial.exit_code == 0, partial.output
    assert "imported 2 decisions; skipped 3 rows" in " ".join(partial.output.split())
    assert decision_rows(db) == before + 2
    with Project.open(db, create=False) as project:
        mine = {d.fragment_id: d.factor for d in project.current_decisions("anna")}
    assert mine == {first: A, second: B}  # neither row of the doubled fragment is taken


def test_a_bad_jsonl_line_writes_nothing(db: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "review.jsonl"
    export_project(db, "jsonl", sheet)
    first = fragment_ids(db)[0]
    fill(sheet, {first: A})
    sheet.write_text(sheet.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    result = import_file(sheet, db, "anna")
    assert result.exit_code == 1 and "not valid JSON" in result.output
    assert decision_rows(db) == 0
    assert import_file(sheet, db, "anna", "--partial").exit_code == 0
    assert decision_rows(db) == 1


def test_rows_without_ids_are_matched_by_their_offsets(db: Path, tmp_path: Path) -> None:
    with Project.open(db, create=False) as project:
        fragments = [r.fragment for r in project.coded_fragments()][:3]
    rows = [
        [f.report, f.start, f.end, f.text, code]
        for f, code in zip(fragments, (A, B, C), strict=True)
    ]
    rows[2][3] = "Een andere tekst."  # the offsets of a fragment, but not its text
    path = tmp_path / "elders.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["report", "start", "end", "text", "factor"])
        writer.writerows(rows)
    result = import_file(path, db, "cleo", "--partial")
    assert result.exit_code == 0, result.output
    where = f"{fragments[2].report}:{fragments[2].start}-{fragments[2].end}"
    assert f"no fragment of the project at {where} with this text" in result.output
    with Project.open(db, create=False) as project:
        mine = {d.fragment_id: d.factor for d in project.current_decisions("cleo")}
    assert mine == {fragments[0].id: A, fragments[1].id: B}
    records = tmp_path / "elders.jsonl"  # a JSONL record with no id: its offsets and text
    f = fragments[2]
    records.write_text(
        json.dumps(
            {"report": f.report, "start": f.start, "end": f.end, "text": f.text, "factor": C}
        )
        + "\n",
        encoding="utf-8",
    )
    assert import_file(records, db, "cleo").exit_code == 0
    with Project.open(db, create=False) as project:
        assert {d.fragment_id for d in project.current_decisions("cleo")} == {
            x.id for x in fragments
        }


# --- a reviewer's sheet: whose codes, drop-down lists, Dutch presence words ----------------


def export_file(db: Path, path: Path, *extra: str) -> object:
    fmt = path.suffix[1:]
    arguments = ["export", "--project", str(db), "--format", fmt, "--out", str(path), *extra]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    return result


def sheet_rows(path: Path) -> list[dict[str, object]]:
    """The fragment rows of every report sheet, by column name."""
    book = openpyxl.load_workbook(path)
    rows = []
    for sheet in book.worksheets[1:]:
        values = list(sheet.iter_rows(values_only=True))
        rows += [dict(zip(values[1], row, strict=True)) for row in values[2:]]
    return rows


def fill_presence(path: Path, values: dict[str, tuple[str, str]]) -> None:
    """Set factor and presence of the chosen fragments in an exported sheet."""
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets[1:]:
        header = [c.value for c in sheet[2]]
        for row in sheet.iter_rows(min_row=3):
            fid = row[header.index("fragment")].value
            if fid in values:
                factor, presence = values[fid]
                row[header.index("factor")].value = factor
                row[header.index("presence")].value = presence
    book.save(path)


def test_a_blank_sheet_filled_by_a_second_coder_imports_without_conflicts(
    db: Path, tmp_path: Path
) -> None:
    ids = fragment_ids(db)
    with Project.open(db, create=False) as project:
        for fid in ids:
            project.record_decision(
                Decision(fid, "anna", A, Presence.PRESENT, None, Status.CORRECTED, "")
            )
    blank = tmp_path / "blank.xlsx"
    said = export_file(db, blank)
    assert "no codes (a sheet for any coder)" in " ".join(said.output.split())
    book = openpyxl.load_workbook(blank)
    assert all("Nobody's codes" in sheet["A1"].value for sheet in book.worksheets)
    rows = sheet_rows(blank)
    assert len(rows) == len(ids)
    assert all(r["factor"] is None and r["coder"] is None and r["seq"] is None for r in rows)

    anna = tmp_path / "anna.xlsx"
    export_file(db, anna, "--coder", "anna")
    assert openpyxl.load_workbook(anna).worksheets[1]["A1"].value.startswith("The codes of anna")
    assert {(r["factor"], r["coder"]) for r in sheet_rows(anna)} == {(A, "anna")}

    fill_presence(blank, dict.fromkeys(ids, (B, "afwezig")))
    before = decision_rows(db)
    result = import_file(blank, db, "bob")
    assert result.exit_code == 0, result.output
    assert "0 conflicts" in result.output and f"{len(ids)} corrected" in result.output
    assert decision_rows(db) == before + len(ids)
    with Project.open(db, create=False) as project:
        bob = project.current_decisions("bob")
        anna_codes = {d.factor for d in project.current_decisions("anna")}
    assert {(d.factor, d.presence) for d in bob} == {(B, Presence.ABSENT)}
    assert anna_codes == {A}


def test_sheet_has_drop_down_lists_from_the_codes_sheet(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "review.xlsx"
    export_file(db, path)
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[1]
    header = [c.value for c in sheet[2]]
    letter = {name: openpyxl.utils.get_column_letter(i + 1) for i, name in enumerate(header)}
    lists = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    last = sheet.max_row
    assert lists[f"{letter['presence']}3:{letter['presence']}{last}"] == '"present,absent"'
    assert lists[f"{letter['priority']}3:{letter['priority']}{last}"] == '"high"'
    codes_range = lists[f"{letter['factor']}3:{letter['factor']}{last}"]
    cells = book["codes"][codes_range.split("!")[1].replace("$", "")]
    assert [c[0].value for c in cells] == [*CODEBOOK.ids, "none", "ok", "reject"]


def test_dutch_presence_words_are_read_and_ja_nee_are_refused(db: Path, tmp_path: Path) -> None:
    first, second, third = fragment_ids(db)[:3]
    path = tmp_path / "review.xlsx"
    export_file(db, path)
    fill_presence(path, {first: (A, "Aanwezig"), second: (B, "afwezig"), third: (C, "ja")})
    refused = import_file(path, db, "anna")
    assert refused.exit_code == 1 and decision_rows(db) == 0
    assert "for 'ja' or 'nee' write aanwezig or afwezig" in " ".join(refused.output.split())
    assert import_file(path, db, "anna", "--partial").exit_code == 0
    with Project.open(db, create=False) as project:
        mine = {d.fragment_id: d.presence for d in project.current_decisions("anna")}
    assert mine == {first: Presence.PRESENT, second: Presence.ABSENT}
