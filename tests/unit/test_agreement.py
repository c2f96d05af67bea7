"""Agreement statistics against published worked examples, the libraries, and properties.

Published values reproduced here:
- Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C: four observers,
  twelve units, nominal data with missing values: alpha = 0.743. The same data are Gwet's
  ``cac.raw4raters`` (irrCAC), for which Gwet reports AC1 = 0.7754 and Fleiss' (generalised)
  kappa = 0.7612, with percent agreement 0.8182.
- The textbook 2 x 2 Cohen example (50 items; yes/yes 20, yes/no 5, no/yes 10, no/no 15):
  p_o = 0.70, p_e = 0.50, kappa = 0.40.
- The Fleiss' kappa example of 10 subjects rated by 14 raters into 5 categories:
  P-bar = 0.378, P_e = 0.213, kappa = 0.210.
"""

from __future__ import annotations

import json

import krippendorff
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from autocoder.agreement import (
    MISSING,
    Stat,
    alpha_band,
    alpha_w,
    bootstrap,
    cohen_w,
    encode,
    measure,
    measure_agreement,
)
from autocoder.agreement_align import AlignCounts, Coded, align
from autocoder.records import Fragment
from autocoder.report_agreement import UnitRow

N = None
KRIPPENDORFF_C = [  # observers (rows) x units (columns)
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
FLEISS_TABLE = [  # subjects x categories: how many of the 14 raters chose each category
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def krippendorff_matrix() -> np.ndarray:
    return encode(list(zip(*KRIPPENDORFF_C, strict=True)), 4, [1, 2, 3, 4, 5])


def cohen_matrix() -> np.ndarray:
    rows = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    return encode(rows, 2, ["y", "n"])


def fleiss_matrix() -> np.ndarray:
    """Rater identity does not matter to Fleiss' kappa: hand the ratings out in order."""
    rows = [[c for c, n in enumerate(counts) for _ in range(n)] for counts in FLEISS_TABLE]
    return np.array(rows)


def fleiss_1971(table: list[list[int]]) -> tuple[float, float, float]:
    """Fleiss' formulas written out plainly (an independent check of the vectorised form)."""
    n_raters = sum(table[0])
    p_bar = sum(
        (sum(c * c for c in row) - n_raters) / (n_raters * (n_raters - 1)) for row in table
    ) / len(table)
    p_j = [sum(row[j] for row in table) / (len(table) * n_raters) for j in range(len(table[0]))]
    p_e = sum(p * p for p in p_j)
    return p_bar, p_e, (p_bar - p_e) / (1 - p_e)


# --- published values ------------------------------------------------------------------------


def test_krippendorff_nominal_example_alpha_0743() -> None:
    stats = measure(krippendorff_matrix(), 5)
    assert stats["alpha"].value == pytest.approx(0.743, abs=5e-4)
    assert stats["alpha"].n == 11  # unit 12 has one value only: not pairable
    reference = krippendorff.alpha(
        np.array(KRIPPENDORFF_C, dtype=float), level_of_measurement="nominal"
    )
    assert stats["alpha"].value == pytest.approx(reference, abs=1e-12)


def test_krippendorff_example_gwet_ac1_and_fleiss() -> None:
    stats = measure(krippendorff_matrix(), 5)
    assert stats["percent"].value == pytest.approx(0.8182, abs=5e-5)
    assert stats["ac1"].value == pytest.approx(0.7754, abs=5e-5)
    assert stats["fleiss"].value == pytest.approx(0.7612, abs=5e-5)


def test_cohen_textbook_table_kappa_040() -> None:
    matrix = cohen_matrix()
    stats = measure(matrix, 2)
    assert stats["percent"].value == pytest.approx(0.70)
    assert stats["cohen"].value == pytest.approx(0.40)
    assert "fleiss" not in stats
    assert cohen_w(matrix, 2)(np.ones((1, 50)))[0] == pytest.approx(0.40)
    assert cohen_kappa_score(matrix[:, 0], matrix[:, 1]) == pytest.approx(0.40)


def test_fleiss_example_kappa_0210() -> None:
    p_bar, p_e, kappa = fleiss_1971(FLEISS_TABLE)
    assert (round(p_bar, 3), round(p_e, 3), round(kappa, 3)) == (0.378, 0.213, 0.210)
    stats = measure(fleiss_matrix(), 5)
    assert stats["fleiss"].value == pytest.approx(kappa, abs=1e-12)
    assert stats["percent"].value == pytest.approx(p_bar, abs=1e-12)
    reference = krippendorff.alpha(fleiss_matrix().T.astype(float), level_of_measurement="nominal")
    assert stats["alpha"].value == pytest.approx(reference, abs=1e-12)


# --- the vectorised forms agree with the libraries ---------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_weighted_alpha_matches_krippendorff_with_missing(seed: int) -> None:
    rng = np.random.default_rng(seed)
    matrix = rng.integers(0, 4, size=(60, 3))
    matrix[rng.random(matrix.shape) < 0.25] = MISSING
    data = np.where(matrix.T >= 0, matrix.T, np.nan)
    expected = krippendorff.alpha(data, level_of_measurement="nominal", value_domain=range(4))
    assert alpha_w(matrix, 4)(np.ones((1, 60)))[0] == pytest.approx(expected, abs=1e-12)


def test_bootstrap_equals_resampling_units_one_by_one() -> None:
    """The weights are exactly "draw N units with replacement"; check against explicit draws."""
    matrix = krippendorff_matrix()
    n = len(matrix)
    samples = bootstrap([alpha_w(matrix, 5)], n, 7, seed=3)[0]
    rng = np.random.default_rng(3)
    picks = rng.integers(0, n, size=(7, n))
    for row, value in zip(picks, samples, strict=True):
        data = np.where(matrix[row].T >= 0, matrix[row].T, np.nan)
        try:
            expected = krippendorff.alpha(
                data, level_of_measurement="nominal", value_domain=range(5)
            )
        except ValueError:
            expected = np.nan
        assert value == pytest.approx(expected, abs=1e-12, nan_ok=True)


def test_bootstrap_interval_is_reproducible_and_holds_the_estimate() -> None:
    first = measure(cohen_matrix(), 2, n_boot=500, seed=5)["cohen"]
    again = measure(cohen_matrix(), 2, n_boot=500, seed=5)["cohen"]
    assert first == again
    assert first.ci is not None and first.ci[0] < first.value < first.ci[1]
    assert measure(cohen_matrix(), 2, n_boot=500, seed=6)["cohen"].ci != first.ci
    assert measure(cohen_matrix(), 2)["cohen"].ci is None


# --- undefined statistics ----------------------------------------------------------------------


def test_one_category_only_is_not_computable_but_ac1_is() -> None:
    stats = measure(encode([["a", "a"], ["a", "a"]], 2, ["a", "b"]), 2, n_boot=20)
    assert stats["alpha"] == Stat(None, stats["alpha"].reason, None, 2)
    assert "one category" in str(stats["cohen"].reason)
    assert stats["percent"].value == 1.0 and stats["ac1"].value == 1.0


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([["a"], ["b"]], "only one coder"),
        ([["a", None], [None, "b"]], "no unit was coded by two or more coders"),
        ([], "no unit was coded by two or more coders"),
    ],
)
def test_not_computable_reasons(rows: list[list[str | None]], reason: str) -> None:
    result = measure_agreement(rows, ["x", "y"][: len(rows[0]) if rows else 2], ["a", "b"])
    assert result.stats["alpha"].value is None
    assert result.stats["alpha"].reason == reason
    text = json.dumps(result.to_dict(), allow_nan=False)  # never NaN in output
    assert reason in text


