"""Quality figures for suggestions against gold codes. Pure functions over arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
ECE_BINS = 10


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by size."""
    if len(confidence) == 0:
        return float("nan")
    edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1]), 0, ECE_BINS - 1)
    total = 0.0
    for b in range(ECE_BINS):
        mask = bins == b
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def coverage_curve(confidence: np.ndarray, correct: np.ndarray) -> list[dict[str, float]]:
    """Accuracy of the suggestions at or above each threshold, and how many that leaves."""
    rows = []
    for threshold in THRESHOLDS:
        kept = confidence >= threshold
        rows.append(
            {
                "threshold": threshold,
                "coverage": float(kept.mean()) if len(kept) else 0.0,
                "accuracy": float(correct[kept].mean()) if kept.any() else float("nan"),
                "left_to_person": int((~kept).sum()),
            }
        )
    return rows


def _kappa(gold: Sequence[Any], predicted: Sequence[Any]) -> float:
    if len(set(gold) | set(predicted)) < 2:
        return float("nan")
    return float(cohen_kappa_score(gold, predicted))


def factor_metrics(gold: Sequence[str], probs: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    predicted_index = probs.argmax(axis=1)
    predicted = [labels[i] for i in predicted_index]
    confidence = probs[np.arange(len(gold)), predicted_index]
    correct = np.array([g == p for g, p in zip(gold, predicted, strict=True)])
    used = [label for label in labels if label in set(gold) | set(predicted)]
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=used, zero_division=0
    )
    return {
        "n": len(gold),
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(f1_score(gold, predicted, labels=used, average="macro", zero_division=0)),
        "kappa": _kappa(gold, predicted),
        "ece": expected_calibration_error(confidence, correct),
        "per_label": {
            label: {
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(s),
            }
            for label, p, r, f, s in zip(used, precision, recall, f1, support, strict=True)
        },
        "confusion": {
            "labels": used,
            "matrix": confusion_matrix(gold, predicted, labels=used).tolist(),
        },
        "coverage": coverage_curve(confidence, correct),
    }


def presence_metrics(gold: Sequence[int], p_present: np.ndarray) -> dict[str, Any]:
    """Presence head on fragments whose gold coding has a presence (1 present, 0 absent)."""
    if len(gold) == 0:
        return {"n": 0, "accuracy": float("nan"), "kappa": float("nan"), "ece": float("nan")}
    gold_arr = np.asarray(gold, dtype=int)
    predicted = (p_present >= 0.5).astype(int)
    confidence = np.maximum(p_present, 1 - p_present)
    return {
        "n": len(gold_arr),
        "accuracy": float((predicted == gold_arr).mean()),
        "kappa": _kappa(list(gold_arr), list(predicted)),
        "ece": expected_calibration_error(confidence, predicted == gold_arr),
    }


def suggestion_metrics(
    gold_factors: Sequence[str],
    gold_presences: Sequence[int | None],
    probs: np.ndarray,
    p_present: np.ndarray | None,
    labels: Sequence[str],
) -> dict[str, Any]:
    """Factor figures, presence figures and the joint (factor and presence right) accuracy."""
    result = {"factor": factor_metrics(gold_factors, probs, labels)}
    known = [i for i, p in enumerate(gold_presences) if p is not None]
    if p_present is None:
        result["presence"] = presence_metrics([], np.zeros(0))
        return result
    result["presence"] = presence_metrics([gold_presences[i] for i in known], p_present[known])
    predicted = probs.argmax(axis=1)
    joint = [
        labels[predicted[i]] == gold_factors[i]
        and (gold_presences[i] is None or int(p_present[i] >= 0.5) == gold_presences[i])
        for i in range(len(gold_factors))
    ]
    result["joint_accuracy"] = float(np.mean(joint)) if joint else float("nan")
    return result


def headline(metrics: dict[str, Any]) -> dict[str, float]:
    """The few numbers a table shows."""
    return {
        "macro_f1": metrics["factor"]["macro_f1"],
        "kappa": metrics["factor"]["kappa"],
        "accuracy": metrics["factor"]["accuracy"],
        "presence_accuracy": metrics["presence"]["accuracy"],
        "ece": metrics["factor"]["ece"],
    }
