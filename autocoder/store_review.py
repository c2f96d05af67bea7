"""Store reads (and the option log) for the review app, shaped for one page at a time.

Part of the store (SQL lives only in ``store*`` modules). Every query here is bounded by
one report, a list of fragment ids or a LIMIT, and walks indexes: the review pages stay fast
on projects of thousands of reports. ``ReviewStore(project)`` wraps an open project.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autocoder.errors import StoreError
from autocoder.records import Decision, Fragment, FragmentRecord
from autocoder.store_read import HUMAN, STRATEGIES, StoreReader, _decision, _record, _suggestion
from autocoder.store_schema import guarded

# The coder name adjudicated codes are stored under; the note names the adjudicator.
ADJUDICATED = "adjudicated"
ADJUDICATED_NOTE = "adjudicated by "
OPTION_VALUES = {"review.blind": ("auto", "on", "off"), "review.blind_suggestions": ("on", "off")}
DECISION_COLUMNS = "d.seq, d.fragment_id, d.coder, d.factor, d.presence, d.priority, d.status, "
DECISION_COLUMNS += "d.timestamp, d.note"
# The suggestion a page shows for fragment f: the active model's, else the latest one.
SUGGESTION_OF = (
    "COALESCE((SELECT a.rowid FROM suggestions a WHERE a.fragment_id = f.id AND a.model_id = ?),"
    " (SELECT max(b.rowid) FROM suggestions b WHERE b.fragment_id = f.id))"
)
MAX_ORDERS = 8  # queue orders kept per process (project, strategy, seed)
_ORDERS: dict[tuple[str, str, int], tuple[tuple[Any, ...], list[str]]] = {}
HUMAN_SQL = "('confirmed', 'corrected', 'rejected')"


@guarded
class ReviewStore:
    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader
        self.conn: sqlite3.Connection = reader.conn
        self.path: Path = reader.path

    # --- options -----------------------------------------------------------------------------

    def option(self, key: str) -> str | None:
        row = self.conn.execute(
            "SELECT value FROM options WHERE key = ? ORDER BY seq DESC LIMIT 1", (key,)
        ).fetchone()
        return None if row is None else str(row[0])

    def set_option(self, key: str, value: str, coder: str) -> int | None:
        """Log a new value for an option (None when it already has that value)."""
        allowed = OPTION_VALUES.get(key)
        if allowed is None:
            raise StoreError(f"unknown option {key!r}; known: {', '.join(OPTION_VALUES)}")
        if value not in allowed:
            raise StoreError(f"option {key} must be one of {', '.join(allowed)}, not {value!r}")
        if self.option(key) == value:
            return None
        cursor = self.conn.execute(
            "INSERT INTO options (key, value, coder, timestamp) VALUES (?, ?, ?, ?)",
            (key, value, coder, datetime.now(UTC).isoformat(timespec="milliseconds")),
        )
        return int(cursor.lastrowid or 0)

    def others_decided(self, coder: str) -> bool:
        """Whether the log holds a person's decision by anyone but ``coder`` (adjudications
        not counted): then ``coder`` is at least the second coder of the project."""
        row = self.conn.execute(
            f"SELECT 1 FROM decisions WHERE status IN {HUMAN_SQL} AND coder NOT IN (?, ?) LIMIT 1",
            (coder, ADJUDICATED),
        ).fetchone()
        return row is not None

    def has_decided(self, coder: str) -> bool:
        row = self.conn.execute(
            f"SELECT 1 FROM decisions WHERE coder = ? AND status IN {HUMAN_SQL} LIMIT 1", (coder,)
        ).fetchone()
        return row is not None

    # --- the queue ---------------------------------------------------------------------------

    def queue(self, coder: str, strategy: str, limit: int, seed: int = 0) -> list[str]:
        """Ids of the current fragments ``coder`` has not decided (whoever else did), in
        review order: least confidence or smallest margin first (fragments without any
        suggestion last, in document order), or shuffled by ``seed``."""
        if strategy not in STRATEGIES:
            raise StoreError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
        decided = self.decided_by(coder)
        found: list[str] = []
        for fragment_id in self._order(strategy, seed):
            if fragment_id not in decided:
                found.append(fragment_id)
                if len(found) >= limit:
                    break
        return found

    def decided_by(self, coder: str) -> set[str]:
        """The fragments whose current entry by ``coder`` is a person's decision."""
        latest: dict[str, str] = {}
        rows = self.conn.execute(
            "SELECT fragment_id, status FROM decisions WHERE coder = ? ORDER BY seq", (coder,)
        )
        for fragment_id, status in rows:
            latest[fragment_id] = status
        return {fragment_id for fragment_id, status in latest.items() if status in HUMAN}

    def _order(self, strategy: str, seed: int) -> list[str]:
        """Every current fragment in ``strategy``'s order. Kept per process while the
        project's fragments, suggestions and active model stay the same (the tables are
        append-only, so their largest rowids tell), so a page does not sort the project."""
        version = self.conn.execute(
            "SELECT (SELECT max(rowid) FROM fragments), (SELECT max(rowid) FROM suggestions), "
            "(SELECT max(rowid) FROM report_versions), (SELECT max(seq) FROM model_activations)"
        ).fetchone()
        key = (str(self.path.resolve()), strategy, seed if strategy == "random" else 0)
        cached = _ORDERS.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        rows = self.conn.execute(
            "SELECT f.id, s.confidence, s.factor_probs FROM fragments f "
            f"LEFT JOIN suggestions s ON s.rowid = {SUGGESTION_OF} "
            "WHERE f.report_id IN (SELECT id FROM current_reports) ORDER BY f.report_id, f.start",
            (self.reader.active_model_id(),),
        ).fetchall()
        if strategy == "random":
            ids = [row[0] for row in rows]
            random.Random(seed).shuffle(ids)
        else:
            sort_key = _confidence if strategy == "least_confidence" else _margin
            ids = [row[0] for row in sorted(rows, key=sort_key)]
        if len(_ORDERS) >= MAX_ORDERS:
            _ORDERS.pop(next(iter(_ORDERS)))
        _ORDERS[key] = (version, ids)
        return ids

    # --- one report, or a list of fragments -------------------------------------------------

    def report(self, report_id: str) -> dict[str, Any] | None:
        """A report's listing entry (its latest version pointing at this content)."""
        row = self.conn.execute(
            "SELECT v.report_id, v.source, v.version, v.added_at, r.sha256, v.respondent, "
            "v.organisation, v.role, v.grp, v.date, r.format, "
            "(SELECT count(*) FROM fragments f WHERE f.report_id = r.id) "
            "FROM report_versions v JOIN reports r ON r.id = v.report_id "
            "WHERE v.report_id = ? ORDER BY v.rowid DESC LIMIT 1",
            (report_id,),
        ).fetchone()
        if row is None:
            return None
        keys = ("id", "source", "version", "added_at", "sha256", "respondent", "organisation")
        keys += ("role", "group", "date", "format", "fragments")
        return dict(zip(keys, row, strict=True))

    def fragments_by_id(self, ids: Iterable[str]) -> list[Fragment]:
        return self.reader._fragments(
            "f.id IN (SELECT value FROM json_each(?))", (json.dumps(list(ids)),)
        )

    def records(self, coder: str, fragment_ids: Iterable[str]) -> list[FragmentRecord]:
        """These fragments (in the order given) with ``coder``'s current entry and the
        suggestion a page shows (the active model's, else the latest)."""
        ids = json.dumps(list(dict.fromkeys(fragment_ids)))
        fragments = {f.id: f for f in self.fragments_by_id(json.loads(ids))}
        latest: dict[str, tuple[int, Decision]] = {}
        rows = self.conn.execute(
            f"SELECT {DECISION_COLUMNS} FROM decisions d WHERE d.coder = ? "
            "AND d.fragment_id IN (SELECT value FROM json_each(?)) ORDER BY d.seq",
            (coder, ids),
        )
        for row in rows:
            latest[row[1]] = (row[0], _decision(row[1:]))  # by seq: the last wins
        suggestions = {}
        rows = self.conn.execute(
            "SELECT s.fragment_id, s.model_id, s.factor, s.presence, s.confidence, "
            "s.factor_probs, s.presence_prob, s.reasons FROM suggestions s "
            "WHERE s.fragment_id IN (SELECT value FROM json_each(?)) "
            "ORDER BY s.model_id = ?, s.rowid",
            (ids, self.reader.active_model_id()),
        )
        for row in rows:
            suggestions[row[0]] = _suggestion(row)  # the active model's (else latest) wins
        return [
            _record(fragments[i], latest.get(i), suggestions.get(i))
            for i in json.loads(ids)
            if i in fragments
        ]

    def neighbours(self, fragment_ids: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
        """Fragment id -> the ids of the fragments just before and after it in its report."""
        rows = self.conn.execute(
            "SELECT f.id, (SELECT g.id FROM fragments g WHERE g.report_id = f.report_id "
            "AND g.start < f.start ORDER BY g.start DESC LIMIT 1), (SELECT g.id FROM fragments g "
            "WHERE g.report_id = f.report_id AND g.start > f.start ORDER BY g.start LIMIT 1) "
            "FROM fragments f WHERE f.id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(fragment_ids)),),
        )
        return {row[0]: (row[1], row[2]) for row in rows}

    def decisions_on(self, fragment_ids: Iterable[str]) -> list[tuple[int, Decision]]:
        """Every coder's current decision on these fragments, by log order."""
        rows = self.conn.execute(
            f"SELECT {DECISION_COLUMNS} FROM decisions d "
            "WHERE d.fragment_id IN (SELECT value FROM json_each(?)) AND d.seq = "
            "(SELECT max(e.seq) FROM decisions e WHERE e.fragment_id = d.fragment_id "
            "AND e.coder = d.coder) ORDER BY d.seq",
            (json.dumps(list(fragment_ids)),),
        )
        return [(row[0], _decision(row[1:])) for row in rows]

    def memos_on(self, kind: str, targets: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        rows = self.conn.execute(
            "SELECT seq, kind, target_id, coder, text, timestamp FROM memos WHERE kind = ? "
            "AND target_id IN (SELECT value FROM json_each(?)) ORDER BY seq",
            (kind, json.dumps(list(targets))),
        )
        keys = ("seq", "kind", "target_id", "coder", "text", "timestamp")
        found: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            found.setdefault(row[2], []).append(dict(zip(keys, row, strict=True)))
        return found

    # --- adjudication ------------------------------------------------------------------------

    def disagreements(self) -> dict[str, list[tuple[int, Decision]]]:
        """Fragments of current reports that two or more coders decided differently (code,
        presence, priority or rejection): fragment id -> each coder's current decision and
        the adjudicated one when there is one; in document order."""
        rows = self.conn.execute(
            f"SELECT {DECISION_COLUMNS} FROM decisions d JOIN fragments f ON f.id = d.fragment_id "
            f"WHERE d.status IN {HUMAN_SQL} AND f.report_id IN (SELECT id FROM current_reports) "
            "AND d.seq = (SELECT max(e.seq) FROM decisions e WHERE e.fragment_id = d.fragment_id "
            "AND e.coder = d.coder) ORDER BY f.report_id, f.start, d.seq"
        )
        by_fragment: dict[str, list[tuple[int, Decision]]] = {}
        for row in rows:
            by_fragment.setdefault(row[1], []).append((row[0], _decision(row[1:])))
        return {
            fid: entries
            for fid, entries in by_fragment.items()
            if len({_coding(d) for _, d in entries if d.coder != ADJUDICATED}) > 1
        }


def _confidence(row: tuple[Any, ...]) -> tuple[bool, float]:
    return (row[1] is None, row[1] or 0.0)


def _margin(row: tuple[Any, ...]) -> tuple[bool, float]:
    if row[2] is None:
        return (True, 0.0)
    top = [*sorted(json.loads(row[2]).values(), reverse=True), 0.0, 0.0]
    return (False, top[0] - top[1])


def _coding(decision: Decision) -> tuple[Any, ...]:
    if decision.status.value == "rejected":
        return ("rejected",)
    return (decision.factor, decision.presence, decision.priority)


__all__ = ["ADJUDICATED", "ADJUDICATED_NOTE", "HUMAN", "ReviewStore"]
