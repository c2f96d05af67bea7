"""Ranking the features that pushed a linear head towards a label (the reasons shown).

A contribution is a feature's value in a row times the head's weight for it; these functions
give the strongest positive ones, for one row or for every row of a matrix at once.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from autocoder.segment_arrays import ranges

TOP_CONTRIBUTIONS = 12
FIRST_GROUP = 64  # entries per row of the first group _top_k ranks (most rows have fewer)


def top_contributions(
    matrix: sparse.csr_matrix,
    row: int,
    weights: np.ndarray,
    names: np.ndarray,
    skip: tuple[int, int] | None = None,
) -> list[tuple[str, float]]:
    """One row's positive contributions as (name, value), largest first (at most
    TOP_CONTRIBUTIONS; columns in the ``skip`` range left out)."""
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    columns, data = matrix.indices[start:end], matrix.data[start:end]
    if skip is not None:
        shown = (columns < skip[0]) | (columns >= skip[1])
        columns, data = columns[shown], data[shown]
    values = data * weights[columns]
    order = np.argsort(-values, kind="stable")
    return [
        (str(names[columns[i]]), float(values[i]))
        for i in order[:TOP_CONTRIBUTIONS]
        if values[i] > 0
    ]


def top_columns_per_row(
    matrix: sparse.csr_matrix,
    weights: np.ndarray,
    which: np.ndarray,
    k: int,
    skip: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the columns of its ``k`` largest positive contributions, largest first.

    A contribution is ``matrix[row, column] * weights[which[row], column]``; rows whose
    ``which`` is -1 get none, and so do columns in the ``skip`` range. Ties go to the lower
    column (as a stable sort of each row). Returns offsets (row i's columns are
    ``columns[offsets[i]:offsets[i + 1]]``) and the columns.
    """
    n_rows = matrix.shape[0]
    counts = np.diff(matrix.indptr)
    label = np.repeat(which, counts)
    # flat positions into the weights (a row of -1 reads the last row: dropped below)
    values = weights.take(label * weights.shape[1] + matrix.indices)
    values *= matrix.data
    keep = values > 0
    keep &= label >= 0
    if skip is not None:
        keep &= (matrix.indices < skip[0]) | (matrix.indices >= skip[1])
    kept = np.flatnonzero(keep)
    rows = np.repeat(np.arange(n_rows), counts)[kept]
    offsets, top_columns, _ = _top_k(rows, matrix.indices[kept], values[kept], n_rows, k)
    return offsets, top_columns


def _top_k(
    rows: np.ndarray, columns: np.ndarray, values: np.ndarray, n_rows: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` largest values of each row, largest first, from entries sorted by row (and
    column within a row): offsets per row, their columns and values. Rows are ranked in
    groups of similar length (most in the first), each as a dense grid sorted along its
    rows."""
    counts = np.bincount(rows, minlength=n_rows)
    starts = np.zeros(n_rows + 1, dtype=np.int64)
    starts[1:] = np.cumsum(counts)
    taken = np.minimum(counts, k)
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(taken)
    picked = np.empty(offsets[-1], dtype=np.int64)  # entries, in the order returned
    low, high = 0, max(k, FIRST_GROUP)
    largest = int(counts.max()) if n_rows else 0
    while low < largest:
        group = np.flatnonzero((counts > low) & (counts <= high))
        if len(group):
            picked[ranges(offsets[group], taken[group])] = _largest_first(
                values, starts[group], counts[group], taken[group], high
            )
        low, high = high, high * 2
    return offsets, columns[picked], values[picked]


def _largest_first(
    values: np.ndarray, starts: np.ndarray, counts: np.ndarray, taken: np.ndarray, width: int
) -> np.ndarray:
    """For rows of at most ``width`` entries (``values[start:start + count]``): the entries
    of each row's ``taken`` largest values, largest first (ties: the earlier entry)."""
    grid = np.full((len(starts), width), -np.inf)
    at = ranges(starts, counts)
    grid[np.repeat(np.arange(len(starts)), counts), at - np.repeat(starts, counts)] = values[at]
    order = np.argsort(-grid, axis=1, kind="stable")[:, : int(taken.max())]
    wanted = np.arange(order.shape[1]) < taken[:, None]
    return (starts[:, None] + order)[wanted]
