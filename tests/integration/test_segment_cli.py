"""`autocoder segment` on real files written by the test: docx with a table, cp1252, PDF, ODT."""

import json
from pathlib import Path

from typer.testing import CliRunner

from autocoder.cli import app
from tests.conftest import make_docx, make_odt, make_pdf

runner = CliRunner()


def segment(*args: object):
    return runner.invoke(app, ["segment", *map(str, args)])


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_reports(folder: Path) -> None:
    folder.mkdir()
    make_docx(
        folder / "a.docx",
        [
            ("h1", "Gespreksverslag"),
            ("b", "Vraag 18. Hoe is het onderlinge vertrouwen?"),
            "Het vertrouwen is groot. We bellen elkaar o.a. bij spoed.",
            ("table", [["Functie", "Casusregisseur"], ["Jaren", "Zes jaar bij het VHH."]]),
            ("b", "Vraag 33. Zijn er genoeg middelen?"),
            "Er is te weinig capaciteit.",
        ],
    )
    text = (
        "---\nrespondent: R2\ngroup: management\n---\n"
        "De respondent is geïnteresseerd in één aanpak.\r\nZij noemt de coördinatie zwak."
    )
    (folder / "b.txt").write_bytes(text.encode("cp1252"))
    make_pdf(folder / "c.pdf", ["Vraag 5. Heeft u elkaar nodig?", "Ja, zonder hen lukt het niet."])
    make_odt(folder / "d.odt", [("h1", "Verslag"), "Het overleg is wekelijks. Dat werkt goed."])


def test_segment_folder_of_real_files(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    write_reports(folder)
    out = tmp_path / "fragments.jsonl"
    result = segment(folder, "--out", out)
    assert result.exit_code == 0, result.output
    rows = records(out)
    assert {row["report"] for row in rows} and len({row["report"] for row in rows}) == 4
    texts = [row["text"] for row in rows]
    assert "Het vertrouwen is groot." in texts
    assert "We bellen elkaar o.a. bij spoed." in texts
    assert "Zes jaar bij het VHH." in texts  # a table cell, in document order
    assert "De respondent is geïnteresseerd in één aanpak." in texts
    by_text = {row["text"]: row for row in rows}
    assert by_text["Het vertrouwen is groot."]["question"] == 18
    assert by_text["Er is te weinig capaciteit."]["question"] == 33
    assert by_text["Zij noemt de coördinatie zwak."]["respondent"] == "R2"
    for row in rows:
        assert set(row) >= {"id", "report", "respondent", "group", "question", "speaker"}
        assert row["end"] - row["start"] == len(row["text"])
    assert not any("Vraag" in t for t in texts)  # questions are not fragments


def test_bad_files_are_named_and_the_rest_is_processed(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    write_reports(folder)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "locked.docx").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 600)
    good = (folder / "a.docx").read_bytes()
    (folder / "cut.docx").write_bytes(good[: len(good) // 2])
    out = tmp_path / "fragments.jsonl"
    result = segment(folder, "--out", out)
    assert result.exit_code == 1
    for name in ("empty.txt", "locked.docx", "cut.docx"):
        assert name in result.output
    assert "3 files could not be read" in result.output
    assert len({row["report"] for row in records(out)}) == 4


def test_output_is_not_half_written_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "fragments.jsonl"
    out.write_text('{"text": "old"}\n', encoding="utf-8")
    result = segment(tmp_path / "missing-folder", "--out", out)
    assert result.exit_code == 1
    assert "missing-folder" in result.output
    assert out.read_text(encoding="utf-8") == '{"text": "old"}\n'
    assert not list(tmp_path.glob(".fragments.jsonl.*"))


def test_units(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    write_reports(folder)
    counts = {}
    for unit in ("sentence", "paragraph", "answer"):
        out = tmp_path / f"{unit}.jsonl"
        assert segment(folder, "--out", out, "--unit", unit).exit_code == 0
        counts[unit] = len(records(out))
    assert counts["sentence"] > counts["paragraph"] >= counts["answer"]
    assert segment(folder, "--out", tmp_path / "x.jsonl", "--unit", "word").exit_code != 0


def test_metadata_table_without_question_numbers_is_header(tmp_path: Path) -> None:
    """A report with no question numbers or turns: its metadata table is no fragment."""
    folder = tmp_path / "reports"
    folder.mkdir()
    make_docx(
        folder / "r02.docx",
        [
            ("h1", "Gespreksverslag"),
            ("table", [["Respondent", "R02"], ["Datum", "3 maart 2026"], ["Duur", "60 minuten"]]),
            "De respondent werkt sinds 2019 bij het Veiligheidshuis. Het overleg loopt goed.",
            "Over de gemeente is ze minder te spreken",
            ("table", [["Knelpunt", "Capaciteit"]]),
        ],
    )
    out = tmp_path / "fragments.jsonl"
    result = segment(folder, "--out", out)
    assert result.exit_code == 0, result.output
    assert [row["text"] for row in records(out)] == [
        "De respondent werkt sinds 2019 bij het Veiligheidshuis.",
        "Het overleg loopt goed.",
        "Over de gemeente is ze minder te spreken",  # prose stays, also without a period
        "Knelpunt",  # a table after the prose is no header
        "Capaciteit",
    ]
