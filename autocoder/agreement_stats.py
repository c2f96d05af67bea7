"""Agreement statistics: pure functions over rating matrices (no I/O).

A rating matrix has one row per unit (fragment) and one column per coder; a cell holds the
index of that coder's category, or MISSING where the coder did not code the unit. Point
estimates of Cohen's kappa come from scikit-learn and of Krippendorff's alpha from
``krippendorff``; Fleiss' kappa (Gwet's form for missing ratings, equal to Fleiss 1971 on
complete data) and Gwet's AC1 (Gwet 2014, chapters 2 and 5) are computed here.

Every statistic is also written as weighted sums of per-unit columns, so the bootstrap
(resampling units with replacement) is one matrix product per batch of resamples for all
statistics at once. An undefined statistic is a ``Stat`` with value None and its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score

MISSING = -1
BOOT_BATCH = 100  # resamples per matrix product
BOOT_CELLS = 4_000_000  # at most this many unit weights in memory at once
MIN_FINITE_SHARE = 0.5  # an interval needs at least this share of computable resamples


@dataclass(frozen=True, slots=True)
class Stat:
    """One figure with its 95% bootstrap interval, or value None and why it is undefined."""

    value: float | None
    reason: str | None = None
    ci: tuple[float, float] | None = None
    n: int = 0  # units it was computed on

    def to_dict(self) -> dict[str, Any]:
        low, high = self.ci if self.ci else (None, None)
        return {
            "value": round6(self.value),
            "ci_low": round6(low),
            "ci_high": round6(high),
            "n": self.n,
            "reason": self.reason,
        }


def round6(value: float | None) -> float | None:
    """A figure for JSON: six decimals, or None."""
    return None if value is None else round(float(value), 6)


def encode(
    rows: Sequence[Sequence[object]], n_coders: int, categories: Sequence[object]
) -> np.ndarray:
    """Labels to category indices (MISSING for None), shape (units, coders)."""
    index = {label: i for i, label in enumerate(categories)}
    try:
        cells = [[MISSING if v is None else index[v] for v in row] for row in rows]
    except KeyError as exc:
        raise ValueError(f"label {exc.args[0]!r} is not one of the categories") from None
    return np.array(cells, dtype=np.int64).reshape(len(rows), n_coders)


def _div(num: np.ndarray, den: np.ndarray, fill: float = np.nan) -> np.ndarray:
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), fill)


def one_hot(values: np.ndarray, k: int) -> np.ndarray:
    return (values[..., None] == np.arange(k)) * 1.0


@dataclass(frozen=True)
class Weighted:
    """A statistic as ``finish(weights @ columns)``: weights (B, N) give B values at once."""

    columns: np.ndarray  # (N, c) per-unit parts
    finish: Callable[[np.ndarray], np.ndarray]  # weighted sums (B, c) -> statistic (B,)

    def __call__(self, weights: np.ndarray) -> np.ndarray:
        return self.finish(weights @ self.columns)


def _unit_parts(matrix: np.ndarray, k: int) -> np.ndarray:
    """Columns: agreeing-pair share, pairable, rated, then each category's share of codings."""
    counts = one_hot(matrix, k).sum(axis=1)
    raters = counts.sum(axis=1)
    agree = _div((counts * (counts - 1)).sum(axis=1), raters * (raters - 1), 0.0)
    shares = _div(counts, raters[:, None], 0.0)
    return np.column_stack([agree, raters >= 2, raters >= 1, shares])


def _chance_corrected(agreement: np.ndarray, chance: np.ndarray) -> np.ndarray:
    return _div(agreement - chance, np.where(chance < 1 - 1e-12, 1 - chance, 0.0))


def percent_w(matrix: np.ndarray, k: int) -> Weighted:
    return Weighted(_unit_parts(matrix, k)[:, :2], lambda s: _div(s[:, 0], s[:, 1]))


def fleiss_w(matrix: np.ndarray, k: int) -> Weighted:
    def finish(s: np.ndarray) -> np.ndarray:
        pi = _div(s[:, 3:], s[:, 2:3])
        return _chance_corrected(_div(s[:, 0], s[:, 1]), (pi**2).sum(axis=1))

    return Weighted(_unit_parts(matrix, k), finish)


def ac1_w(matrix: np.ndarray, k: int, q: int) -> Weighted:
    def finish(s: np.ndarray) -> np.ndarray:
        pi = _div(s[:, 3:], s[:, 2:3])
        return _chance_corrected(_div(s[:, 0], s[:, 1]), (pi * (1 - pi)).sum(axis=1) / (q - 1))

    return Weighted(_unit_parts(matrix, k), finish)


def alpha_w(matrix: np.ndarray, k: int) -> Weighted:
    """Nominal alpha from the coincidence matrix: 1 - (n-1)(n - sum o_cc) / (n^2 - sum n_c^2)."""
    counts = one_hot(matrix, k).sum(axis=1)
    values = counts * (counts.sum(axis=1, keepdims=True) >= 2)
    matches = _div((counts * (counts - 1)).sum(axis=1), values.sum(axis=1) - 1, 0.0)

    def finish(s: np.ndarray) -> np.ndarray:
        n_c = s[:, 1:]
        n = n_c.sum(axis=1)
        return 1 - _div((n - 1) * (n - s[:, 0]), n**2 - (n_c**2).sum(axis=1))

    return Weighted(np.column_stack([matches, values]), finish)


