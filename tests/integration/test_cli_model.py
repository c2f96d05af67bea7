"""`autocoder train`, `classify` and `evaluate` through the CLI, on real files in tmp_path.

Training data are whole reports of the starter corpus (about 300 coded fragments, one report
from each writer's region in turn); held-out reports are the gold and the input to classify.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autocoder.cli import app
from autocoder.codebook import load_codebook
from autocoder.ingest import read_report
from autocoder.records import NO_FACTOR_KEY

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "training_data" / "fragments.jsonl"
EXAMPLES = ROOT / "examples"
TRAIN_SIZE = 300
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SUGGESTION_KEYS = {
    "factor",
    "presence",
    "confidence",
    "factor_probs",
    "presence_prob",
    "reasons",
    "model",
}
MODEL_FILES = {"meta.json", "estimator.npz", "vocabulary.json", "codebook.yaml"}
INSTALL_LINE = 'pip install torch==2.13.0 && pip install "autocoder[transformer]"'
CODEBOOK = load_codebook()
runner = CliRunner()


def invoke(*args: Any):
    return runner.invoke(app, [str(a) for a in args])


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def reports() -> list[list[dict[str, Any]]]:
    """The corpus records grouped by report, ordered so that writers (regions) alternate."""
    by_report: dict[str, list[dict[str, Any]]] = {}
    for row in read_jsonl(CORPUS):
        by_report.setdefault(row["report"], []).append(row)
    by_region: dict[str, list[list[dict[str, Any]]]] = {}
    for rows in by_report.values():
        by_region.setdefault(rows[0]["source"].split("-")[0], []).append(rows)
    regions = list(by_region.values())
    return [
        region[i] for i in range(max(map(len, regions))) for region in regions if i < len(region)
    ]


@pytest.fixture(scope="module")
def train_rows(reports) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for report in reports:
        if len(rows) >= TRAIN_SIZE:
            break
        rows.extend(report)
    return rows


@pytest.fixture(scope="module")
def gold_rows(reports, train_rows) -> list[dict[str, Any]]:
    """Two whole reports that are not in the training data."""
    used = {row["report"] for row in train_rows}
    held = [report for report in reports if report[0]["report"] not in used][:2]
    return [row for report in held for row in report]


@pytest.fixture(scope="module")
def files(tmp_path_factory, train_rows, gold_rows) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("data")
    return {
        "train": write_jsonl(folder / "train.jsonl", train_rows),
        "gold": write_jsonl(folder / "gold.jsonl", gold_rows),
    }


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, files, train_rows) -> Path:
    out = tmp_path_factory.mktemp("models") / "small"
    result = invoke("train", "--data", files["train"], "--out", out, "--folds", 2)
    assert result.exit_code == 0, result.output
    assert f"trained 'small' on {len(train_rows)} fragments" in result.stdout
    assert "2-fold grouped CV" in result.stdout
    return out


# --- train ---------------------------------------------------------------------------------------


def test_train_writes_a_model_directory(model_dir: Path, train_rows) -> None:
    assert {path.name for path in model_dir.iterdir()} >= MODEL_FILES
    meta = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))
    assert meta["model_id"] == "small"
    assert meta["n_fragments"] == len(train_rows)
    assert meta["n_reports"] == len({row["report"] for row in train_rows})
    assert meta["cv_folds"] == 2
    assert meta["codebook_hash"] == CODEBOOK.hash
    assert sum(meta["label_counts"].values()) == len(train_rows)
    assert not [p for p in model_dir.iterdir() if p.suffix in {".pkl", ".joblib", ".pickle"}]


# --- classify ------------------------------------------------------------------------------------


def check_suggestion(suggestion: dict[str, Any], model_id: str) -> None:
    assert set(suggestion) == SUGGESTION_KEYS
    assert suggestion["factor"] is None or suggestion["factor"] in CODEBOOK.ids
    assert set(suggestion["factor_probs"]) == {*CODEBOOK.ids, NO_FACTOR_KEY}
    assert sum(suggestion["factor_probs"].values()) == pytest.approx(1.0, abs=2e-3)
    assert 0.0 <= suggestion["confidence"] <= 1.0
    if suggestion["factor"] is None:
        assert suggestion["presence"] is None
    else:
        assert suggestion["presence"] in ("present", "absent")
        assert 0.0 <= suggestion["presence_prob"] <= 1.0
    assert isinstance(suggestion["reasons"], list)
    assert all(isinstance(r, str) and r for r in suggestion["reasons"])
    assert suggestion["model"] == model_id


def mostly_explained(suggestions: list[dict[str, Any]]) -> bool:
    """Reasons may be empty when only character n-grams drove a suggestion; rarely."""
    return sum(bool(s["reasons"]) for s in suggestions) >= 0.8 * len(suggestions)


def test_classify_jsonl_keeps_every_input_field(model_dir: Path, gold_rows, tmp_path: Path) -> None:
    rows = [{**row, "note": {"by": "anna", "tags": [1, 2]}} for row in gold_rows[:40]]
    rows.append({"text": "We hebben elkaar echt nodig in deze zaken.", "project_ref": "X-17"})
    source, out = write_jsonl(tmp_path / "in.jsonl", rows), tmp_path / "out.jsonl"
    result = invoke("classify", source, "--model", model_dir, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} fragments -> {out}" in " ".join(result.stdout.split())
    written = read_jsonl(out)
    assert len(written) == len(rows)
    for given, line in zip(rows, written, strict=True):
        assert {key: line.get(key) for key in given} == given
        check_suggestion(line["suggestion"], "small")
    assert mostly_explained([line["suggestion"] for line in written])


def test_classify_keeps_coder_and_priority_without_a_code(model_dir: Path, tmp_path: Path) -> None:
    row = {"text": "Er is veel vertrouwen tussen de partners.", "coder": "anna", "priority": "high"}
    source, out = write_jsonl(tmp_path / "in.jsonl", [row]), tmp_path / "out.jsonl"
    result = invoke("classify", source, "--model", model_dir, "--out", out)
    assert result.exit_code == 0, result.output
    (line,) = read_jsonl(out)
    assert {key: line.get(key) for key in row} == row


def test_classify_a_report_folder_segments_it_first(model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "examples.jsonl"
    result = invoke("classify", EXAMPLES, "--model", model_dir, "--out", out)
    assert result.exit_code == 0, result.output
    lines = read_jsonl(out)
    sources = sorted(p for p in EXAMPLES.iterdir() if p.suffix in {".docx", ".txt", ".md"})
    texts = {(report := read_report(path)).id: report.text for path in sources}
    assert {line["report"] for line in lines} == set(texts)
    for line in lines:
        assert line["text"] == texts[line["report"]][line["start"] : line["end"]]
        assert line["id"] == f"{line['report']}:{line['start']}-{line['end']}"
        check_suggestion(line["suggestion"], "small")
    assert mostly_explained([line["suggestion"] for line in lines])
    assert len(lines) >= 3 * len(texts)


def test_classify_with_a_folder_that_holds_no_model(tmp_path: Path, files) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    result = invoke("classify", files["gold"], "--model", empty, "--out", tmp_path / "o.jsonl")
    assert result.exit_code == 1
    (line,) = error_lines(result)
    assert line.startswith("error:") and str(empty) in line and "not a model directory" in line
    assert not (tmp_path / "o.jsonl").exists()


# --- evaluate ------------------------------------------------------------------------------------


def check_evaluation(result, png: Path) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    factor, presence = report["factor"], report["presence"]
    for value in (factor["macro_f1"], factor["kappa"], factor["ece"], presence["accuracy"]):
        assert isinstance(value, float) and -1.0 <= value <= 1.0
    assert factor["coverage"][0]["threshold"] == 0.0 and factor["coverage"][0]["coverage"] == 1.0
    assert all(
        {"threshold", "coverage", "accuracy", "left_to_person"} <= set(row)
        for row in factor["coverage"]
    )
    assert report["confusion_png"] == str(png)
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    return report


def test_evaluate_gold_against_a_model(model_dir: Path, files, gold_rows, tmp_path: Path) -> None:
    png = tmp_path / "confusion.png"
    result = invoke("evaluate", files["gold"], "--model", model_dir, "--json", "--png", png)
    report = check_evaluation(result, png)
    assert report["factor"]["n"] == len(gold_rows)
    assert report["factor"]["macro_f1"] > 0.3  # 300 fragments: far above chance (0.11)


def test_evaluate_by_cross_validation(files, train_rows, tmp_path: Path) -> None:
    png = tmp_path / "cv.png"
    result = invoke("evaluate", "--cv", 2, "--data", files["train"], "--json", "--png", png)
    report = check_evaluation(result, png)
    assert report["factor"]["n"] == len(train_rows)
    assert report["folds"] == 2


def test_evaluate_prints_tables_without_json(model_dir: Path, files) -> None:
    result = invoke("evaluate", files["gold"], "--model", model_dir)
    assert result.exit_code == 0, result.output
    for title in ("macro-F1", "Per code", "Confusion", "Coverage"):
        assert title in result.stdout


# --- bad input -----------------------------------------------------------------------------------

BAD_LINES = {
    "not json": ('{"text": "Half een regel', "not valid JSON"),
    "no text": ('{"factor": null, "report": "r1"}', "missing or empty 'text'"),
    "unknown label": (
        '{"text": "Er is veel vertrouwen.", "factor": "vertrouwen", "presence": "present"}',
        "factor 'vertrouwen' is not in codebook 'samenwerking'",
    ),
}


def with_bad_line(folder: Path, rows: list[dict[str, Any]], bad: str) -> tuple[Path, int]:
    """``rows`` with ``bad`` as line 3; returns the file and the bad line's number."""
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    lines.insert(2, bad)
    path = folder / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, 3


