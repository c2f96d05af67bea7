"""The shipped default model (issue 4): reproducible from training_data, small, on target.

Retrains the default model with ``scripts/train_default.py --out TMP`` (same data, same seed)
and checks that its suggestions on the examples equal those of ``models/default``. When this
fails after a change to features, training or the corpus, rebuild the shipped model with
``python scripts/train_default.py`` (and check its figures).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from autocoder.modeldir import load_model
from autocoder.pipeline import segment_for_display

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "models" / "default"
EXAMPLES = ROOT / "examples"
MAX_BYTES = 25 * 1024 * 1024
TARGETS = {"macro_f1": 0.80, "kappa": 0.75}
PRESENCE_TARGET = 0.88


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def meta() -> dict:
    return json.loads((DEFAULT / "meta.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def retrained(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("retrained") / "default"
    assert load_script("train_default").main(["--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def example_fragments() -> list:
    results, summary = segment_for_display([EXAMPLES])
    assert not summary.failures, summary.failures
    fragments = [fragment for _, found in results for fragment in found]
    assert len(results) == 3 and len(fragments) > 30
    return fragments


def test_retraining_gives_identical_suggestions_on_the_examples(
    retrained: Path, example_fragments: list, meta: dict
) -> None:
    fresh = json.loads((retrained / "meta.json").read_text(encoding="utf-8"))
    assert fresh["data_hash"] == meta["data_hash"], "training_data changed: rebuild the model"
    assert fresh["codebook_hash"] == meta["codebook_hash"], "codebook changed: rebuild the model"
    shipped = load_model(DEFAULT).suggest(example_fragments)
    again = load_model(retrained).suggest(example_fragments)
    for fragment, old, new in zip(example_fragments, shipped, again, strict=True):
        assert (new.factor, new.presence, new.factor_probs) == (
            old.factor,
            old.presence,
            old.factor_probs,
        ), f"{fragment.id}: the retrained model differs; rebuild models/default"
    assert fresh["cv_metrics"] == meta["cv_metrics"]


def test_default_model_is_small() -> None:
    size = sum(path.stat().st_size for path in DEFAULT.rglob("*") if path.is_file())
    assert size < MAX_BYTES, f"models/default is {size / 1024**2:.1f} MB"


def test_cross_validated_figures_meet_the_targets(meta: dict, capsys) -> None:
    assert meta["cv_folds"] == 5
    factor = meta["cv_metrics"]["factor"]
    for name, target in TARGETS.items():
        assert factor[name] >= target, f"factor {name} {factor[name]:.3f} < {target}"
    presence = meta["cv_metrics"]["presence"]["accuracy"]
    if presence < PRESENCE_TARGET:  # reported, not asserted
        with capsys.disabled():
            print(
                f"\nmodels/default: presence accuracy {presence:.3f} "
                f"(5-fold grouped CV) is below the target {PRESENCE_TARGET}"
            )
