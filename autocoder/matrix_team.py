"""Whose codings a matrix counts: one coder's, or the team's consensus. Pure.

Team consensus: a fragment counts with the coding (factor and presence) that every coder who
coded it gave; with one coder that is simply their coding. Where coders differ, the fragment
is not counted and is listed as a ``Disagreement``. Its priority is "high" only when every
such coder marked it so. A fragment no coder has decided yet may count its model suggestion
(``include_suggestions``), unless some coder rejected it. An adjudicated final code is a
coder too: record it under a name of its own (e.g. "final") and ask for that coder's matrix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from autocoder.codebook import Codebook
from autocoder.matrix import PERSON_STATUSES, build_matrix
from autocoder.matrix_model import DEFAULT_RULES, TEAM, By, Disagreement, Matrix, MatrixRules
from autocoder.records import PRIORITY_HIGH, Coding, FragmentRecord, Status

DECIDED = Status.CORRECTED.value  # a person decided: the suggestion must not count


@dataclass(frozen=True)
class Codings:
    """The records a matrix counts, and whose codings they are (``Matrix.codings``)."""

    records: list[FragmentRecord]
    label: str
    coders: tuple[str, ...] = ()
    disagreements: tuple[Disagreement, ...] = ()


def coder_codings(coder: str, records: Sequence[FragmentRecord]) -> Codings:
    """One person's codings (``records`` hold only theirs)."""
    return Codings(list(records), f"coder {coder}", (coder,))


def team_codings(by_coder: Mapping[str, Sequence[FragmentRecord]]) -> Codings:
    """The consensus of ``by_coder`` (each coder's records of the same fragments)."""
    names = tuple(sorted(by_coder))
    merged: dict[str, list[tuple[str, FragmentRecord]]] = {}
    for name in names:
        latest = {record.fragment.id: record for record in by_coder[name]}
        for fragment_id, record in latest.items():
            merged.setdefault(fragment_id, []).append((name, record))
    records, disagreements = [], []
    for items in merged.values():
        record, disagreement = _consensus(items)
        records.append(record)
        if disagreement is not None:
            disagreements.append(disagreement)
    return Codings(records, TEAM, tuple(n for n in names if n), tuple(disagreements))


def split_by_coder(records: Iterable[FragmentRecord]) -> dict[str, list[FragmentRecord]]:
    """Records of a coded file per coder: each fragment once, with that coder's coding (the
    last one) or none. Without any coder name, one coder named ""."""
    records = list(records)
    names = sorted({r.coding.coder or "" for r in records if r.coding is not None}) or [""]
    found = {}
    for name in names:
        own: dict[str, FragmentRecord] = {}
        for record in records:
            fragment_id = record.fragment.id
            if record.coding is None or (record.coding.coder or "") == name:
                own[fragment_id] = record  # the last record of a fragment wins
            elif fragment_id not in own:
                own[fragment_id] = replace(record, coding=None)
        found[name] = list(own.values())
    return found


def _consensus(items: list[tuple[str, FragmentRecord]]) -> tuple[FragmentRecord, Any]:
    first = items[0][1]
    coded = [(name, r.coding) for name, r in items if r.coding is not None]
    decided = any(r.extra.get("status") in PERSON_STATUSES for _, r in items)
    status = DECIDED if decided or coded else first.extra.get("status", "open")
    extra = {**first.extra, "status": status, "coder": TEAM if coded else None}
    if not coded:
        return replace(first, coding=None, extra=extra), None
    answers = {(c.factor, c.presence) for _, c in coded}
    if len(answers) > 1:
        listed = tuple((name, c.factor, _value(c.presence)) for name, c in coded)
        disagreement = Disagreement(first.fragment.id, first.fragment.respondent, listed)
        return replace(first, coding=None, extra=extra), disagreement
    factor, presence = answers.pop()
    high = all(c.priority == PRIORITY_HIGH for _, c in coded)
    coding = Coding(factor, presence, PRIORITY_HIGH if high else None, TEAM)
    return replace(first, coding=coding, extra=extra), None


def _value(presence: Any) -> str | None:
    return None if presence is None else str(getattr(presence, "value", presence))


def codings_matrix(
    codings: Codings,
    codebook: Codebook,
    *,
    by: By | str = By.ALL,
    rules: MatrixRules = DEFAULT_RULES,
    include_suggestions: bool = False,
    verdicts: Iterable[Mapping[str, Any]] = (),
) -> Matrix:
    """``build_matrix`` over ``codings``, which the matrix names and whose disagreements it
    lists."""
    matrix = build_matrix(
        codings.records,
        codebook,
        by=by,
        rules=rules,
        include_suggestions=include_suggestions,
        verdicts=verdicts,
    )
    return replace(matrix, codings=codings.label, disagreements=codings.disagreements)
