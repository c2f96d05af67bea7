"""Every file of a report folder that is not read is named with its reason, in every command."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocoder.cli import app
from tests.conftest import make_docx, make_pdf

runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    reports = tmp_path / "verslagen"
    reports.mkdir()
    make_docx(reports / "goed.docx", ["Vraag 5. Heeft u elkaar nodig?", "Ja, dat merken we."])
    (reports / "oud.doc").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(1024))
    (reports / "brief.rtf").write_bytes(b"{\\rtf1\\ansi Een verslag.}")
    make_pdf(tmp_path / "echt.pdf", ["Een verslag."])
    (reports / "verslag.docx").write_bytes((tmp_path / "echt.pdf").read_bytes())
    (reports / "foto.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (reports / "metadata.csv").write_text("file,respondent,group\ngoed.docx,R1,uitvoerend\n")
    (reports / "~$goed.docx").write_bytes(b"lock")  # Word's lock file: not worth a word
    return reports


def lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("skipped:", "warning:"))]


EXPECTED = [
    "warning: foto.png: left out, not a report file type ('.png'); autocoder reads .txt, .md, "
    ".docx, .odt, .pdf",
    "skipped: brief.rtf: an RTF document (.rtf) is not read: open it in its word processor and "
    "save it as .docx, then retry",
    "skipped: oud.doc: an old-style Word 97-2003 document (.doc) is not read: open it in its "
    "word processor and save it as .docx, then retry",
    "skipped: verslag.docx: this is a PDF, not a .docx file: rename it to verslag.pdf",
]


def test_segment_names_every_skipped_file(folder: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["segment", str(folder), "--out", str(tmp_path / "f.jsonl")])
    assert result.exit_code == 1
    assert lines(result.output) == EXPECTED
    assert "3 files could not be read" in result.output


def test_code_names_every_skipped_file(folder: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["code", str(folder), "--project", str(tmp_path / "s.db")])
    assert result.exit_code == 1
    assert sorted(lines(result.output)) == sorted(EXPECTED)
    assert "3 files could not be read; the others were coded" in result.output