@pytest.mark.parametrize("case", BAD_LINES)
def test_bad_line_fails_naming_file_line_and_problem(
    case: str, model_dir: Path, train_rows, tmp_path: Path
) -> None:
    bad, problem = BAD_LINES[case]
    path, number = with_bad_line(tmp_path, train_rows, bad)
    out = tmp_path / "out.jsonl"
    commands = {
        "train": ("train", "--data", path, "--out", tmp_path / "m", "--folds", 0),
        "classify": ("classify", path, "--model", model_dir, "--out", out),
        "evaluate": ("evaluate", path, "--model", model_dir),
    }
    for name, command in commands.items():
        result = invoke(*command)
        assert result.exit_code == 1, (name, result.output)
        lines = error_lines(result)
        assert len(lines) == 1, (name, lines)
        assert lines[0].startswith("error:"), (name, lines)
        assert f"{path}:{number}:" in lines[0] and problem in lines[0], (name, lines)
    assert not (tmp_path / "m").exists()
    assert not out.exists()


@pytest.mark.parametrize("case", BAD_LINES)
def test_skip_invalid_reports_and_skips_bad_lines(
    case: str, model_dir: Path, gold_rows, tmp_path: Path
) -> None:
    bad, problem = BAD_LINES[case]
    path, number = with_bad_line(tmp_path, gold_rows[:30], bad)
    out = tmp_path / "out.jsonl"
    result = invoke("classify", path, "--model", model_dir, "--out", out, "--skip-invalid")
    assert result.exit_code == 0, result.output
    (line,) = [x for x in error_lines(result) if "skipped" in x]
    assert f"{path}:{number}:" in line and problem in line
    assert [row["id"] for row in read_jsonl(out)] == [row["id"] for row in gold_rows[:30]]


