"""Frozen records that stages exchange: Report, Fragment, Coding, Suggestion, Decision.

No I/O here. ``to_dict``/``from_dict`` give the JSONL fragment-record interchange format.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Presence(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"


class Group(StrEnum):
    UITVOEREND = "uitvoerend"
    MANAGEMENT = "management"
    OVERIG = "overig"
    OBSERVATIE = "observatie"
    UNKNOWN = "unknown"


class Status(StrEnum):
    SUGGESTED = "suggested"
    CONFIRMED = "confirmed"
    CORRECTED = "corrected"
    REJECTED = "rejected"


UNKNOWN = "unknown"
PRIORITY_HIGH = "high"


def source_report_id(source: str, sha256: str) -> str:
    """A report's id in a project: one per report file and content, 'r' + 12 hex of the
    SHA-256 of the source key, a NUL and the SHA-256 of the normalised text (outside a
    project a report's id is its content id, 'r' + 12 hex of that text's SHA-256)."""
    return "r" + hashlib.sha256(f"{source}\0{sha256}".encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class ReportMeta:
    respondent: str = UNKNOWN
    organisation: str = UNKNOWN
    role: str = UNKNOWN
    group: Group = Group.UNKNOWN
    date: str = UNKNOWN


@dataclass(frozen=True, slots=True)
class Report:
    """A report's normalised text; every fragment offset points into ``text``."""

    id: str
    source: str
    text: str
    meta: ReportMeta = field(default_factory=ReportMeta)
    format: str = "txt"
    sha256: str = ""


@dataclass(frozen=True, slots=True)
class Fragment:
    id: str
    report: str
    start: int
    end: int
    text: str
    respondent: str = UNKNOWN
    group: str = Group.UNKNOWN.value
    question: int | None = None
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class Coding:
    """A person's code for a fragment; ``factor`` None means 'no factor'."""

    factor: str | None
    presence: Presence | None = None
    priority: str | None = None
    coder: str | None = None


@dataclass(frozen=True, slots=True)
class Suggestion:
    factor: str | None
    presence: Presence | None
    confidence: float
    factor_probs: dict[str, float]
    presence_prob: float | None
    reasons: tuple[str, ...]
    model: str


@dataclass(frozen=True, slots=True)
class FragmentRecord:
    """One JSONL line: a fragment, optionally a person's coding and a model's suggestion."""

    fragment: Fragment
    coding: Coding | None = None
    suggestion: Suggestion | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    """One entry of a project's append-only coding log."""

    fragment_id: str
    coder: str
    factor: str | None
    presence: Presence | None
    priority: str | None
    status: Status
    timestamp: str
    note: str = ""


NO_FACTOR_KEY = "none"  # key for "no factor" in factor_probs mappings

FRAGMENT_KEYS = (
    "id",
    "report",
    "respondent",
    "group",
    "question",
    "speaker",
    "start",
    "end",
    "text",
)
CODING_KEYS = ("factor", "presence", "priority", "coder")


def fragment_to_dict(fragment: Fragment) -> dict[str, Any]:
    return {key: getattr(fragment, key) for key in FRAGMENT_KEYS}


def suggestion_to_dict(suggestion: Suggestion) -> dict[str, Any]:
    data = asdict(suggestion)
    data["presence"] = suggestion.presence.value if suggestion.presence else None
    data["reasons"] = list(suggestion.reasons)
    return data


def record_to_dict(record: FragmentRecord) -> dict[str, Any]:
    data = dict(record.extra)
    data.update(fragment_to_dict(record.fragment))
    if record.coding is not None:
        coding = record.coding
        data["factor"] = coding.factor
        data["presence"] = coding.presence.value if coding.presence else None
        data["priority"] = coding.priority
        data["coder"] = coding.coder
    if record.suggestion is not None:
        data["suggestion"] = suggestion_to_dict(record.suggestion)
    return data
