"""A model saved with other library versions: refused across scikit-learn minor or any major
release, loaded with one warning across a numpy or scipy minor or patch release."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocoder.cli import app
from autocoder.errors import ModelError, ModelFilesWarning
from autocoder.model_versions import library_versions
from autocoder.transformer_dir import load_any_model

DEFAULT = Path(__file__).resolve().parents[2] / "models" / "default"
INSTALLED = library_versions()


def _bump(version: str, part: int) -> str:
    numbers = [int(n) for n in version.split("+")[0].split(".")[:3]]
    numbers += [0] * (3 - len(numbers))
    numbers[part] += 1
    return ".".join(str(n) for n in numbers)


def _doctored(tmp_path: Path, **versions: str) -> Path:
    target = shutil.copytree(DEFAULT, tmp_path / "model")
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    meta["versions"].update({name.replace("_", "-"): v for name, v in versions.items()})
    (target / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return target


def _load_warnings(target: Path) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_any_model(target)
    return [str(w.message) for w in caught if issubclass(w.category, ModelFilesWarning)]


@pytest.mark.parametrize(
    ("name", "saved"),
    [("scikit-learn", "1.2.0"), ("numpy", "1.21.0"), ("scipy", "0.19.1"), ("spacy", "2.3.0")],
)
def test_an_incompatible_library_version_is_refused_in_one_line(tmp_path, name, saved):
    target = _doctored(tmp_path, **{name: saved})
    with pytest.raises(ModelError) as caught:
        load_any_model(target)
    assert str(caught.value) == (
        f"model directory {target}: saved with {name} {saved}, this environment has "
        f"{INSTALLED[name]} (the {'major.minor' if name == 'scikit-learn' else 'major'} "
        f"version must match); train it again here, or install {name} {saved}"
    )


def test_a_scikit_learn_patch_release_only_warns(tmp_path):
    saved = _bump(INSTALLED["scikit-learn"], 2)
    messages = _load_warnings(_doctored(tmp_path, scikit_learn=saved))
    assert messages == [
        f"model directory {tmp_path / 'model'}: saved with scikit-learn {saved} "
        f"(now {INSTALLED['scikit-learn']}); suggestions may differ slightly from the "
        "model's measured figures"
    ]


def test_numpy_and_scipy_minor_releases_give_one_warning(tmp_path):
    numpy, scipy = _bump(INSTALLED["numpy"], 1), _bump(INSTALLED["scipy"], 2)
    messages = _load_warnings(_doctored(tmp_path, numpy=numpy, scipy=scipy))
    assert len(messages) == 1
    assert f"numpy {numpy} (now {INSTALLED['numpy']})" in messages[0]
    assert f"scipy {scipy} (now {INSTALLED['scipy']})" in messages[0]


def test_equal_versions_and_python_or_autocoder_differences_load_silently(tmp_path):
    assert _load_warnings(DEFAULT) == []
    assert _load_warnings(_doctored(tmp_path, python="3.99.0", autocoder="9.0.0")) == []


def test_the_cli_refuses_or_warns_in_one_line(tmp_path):
    report = tmp_path / "r.txt"
    report.write_text("We werken goed samen.\n", encoding="utf-8")
    refused = _doctored(tmp_path / "a", scikit_learn="1.2.0", numpy="1.21.0")
    out = str(tmp_path / "o.jsonl")
    result = CliRunner().invoke(
        app, ["classify", str(report), "--model", str(refused), "--out", out]
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: model directory {refused}: saved with numpy 1.21.0, this environment has "
        f"{INSTALLED['numpy']} (the major version must match); train it again here, or "
        "install numpy 1.21.0"
    ]
    warned = _doctored(tmp_path / "b", scipy=_bump(INSTALLED["scipy"], 1))
    result = CliRunner().invoke(
        app, ["classify", str(report), "--model", str(warned), "--out", out]
    )
    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if "saved with" in line] == [
        f"warning: model directory {warned}: saved with scipy {_bump(INSTALLED['scipy'], 1)} "
        f"(now {INSTALLED['scipy']}); suggestions may differ slightly from the model's "
        "measured figures"
    ]
