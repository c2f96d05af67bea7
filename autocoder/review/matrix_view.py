"""The matrix page's rows and the selected cell's evidence, from ``autocoder.matrix``."""

from __future__ import annotations

from typing import Any

from autocoder.matrix import Cell, Matrix, Verdict

# How strongly a cell is coloured by its (confirmed, else computed) verdict, 0..10.
VERDICT_STEP = {Verdict.PRESENT: 8, Verdict.PARTLY: 4, Verdict.ABSENT: 1}


def cell_class(code: str, cell: Cell) -> str:
    step = VERDICT_STEP.get(cell.final_verdict)
    return "m-empty" if step is None else f"m-{code}-{step}"


def matrix_context(matrix: Matrix, code: str | None, column: str | None) -> dict[str, Any]:
    rows = []
    for entry in matrix.codebook.codes:
        cells = [
            {
                "cell": cell,
                "css": cell_class(entry.id, cell),
                "selected": (cell.code, cell.column) == (code, column),
            }
            for cell in matrix.row(entry.id)
        ]
        rows.append({"code": entry, "cells": cells, "priority": matrix.priority_of(entry.id)})
    selected = None
    if code in matrix.codebook.ids and column in matrix.columns:
        assert code is not None and column is not None
        cell = matrix.cell(code, column)
        selected = {
            "cell": cell,
            "code": matrix.codebook.code(code),
            "evidence": [matrix.evidence[fid] for fid in cell.evidence],
        }
    return {"matrix": matrix, "rows": rows, "selected": selected}
