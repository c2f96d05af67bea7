"""What the review pages show, as plain data read from an open Project.

No HTTP here: routes call these functions in a worker thread and render or serialise the
result. A fragment's state holds the active model's suggestion, the reviewing coder's current
decision (with its log sequence number, to detect stale pages) and other coders' decisions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from autocoder.codebook import Codebook
from autocoder.errors import AutocoderError, StoreError
from autocoder.records import (
    Decision,
    Fragment,
    FragmentRecord,
    Status,
    Suggestion,
)
from autocoder.review.blind import Blind, blind_mode
from autocoder.review.markdown import Marks, Run, pieces_with_runs, question_wordings
from autocoder.store import Project
from autocoder.store_review import ReviewStore

HUMAN = {Status.CONFIRMED.value, Status.CORRECTED.value, Status.REJECTED.value}
STRATEGIES = ("least_confidence", "margin", "random")


class Conflict(AutocoderError):
    """The fragment changed (in another tab or window) since the page last read it."""


class NotFound(AutocoderError):
    """No such report or fragment in this project."""


def codebook_of(project: Project) -> Codebook:
    codebook = project.project_codebook()
    if codebook is None:
        raise StoreError(f"{project.path}: the project has no codebook yet; code reports first")
    return codebook


def report_of(fragment_id: str) -> str:
    return fragment_id.split(":", 1)[0]


# --- reading -----------------------------------------------------------------------------------


def suggestion_view(suggestion: Suggestion | None) -> dict[str, Any] | None:
    if suggestion is None:
        return None
    probs = sorted(suggestion.factor_probs.items(), key=lambda kv: -kv[1])[:3]
    return {
        "factor": suggestion.factor,
        "presence": suggestion.presence.value if suggestion.presence else None,
        "confidence": round(suggestion.confidence, 3),
        "reasons": list(suggestion.reasons),
        "top": [[label, round(p, 3)] for label, p in probs],
        "model": suggestion.model,
    }


def decision_view(decision: Decision, seq: int | None = None) -> dict[str, Any]:
    return {
        "coder": decision.coder,
        "factor": decision.factor,
        "presence": decision.presence.value if decision.presence else None,
        "priority": decision.priority,
        "status": decision.status.value,
        "timestamp": decision.timestamp,
        "seq": seq,
    }


def fragment_view(
    record: FragmentRecord,
    others: list[Decision],
    memos: list[dict[str, Any]],
    blind: Blind,
    wording: str | None = None,
) -> dict[str, Any]:
    fragment, coding, extra = record.fragment, record.coding, record.extra
    status = str(extra.get("status") or "open")
    mine = None
    if status in HUMAN:
        mine = {
            "factor": coding.factor if coding else None,
            "presence": coding.presence.value if coding and coding.presence else None,
            "priority": coding.priority if coding else None,
            "status": status,
        }
    return {
        "id": fragment.id,
        "report": fragment.report,
        "question": fragment.question,
        "question_text": wording,
        "speaker": fragment.speaker,
        "respondent": fragment.respondent,
        "status": status if status in HUMAN else "open",
        "seq": extra.get("seq"),
        "mine": mine,
        "suggestion": None if blind.suggestion else suggestion_view(record.suggestion),
        "others": [] if blind.others else [decision_view(d) for d in others],
        "memos": [memo_view(m) for m in memos],
    }


def memo_view(memo: dict[str, Any]) -> dict[str, Any]:
    return {k: memo[k] for k in ("coder", "text", "timestamp")}


def fragment_states(
    project: Project,
    coder: str,
    report_ids: Iterable[str],
    only: set[str] | None = None,
    blind: Blind | None = None,
) -> list[dict[str, Any]]:
    """The page state of every fragment of ``report_ids`` (or of the ids in ``only``)."""
    blind = blind_mode(project, coder) if blind is None else blind
    store = ReviewStore(project)
    if only is not None:
        records = store.records(coder, only)
    else:
        records = project.coded_fragments(coder, include_suggestions=True, report_ids=report_ids)
    wanted = [r.fragment.id for r in records]
    others: dict[str, list[Decision]] = {}
    if not blind.others:
        for _, decision in store.decisions_on(wanted):
            if decision.coder != coder and decision.status.value in HUMAN:
                others.setdefault(decision.fragment_id, []).append(decision)
    memos = store.memos_on("fragment", wanted)
    wordings = {
        rid: question_wordings(project.report_text(rid))
        for rid in dict.fromkeys(r.fragment.report for r in records)
    }
    return [
        fragment_view(
            r,
            others.get(r.fragment.id, []),
            memos.get(r.fragment.id, []),
            blind,
            wordings[r.fragment.report].get(r.fragment.question or 0),
        )
        for r in records
    ]


def state_for(project: Project, coder: str, view: dict[str, Any]) -> dict[str, Any]:
    """Fresh state for a page: ``{"report": id}`` or ``{"ids": [fragment ids]}``."""
    blind = blind_mode(project, coder)
    flags = {"blind": blind.others, "blind_suggestions": blind.suggestion}
    if view.get("report"):
        report_id = str(view["report"])
        if not project.has_report(report_id):
            raise NotFound("no such report in this project")
        return {
            "fragments": fragment_states(project, coder, [report_id], blind=blind),
            "report_memos": [memo_view(m) for m in project.memos("report", report_id)],
            **flags,
        }
    ids = {str(i) for i in view.get("ids") or [] if isinstance(i, str)}
    fragments = fragment_states(project, coder, [], only=ids, blind=blind)
    return {"fragments": fragments, "report_memos": [], **flags}


def report_meta(project: Project, report_id: str) -> dict[str, Any]:
    meta = ReviewStore(project).report(report_id)
    if meta is None:
        raise NotFound("no such report in this project")
    return meta


def text_pieces(text: str, fragments: list[Fragment]) -> list[tuple[int, int, str | None]]:
    """The report text cut into (start, end, fragment id or None) pieces in document order."""
    pieces: list[tuple[int, int, str | None]] = []
    cursor = 0
    for fragment in sorted(fragments, key=lambda f: (f.start, f.end)):
        if fragment.start < cursor or fragment.end <= fragment.start:
            continue  # overlapping or empty: the text is already shown
        if fragment.start > cursor:
            pieces.append((cursor, fragment.start, None))
        pieces.append((fragment.start, fragment.end, fragment.id))
        cursor = fragment.end
    if cursor < len(text):
        pieces.append((cursor, len(text), None))
    return pieces


def report_page(project: Project, coder: str, report_id: str) -> dict[str, Any]:
    meta = report_meta(project, report_id)
    fragments = project.fragments(report_id)
    text = project.report_text(report_id)
    return {
        "report": meta,
        "pieces": pieces_with_runs(text, text_pieces(text, fragments)),
        "state": state_for(project, coder, {"report": report_id}),
    }


def progress(project: Project, coder: str) -> dict[str, Any]:
    """Per report: fragments, suggestions and per coder the decided and open counts."""
    status = project.status()
    coders = sorted({*status["coders"], coder}, key=lambda name: (name != coder, name.lower()))
    rows = []
    for row in status["per_report"]:
        total = int(row.get("fragments") or 0)
        per_coder = []
        for name in coders:
            counts = row.get("coders", {}).get(name) or {}
            done = sum(int(counts.get(s, 0)) for s in HUMAN)
            per_coder.append({"coder": name, "done": done, "percent": _percent(done, total)})
        rows.append({**row, "fragments": total, "per_coder": per_coder})
    return {"status": status, "coders": coders, "rows": rows}


def _percent(done: int, total: int) -> int:
    return round(100 * done / total) if total else 0


def queue_items(
    project: Project, coder: str, strategy: str, limit: int, seed: int
) -> list[dict[str, Any]]:
    """The fragments the coder has not decided, in review order, each with the sentences
    next to it that answer the same question."""
    store = ReviewStore(project)
    ids = store.queue(coder, strategy, limit, seed)
    states = {s["id"]: s for s in fragment_states(project, coder, [], only=set(ids))}
    around = store.neighbours(ids)
    wanted = [i for pair in around.values() for i in pair if i is not None]
    fragments = {f.id: f for f in store.fragments_by_id([*ids, *wanted])}
    texts: dict[str, tuple[str, Marks]] = {}
    items = []
    for fragment_id in ids:
        fragment = fragments[fragment_id]
        if fragment.report not in texts:
            text = project.report_text(fragment.report)
            texts[fragment.report] = (text, Marks.of(text))
        text, marks = texts[fragment.report]
        before, after = (fragments.get(i) if i else None for i in around[fragment_id])
        items.append(
            {
                "fragment": fragment,
                "runs": marks.runs(text, fragment.start, fragment.end),
                "before": _context(before, fragment, text, marks),
                "after": _context(after, fragment, text, marks),
                "state": states[fragment.id],
            }
        )
    return items


def _context(neighbour: Fragment | None, fragment: Fragment, text: str, marks: Marks) -> list[Run]:
    """A neighbour's runs, unless it answers another question (or none at all)."""
    if neighbour is None or neighbour.question != fragment.question:
        return []
    return marks.runs(text, neighbour.start, neighbour.end)
