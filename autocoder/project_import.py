"""Import reviewed codings (an exported XLSX, CSV or JSONL) back into a project as decisions.

Rows are matched by fragment id; a row whose id is not in the project (or that has none) is
matched by its report, start and end when they give a fragment of the project with the same
text. ``factor`` holds a code id or name, ``none`` (no factor), ``ok`` (accept the suggestion)
or ``reject``; an empty factor means "not reviewed". A decision is "confirmed" when it equals
the suggestion and "corrected" when it differs. Rows that do not fit (unknown fragment ids, a
fragment given twice, labels not in the codebook, a newer decision by the same coder in the
project, another coder's codes) are conflicts, never dropped silently. The whole file is
checked first: with a conflict nothing is written, unless ``partial`` imports the other rows
on purpose. The file is read by ``project_import_rows``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from autocoder.codebook import Codebook
from autocoder.errors import StoreError
from autocoder.project_import_rows import REJECT, Row, read_rows
from autocoder.records import PRIORITY_HIGH, Decision, FragmentRecord, Presence, Status
from autocoder.store import Project

ACCEPT = "ok"
NO_FACTOR_WORDS = ("none", "(none)", "no factor", "geen")
PRESENCE_WORDS = {
    "present": Presence.PRESENT,
    "absent": Presence.ABSENT,
    "aanwezig": Presence.PRESENT,
    "afwezig": Presence.ABSENT,
}  # not ja/nee: a coder may mean "yes, this factor" or "no factor" by them


@dataclass
class ImportSummary:
    rows: int = 0
    confirmed: int = 0
    corrected: int = 0
    rejected: int = 0
    unchanged: int = 0  # equal to the coder's current decision: nothing added
    blank: int = 0  # no factor filled in: not reviewed
    conflicts: list[str] = field(default_factory=list)
    written: bool = True  # False: there were conflicts and nothing was written (no partial)

    @property
    def recorded(self) -> int:
        """Decisions added (or that would have been, when nothing was written)."""
        return self.confirmed + self.corrected + self.rejected


class Conflict(Exception):
    """One row that cannot become a decision."""


def import_codings(
    path: Path, project_path: Path, coder: str, partial: bool = False
) -> ImportSummary:
    """Append the codings in a reviewed export as ``coder``'s decisions (see the docstring):
    all of them or none; with ``partial`` the rows without a conflict."""
    coder = coder.strip()
    if not coder:
        raise StoreError("give the coder's name (--coder NAME)")
    summary = ImportSummary()
    rows = list(read_rows(Path(path), summary.conflicts))
    with Project.open(project_path, create=False) as project, project.transaction():
        codebook = project.project_codebook()
        if codebook is None:
            raise StoreError(f"{project_path}: the project has no codebook yet; code reports first")
        current = {r.fragment.id: r for r in project.coded_fragments(coder, True)}
        notes = {d.fragment_id: d.note for d in project.current_decisions(coder)}
        rows = _identified(rows, current)
        target = _Target(project, codebook, coder, current, notes, _repeated(rows))
        decisions = [d for d in (_tally(row, summary, target) for row in rows) if d is not None]
        summary.written = partial or not summary.conflicts
        if summary.written:
            for decision in decisions:
                project.record_decision(decision)
    return summary


@dataclass(frozen=True)
class _Target:
    """What the rows are checked against: the coder's current coding in the project."""

    project: Project
    codebook: Codebook
    coder: str
    current: dict[str, FragmentRecord]
    notes: dict[str, str]
    twice: dict[str, int]  # fragment ids that several filled-in rows give


def _tally(row: Row, summary: ImportSummary, target: _Target) -> Decision | None:
    """The row's new decision, if any; counted in ``summary`` either way."""
    summary.rows += 1
    try:
        decision = _decide(row, target)
    except Conflict as exc:
        summary.conflicts.append(f"{row.where}: fragment {row.fragment_id or '(no id)'}: {exc}")
        return None
    if decision is None:
        summary.blank += 1
        return None
    if decision is _UNCHANGED:
        summary.unchanged += 1
        return None
    setattr(summary, decision.status.value, getattr(summary, decision.status.value) + 1)
    return decision


def _identified(rows: list[Row], current: dict[str, FragmentRecord]) -> list[Row]:
    """Rows whose id is not in the project take the id of the fragment at their offsets,
    when it has the same text."""
    spans = {(r.fragment.report, r.fragment.start, r.fragment.end): r for r in current.values()}
    found = []
    for row in rows:
        record = spans.get(row.span) if row.span and row.fragment_id not in current else None
        if record is not None and row.text in ("", record.fragment.text.strip()):
            row = replace(row, fragment_id=record.fragment.id)
        found.append(row)
    return found


def _repeated(rows: list[Row]) -> dict[str, int]:
    """Fragment ids that more than one filled-in row gives, with how many rows."""
    counts = Counter(row.fragment_id for row in rows if row.factor and row.fragment_id)
    return {fid: n for fid, n in counts.items() if n > 1}


_UNCHANGED = Decision("", "", None, None, None, Status.SUGGESTED, "")


def _decide(row: Row, target: _Target) -> Decision | None:
    if not row.factor:
        return None
    if not row.fragment_id and row.span:
        report, start, end = row.span
        raise Conflict(f"no fragment of the project at {report}:{start}-{end} with this text")
    if not row.fragment_id:
        raise Conflict("no fragment id (nor report, start and end of a fragment)")
    record = target.current.get(row.fragment_id)
    if record is None:
        if target.project.has_fragment(row.fragment_id):
            raise Conflict("belongs to an older version of its report; export again")
        raise Conflict("unknown fragment id (not in this project)")
    if row.fragment_id in target.twice:
        raise Conflict(f"{target.twice[row.fragment_id]} rows give this fragment; keep one")
    coder = target.coder
    if row.coder and row.coder != coder:
        raise Conflict(f"coded by {_short(row.coder)} in the file, not by {coder!r}")
    decision = _decision(row, coder, target.codebook, record)
    existing = record.extra.get("seq")
    if existing is not None:
        same = _same(decision, record, target.notes.get(row.fragment_id, ""))
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
    word = value.lower()
    if word in PRESENCE_WORDS:
        return PRESENCE_WORDS[word]
    hint = " (for 'ja' or 'nee' write aanwezig or afwezig)" if word in ("ja", "nee") else ""
    raise Conflict(
        "presence must be 'present' or 'absent' (or 'aanwezig', 'afwezig') or empty, "
        f"not {_short(value)}{hint}"
    )


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
