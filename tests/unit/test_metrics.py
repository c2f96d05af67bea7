import numpy as np
import pytest

from autocoder.metrics import (
    coverage_curve,
    expected_calibration_error,
    factor_metrics,
    presence_metrics,
)


def test_ece_is_zero_when_confidence_matches_accuracy():
    confidence = np.array([0.75] * 4 + [0.25] * 4)
    correct = np.array([1, 1, 1, 0, 1, 0, 0, 0], dtype=bool)
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.0)


def test_ece_of_overconfident_predictions():
    confidence = np.full(10, 0.95)
    correct = np.array([1] * 5 + [0] * 5, dtype=bool)
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.45)


def test_coverage_curve_counts_what_is_left_to_a_person():
    confidence = np.array([0.2, 0.55, 0.65, 0.95])
    correct = np.array([False, True, False, True])
    rows = {row["threshold"]: row for row in coverage_curve(confidence, correct)}
    assert rows[0.0]["coverage"] == 1.0
    assert rows[0.6]["left_to_person"] == 2
    assert rows[0.6]["accuracy"] == pytest.approx(0.5)
    assert rows[0.9]["accuracy"] == 1.0


def test_factor_metrics_on_a_known_confusion():
    labels = ("a", "b", "none")
    gold = ["a", "a", "b", "none"]
    probs = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    metrics = factor_metrics(gold, probs, labels)
    assert metrics["accuracy"] == 0.75
    assert metrics["per_label"]["a"]["recall"] == 0.5
    assert metrics["per_label"]["b"]["precision"] == 0.5
    assert metrics["confusion"]["matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]


def test_presence_metrics_without_data_and_with_one_class():
    assert presence_metrics([], np.zeros(0))["n"] == 0
    result = presence_metrics([1, 1], np.array([0.9, 0.8]))
    assert result["accuracy"] == 1.0
    assert np.isnan(result["kappa"])
