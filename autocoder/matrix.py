"""The presence/priority matrix: the codebook's codes by respondents, groups or "all". Pure.

Counting. A fragment record counts for a code when a person coded it with that factor *and*
a presence (``record.coding``); these codings are *confirmed*. With ``include_suggestions``, a
record that has no person's coding at all counts its model ``suggestion`` (factor and presence)
instead, flagged *unconfirmed*. A person's "no factor" (or a coding without presence) is a
decision too: the suggestion of that record never counts, nor does one a person rejected
(project records whose ``status`` is confirmed, corrected or rejected). Each fragment id counts
once (the last record wins).

Cell. ``n_present``/``n_absent`` counted fragments, ``share_present`` = n_present / (n_present +
n_absent) rounded half-up to two decimals (None without evidence), ``n_respondents`` distinct
respondents with a counted fragment, ``n_confirmed``/``n_unconfirmed``, and ``evidence``: the
fragment ids, strongest first (confirmed before unconfirmed, then higher confidence, then
document order).

Verdict rules (``MatrixRules``; defaults below, override any of them from a TOML file):

- no counted fragment -> "not discussed";
- otherwise the rounded share decides: ``share >= present_share`` (0.67) -> "present",
  ``share <= absent_share`` (0.33) -> "absent", anything between -> "partly". Because the
  share is rounded first, 2 of 3 (0.67) is present and 1 of 3 (0.33) is absent;
- fewer than ``min_evidence`` (2) fragments: the verdict is still given but the cell is
  flagged ``thin_evidence`` (one remark is not nothing, but it is not much either).

A person's stored verdict for a (code, column) is ``confirmed_verdict``; it overrides the
computed verdict in every output (``final_verdict``) while the computed ``verdict`` is kept.
A cell is *unconfirmed* when some of its evidence is an unconfirmed suggestion and no person
has confirmed its verdict.

Priority (the last column; ``autocoder.matrix_priority``): who names a code among the most
important.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from autocoder.codebook import Codebook
from autocoder.matrix_model import (
    ALL_COLUMN,
    CONFIRMABLE,
    DEFAULT_RULES,
    By,
    Cell,
    ConfirmedVerdict,
    Evidence,
    Matrix,
    MatrixRules,
    PriorityEntry,
    Verdict,
    cell_to_dict,
    matrix_to_dict,
    strength_order,
)
from autocoder.matrix_priority import priority_entries
from autocoder.records import PRIORITY_HIGH, FragmentRecord, Group, Presence, Status

PERSON_STATUSES = frozenset({Status.CONFIRMED, Status.CORRECTED, Status.REJECTED})


def rounded_share(n_present: int, n: int) -> float:
    """n_present / n rounded half-up to two decimals (exact, no binary surprises)."""
    share = (Decimal(n_present) / Decimal(n)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return float(share)


def judge(n_present: int, n_absent: int, rules: MatrixRules = DEFAULT_RULES) -> Verdict:
    """The computed verdict for a cell's counts (see the module docstring)."""
    n = n_present + n_absent
    if n == 0:
        return Verdict.NOT_DISCUSSED
    share = rounded_share(n_present, n)
    if share >= rules.present_share:
        return Verdict.PRESENT
    if share <= rules.absent_share:
        return Verdict.ABSENT
    return Verdict.PARTLY


def counted_evidence(
    records: Iterable[FragmentRecord], codebook: Codebook, include_suggestions: bool
) -> tuple[list[Evidence], int]:
    """The counted codings (last record per fragment id) and how many suggestions were ignored."""
    latest = {record.fragment.id: record for record in records}
    known = set(codebook.ids)
    found: list[Evidence] = []
    ignored = 0
    for record in latest.values():
        item = _evidence(record, include_suggestions)
        if item is None:
            continue
        if item.code in known:
            found.append(item)
        else:
            ignored += 1
    return found, ignored


def _evidence(record: FragmentRecord, include_suggestions: bool) -> Evidence | None:
    coding, suggestion = record.coding, record.suggestion
    if coding is not None:
        if coding.factor is None or coding.presence is None:
            return None
        high = coding.priority == PRIORITY_HIGH
        return _make_evidence(record, coding.factor, coding.presence, None, priority=high)
    if not _suggestion_counts(record, include_suggestions) or suggestion is None:
        return None
    if suggestion.factor is None or suggestion.presence is None:
        return None
    return _make_evidence(record, suggestion.factor, suggestion.presence, suggestion.confidence)


def _make_evidence(
    record: FragmentRecord,
    code: str,
    presence: Presence,
    confidence: float | None,
    *,
    priority: bool = False,
) -> Evidence:
    """A person's coding when ``confidence`` is None, else a model suggestion."""
    fragment = record.fragment
    return Evidence(
        fragment_id=fragment.id,
        code=code,
        presence=Presence(presence),
        confirmed=confidence is None,
        confidence=confidence,
        priority=priority,
        respondent=fragment.respondent,
        group=fragment.group,
        question=fragment.question,
        report=fragment.report,
        start=fragment.start,
        text=fragment.text,
    )


