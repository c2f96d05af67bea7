"""Ranking the features that pushed a linear head towards a label (the reasons shown).

A contribution is a feature's value in a row times the head's weight for it; these functions
give the strongest positive ones, for one row or for every row of a matrix at once.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

TOP_CONTRIBUTIONS = 12


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
    rows = np.repeat(np.arange(n_rows), np.diff(matrix.indptr))
    columns = matrix.indices
    label = which[rows]
    values = matrix.data * weights[label, columns]
    keep = (label >= 0) & (values > 0)
    if skip is not None:
        keep &= (columns < skip[0]) | (columns >= skip[1])
    offsets, top_columns, _ = _top_k(rows[keep], columns[keep], values[keep], n_rows, k)
    return offsets, top_columns


def _top_k(
    rows: np.ndarray, columns: np.ndarray, values: np.ndarray, n_rows: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` largest values of each row, largest first, from entries sorted by row (and
    column within a row): offsets per row, their columns and values. Rows are ranked in
    groups of similar length, each as a dense grid sorted along its rows."""
    counts = np.bincount(rows, minlength=n_rows)
    starts = np.zeros(n_rows + 1, dtype=np.int64)
    starts[1:] = np.cumsum(counts)
    position = np.arange(len(rows)) - starts[rows]
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.minimum(counts, k))
    out_columns = np.empty(offsets[-1], dtype=np.int64)
    out_values = np.empty(offsets[-1])
    low, high = 0, max(k, 1)
    largest = int(counts.max()) if n_rows else 0
    while low < largest:
        group = np.flatnonzero((counts > low) & (counts <= high))
        if len(group):
            local = np.full(n_rows, -1, dtype=np.int64)
            local[group] = np.arange(len(group))
            member = local[rows] >= 0
            at = (local[rows[member]], position[member])
            grid = np.full((len(group), high), -np.inf)
            grid_columns = np.zeros((len(group), high), dtype=np.int64)
            grid[at] = values[member]
            grid_columns[at] = columns[member]
            order = np.argsort(-grid, axis=1, kind="stable")[:, :k]
            best = np.take_along_axis(grid, order, axis=1)
            taken = best > -np.inf
            slot = (offsets[group][:, None] + np.arange(order.shape[1]))[taken]
            out_values[slot] = best[taken]
            out_columns[slot] = np.take_along_axis(grid_columns, order, axis=1)[taken]
        low, high = high, high * 2
    return offsets, out_columns, out_values