def cohen_w(matrix: np.ndarray, k: int) -> Weighted:
    a, b = matrix[:, 0], matrix[:, 1]
    both = ((a >= 0) & (b >= 0)) * 1.0
    columns = [
        both,
        both * (a == b),
        one_hot(a, k) * both[:, None],
        one_hot(b, k) * both[:, None],
    ]

    def finish(s: np.ndarray) -> np.ndarray:
        n = s[:, 0]
        chance = _div((s[:, 2 : 2 + k] * s[:, 2 + k :]).sum(axis=1), n**2)
        return _chance_corrected(_div(s[:, 1], n), chance)

    return Weighted(np.column_stack(columns), finish)


def bootstrap(stats: Sequence[Weighted], n_units: int, n_boot: int, seed: int) -> list[np.ndarray]:
    """Every statistic on the same ``n_boot`` resamples of the units."""
    rng = np.random.default_rng(seed)
    columns = np.column_stack([s.columns for s in stats]) if stats else np.zeros((n_units, 0))
    edges = np.cumsum([0] + [s.columns.shape[1] for s in stats])
    batches: list[list[np.ndarray]] = [[] for _ in stats]
    batch = max(1, min(BOOT_BATCH, BOOT_CELLS // max(n_units, 1)))
    for start in range(0, n_boot if n_units else 0, batch):
        size = min(batch, n_boot - start)
        picks = rng.integers(0, n_units, size=(size, n_units)) + n_units * np.arange(size)[:, None]
        weights = np.bincount(picks.ravel(), minlength=size * n_units).reshape(size, n_units)
        sums = weights.astype(float) @ columns
        for i, stat in enumerate(stats):
            batches[i].append(stat.finish(sums[:, edges[i] : edges[i + 1]]))
    return [np.concatenate(b) if b else np.zeros(0) for b in batches]


def interval(samples: np.ndarray) -> tuple[float, float] | None:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0 or finite.size < MIN_FINITE_SHARE * samples.size:
        return None
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def undefined_reason(matrix: np.ndarray, k: int) -> str | None:
    """Why no chance-corrected statistic exists for this matrix, or None."""
    if matrix.shape[1] < 2:
        return "only one coder"
    counts = one_hot(matrix, k).sum(axis=1)
    pairable = counts.sum(axis=1) >= 2
    if not pairable.any():
        return "no unit was coded by two or more coders"
    if np.count_nonzero(counts[pairable].sum(axis=0)) < 2:
        return "every coding falls in one category, so chance agreement is 1"
    return None


@dataclass(frozen=True)
class Entry:
    """A statistic to estimate: weighted form, library point estimate, or why it is undefined."""

    weighted: Weighted
    point: Callable[[], float] | None = None
    reason: str | None = None
    n: int = 0  # units the statistic uses


def _alpha_point(matrix: np.ndarray, k: int) -> float:
    data = np.where(matrix.T >= 0, matrix.T, np.nan).astype(float)
    return float(krippendorff.alpha(data, level_of_measurement="nominal", value_domain=range(k)))


def _cohen_point(matrix: np.ndarray) -> float:
    both = (matrix >= 0).all(axis=1)
    return float(cohen_kappa_score(matrix[both, 0], matrix[both, 1]))


def plan(matrix: np.ndarray, k: int) -> dict[str, Entry]:
    """percent, cohen (two coders) or fleiss (three or more), alpha and ac1 for one matrix
    whose scale has ``k`` categories (AC1's chance term counts all of them, used or not)."""
    coders = matrix.shape[1]
    reason = undefined_reason(matrix, k)
    counted = None if reason is None or reason.startswith("every") else reason
    n = int(((matrix >= 0).sum(axis=1) >= 2).sum())
    entries = {"percent": Entry(percent_w(matrix, k), None, counted, n)}
    if coders == 2:
        both = int((matrix >= 0).all(axis=1).sum())
        why = reason if both else "no unit was coded by both coders"
        entries["cohen"] = Entry(cohen_w(matrix, k), lambda: _cohen_point(matrix), why, both)
    else:
        entries["fleiss"] = Entry(fleiss_w(matrix, k), None, reason, n)
    entries["alpha"] = Entry(alpha_w(matrix, k), lambda: _alpha_point(matrix, k), reason, n)
    scale = "the scale has one category only" if k < 2 else None
    entries["ac1"] = Entry(ac1_w(matrix, k, max(k, 2)), None, counted or scale, n)
    return entries


def estimate(
    plans: dict[str, dict[str, Entry]], n_units: int, n_boot: int = 0, seed: int = 13
) -> dict[str, dict[str, Stat]]:
    """Point estimates and 95% intervals (one shared bootstrap) for several plans."""
    live = [
        (g, name) for g, entries in plans.items() for name, e in entries.items() if not e.reason
    ]
    samples = bootstrap([plans[g][name].weighted for g, name in live], n_units, n_boot, seed)
    boot = dict(zip(live, samples, strict=True))
    return {
        group: {
            name: _stat(entry, boot.get((group, name)), n_units) for name, entry in entries.items()
        }
        for group, entries in plans.items()
    }


def _stat(entry: Entry, samples: np.ndarray | None, n_units: int) -> Stat:
    if entry.reason is not None:
        return Stat(None, entry.reason, None, entry.n)
    value = entry.point() if entry.point else float(entry.weighted(np.ones((1, n_units)))[0])
    ci = interval(samples) if samples is not None and samples.size else None
    return Stat(value, None, ci, entry.n)


def measure(matrix: np.ndarray, k: int, *, n_boot: int = 0, seed: int = 13) -> dict[str, Stat]:
    """All statistics of ``plan`` for one matrix."""
    return estimate({"": plan(matrix, k)}, len(matrix), n_boot, seed)[""]