def _suggestion_counts(record: FragmentRecord, include_suggestions: bool) -> bool:
    if not include_suggestions or record.coding is not None:
        return False
    return record.extra.get("status") not in PERSON_STATUSES  # e.g. a person rejected it


def column_of(respondent: str, group: str, by: By) -> str:
    if by == By.RESPONDENT:
        return respondent
    return group if by == By.GROUP else ALL_COLUMN


def _natural(text: str) -> tuple[Any, ...]:
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text))


def columns_for(records: Sequence[FragmentRecord], by: By) -> tuple[str, ...]:
    """Every respondent or group in the records (also those without counted codings)."""
    if by == By.ALL:
        return (ALL_COLUMN,)
    names = {column_of(r.fragment.respondent, r.fragment.group, by) for r in records}
    if by == By.GROUP:
        order = [group.value for group in Group]
        return tuple(sorted(names, key=lambda g: (order.index(g) if g in order else 99, g)))
    return tuple(sorted(names, key=_natural))


def make_cell(
    code: str,
    column: str,
    items: Sequence[Evidence],
    rules: MatrixRules,
    confirmed: ConfirmedVerdict | None = None,
) -> Cell:
    n_present = sum(1 for e in items if e.presence == Presence.PRESENT)
    n = len(items)
    n_unconfirmed = sum(1 for e in items if not e.confirmed)
    return Cell(
        code=code,
        column=column,
        n_present=n_present,
        n_absent=n - n_present,
        share_present=rounded_share(n_present, n) if n else None,
        n_respondents=len({e.respondent for e in items}),
        verdict=judge(n_present, n - n_present, rules),
        thin_evidence=0 < n < rules.min_evidence,
        n_confirmed=n - n_unconfirmed,
        n_unconfirmed=n_unconfirmed,
        evidence=tuple(e.fragment_id for e in strength_order(items)),
        confirmed=confirmed,
    )


def confirmed_verdicts(
    rows: Iterable[Mapping[str, Any]],
) -> dict[tuple[str, str], ConfirmedVerdict]:
    """Stored verdict rows (code, column, verdict, note, coder, timestamp); the last one wins."""
    found: dict[tuple[str, str], ConfirmedVerdict] = {}
    for row in rows:
        verdict = ConfirmedVerdict(
            code=str(row["code"]),
            column=str(row["column"]),
            verdict=Verdict(str(row["verdict"])),
            note=str(row.get("note") or ""),
            coder=str(row.get("coder") or ""),
            timestamp=str(row.get("timestamp") or ""),
            seq=row.get("seq"),
        )
        found[(verdict.code, verdict.column)] = verdict
    return found


def build_matrix(
    records: Sequence[FragmentRecord],
    codebook: Codebook,
    *,
    by: By | str = By.ALL,
    rules: MatrixRules = DEFAULT_RULES,
    include_suggestions: bool = False,
    verdicts: Iterable[Mapping[str, Any]] = (),
) -> Matrix:
    """Roll fragment records up into the matrix (see the module docstring for every rule)."""
    by = By(by)
    evidence, ignored = counted_evidence(records, codebook, include_suggestions)
    columns = columns_for(records, by)
    grouped: dict[tuple[str, str], list[Evidence]] = defaultdict(list)
    for item in evidence:
        grouped[(item.code, column_of(item.respondent, item.group, by))].append(item)
    stored = confirmed_verdicts(verdicts)
    cells = tuple(
        make_cell(code, column, grouped[(code, column)], rules, stored.get((code, column)))
        for code in codebook.ids
        for column in columns
    )
    n_respondents = len({record.fragment.respondent for record in records})
    return Matrix(
        codebook=codebook,
        by=by,
        columns=columns,
        cells=cells,
        priority=priority_entries(evidence, codebook, n_respondents, rules),
        evidence={item.fragment_id: item for item in evidence},
        n_respondents=n_respondents,
        include_suggestions=include_suggestions,
        rules=rules,
        n_ignored=ignored,
    )


def shade(colour: str, share: float | None) -> str:
    """The code's colour mixed with white: pale for share 0, full colour for share 1."""
    if share is None:
        return "#f2f2f2"
    weight = 0.12 + 0.78 * share
    channels = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(255 - (255 - c) * weight):02x}" for c in channels)


def ink(background: str) -> str:
    """Black or white text, whichever reads better on ``background`` (WCAG luminance)."""
    values = [int(background[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if luminance > 0.179 else "#ffffff"


__all__ = [
    "ALL_COLUMN",
    "CONFIRMABLE",
    "DEFAULT_RULES",
    "PERSON_STATUSES",
    "By",
    "Cell",
    "ConfirmedVerdict",
    "Evidence",
    "Matrix",
    "MatrixRules",
    "PriorityEntry",
    "Verdict",
    "build_matrix",
    "cell_to_dict",
    "column_of",
    "columns_for",
    "confirmed_verdicts",
    "counted_evidence",
    "ink",
    "judge",
    "make_cell",
    "matrix_to_dict",
    "priority_entries",
    "rounded_share",
    "shade",
    "strength_order",
]
