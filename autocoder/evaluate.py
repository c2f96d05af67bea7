"""Evaluate a model on gold fragments, or a training set by grouped cross-validation."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autocoder.classify.model import SuggestionModel
from autocoder.codebook import Codebook
from autocoder.errors import RecordError, TrainingError
from autocoder.files import atomic_write_bytes
from autocoder.metrics import suggestion_metrics
from autocoder.records import NO_FACTOR_KEY, FragmentRecord
from autocoder.train import cross_validate, load_training_records, training_set


@dataclass
class Evaluation:
    """Metrics plus what they were computed on."""

    source: str
    metrics: dict[str, Any]
    codebook_id: str
    skipped: list[RecordError] = field(default_factory=list)
    confusion_png: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "codebook": self.codebook_id,
            "skipped_lines": [str(e) for e in self.skipped],
            "confusion_png": str(self.confusion_png) if self.confusion_png else None,
            **self.metrics,
        }


def model_predictions(
    model: SuggestionModel, records: Sequence[FragmentRecord]
) -> tuple[np.ndarray, np.ndarray | None]:
    docs = model.docs([r.fragment for r in records])
    return model.suggester.predict_proba(model.suggester.transform(docs))


def evaluate_model(gold: Path, model: SuggestionModel, *, skip_invalid: bool = False) -> Evaluation:
    """Compare a model's suggestions with a person's codes in a fragment-record file."""
    loaded = load_training_records([gold], model.codebook, skip_invalid=skip_invalid)
    if not loaded.records:
        raise TrainingError(f"{gold}: no coded fragments (records need a 'factor' field)")
    data = training_set(loaded.records)
    probs, present = model_predictions(model, loaded.records)
    labels = (*model.codebook.ids, NO_FACTOR_KEY)
    metrics = suggestion_metrics(data.factors, data.presences, probs, present, labels)
    return Evaluation(str(gold), metrics, model.codebook.id, loaded.skipped)


def evaluate_cv(
    paths: Sequence[Path], codebook: Codebook, folds: int = 5, *, skip_invalid: bool = False
) -> Evaluation:
    """Grouped k-fold cross-validation: no report is in both train and test."""
    loaded = load_training_records(paths, codebook, skip_invalid=skip_invalid)
    data = training_set(loaded.records)
    metrics = cross_validate(data, codebook, folds)
    metrics["folds"] = folds
    source = ", ".join(map(str, paths))
    return Evaluation(f"{folds}-fold grouped CV on {source}", metrics, codebook.id, loaded.skipped)


def confusion_png(metrics: dict[str, Any], path: Path, title: str = "Confusion matrix") -> Path:
    """Draw the factor confusion matrix (rows gold, columns suggested) as a PNG."""
    plt = agg_pyplot()
    labels = metrics["factor"]["confusion"]["labels"]
    matrix = np.asarray(metrics["factor"]["confusion"]["matrix"])
    size = 1.0 + 0.6 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 2, size + 1))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("suggested")
    ax.set_ylabel("gold")
    ax.set_title(title)
    peak = matrix.max() if matrix.size else 0
    for (i, j), value in np.ndenumerate(matrix):
        colour = "white" if value > peak / 2 else "black"
        ax.text(j, i, str(value), ha="center", va="center", fontsize=7, color=colour)
    fig.tight_layout()
    return save_png(fig, path)


def agg_pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: Path) -> Path:
    """Write a pyplot figure to ``path`` as a PNG (atomically) and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    agg_pyplot().close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return path
