"""Import reviewed codings (an exported XLSX, CSV or JSONL) back into a project as decisions.

Rows are matched by fragment id. ``factor`` holds a code id or name, ``none`` (no factor),
``ok`` (accept the suggestion) or ``reject``; an empty factor means "not reviewed". A
decision is "confirmed" when it equals the suggestion and "corrected" when it differs. Rows
that do not fit (unknown fragment ids, labels not in the codebook, a newer decision by the
same coder in the project, another coder's codes) are listed as conflicts, never dropped
silently. The file is untrusted: size caps, zip checks and no formulas evaluated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autocoder.codebook import Codebook
from autocoder.config import DEFAULT_SETTINGS, Limits
from autocoder.errors import InputError, RecordError, StoreError
from autocoder.ingest_zip import open_zip
from autocoder.jsonl import iter_records
from autocoder.records import PRIORITY_HIGH, Decision, FragmentRecord, Presence, Status
from autocoder.store import Project

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ACCEPT, REJECT = "ok", "reject"
NO_FACTOR_WORDS = ("none", "(none)", "no factor", "geen")


@dataclass
class ImportSummary:
    rows: int = 0
    confirmed: int = 0
    corrected: int = 0
    rejected: int = 0
    unchanged: int = 0  # equal to the coder's current decision: nothing added
    blank: int = 0  # no factor filled in: not reviewed
    conflicts: list[str] = field(default_factory=list)

    @property
    def recorded(self) -> int:
        return self.confirmed + self.corrected + self.rejected


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


class Conflict(Exception):
    """One row that cannot become a decision."""


def import_codings(path: Path, project_path: Path, coder: str) -> ImportSummary:
    """Append the codings in a reviewed export as ``coder``'s decisions (see the docstring)."""
    coder = coder.strip()
    if not coder:
        raise StoreError("give the coder's name (--coder NAME)")
    summary = ImportSummary()
    rows = list(read_rows(Path(path), summary))
    with Project.open(project_path, create=False) as project:
        codebook = project.project_codebook()
        if codebook is None:
            raise StoreError(f"{project_path}: the project has no codebook yet; code reports first")
        current = {r.fragment.id: r for r in project.coded_fragments(coder, True)}
        notes = {d.fragment_id: d.note for d in project.current_decisions(coder)}
        decisions: list[Decision] = []
        seen: set[str] = set()
        for row in rows:
            summary.rows += 1
            try:
                decision = _decide(row, coder, codebook, current, notes, seen, project)
            except Conflict as exc:
                summary.conflicts.append(f"{row.where}: fragment {row.fragment_id}: {exc}")
                continue
            if decision is None:
                summary.blank += 1
                continue
            if decision is _UNCHANGED:
                summary.unchanged += 1
                continue
            decisions.append(decision)
            setattr(summary, decision.status.value, getattr(summary, decision.status.value) + 1)
        with project.transaction():
            for decision in decisions:
                project.record_decision(decision)
    return summary


_UNCHANGED = Decision("", "", None, None, None, Status.SUGGESTED, "")


def _decide(
    row: Row,
    coder: str,
    codebook: Codebook,
    current: dict[str, FragmentRecord],
    notes: dict[str, str],
    seen: set[str],
    project: Project,
) -> Decision | None:
    if not row.factor:
        return None
    record = current.get(row.fragment_id)
    if record is None:
        if row.fragment_id and project.has_fragment(row.fragment_id):
            raise Conflict("belongs to an older version of its report; export again")
        raise Conflict("unknown fragment id (not in this project)")
    if row.fragment_id in seen:
        raise Conflict("appears twice in the file")
    seen.add(row.fragment_id)
    if row.coder and row.coder != coder:
        raise Conflict(f"coded by {_short(row.coder)} in the file, not by {coder!r}")
    decision = _decision(row, coder, codebook, record)
    existing = record.extra.get("seq")
    if existing is not None:
        same = _same(decision, record, notes.get(row.fragment_id, ""))
        if same:
            return _UNCHANGED
        if _seq(row) != existing:
            raise Conflict(
                f"{coder} changed it in the project after this file was exported "
                f"(decision #{existing}); export again"
            )
    return decision


