"""`autocoder codebook check` on real codebook files: every problem listed with its line."""

from pathlib import Path

from typer.testing import CliRunner

from autocoder.cli import app

DEFAULT = Path(__file__).resolve().parents[2] / "autocoder" / "codebooks" / "samenwerking.yaml"
runner = CliRunner()


def test_check_lists_every_problem_with_its_line(tmp_path: Path) -> None:
    text = (
        DEFAULT.read_text(encoding="utf-8")
        .replace('colour: "#911eb4"', "colour: #911eb4")
        .replace("questions: [30]", "questions: [0]")
    )
    path = tmp_path / "mijn.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["codebook", "check", str(path)])
    assert result.exit_code == 1
    rows = result.stderr.splitlines()
    assert rows[0] == f"error: {path}: 2 problems"
    colour = next(i for i, row in enumerate(text.splitlines(), 1) if "colour: #911eb4" in row)
    questions = next(i for i, row in enumerate(text.splitlines(), 1) if "questions: [0]" in row)
    assert rows[1].startswith(f"{path}:{colour}: field codes[4].colour: ")
    assert rows[1].endswith("quote the colour: colour: '#911eb4')")
    assert rows[2].startswith(f"{path}:{questions}: field codes[5].questions")
    assert len(rows) == 3


def test_check_accepts_the_shipped_codebook() -> None:
    result = runner.invoke(app, ["codebook", "check", str(DEFAULT)])
    assert result.exit_code == 0
    assert "codebook 'samenwerking', 8 codes" in " ".join(result.stdout.split())
