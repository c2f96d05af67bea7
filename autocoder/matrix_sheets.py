"""The matrix as spreadsheets: csv text and an xlsx workbook in the codebook's colours.

Every text from the data is neutralised against formula injection (csv) or stored as a plain
string (xlsx); ``cell_summary`` is also the one-line form the command line prints.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from autocoder.matrix import Cell, Matrix, ink, shade

CSV_FIELDS = (
    "code",
    "code_name",
    "column",
    "final_verdict",
    "verdict",
    "confirmed_verdict",
    "share_present",
    "n_present",
    "n_absent",
    "n_respondents",
    "thin_evidence",
    "n_confirmed",
    "n_unconfirmed",
    "priority_rank",
    "priority_level",
    "evidence",
)


def cell_rows(matrix: Matrix) -> list[dict[str, Any]]:
    """One flat row per cell (csv and the xlsx "Cells" sheet)."""
    names = {code.id: code.name for code in matrix.codebook.codes}
    rows = []
    for cell in matrix.cells:
        entry = matrix.priority_of(cell.code)
        rows.append(
            {
                "code": cell.code,
                "code_name": names[cell.code],
                "column": cell.column,
                "final_verdict": cell.final_verdict.value,
                "verdict": cell.verdict.value,
                "confirmed_verdict": cell.confirmed_verdict or "",
                "share_present": "" if cell.share_present is None else cell.share_present,
                "n_present": cell.n_present,
                "n_absent": cell.n_absent,
                "n_respondents": cell.n_respondents,
                "thin_evidence": cell.thin_evidence,
                "n_confirmed": cell.n_confirmed,
                "n_unconfirmed": cell.n_unconfirmed,
                "priority_rank": entry.rank,
                "priority_level": entry.level,
                "evidence": " ".join(cell.evidence),
            }
        )
    return rows


def safe_text(value: Any) -> Any:
    """Neutralise spreadsheet formulas in untrusted text (csv/xlsx injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_text(matrix: Matrix) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in cell_rows(matrix):
        writer.writerow({key: safe_text(value) for key, value in row.items()})
    return buffer.getvalue()


def cell_summary(cell: Cell) -> str:
    """A cell in one line: final verdict, confirmation, share and counts, flags."""
    parts = [cell.final_verdict.value]
    if cell.confirmed is not None:
        parts.append(f"(confirmed; computed: {cell.verdict.value})")
    if cell.n:
        parts.append(f"{cell.share_present:.2f} ({cell.n_present}/{cell.n})")
    if cell.thin_evidence:
        parts.append("thin evidence")
    if cell.unconfirmed:
        parts.append(f"{cell.n_unconfirmed} unconfirmed")
    return " ".join(parts)


def _put(sheet: Any, row: int, column: int, value: Any) -> Any:
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text
    return cell


def xlsx_bytes(matrix: Matrix) -> bytes:
    """A workbook: the matrix in the codebook's colours, every cell as a row, priority."""
    from openpyxl import Workbook

    book = Workbook()
    _matrix_sheet(book.active, matrix)
    cells = book.create_sheet("Cells")
    for column, name in enumerate(CSV_FIELDS, start=1):
        _put(cells, 1, column, name).font = _bold()
    for row, values in enumerate(cell_rows(matrix), start=2):
        for column, name in enumerate(CSV_FIELDS, start=1):
            _put(cells, row, column, values[name])
    _priority_sheet(book.create_sheet("Priority"), matrix)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _bold() -> Any:
    from openpyxl.styles import Font

    return Font(bold=True)


def _fill(colour: str) -> Any:
    from openpyxl.styles import PatternFill

    argb = _argb(colour)
    return PatternFill("solid", start_color=argb, end_color=argb)


def _argb(colour: str) -> str:
    return "FF" + colour.lstrip("#").upper()


def _matrix_sheet(sheet: Any, matrix: Matrix) -> None:
    from openpyxl.styles import Alignment, Font

    sheet.title = "Matrix"
    _put(sheet, 1, 1, f"{matrix.codebook.name} by {matrix.by.value}").font = _bold()
    headers = ["code", *matrix.columns, "priority"]
    for column, name in enumerate(headers, start=1):
        _put(sheet, 3, column, name).font = _bold()
    for row, code in enumerate(matrix.codebook.codes, start=4):
        label = _put(sheet, row, 1, code.name)
        label.fill, label.font = _fill(code.colour), Font(bold=True, color=_argb(ink(code.colour)))
        for column, name in enumerate(matrix.columns, start=2):
            cell = matrix.cell(code.id, name)
            target = _put(sheet, row, column, cell_summary(cell))
            background = shade(code.colour, cell.share_present)
            target.fill, target.font = _fill(background), Font(color=_argb(ink(background)))
            target.alignment = Alignment(wrap_text=True, vertical="top")
        entry = matrix.priority_of(code.id)
        _put(sheet, row, len(headers), entry.label)
    sheet.column_dimensions["A"].width = 40
    for column in range(2, len(headers) + 1):
        sheet.column_dimensions[sheet.cell(row=3, column=column).column_letter].width = 24
    sheet.freeze_panes = "B4"


def _priority_sheet(sheet: Any, matrix: Matrix) -> None:
    headers = ("code", "name", "n_respondents", "share", "rank", "level", "fragments")
    for column, name in enumerate(headers, start=1):
        _put(sheet, 1, column, name).font = _bold()
    names = {code.id: code.name for code in matrix.codebook.codes}
    for row, entry in enumerate(matrix.priority, start=2):
        values = (entry.code, names[entry.code], entry.n_respondents, entry.share, entry.rank)
        for column, value in enumerate((*values, entry.level, " ".join(entry.fragments)), 1):
            _put(sheet, row, column, value)
