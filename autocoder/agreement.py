"""Agreement between coders: every figure for one rating matrix, overall and per code. Pure.

The statistics themselves (percent agreement, Cohen's and Fleiss' kappa, Krippendorff's alpha,
Gwet's AC1, and their shared bootstrap) are in ``agreement_stats``; this module applies them
to the whole scale, to each code as applied / not applied, to presence on units where all
coders chose the same code, and to each pair of coders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autocoder.agreement_stats import (
    MISSING,
    Entry,
    Stat,
    alpha_w,
    bootstrap,
    cohen_w,
    encode,
    estimate,
    measure,
    one_hot,
    plan,
    round6,
)

ALPHA_RELIABLE = 0.800
ALPHA_TENTATIVE = 0.667


def alpha_band(value: float | None) -> str:
    """Krippendorff's reading of alpha for drawing conclusions from coded data."""
    if value is None:
        return "not computable"
    if value >= ALPHA_RELIABLE:
        return "reliable (alpha >= 0.800)"
    if value >= ALPHA_TENTATIVE:
        return "tentative conclusions only (0.667 <= alpha < 0.800)"
    return "not reliable (alpha < 0.667)"


@dataclass(frozen=True)
class CodeAgreement:
    """One code as applied / not applied, the way QDA packages report per code."""

    code: str
    applied: tuple[int, ...]  # per coder: units where that coder applied the code
    all_applied: int  # pairable units where every coder applied it
    some_applied: int  # pairable units where some but not all did: the disagreements
    stats: dict[str, Stat]

    @property
    def percent_when_applied(self) -> float | None:
        """Agreement on the units where any coder applied the code (QDA packages' figure)."""
        total = self.all_applied + self.some_applied
        return self.all_applied / total if total else None

    def to_dict(self, coders: Sequence[str]) -> dict[str, Any]:
        return {
            "code": self.code,
            "applied": dict(zip(coders, self.applied, strict=True)),
            "all_applied": self.all_applied,
            "some_applied": self.some_applied,
            "percent_when_applied": round6(self.percent_when_applied),
            **_dicts(self.stats),
        }


def _dicts(stats: dict[str, Stat]) -> dict[str, dict[str, Any]]:
    return {name: stat.to_dict() for name, stat in stats.items()}


def _code_counts(matrix: np.ndarray, code: int) -> tuple[tuple[int, ...], int, int]:
    coded = (matrix >= 0).sum(axis=1)
    hits = (matrix == code).sum(axis=1)
    pairable = coded >= 2
    every = int((pairable & (hits == coded)).sum())
    some = int((pairable & (hits > 0) & (hits < coded)).sum())
    return tuple(int(v) for v in (matrix == code).sum(axis=0)), every, some


def _code_plan(matrix: np.ndarray, code: int) -> dict[str, Entry]:
    binary = np.where(matrix < 0, MISSING, (matrix == code) * 1)
    entries = plan(binary, 2)
    if not (matrix == code).any():
        why = "no coder applied this code"
        return {name: Entry(e.weighted, None, why, e.n) for name, e in entries.items()}
    return entries


def same_code_units(matrix: np.ndarray, k: int, skip: int | None) -> np.ndarray:
    """Units with two or more codings that all chose the same category (other than ``skip``)."""
    counts = one_hot(matrix, k).sum(axis=1)
    same = (counts.sum(axis=1) >= 2) & (counts.max(axis=1) == counts.sum(axis=1))
    return same & (counts.argmax(axis=1) != skip) if skip is not None else same


def confusion(matrix: np.ndarray, k: int) -> list[list[int]]:
    """Counts of (first coder's category, second coder's category) on units both coded."""
    table = np.zeros((k, k), dtype=int)
    if matrix.shape[1] >= 2:
        both = (matrix[:, :2] >= 0).all(axis=1)
        np.add.at(table, (matrix[both, 0], matrix[both, 1]), 1)
    return table.tolist()


