"""A model directory is written as a whole and checked against its manifest on load.

``autocoder train --out`` runs in a subprocess over an existing model and is killed (SIGKILL,
through the ``files.CRASH_ENV`` hook) at every step of the save: each file written, the old
directory renamed aside, the new one renamed in. Afterwards the directory loads as the old or
the new model, complete, never a mix.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from autocoder.errors import ModelError, ModelFilesWarning
from autocoder.files import CRASH_ENV, sha256_file
from autocoder.modeldir import MANIFEST, load_model
from autocoder.transformer_dir import load_any_model

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "training_data" / "fragments.jsonl"
FILES = ("vocabulary.json", "estimator.npz", "codebook.yaml", "meta.json")
SAVE_STEPS = len(FILES) + 2  # the files, then two renames


def _reports_jsonl(path: Path, first: int, count: int) -> Path:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    reports = sorted({json.loads(line)["report"] for line in lines})[first : first + count]
    wanted = set(reports)
    path.write_text(
        "".join(line + "\n" for line in lines if json.loads(line)["report"] in wanted),
        encoding="utf-8",
    )
    return path


def _train(data: Path, out: Path, crash_at: int | None = None) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(CRASH_ENV, None)
    if crash_at is not None:
        env[CRASH_ENV] = str(crash_at)
    command = [sys.executable, "-m", "autocoder", "train", "--data", str(data), "--out", str(out)]
    done = subprocess.run([*command, "--folds", "0"], env=env, capture_output=True, check=False)
    return done.returncode


def _fingerprint(directory: Path) -> dict[str, str]:
    return {name: sha256_file(directory / name) for name in FILES}


@pytest.fixture(scope="module")
def two_models(tmp_path_factory) -> tuple[Path, Path, Path, Path]:
    folder = tmp_path_factory.mktemp("crash")
    old_data = _reports_jsonl(folder / "old.jsonl", 0, 4)
    new_data = _reports_jsonl(folder / "new.jsonl", 4, 4)
    old, new = folder / "old", folder / "new"
    assert _train(old_data, old) == 0
    assert _train(new_data, new) == 0
    return old_data, new_data, old, new


@pytest.mark.slow
@pytest.mark.parametrize("step", range(1, SAVE_STEPS + 1))
def test_a_crash_at_any_step_leaves_the_old_or_the_new_model(two_models, tmp_path, step):
    _, new_data, old, new = two_models
    target = tmp_path / "model"
    shutil.copytree(old, target)
    assert _train(new_data, target, crash_at=step) == -signal.SIGKILL
    model = load_model(target)  # neither a traceback nor a refusal: complete and consistent
    if step <= len(FILES) + 1:  # before the new directory was renamed in: the old one, intact
        assert _fingerprint(target) == _fingerprint(old)
        assert model.meta == load_model(old).meta
    else:
        assert model.meta["data_hash"] == load_model(new).meta["data_hash"]
        # the estimator archive holds zip timestamps; the other files are byte-identical
        for name in ("vocabulary.json", "codebook.yaml"):
            assert sha256_file(target / name) == sha256_file(new / name)
    if step == len(FILES) + 1:  # killed with the old model set aside: it was renamed back
        leftovers = [p.name for p in tmp_path.iterdir() if p.name != "model"]
        assert leftovers and all(name.startswith(".model.new-") for name in leftovers)
        assert _train(new_data, target) == 0  # the next save removes the leftovers
        assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


@pytest.mark.slow
def test_a_complete_save_leaves_no_temporary_siblings(two_models, tmp_path):
    _, new_data, old, _ = two_models
    target = tmp_path / "model"
    shutil.copytree(old, target)
    (target / "stale.txt").write_text("from the old model", encoding="utf-8")
    assert _train(new_data, target) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert sorted(p.name for p in target.iterdir()) == sorted(FILES)  # replaced as a whole
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    assert sorted(meta[MANIFEST]) == sorted(set(FILES) - {"meta.json"})


@pytest.mark.parametrize("name", ["vocabulary.json", "estimator.npz", "codebook.yaml"])
def test_a_file_that_does_not_match_the_manifest_is_refused(two_models, tmp_path, name):
    _, _, old, new = two_models
    target = shutil.copytree(old, tmp_path / "model")
    if name == "codebook.yaml":  # both models have the same codebook: change a comment
        with (target / name).open("a", encoding="utf-8") as handle:
            handle.write("# edited\n")
    else:
        shutil.copy(new / name, target / name)  # a file of another model: valid, but foreign
    with pytest.raises(ModelError) as caught:
        load_any_model(target)
    message = str(caught.value)
    assert message == (
        f"model directory {target}: file {name} does not match its manifest; "
        "train it again or restore it"
    )


def test_a_manifest_naming_a_path_outside_the_directory_is_refused(two_models, tmp_path):
    _, _, old, _ = two_models
    target = shutil.copytree(old, tmp_path / "model")
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    meta[MANIFEST]["../old/estimator.npz"] = meta[MANIFEST]["estimator.npz"]
    (target / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match=r"file \.\./old/estimator\.npz does not match"):
        load_model(target)


@pytest.mark.parametrize("name", ["extra.pkl", "model.pickle", "sub/estimator.joblib"])
def test_pickle_files_in_a_linear_model_are_refused(two_models, tmp_path, name):
    _, _, old, _ = two_models
    target = shutil.copytree(old, tmp_path / "model")
    (target / name).parent.mkdir(exist_ok=True)
    (target / name).write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ModelError, match="pickle-capable files") as caught:
        load_any_model(target)
    assert "\n" not in str(caught.value) and name in str(caught.value)


def test_a_model_without_a_manifest_loads_with_one_warning(two_models, tmp_path):
    _, _, old, _ = two_models
    target = shutil.copytree(old, tmp_path / "model")
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    del meta[MANIFEST]
    (target / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model(target)
    messages = [str(w.message) for w in caught if issubclass(w.category, ModelFilesWarning)]
    assert len(messages) == 1 and "without a file manifest" in messages[0]


def test_the_shipped_default_model_has_a_manifest_that_matches() -> None:
    default = ROOT / "models" / "default"
    meta = json.loads((default / "meta.json").read_text(encoding="utf-8"))
    assert set(meta[MANIFEST]) == {"codebook.yaml", "estimator.npz", "vocabulary.json"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelFilesWarning)
        assert load_model(default).model_id == "default"


def test_the_cli_shows_a_load_warning_as_one_line(two_models, tmp_path):
    from typer.testing import CliRunner

    from autocoder.cli import app

    _, _, old, _ = two_models
    target = shutil.copytree(old, tmp_path / "model")
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    del meta[MANIFEST]
    (target / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    report = tmp_path / "r.txt"
    report.write_text("---\nrespondent: A\ngroup: B\n---\nWe werken goed samen.\n", "utf-8")
    args = ["classify", str(report), "--model", str(target), "--out", str(tmp_path / "o.jsonl")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "manifest" in line]
    assert lines == [
        f"warning: model directory {target}: saved without a file manifest (an older "
        "autocoder), so its files cannot be checked; train it again to add one"
    ]
