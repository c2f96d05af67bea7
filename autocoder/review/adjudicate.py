"""Adjudication: the fragments where coders differ, and the final code a named person records.

An adjudicated code is a plain decision in the log under the coder name ``adjudicated``
(``store_review.ADJUDICATED``) whose note reads ``adjudicated by NAME``; its status is
confirmed when it equals the model's suggestion, corrected otherwise, rejected for "not a
fragment to code". So the matrix and agreement read adjudicated codes like any coder's
(``study.db@adjudicated``, ``--coder adjudicated``), and every coder's own codes stay as
they were. In blind mode a coder who decided fragments sees only the disagreements on
fragments they decided themselves; an adjudicator who coded nothing sees them all.
"""

from __future__ import annotations

from typing import Any

from autocoder.codebook import Codebook
from autocoder.errors import AutocoderError
from autocoder.records import Decision, Status
from autocoder.review.blind import blind_mode
from autocoder.review.changes import Choice
from autocoder.review.state import Conflict, NotFound, decision_view, report_of, suggestion_view
from autocoder.store import Project
from autocoder.store_review import ADJUDICATED, ADJUDICATED_NOTE, ReviewStore

PAGE_SIZE = 50


def disagreements(project: Project, viewer: str, page: int = 0) -> dict[str, Any]:
    """One page of the fragments coders decided differently, each with every coder's code,
    the current adjudicated code and the model's suggestion."""
    store = ReviewStore(project)
    found = store.disagreements()
    hidden = 0
    if blind_mode(project, viewer).on and store.has_decided(viewer):
        mine = {fid for fid, entries in found.items() if any(d.coder == viewer for _, d in entries)}
        hidden = len(found) - len(mine)
        found = {fid: entries for fid, entries in found.items() if fid in mine}
    ids = list(found)[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    fragments = {f.id: f for f in store.fragments_by_id(ids)}
    reports = list(dict.fromkeys(report_of(i) for i in ids))
    suggestions = {
        r.fragment.id: r.suggestion
        for r in project.coded_fragments(None, include_suggestions=True, report_ids=reports)
    }
    items = []
    for fragment_id in ids:
        entries = found[fragment_id]
        final = [(seq, d) for seq, d in entries if d.coder == ADJUDICATED]
        items.append(
            {
                "fragment": fragments[fragment_id],
                "coders": [decision_view(d, seq) for seq, d in entries if d.coder != ADJUDICATED],
                "final": decision_view(*reversed(final[-1])) if final else None,
                "final_by": final[-1][1].note.removeprefix(ADJUDICATED_NOTE) if final else None,
                "final_seq": final[-1][0] if final else None,
                "suggestion": suggestion_view(suggestions.get(fragment_id)),
            }
        )
    return {
        "items": items,
        "total": len(found),
        "hidden": hidden,
        "page": page,
        "pages": max(1, -(-len(found) // PAGE_SIZE)),
    }


def adjudicate(
    project: Project,
    codebook: Codebook,
    adjudicator: str,
    fragment_id: str,
    form: dict[str, Any],
    expected_seq: int | None,
) -> int:
    """Record the final code: another coder's (``take``: their name), or the one chosen
    (``factor``, ``presence``, ``priority``; ``factor`` "rejected" for not a fragment)."""
    if not project.has_fragment(fragment_id):
        raise NotFound("no such fragment in this project")
    with project.transaction():  # the check and the entry under one write lock
        return _adjudicate(project, codebook, adjudicator, fragment_id, form, expected_seq)


def _adjudicate(
    project: Project,
    codebook: Codebook,
    adjudicator: str,
    fragment_id: str,
    form: dict[str, Any],
    expected_seq: int | None,
) -> int:
    store = ReviewStore(project)
    current = {d.coder: (seq, d) for seq, d in store.decisions_on([fragment_id])}
    final = current.get(ADJUDICATED)
    if (final[0] if final else None) != expected_seq:
        raise Conflict("someone adjudicated this fragment meanwhile; the page shows it now")
    note = ADJUDICATED_NOTE + adjudicator
    take = str(form.get("take") or "")
    if take:
        if take not in current or take == ADJUDICATED:
            raise AutocoderError("that coder has no decision on this fragment")
        chosen = current[take][1]
        status = chosen.status
        choice = Choice(chosen.factor, chosen.presence, chosen.priority)
    elif form.get("factor") == "rejected":
        status, choice = Status.REJECTED, Choice(None, None, None)
    else:
        choice = Choice.parse(form, codebook)
        status = Status.CORRECTED
    if status != Status.REJECTED:
        record = next(
            r
            for r in project.coded_fragments(
                ADJUDICATED, include_suggestions=True, report_ids=[report_of(fragment_id)]
            )
            if r.fragment.id == fragment_id
        )
        s = record.suggestion
        same = s is not None and (s.factor, s.presence) == (choice.factor, choice.presence)
        status = Status.CONFIRMED if same else Status.CORRECTED
    entry = Decision(
        fragment_id, ADJUDICATED, choice.factor, choice.presence, choice.priority, status, "", note
    )
    return project.record_decision(entry)