@dataclass(frozen=True)
class Agreement:
    """Every figure for one rating matrix; ``confusion`` is between the first two coders."""

    coders: tuple[str, ...]
    categories: tuple[str, ...]
    n_units: int
    stats: dict[str, Stat]
    per_code: tuple[CodeAgreement, ...]
    presence: dict[str, Stat]  # on units where all coders chose the same code
    pairwise: dict[tuple[str, str], dict[str, Stat]]  # three or more coders
    confusion: list[list[int]]
    n_boot: int = 0
    seed: int = 13

    @property
    def band(self) -> str:
        return alpha_band(self.stats["alpha"].value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "coders": list(self.coders),
            "categories": list(self.categories),
            "units": self.n_units,
            "bootstrap": {"resamples": self.n_boot, "seed": self.seed, "level": 0.95},
            "overall": _dicts(self.stats),
            "alpha_band": self.band,
            "per_code": [code.to_dict(self.coders) for code in self.per_code],
            "presence_on_same_code": _dicts(self.presence),
            "pairwise": [{"coders": list(p), **_dicts(s)} for p, s in self.pairwise.items()],
            "confusion": {"coders": list(self.coders[:2]), "matrix": self.confusion},
        }


def measure_agreement(
    labels: Sequence[Sequence[str | None]],
    coders: Sequence[str],
    categories: Sequence[str],
    *,
    presence: Sequence[Sequence[str | None]] | None = None,
    no_code: str | None = None,
    n_boot: int = 1000,
    seed: int = 13,
) -> Agreement:
    """All figures for ``labels`` (units x coders; None where a coder did not code a unit).

    ``categories`` is the whole scale (the codebook's codes and ``no_code``, which gets no
    per-code row); ``presence`` holds each coding's "present"/"absent" (or None) and is
    compared on units where all coders chose the same code.
    """
    matrix = encode(labels, len(coders), categories)
    k = len(categories)
    codes = [(i, label) for i, label in enumerate(categories) if label != no_code]
    skip = list(categories).index(no_code) if no_code in categories else None
    plans = {"overall": plan(matrix, k), "presence": _presence_plan(matrix, k, presence, skip)}
    plans.update({f"code {i}": _code_plan(matrix, i) for i, _ in codes})
    stats = estimate(plans, len(matrix), n_boot, seed)
    pairs = [(i, j) for i in range(len(coders)) for j in range(i + 1, len(coders))]
    pairs = pairs if len(coders) > 2 else []  # with two coders the pair is the overall figure
    pairwise = {(coders[i], coders[j]): measure(matrix[:, [i, j]], k) for i, j in pairs}
    return Agreement(
        coders=tuple(coders),
        categories=tuple(categories),
        n_units=len(matrix),
        stats=stats["overall"],
        per_code=tuple(
            CodeAgreement(label, *_code_counts(matrix, i), stats[f"code {i}"]) for i, label in codes
        ),
        presence=stats["presence"],
        pairwise=pairwise,
        confusion=confusion(matrix, k),
        n_boot=n_boot,
        seed=seed,
    )


def _presence_plan(
    matrix: np.ndarray,
    k: int,
    presence: Sequence[Sequence[str | None]] | None,
    skip: int | None,
) -> dict[str, Entry]:
    rows = presence if presence is not None else [[None] * matrix.shape[1]] * len(matrix)
    values = encode(rows, matrix.shape[1], ("present", "absent"))
    values[~same_code_units(matrix, k, skip)] = MISSING
    return plan(values, 2)


__all__ = [  # the statistics are agreement_stats'; importable here too
    "MISSING",
    "Agreement",
    "CodeAgreement",
    "Stat",
    "alpha_band",
    "alpha_w",
    "bootstrap",
    "cohen_w",
    "confusion",
    "encode",
    "measure",
    "measure_agreement",
    "same_code_units",
]
