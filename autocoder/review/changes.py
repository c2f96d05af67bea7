"""Changes from the review pages: each one a new entry in the project's append-only logs.

Decisions always carry the reviewing coder's name. A stale page (the fragment changed in
another tab since it was read) gets a Conflict instead of silently overriding; an undo appends
the state before the change it undoes, so the log keeps every step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from autocoder.codebook import Codebook
from autocoder.errors import AutocoderError, StaleError
from autocoder.records import PRIORITY_HIGH, Decision, FragmentRecord, Presence, Status
from autocoder.review.state import HUMAN, Conflict, NotFound, report_of
from autocoder.store import Project


@dataclass(frozen=True)
class Choice:
    """A coding chosen in the page: factor (None: no factor), presence, priority."""

    factor: str | None
    presence: Presence | None
    priority: str | None

    @classmethod
    def parse(cls, data: dict[str, Any], codebook: Codebook) -> Choice:
        factor = data.get("factor") or None
        if factor is not None and factor not in codebook.ids:
            raise AutocoderError(f"unknown code {str(factor)[:64]!r}")
        presence = data.get("presence") or None
        if presence not in (None, "present", "absent"):
            raise AutocoderError("presence must be present or absent")
        if factor is not None and presence is None:
            raise AutocoderError("choose present (p) or absent (a) for a code")
        priority = data.get("priority") or None
        if priority not in (None, PRIORITY_HIGH):
            raise AutocoderError(f"priority must be {PRIORITY_HIGH!r} or empty")
        return cls(factor, Presence(presence) if factor and presence else None, priority)


def current_record(project: Project, coder: str, fragment_id: str) -> FragmentRecord:
    if not project.has_fragment(fragment_id):
        raise NotFound("no such fragment in this project")
    records = project.coded_fragments(
        coder, include_suggestions=True, report_ids=[report_of(fragment_id)]
    )
    return next(r for r in records if r.fragment.id == fragment_id)


STALE = (
    "this fragment was changed in another tab or window; the page now shows the "
    "latest state: check it and press Enter again"
)


def _check_fresh(record: FragmentRecord, expected_seq: Any) -> None:
    if record.extra.get("seq") != expected_seq:
        raise Conflict(STALE)


def _append(project: Project, decision: Decision, expected_seq: Any) -> int:
    """Append unless another change landed since the page's state (checked under the
    write lock: of simultaneous changes from one state only the first lands)."""
    try:
        return project.record_decision_if_latest(decision, expected_seq)
    except StaleError:
        raise Conflict(STALE) from None


def decide(
    project: Project, coder: str, fragment_id: str, choice: Choice, expected_seq: Any
) -> int | None:
    """Append the coder's decision: confirmed when it equals the suggestion, else corrected.

    Returns the new entry's sequence number, or None when nothing changed."""
    record = current_record(project, coder, fragment_id)
    _check_fresh(record, expected_seq)
    suggestion = record.suggestion
    same = (
        suggestion is not None
        and suggestion.factor == choice.factor
        and (choice.factor is None or suggestion.presence == choice.presence)
    )
    status = Status.CONFIRMED if same else Status.CORRECTED
    coding = record.coding
    if (
        coding is not None
        and record.extra.get("status") == status.value
        and (coding.factor, coding.presence, coding.priority)
        == (choice.factor, choice.presence, choice.priority)
    ):
        return None
    decision = Decision(
        fragment_id, coder, choice.factor, choice.presence, choice.priority, status, ""
    )
    return _append(project, decision, expected_seq)


def reject(project: Project, coder: str, fragment_id: str, expected_seq: Any) -> int | None:
    """Append the coder's rejection: the fragment is not one to code (a heading, a question,
    a mis-cut piece), so it counts in no matrix and teaches no retrained model; "no factor"
    is the choice for an answer that speaks of no factor. None when already rejected."""
    record = current_record(project, coder, fragment_id)
    _check_fresh(record, expected_seq)
    if record.extra.get("status") == Status.REJECTED.value:
        return None
    decision = Decision(fragment_id, coder, None, None, None, Status.REJECTED, "")
    return _append(project, decision, expected_seq)


_UNDO_NOTE = re.compile(r"undo of #(\d+)")


def undo(project: Project, coder: str, fragment_id: str, expected_seq: Any) -> int:
    """Step the coder's coding of the fragment back by one change: append an entry that
    restores the state before their latest change that is not undone yet (open when there
    is none). The steps are read from the log (undo entries carry "undo of #N"), so no page
    has to remember them and repeated undos keep going back."""
    record = current_record(project, coder, fragment_id)
    _check_fresh(record, expected_seq)
    steps: list[tuple[int, Decision]] = []
    for seq, decision in project.decision_history(fragment_id, coder):
        if _UNDO_NOTE.fullmatch(decision.note):
            if steps:
                steps.pop()
        else:
            steps.append((seq, decision))
    if not steps:
        raise Conflict("nothing of yours to undo on this fragment")
    undone, _ = steps.pop()
    note = f"undo of #{undone}"
    before = steps[-1][1] if steps else None
    if before is None or before.status.value not in HUMAN:
        entry = Decision(fragment_id, coder, None, None, None, Status.SUGGESTED, "", note)
    else:
        entry = Decision(
            fragment_id,
            coder,
            before.factor,
            before.presence,
            before.priority,
            before.status,
            "",
            note,
        )
    return _append(project, entry, expected_seq)


MAX_MEMO_CHARS = 20_000


def add_memo(project: Project, coder: str, kind: str, target_id: str, text: str) -> int:
    text = text.strip()
    if not text:
        raise AutocoderError("the memo is empty")
    if len(text) > MAX_MEMO_CHARS:
        raise AutocoderError(f"a memo holds at most {MAX_MEMO_CHARS} characters")
    return project.add_memo(kind, target_id, coder, text)
