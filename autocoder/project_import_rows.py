"""Reading the rows of a reviewed export (XLSX, CSV or JSONL) for ``project_import``.

The file is untrusted: size caps, zip and XML checks before openpyxl reads it, no formulas
evaluated, and a cell that the export guarded against formulas gets its text back.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autocoder.config import DEFAULT_SETTINGS, Limits
from autocoder.errors import InputError, RecordError
from autocoder.ingest_zip import open_zip
from autocoder.jsonl import iter_records

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
REJECT = "reject"
HEADER_SEARCH = 3  # rows of a sheet where its column names may be


@dataclass(frozen=True)
class Row:
    where: str
    fragment_id: str
    factor: str
    presence: str = ""
    priority: str = ""
    note: str = ""
    coder: str = ""
    seq: str = ""
    span: tuple[str, int, int] | None = None  # report, start, end when the file gives them
    text: str = ""


def read_rows(
    path: Path, problems: list[str], limits: Limits = DEFAULT_SETTINGS.limits
) -> Iterator[Row]:
    """The rows of ``path``; JSONL lines that are not valid records go to ``problems``."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _jsonl_rows(path, problems)
        return
    if suffix not in (".xlsx", ".csv"):
        raise InputError(str(path), "import reads .xlsx, .csv or .jsonl files")
    try:
        with path.open("rb") as handle:
            raw = handle.read(limits.max_file_bytes + 1)
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror})") from None
    if len(raw) > limits.max_file_bytes:
        raise InputError(str(path), f"larger than {limits.max_file_bytes} bytes")
    if suffix == ".csv":
        yield from _csv_rows(raw, str(path))
    else:
        yield from _xlsx_rows(raw, str(path), limits)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        text = text[1:]  # undo the export's formula guard
    return text


def _row(where: str, values: dict[str, Any]) -> Row:
    get = lambda key: _text(values.get(key))  # noqa: E731
    return Row(
        where,
        get("fragment") or get("id"),
        get("factor"),
        get("presence"),
        get("priority"),
        get("note"),
        get("coder"),
        get("seq"),
        _span(get("report"), get("start"), get("end")),
        get("text"),
    )


def _span(report: str, start: str, end: str) -> tuple[str, int, int] | None:
    try:
        return (report, int(start), int(end)) if report else None
    except ValueError:
        return None  # not offsets: the row is matched by its id alone


def _csv_rows(raw: bytes, source: str) -> Iterator[Row]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(source, f"not UTF-8 text (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not _identifies(reader.fieldnames or []):
        raise InputError(source, "no 'id' column: use a file made by 'autocoder export'")
    try:
        for values in reader:
            yield _row(f"{source}:{reader.line_num}", values)
    except csv.Error as exc:
        raise InputError(source, f"not valid CSV ({exc})", line=reader.line_num) from None


def _identifies(header: list[str]) -> bool:
    """A fragment id column, or report, start and end."""
    return bool({"id", "fragment"} & set(header)) or {"report", "start", "end"} <= set(header)


def _xlsx_rows(raw: bytes, source: str, limits: Limits) -> Iterator[Row]:
    from openpyxl import load_workbook

    open_zip(raw, source, limits, ".xlsx")  # zip bomb and XML entity checks first
    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise InputError(source, f"not a readable .xlsx file ({type(exc).__name__})") from None
    try:
        for sheet in book.worksheets:
            rows = sheet.iter_rows(values_only=True)
            found = _header(rows)
            if found is None:
                continue  # the codes sheet, or a sheet the coder added
            header, first = found
            for number, values in enumerate(rows, start=first):
                cells = dict(zip(header, values, strict=False))
                if any(v not in (None, "") for v in values):
                    yield _row(f"sheet {sheet.title!r} row {number}", cells)
    finally:
        book.close()


def _header(rows: Iterator[tuple[Any, ...]]) -> tuple[list[str], int] | None:
    """The column names among the first rows (an export's first row says whose codes the
    sheet holds), and the number of the row after them."""
    for number, values in enumerate(itertools.islice(rows, HEADER_SEARCH), start=1):
        header = [_text(v).lower() for v in values]
        if _identifies(header):
            return header, number + 1
    return None


def _jsonl_rows(path: Path, problems: list[str]) -> Iterator[Row]:
    for number, item in enumerate(iter_records(path, None, skip_invalid=True), start=1):
        if isinstance(item, RecordError):
            problems.append(str(item))
            continue
        coding, extra = item.coding, item.extra
        if coding is not None:
            factor = "none" if coding.factor is None else coding.factor
        else:
            factor = REJECT if extra.get("status") == "rejected" else ""
        fragment = item.fragment
        yield Row(
            f"{path}: record {number}",
            fragment.id,
            factor,
            "" if coding is None or coding.presence is None else coding.presence.value,
            (coding.priority if coding else None) or "",
            _text(extra.get("note")),
            (coding.coder if coding else None) or "",
            _text(extra.get("seq")),
            (fragment.report, fragment.start, fragment.end),
            fragment.text.strip(),
        )
