"""The matrix's records: verdicts, views, rules, evidence, cells, priority and the matrix.

Pure data with no I/O; ``autocoder.matrix`` builds them (its docstring states every rule) and
``matrix_to_dict`` gives the documented JSON form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autocoder.codebook import Codebook
from autocoder.errors import AutocoderError
from autocoder.records import Presence

ALL_COLUMN = "all"


class Verdict(StrEnum):
    PRESENT = "present"
    PARTLY = "partly"
    ABSENT = "absent"
    NOT_DISCUSSED = "not discussed"


CONFIRMABLE = (Verdict.PRESENT, Verdict.PARTLY, Verdict.ABSENT)


class By(StrEnum):
    RESPONDENT = "respondent"
    GROUP = "group"
    ALL = "all"


class MatrixRules(BaseModel):
    """Verdict and priority rules; every field can be set in a ``--rules`` TOML file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_evidence: int = Field(2, ge=1, description="fewer counted fragments: thin evidence")
    present_share: float = Field(0.67, gt=0, le=1, description="share present at or above")
    absent_share: float = Field(0.33, ge=0, lt=1, description="share present at or below")
    core_top_fraction: float = Field(1 / 3, gt=0, le=1, description="top ranks that are core")
    core_share: float = Field(0.5, gt=0, le=1, description="share of respondents: core")
    quotes_per_cell: int = Field(3, ge=0, le=50, description="evidence quotes in the report")

    @model_validator(mode="after")
    def _ordered(self) -> MatrixRules:
        if self.absent_share >= self.present_share:
            raise ValueError("absent_share must be below present_share")
        return self


DEFAULT_RULES = MatrixRules()


@dataclass(frozen=True, slots=True)
class Evidence:
    """One counted coding: a fragment, its code and presence, confirmed or a suggestion."""

    fragment_id: str
    code: str
    presence: Presence
    confirmed: bool
    confidence: float | None
    priority: bool
    respondent: str
    group: str
    question: int | None
    report: str
    start: int
    text: str


@dataclass(frozen=True, slots=True)
class ConfirmedVerdict:
    code: str
    column: str
    verdict: Verdict
    note: str = ""
    coder: str = ""
    timestamp: str = ""
    seq: int | None = None  # its entry in the project's verdict log


@dataclass(frozen=True, slots=True)
class Cell:
    code: str
    column: str
    n_present: int
    n_absent: int
    share_present: float | None
    n_respondents: int
    verdict: Verdict
    thin_evidence: bool
    n_confirmed: int
    n_unconfirmed: int
    evidence: tuple[str, ...]
    confirmed: ConfirmedVerdict | None = None

    @property
    def confirmed_verdict(self) -> Verdict | None:
        return self.confirmed.verdict if self.confirmed else None

    @property
    def final_verdict(self) -> Verdict:
        return self.confirmed.verdict if self.confirmed else self.verdict

    @property
    def n(self) -> int:
        return self.n_present + self.n_absent

    @property
    def unconfirmed(self) -> bool:
        return self.n_unconfirmed > 0 and self.confirmed is None


@dataclass(frozen=True, slots=True)
class PriorityEntry:
    code: str
    n_respondents: int
    share: float
    fragments: tuple[str, ...]
    rank: int
    level: str  # "core" or "supporting"

    @property
    def label(self) -> str:
        """For people: "core #1 (4)"; a code nobody named has no rank: "supporting"."""
        if self.n_respondents == 0:
            return self.level
        return f"{self.level} #{self.rank} ({self.n_respondents})"


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A fragment whose coders gave different codings; the team view does not count it."""

    fragment_id: str
    respondent: str
    codings: tuple[tuple[str, str | None, str | None], ...]  # (coder, factor, presence)

    def describe(self) -> str:
        parts = (
            f"{who}: {factor or 'no factor'} {presence or ''}".strip()
            for who, factor, presence in self.codings
        )
        return f"{self.fragment_id} ({self.respondent}): " + "; ".join(parts)


TEAM = "team"  # Matrix.codings of the team's consensus; "coder NAME" for one person's


@dataclass(frozen=True)
class Matrix:
    codebook: Codebook
    by: By
    columns: tuple[str, ...]
    cells: tuple[Cell, ...]
    priority: tuple[PriorityEntry, ...]
    evidence: Mapping[str, Evidence]
    n_respondents: int
    include_suggestions: bool
    rules: MatrixRules
    n_ignored: int = 0  # suggestions naming codes outside the codebook
    codings: str = "latest"  # whose codings count: TEAM, "coder NAME" or "latest" (any coder)
    disagreements: tuple[Disagreement, ...] = ()

    def cell(self, code: str, column: str) -> Cell:
        for cell in self.cells:
            if cell.code == code and cell.column == column:
                return cell
        raise AutocoderError(f"no cell for code {code!r} and column {column!r}")

    def row(self, code: str) -> tuple[Cell, ...]:
        return tuple(cell for cell in self.cells if cell.code == code)

    def priority_of(self, code: str) -> PriorityEntry:
        return next(entry for entry in self.priority if entry.code == code)


def strength_order(items: Iterable[Evidence]) -> list[Evidence]:
    """Confirmed first, then higher confidence, then document order."""
    return sorted(
        items,
        key=lambda e: (not e.confirmed, -(e.confidence or 0.0), e.report, e.start, e.fragment_id),
    )


def cell_to_dict(cell: Cell) -> dict[str, Any]:
    confirmed = cell.confirmed
    return {
        "code": cell.code,
        "column": cell.column,
        "n_present": cell.n_present,
        "n_absent": cell.n_absent,
        "share_present": cell.share_present,
        "n_respondents": cell.n_respondents,
        "verdict": cell.verdict.value,
        "confirmed_verdict": confirmed.verdict.value if confirmed else None,
        "final_verdict": cell.final_verdict.value,
        "thin_evidence": cell.thin_evidence,
        "n_confirmed": cell.n_confirmed,
        "n_unconfirmed": cell.n_unconfirmed,
        "unconfirmed": cell.unconfirmed,
        "evidence": list(cell.evidence),
        "confirmation": None
        if confirmed is None
        else {"coder": confirmed.coder, "note": confirmed.note, "timestamp": confirmed.timestamp},
    }


def matrix_to_dict(matrix: Matrix) -> dict[str, Any]:
    """The documented JSON form (README, "Matrix")."""
    book = matrix.codebook
    return {
        "schema": "autocoder.matrix/1",
        "codebook": {"id": book.id, "name": book.name, "version": book.version, "hash": book.hash},
        "by": matrix.by.value,
        "include_suggestions": matrix.include_suggestions,
        "codings": matrix.codings,
        "disagreements": [
            {
                "fragment": item.fragment_id,
                "respondent": item.respondent,
                "codings": [
                    {"coder": who, "factor": factor, "presence": presence}
                    for who, factor, presence in item.codings
                ],
            }
            for item in matrix.disagreements
        ],
        "n_respondents": matrix.n_respondents,
        "rules": matrix.rules.model_dump(),
        "codes": [{"id": c.id, "name": c.name, "colour": c.colour} for c in book.codes],
        "columns": list(matrix.columns),
        "cells": [cell_to_dict(cell) for cell in matrix.cells],
        "priority": {
            entry.code: {
                "n_respondents": entry.n_respondents,
                "share": entry.share,
                "fragments": list(entry.fragments),
                "rank": entry.rank,
                "level": entry.level,
            }
            for entry in matrix.priority
        },
    }