def test_skip_invalid_in_training_and_evaluation(
    model_dir: Path, train_rows, tmp_path: Path
) -> None:
    path, number = with_bad_line(tmp_path, train_rows, BAD_LINES["not json"][0])
    result = invoke(
        "train", "--data", path, "--out", tmp_path / "m", "--folds", 0, "--skip-invalid"
    )
    assert result.exit_code == 0, result.output
    assert f"{path}:{number}:" in result.stderr and "skipped" in result.stderr
    meta = json.loads((tmp_path / "m" / "meta.json").read_text(encoding="utf-8"))
    assert meta["n_fragments"] == len(train_rows)
    result = invoke("evaluate", path, "--model", model_dir, "--skip-invalid", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["factor"]["n"] == len(train_rows)
    assert len(report["skipped_lines"]) == 1 and f"{path}:{number}:" in report["skipped_lines"][0]


def test_rare_and_missing_codes_warn_and_train(train_rows, gold_rows, tmp_path: Path) -> None:
    counts = Counter(row["factor"] for row in train_rows)
    rare, missing = "externe_druk", "continuiteit"
    assert counts[rare] >= 5 and counts[missing] >= 1
    kept = [row for row in train_rows if row["factor"] not in (rare, missing)]
    kept += [row for row in train_rows if row["factor"] == rare][:3]
    data = write_jsonl(tmp_path / "train.jsonl", kept)
    out = tmp_path / "m"
    result = invoke("train", "--data", data, "--out", out, "--folds", 0)
    assert result.exit_code == 0, result.output
    warnings = " ".join(" ".join(x.split()) for x in error_lines(result) if "warning" in x)
    assert f"code '{rare}' has only 3 training examples" in warnings
    assert "never suggest" in warnings and missing in warnings
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["never_suggested"] == [missing]
    classified = tmp_path / "out.jsonl"
    gold = write_jsonl(tmp_path / "gold.jsonl", gold_rows)
    result = invoke("classify", gold, "--model", out, "--out", classified)
    assert result.exit_code == 0, result.output
    suggestions = [line["suggestion"] for line in read_jsonl(classified)]
    assert all(s["factor"] != missing and s["factor_probs"][missing] == 0.0 for s in suggestions)


# --- transformer backend without the extra -----------------------------------------------------


def test_transformer_backend_without_the_extra_says_how_to_install(
    files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("torch", "transformers", "datasets"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed (any venv)
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    (base / "model.safetensors").write_bytes(b"")
    command = ("train", "--data", files["train"], "--out", tmp_path / "m")
    result = invoke(*command, "--backend", "transformer", "--base-model", base)
    assert result.exit_code == 1, result.output
    (line,) = error_lines(result)
    assert line.startswith("error:") and INSTALL_LINE in line
    assert not (tmp_path / "m").exists()