def _decision(row: Row, coder: str, codebook: Codebook, record: FragmentRecord) -> Decision:
    suggestion = record.suggestion
    word = row.factor.lower()
    if word == REJECT:
        return _make(row, coder, None, None, Status.REJECTED)
    if word == ACCEPT:
        if suggestion is None:
            raise Conflict("'ok' but there is no suggestion to accept")
        factor, presence = suggestion.factor, suggestion.presence
    else:
        factor = _factor(row.factor, codebook)
        presence = _presence(row.presence)
    if factor is None and presence is not None:
        raise Conflict("a presence is given for 'no factor'")
    same = suggestion is not None and (suggestion.factor, suggestion.presence) == (factor, presence)
    return _make(row, coder, factor, presence, Status.CONFIRMED if same else Status.CORRECTED)


def _make(
    row: Row, coder: str, factor: str | None, presence: Presence | None, status: Status
) -> Decision:
    priority = row.priority.lower() or None
    if priority not in (None, PRIORITY_HIGH):
        raise Conflict(f"priority must be {PRIORITY_HIGH!r} or empty, not {_short(row.priority)}")
    return Decision(row.fragment_id, coder, factor, presence, priority, status, "", row.note)


def _factor(label: str, codebook: Codebook) -> str | None:
    if label.lower() in (*NO_FACTOR_WORDS, codebook.no_code.label.lower()):
        return None
    for code in codebook.codes:
        if label.lower() in (code.id.lower(), code.name.lower()):
            return code.id
    raise Conflict(f"{_short(label)} is not a code in codebook {codebook.id!r}")


def _presence(value: str) -> Presence | None:
    if not value:
        return None
    try:
        return Presence(value.lower())
    except ValueError:
        raise Conflict(
            f"presence must be 'present', 'absent' or empty, not {_short(value)}"
        ) from None


def _same(decision: Decision, record: FragmentRecord, note: str) -> bool:
    coding = record.coding
    if record.extra.get("status") != decision.status.value or note != decision.note:
        return False
    if coding is None:
        return decision.factor is None
    return (coding.factor, coding.presence, coding.priority) == (
        decision.factor,
        decision.presence,
        decision.priority,
    )


def _short(value: str, limit: int = 40) -> str:
    """A cell value for a message, cut short (cells may hold any text)."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _seq(row: Row) -> int | None:
    try:
        return int(float(row.seq)) if row.seq else None
    except ValueError:
        raise Conflict(f"seq must be a number, not {_short(row.seq)}") from None


# --- reading the file ---------------------------------------------------------------------------


def read_rows(
    path: Path, summary: ImportSummary, limits: Limits = DEFAULT_SETTINGS.limits
) -> Iterator[Row]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _jsonl_rows(path, summary)
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
    )


def _csv_rows(raw: bytes, source: str) -> Iterator[Row]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(source, f"not UTF-8 text (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or not {"id", "fragment"} & set(reader.fieldnames):
        raise InputError(source, "no 'id' column: use a file made by 'autocoder export'")
    try:
        for values in reader:
            yield _row(f"{source}:{reader.line_num}", values)
    except csv.Error as exc:
        raise InputError(source, f"not valid CSV ({exc})", line=reader.line_num) from None


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
            header = [_text(v).lower() for v in next(rows, ())]
            if "fragment" not in header:
                continue  # the codes sheet, or a sheet the coder added
            for number, values in enumerate(rows, start=2):
                cells = dict(zip(header, values, strict=False))
                if any(v not in (None, "") for v in values):
                    yield _row(f"sheet {sheet.title!r} row {number}", cells)
    finally:
        book.close()


def _jsonl_rows(path: Path, summary: ImportSummary) -> Iterator[Row]:
    for number, item in enumerate(iter_records(path, None, skip_invalid=True), start=1):
        if isinstance(item, RecordError):
            summary.conflicts.append(str(item))
            continue
        coding, extra = item.coding, item.extra
        if coding is not None:
            factor = "none" if coding.factor is None else coding.factor
        else:
            factor = REJECT if extra.get("status") == "rejected" else ""
        yield Row(
            f"{path}: record {number}",
            item.fragment.id,
            factor,
            "" if coding is None or coding.presence is None else coding.presence.value,
            (coding.priority if coding else None) or "",
            _text(extra.get("note")),
            (coding.coder if coding else None) or "",
            _text(extra.get("seq")),
        )