def test_alpha_band_boundaries() -> None:
    assert alpha_band(0.8).startswith("reliable")
    assert alpha_band(0.7999).startswith("tentative")
    assert alpha_band(0.667).startswith("tentative")
    assert alpha_band(0.6669).startswith("not reliable")
    assert alpha_band(None) == "not computable"


# --- per code and presence ---------------------------------------------------------------------


def test_per_code_counts_and_binary_kappa() -> None:
    rows = [["a", "a"], ["a", "b"], ["b", "b"], ["none", "a"], ["none", "none"], ["b", None]]
    result = measure_agreement(rows, ["x", "y"], ["a", "b", "none"], no_code="none", n_boot=0)
    code_a = result.per_code[0]
    assert [c.code for c in result.per_code] == ["a", "b"]  # no row for "no factor"
    assert code_a.applied == (2, 2)
    assert (code_a.all_applied, code_a.some_applied) == (1, 2)
    assert code_a.percent_when_applied == pytest.approx(1 / 3)
    binary_x, binary_y = [1, 1, 0, 0, 0], [1, 0, 0, 1, 0]
    expected = cohen_kappa_score(binary_x, binary_y)
    assert code_a.stats["cohen"].value == pytest.approx(expected)


def test_presence_is_compared_where_all_coders_chose_the_same_code() -> None:
    rows = [["a", "a"], ["a", "a"], ["b", "b"], ["a", "b"], ["none", "none"]]
    presence = [
        ["present", "present"],
        ["absent", "present"],
        ["absent", "absent"],
        ["present", "present"],
        [None, None],
    ]
    result = measure_agreement(
        rows, ["x", "y"], ["a", "b", "none"], presence=presence, no_code="none", n_boot=0
    )
    assert result.presence["percent"].n == 3
    assert result.presence["percent"].value == pytest.approx(2 / 3)


def test_confusion_and_pairwise() -> None:
    rows = [["a", "b", "a"], ["b", "b", "b"], ["a", "a", None]]
    result = measure_agreement(rows, ["x", "y", "z"], ["a", "b"], n_boot=0)
    assert result.confusion == [[1, 1], [0, 1]]
    assert set(result.pairwise) == {("x", "y"), ("x", "z"), ("y", "z")}
    assert result.pairwise[("x", "z")]["percent"].value == 1.0


# --- properties --------------------------------------------------------------------------------

LABELS = ["a", "b", "c", "d"]
cells = st.one_of(st.none(), st.sampled_from(LABELS))


