"""Export a project's fragment records as JSONL, CSV or XLSX (for analysis or review).

The XLSX is a reviewer's sheet: one sheet per report (plus a ``codes`` sheet), the suggested
and chosen factors filled in the code's colour, and columns a coder fills in (with drop-down
lists): ``factor`` (a code id or name, ``none`` for no factor, ``ok`` to accept the suggestion,
``reject`` to reject it), ``presence``, ``priority``, ``note``; ``project_import`` reads them
back. It holds one coder's codes (``coder``) or nobody's, and its first row says which.
JSONL and CSV hold ``coder``'s codes, or every coder's latest. Text cells are always written
as text (never as spreadsheet formulas).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from autocoder.codebook import Codebook
from autocoder.errors import AutocoderError
from autocoder.files import atomic_write_bytes, atomic_write_text
from autocoder.jsonl import write_records
from autocoder.records import FRAGMENT_KEYS, FragmentRecord, fragment_to_dict
from autocoder.store import Project

FORMATS = ("jsonl", "csv", "xlsx")
CSV_COLUMNS = (
    *FRAGMENT_KEYS,
    "suggested_factor",
    "suggested_presence",
    "confidence",
    "factor",
    "presence",
    "priority",
    "note",
    "coder",
    "status",
    "seq",
)
SHEET_COLUMNS = (
    ("fragment", 30),
    ("question", 9),
    ("speaker", 12),
    ("text", 80),
    ("suggested_factor", 22),
    ("suggested_presence", 12),
    ("confidence", 11),
    ("factor", 22),
    ("presence", 11),
    ("priority", 9),
    ("note", 30),
    ("coder", 12),
    ("seq", 8),
)
HEADER_ROW = 2  # of a report sheet; the first row says whose codes the sheet holds
CODES_FIRST_ROW = 4  # of the codes sheet: the first code
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BAD_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})


@dataclass
class ExportSummary:
    path: Path
    format: str
    records: int
    reports: int
    holds: str = ""  # whose codes the file holds, in words


def export_project(
    project_path: Path, fmt: str, out: Path, coder: str | None = None
) -> ExportSummary:
    """Fragment records of the latest report versions with suggestions and codings."""
    if fmt not in FORMATS:
        raise AutocoderError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    with Project.open(project_path, create=False) as project:
        records = project.coded_fragments(coder, include_suggestions=True)
        notes = {(d.fragment_id, d.coder): d.note for d in project.current_decisions(coder)}
        reports = project.reports()
        codebook = project.project_codebook()
    records = [_with_note(record, notes) for record in records]
    if fmt == "xlsx" and coder is None:  # a sheet for a new reviewer: nobody's codes
        records = [replace(record, coding=None, extra={}) for record in records]
    holds = holder(coder, fmt)
    if fmt == "jsonl":
        write_records(out, records)
    elif fmt == "csv":
        atomic_write_text(out, _csv_text(records))
    else:
        atomic_write_bytes(out, _xlsx_bytes(records, reports, codebook, sheet_title(coder)))
    return ExportSummary(Path(out), fmt, len(records), len({r["id"] for r in reports}), holds)


def holder(coder: str | None, fmt: str) -> str:
    """Whose codes an export holds, in words."""
    if coder is not None:
        return f"the codes of {coder}"
    return "no codes (a sheet for any coder)" if fmt == "xlsx" else "every coder's latest codes"


def sheet_title(coder: str | None) -> str:
    """The first row of every report sheet: whose codes it holds, and how to import it."""
    if coder is None:
        return (
            "Nobody's codes are filled in: fill in factor (presence, priority, note) and "
            "import with: autocoder import-codings FILE --project PROJECT --coder YOUR_NAME"
        )
    return (
        f"The codes of {coder}: change or add them and import with: autocoder import-codings "
        f"FILE --project PROJECT --coder {coder}"
    )


def _with_note(record: FragmentRecord, notes: dict[tuple[str, str], str]) -> FragmentRecord:
    note = notes.get((record.fragment.id, record.extra.get("coder") or ""), "")
    return replace(record, extra={**record.extra, "note": note})


def _flat(record: FragmentRecord) -> dict[str, Any]:
    fragment, coding, suggestion = record.fragment, record.coding, record.suggestion
    return {
        **fragment_to_dict(fragment),
        "fragment": fragment.id,
        "suggested_factor": _label(suggestion.factor) if suggestion else None,
        "suggested_presence": _value(suggestion.presence) if suggestion else None,
        "confidence": suggestion.confidence if suggestion else None,
        "factor": _coded_factor(record),
        "presence": _value(coding.presence) if coding else None,
        "priority": coding.priority if coding else None,
        "note": record.extra.get("note", ""),
        "coder": record.extra.get("coder"),
        "status": record.extra.get("status"),
        "seq": record.extra.get("seq"),
    }


def _coded_factor(record: FragmentRecord) -> str | None:
    if record.coding is not None:
        return _label(record.coding.factor)
    return "reject" if record.extra.get("status") == "rejected" else None


def _label(factor: str | None) -> str:
    return "none" if factor is None else factor


def _value(presence: Any) -> str | None:
    return None if presence is None else str(presence.value)


def safe_text(value: Any) -> Any:
    """Keep a spreadsheet from reading untrusted text as a formula (CSV)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv_text(records: list[FragmentRecord]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: safe_text(v) for k, v in _flat(record).items()})
    return buffer.getvalue()