@st.composite
def rating_rows(draw: st.DrawFn) -> list[list[str | None]]:
    coders = draw(st.integers(2, 4))
    return draw(st.lists(st.lists(cells, min_size=coders, max_size=coders), min_size=1))


def _values(result: object) -> dict[str, tuple[float | None, object]]:
    return {name: (s.value, s.ci) for name, s in result.stats.items()}  # type: ignore[attr-defined]


def _close(left: dict, right: dict) -> None:
    assert left.keys() == right.keys()
    for name in left:
        (a, ci_a), (b, ci_b) = left[name], right[name]
        assert (a is None) == (b is None), name
        if a is not None:
            assert a == pytest.approx(b, abs=1e-9), name
        assert (ci_a is None) == (ci_b is None), name
        if ci_a is not None:
            assert ci_a == pytest.approx(ci_b, abs=1e-9), name


@settings(max_examples=60, deadline=None)
@given(
    truth=st.lists(st.sampled_from(LABELS), min_size=2, max_size=30),
    coders=st.integers(2, 4),
    gaps=st.data(),
)
def test_perfect_agreement_gives_one(truth: list[str], coders: int, gaps: st.DataObject) -> None:
    assume(len(set(truth)) > 1)
    rows = [[label] * coders for label in truth]
    for row in rows:  # drop codings but keep two per unit
        for index in gaps.draw(st.sets(st.integers(0, coders - 1), max_size=coders - 2)):
            row[index] = None
    result = measure_agreement(rows, [f"c{i}" for i in range(coders)], LABELS, n_boot=0)
    for name, stat in result.stats.items():
        assert stat.value == pytest.approx(1.0), name


@settings(max_examples=60, deadline=None)
@given(rows=rating_rows(), permutation=st.permutations(LABELS))
def test_consistent_relabelling_changes_nothing(
    rows: list[list[str | None]], permutation: list[str]
) -> None:
    rename = dict(zip(LABELS, [f"x{p}" for p in permutation], strict=True))
    renamed = [[None if v is None else rename[v] for v in row] for row in rows]
    coders = [f"c{i}" for i in range(len(rows[0]))]
    before = measure_agreement(rows, coders, LABELS, n_boot=30)
    after = measure_agreement(renamed, coders, sorted(rename.values()), n_boot=30)
    _close(_values(before), _values(after))


@settings(max_examples=60, deadline=None)
@given(rows=rating_rows(), data=st.data())
def test_swapping_coders_changes_nothing(rows: list[list[str | None]], data: st.DataObject) -> None:
    order = data.draw(st.permutations(range(len(rows[0]))))
    swapped = [[row[i] for i in order] for row in rows]
    coders = [f"c{i}" for i in range(len(rows[0]))]
    before = measure_agreement(rows, coders, LABELS, n_boot=30)
    after = measure_agreement(swapped, coders, LABELS, n_boot=30)
    _close(_values(before), _values(after))


# --- aligning different segmentations ----------------------------------------------------------


def _units(*spans: tuple[int, int]) -> list[Fragment]:
    return [Fragment(f"r:{s}-{e}", "r", s, e, "x" * (e - s)) for s, e in spans]


def _span(start: int, end: int, label: str = "a") -> Coded:
    return Coded(f"r:{start}-{end}", "r", start, end, None, label, None)


def test_align_maps_spans_one_to_one_split_within_and_outside() -> None:
    units = _units((0, 10), (11, 30), (31, 40), (50, 60))
    spans = [
        _span(0, 10),  # exactly one unit
        _span(11, 40, "b"),  # covers two units: split
        _span(52, 55, "c"),  # a phrase inside a unit: the unit it overlaps most
        _span(42, 48, "d"),  # between units (interviewer text): outside
    ]
    counts = AlignCounts()
    mapped = align(spans, units, counts)
    assert {i: c.label for i, c in mapped.items()} == {0: "a", 1: "b", 2: "b", 3: "c"}
    assert (counts.one_to_one, counts.split, counts.within, counts.outside) == (1, 1, 1, 1)


def test_align_needs_half_of_a_unit_and_counts_conflicts() -> None:
    units = _units((0, 20), (20, 40))
    counts = AlignCounts()
    mapped = align([_span(0, 29, "a"), _span(25, 40, "b")], units, counts)
    assert mapped[0].label == "a"  # 9 of unit 1's 20 characters: less than half
    assert mapped[1].label == "b"
    assert counts.conflicts == 0
    counts = AlignCounts()
    mapped = align([_span(0, 12, "a"), _span(8, 20, "b"), _span(0, 20, "a")], units, counts)
    assert mapped[0].label == "a" and counts.conflicts == 1  # largest overlap wins


def test_unit_row_differs_on_code_or_presence_among_coders_who_coded() -> None:
    row = UnitRow("u", "r", 0, 1, "t", None, ("a", "a", None), ("present", "present", None))
    assert not row.differs()
    assert UnitRow("u", "r", 0, 1, "t", None, ("a", "a"), ("present", "absent")).differs()
    assert UnitRow("u", "r", 0, 1, "t", None, ("a", "none"), (None, None)).differs()