# --- xlsx ---------------------------------------------------------------------------------------


def sheet_names(sources: list[str]) -> list[str]:
    """Valid, unique (ignoring case) sheet names of at most 31 characters."""
    taken = {"codes"}
    names = []
    for source in sources:
        base = Path(source).stem.translate(BAD_SHEET_CHARS).strip("' ")[:31] or "report"
        name, number = base, 1
        while name.lower() in taken:
            number += 1
            suffix = f"~{number}"
            name = base[: 31 - len(suffix)] + suffix
        taken.add(name.lower())
        names.append(name)
    return names


def light(colour: str, share: float = 0.35) -> str:
    """The colour mixed with white (``share`` of the colour), as RRGGBB."""
    channels = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "".join(f"{round(255 - (255 - c) * share):02X}" for c in channels)


def _xlsx_bytes(
    records: list[FragmentRecord],
    reports: list[dict[str, Any]],
    codebook: Codebook | None,
    title: str,
) -> bytes:
    from openpyxl import Workbook

    fills = _fills(codebook)
    book = Workbook(write_only=True)
    choices = _codes_sheet(book, codebook, fills, title)
    by_report: dict[str, list[FragmentRecord]] = {}
    for record in records:
        by_report.setdefault(record.fragment.report, []).append(record)
    unique = list({r["id"]: r for r in reports}.values())
    for report, name in zip(unique, sheet_names([r["source"] for r in unique]), strict=True):
        sheet = book.create_sheet(name)
        for column, (_, width) in enumerate(SHEET_COLUMNS):
            sheet.column_dimensions[_letter(column)].width = width
        sheet.freeze_panes = f"E{HEADER_ROW + 1}"
        sheet.append([_cell(sheet, title, bold=True)])
        sheet.append([_cell(sheet, column, bold=True) for column, _ in SHEET_COLUMNS])
        rows = by_report.get(report["id"], [])
        for record in rows:
            flat = _flat(record)
            sheet.append(
                [_cell(sheet, flat[key], fills.get(flat[key])) for key, _ in SHEET_COLUMNS]
            )
        _drop_downs(sheet, len(rows), choices)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _drop_downs(sheet: Any, rows: int, choices: str | None) -> None:
    """Lists to pick from in the columns a coder fills in (typing another value warns)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    if not rows:
        return
    names = [name for name, _ in SHEET_COLUMNS]
    lists = {"factor": choices, "presence": '"present,absent"', "priority": '"high"'}
    for column, formula in lists.items():
        if formula is None:
            continue
        letter = _letter(names.index(column))
        check = DataValidation(type="list", formula1=formula, allow_blank=True)
        check.errorStyle = "warning"  # code names are accepted too
        check.error = f"pick a {column} from the list (or leave it empty)"
        check.add(f"{letter}{HEADER_ROW + 1}:{letter}{HEADER_ROW + rows}")
        sheet.data_validations.append(check)


def _fills(codebook: Codebook | None) -> dict[str, Any]:
    from openpyxl.styles import PatternFill

    if codebook is None:
        return {}
    return {
        code.id: PatternFill("solid", start_color=light(code.colour), end_color=light(code.colour))
        for code in codebook.codes
    }


def _codes_sheet(
    book: Any, codebook: Codebook | None, fills: dict[str, Any], title: str
) -> str | None:
    """The codes and the other choices for ``factor``; returns the range that lists them."""
    sheet = book.create_sheet("codes")
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 40
    sheet.append([_cell(sheet, title, bold=True)])
    sheet.append(
        [
            _cell(
                sheet,
                "Fill in factor (code id, none, ok or reject), presence "
                "(present/absent), priority (high) and note; leave factor empty to skip.",
            )
        ]
    )
    sheet.append([_cell(sheet, name, bold=True) for name in ("code", "name", "definition")])
    if codebook is None:
        return None
    for code in codebook.codes:
        sheet.append(
            [
                _cell(sheet, code.id, fills.get(code.id)),
                _cell(sheet, code.name),
                _cell(sheet, code.definition),
            ]
        )
    sheet.append([_cell(sheet, "none"), _cell(sheet, codebook.no_code.label)])
    sheet.append([_cell(sheet, "ok"), _cell(sheet, "accept the suggestion")])
    sheet.append([_cell(sheet, "reject"), _cell(sheet, "reject the suggestion")])
    first = CODES_FIRST_ROW
    return f"codes!$A${first}:$A${first + len(codebook.codes) + 2}"


def _cell(sheet: Any, value: Any, fill: Any = None, bold: bool = False) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text stays text, even when it starts with "="
    if fill is not None:
        cell.fill = fill
    if bold:
        cell.font = Font(bold=True)
    return cell


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)
