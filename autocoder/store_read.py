"""Read side of the project store: reports, fragments and the current coding as records.

Part of the store (the only SQL outside ``store``/``store_schema``). "Current" means the
latest version of each report source and each coder's latest entry in the decision log.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from autocoder.codebook import Codebook, parse_codebook
from autocoder.errors import StoreError
from autocoder.records import (
    Coding,
    Decision,
    Fragment,
    FragmentRecord,
    Presence,
    Status,
    Suggestion,
)
from autocoder.store_schema import guarded
from autocoder.store_versions import VersionReader

HUMAN = ("confirmed", "corrected", "rejected")
CODED = ("confirmed", "corrected")
STRATEGIES = ("least_confidence", "margin", "random")
FRAGMENT_COLUMNS = 'f.id, f.report_id, f.start, f."end", f.question, f.speaker, m.respondent, m.grp'
IN_CURRENT = "f.report_id IN (SELECT id FROM current_reports)"
IN_LIST = "f.report_id IN (SELECT value FROM json_each(?))"


@guarded
class StoreReader(VersionReader):
    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._codebook: Codebook | None = None

    # --- small lookups -----------------------------------------------------------------------

    def setting(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def unit(self) -> str | None:
        return self.setting("unit")

    def project_codebook(self) -> Codebook | None:
        if self._codebook is None:
            row = self.conn.execute(
                "SELECT yaml FROM codebooks WHERE hash = "
                "(SELECT value FROM settings WHERE key = 'codebook')"
            ).fetchone()
            if row is not None:
                self._codebook = parse_codebook(row[0], f"{self.path} (project codebook)")
        return self._codebook

    def active_model_id(self) -> str | None:
        row = self.conn.execute("SELECT model_id FROM active_model").fetchone()
        return None if row is None else str(row[0])

    def models(self) -> list[dict[str, Any]]:
        active = self.active_model_id()
        rows = self.conn.execute(
            "SELECT id, codebook_hash, meta, added_at FROM models ORDER BY rowid"
        )
        return [
            {
                "id": i,
                "codebook_hash": h,
                "meta": json.loads(m),
                "added_at": a,
                "active": i == active,
            }
            for i, h, m, a in rows
        ]

    def coders(self) -> list[str]:
        """Everyone with an entry in the decision log, sorted."""
        rows = self.conn.execute("SELECT DISTINCT coder FROM decisions ORDER BY coder")
        return [str(row[0]) for row in rows]

    def has_fragment(self, fragment_id: str) -> bool:
        sql = "SELECT 1 FROM fragments WHERE id = ?"
        return self.conn.execute(sql, (fragment_id,)).fetchone() is not None

    def has_report(self, report_id: str) -> bool:
        sql = "SELECT 1 FROM reports WHERE id = ?"
        return self.conn.execute(sql, (report_id,)).fetchone() is not None

    def known_sources(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Source -> (sha256 of the normalised text, metadata) of its latest version."""
        rows = self.conn.execute(
            "SELECT v.source, r.sha256, v.respondent, v.organisation, v.role, v.grp, v.date "
            "FROM latest_versions v JOIN reports r ON r.id = v.report_id"
        )
        return {row[0]: (row[1], tuple(row[2:])) for row in rows}

    # --- reports and fragments ---------------------------------------------------------------

    def reports(self, all_versions: bool = False) -> list[dict[str, Any]]:
        """One entry per source (its latest version), or per version; ordered by source."""
        table = "report_versions" if all_versions else "latest_versions"
        rows = self.conn.execute(
            f"SELECT v.report_id, v.source, v.version, v.added_at, r.sha256, v.respondent, "
            f"v.organisation, v.role, v.grp, v.date, r.format, "
            f"(SELECT count(*) FROM fragments f WHERE f.report_id = r.id) "
            f"FROM {table} v JOIN reports r ON r.id = v.report_id ORDER BY v.source, v.version"
        )
        keys = ("id", "source", "version", "added_at", "sha256", "respondent", "organisation")
        keys += ("role", "group", "date", "format", "fragments")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def report_text(self, report_id: str) -> str:
        row = self.conn.execute("SELECT text FROM reports WHERE id = ?", (report_id,)).fetchone()
        if row is None:
            raise StoreError(f"no report {report_id!r} in this project")
        return str(row[0])

    def fragments(self, report_id: str) -> list[Fragment]:
        return self._fragments("f.report_id = ?", (report_id,))

    def _fragments(self, where: str, params: tuple[Any, ...] = ()) -> list[Fragment]:
        rows = self.conn.execute(
            f"SELECT {FRAGMENT_COLUMNS} FROM fragments f JOIN report_meta m "
            "ON m.report_id = f.report_id "
            f'WHERE {where} ORDER BY f.report_id, f.start, f."end"',
            params,
        ).fetchall()
        texts: dict[str, str] = {}
        result = []
        for fid, rid, start, end, question, speaker, respondent, group in rows:
            if rid not in texts:
                texts[rid] = self.report_text(rid)
            text = texts[rid][start:end]
            result.append(
                Fragment(fid, rid, start, end, text, respondent, group, question, speaker)
            )
        return result

    def unscored_fragments(self, model_id: str | None, open_only: bool = False) -> list[Fragment]:
        """Current fragments without a suggestion from ``model_id`` (None: from any model);
        with ``open_only`` also without any person's decision."""
        where = (
            IN_CURRENT + " AND NOT EXISTS (SELECT 1 FROM suggestions s WHERE s.fragment_id = f.id"
        )
        params: tuple[Any, ...] = ()
        if model_id is not None:
            where += " AND s.model_id = ?"
            params = (model_id,)
        where += ")"
        if open_only:
            where += (
                " AND NOT EXISTS (SELECT 1 FROM current_decisions d WHERE d.fragment_id = f.id"
                " AND d.status != 'suggested')"
            )
        return self._fragments(where, params)

    # --- the current coding ------------------------------------------------------------------

    def current_decisions(self, coder: str | None = None) -> list[Decision]:
        """Each coder's latest decision per fragment (only ``coder``'s when given)."""
        return [d for _, d in self._decisions(coder)]

    def _decisions(
        self, coder: str | None, reports: list[str] | None = None
    ) -> list[tuple[int, Decision]]:
        sql = (
            "SELECT seq, fragment_id, coder, factor, presence, priority, status, timestamp, note "
            "FROM current_decisions d WHERE 1"
        )
        params: list[Any] = []
        if coder is not None:
            sql += " AND coder = ?"
            params.append(coder)
        if reports is not None:
            sql += " AND fragment_id IN (SELECT f.id FROM fragments f WHERE " + IN_LIST + ")"
            params.append(json.dumps(reports))
        rows = self.conn.execute(sql + " ORDER BY seq", params)
        return [(row[0], _decision(row[1:])) for row in rows]

    def decision_history(self, fragment_id: str, coder: str) -> list[tuple[int, Decision]]:
        """The coder's log entries for the fragment, oldest first, with their sequence numbers."""
        rows = self.conn.execute(
            "SELECT seq, fragment_id, coder, factor, presence, priority, status, timestamp, note "
            "FROM decisions WHERE fragment_id = ? AND coder = ? ORDER BY seq",
            (fragment_id, coder),
        )
        return [(row[0], _decision(row[1:])) for row in rows]

    def coded_fragments(
        self,
        coder: str | None = None,
        include_suggestions: bool = False,
        report_ids: Iterable[str] | None = None,
    ) -> list[FragmentRecord]:
        """Fragments of the latest report versions (or of ``report_ids``) with the coding
        (``coder``'s latest confirmed/corrected decision; any coder's latest when None), the
        active model's suggestion (else the latest one) and extra status/coder/seq."""
        if report_ids is None:
            ids = list(dict.fromkeys(r["id"] for r in self.reports()))
        else:
            ids = list(dict.fromkeys(report_ids))
        latest = self._latest_decisions(coder, ids)
        suggestions = self._suggestions(ids) if include_suggestions else {}
        fragments = self._fragments(IN_LIST, (json.dumps(ids),))
        order = {rid: index for index, rid in enumerate(ids)}
        fragments.sort(key=lambda f: (order[f.report], f.start, f.end))
        return [_record(f, latest.get(f.id), suggestions.get(f.id)) for f in fragments]

    def _latest_decisions(
        self, coder: str | None, ids: list[str]
    ) -> dict[str, tuple[int, Decision]]:
        latest: dict[str, tuple[int, Decision]] = {}
        for seq, decision in self._decisions(coder, ids):
            if coder is None and decision.status.value not in HUMAN:
                continue
            latest[decision.fragment_id] = (seq, decision)  # ordered by seq: the last wins
        return latest

    def _suggestions(self, ids: list[str]) -> dict[str, Suggestion]:
        rows = self.conn.execute(
            "SELECT s.fragment_id, s.model_id, s.factor, s.presence, s.confidence, "
            "s.factor_probs, s.presence_prob, s.reasons "
            "FROM suggestions s JOIN fragments f ON f.id = s.fragment_id"
            f" WHERE {IN_LIST} ORDER BY s.model_id = ?, s.rowid",
            (json.dumps(ids), self.active_model_id()),
        )
        return {row[0]: _suggestion(row) for row in rows}  # active model's (else latest) wins

    def open_suggestions(
        self,
        coder: str,
        strategy: str = "least_confidence",
        limit: int | None = None,
        seed: int = 0,
    ) -> list[FragmentRecord]:
        """Fragments with an active-model suggestion that ``coder`` has not decided yet."""
        if strategy not in STRATEGIES:
            raise StoreError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
        active = self.active_model_id()
        records = [
            r
            for r in self.coded_fragments(coder, include_suggestions=True)
            if r.suggestion is not None
            and r.suggestion.model == active
            and r.extra["status"] not in HUMAN
        ]
        if strategy == "random":
            random.Random(seed).shuffle(records)
        elif strategy == "margin":
            records.sort(key=lambda r: _margin(r.suggestion))
        else:
            records.sort(key=lambda r: r.suggestion.confidence if r.suggestion else 1.0)
        return records if limit is None else records[:limit]

    # --- memos, verdicts, status -------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return project_status(self)

    def memos(self, kind: str, target_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT seq, kind, target_id, coder, text, timestamp FROM memos "
            "WHERE kind = ? AND target_id = ? ORDER BY seq",
            (kind, target_id),
        )
        keys = ("seq", "kind", "target_id", "coder", "text", "timestamp")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def verdicts(self) -> list[dict[str, Any]]:
        """The latest verdict per code and column."""
        rows = self.conn.execute(
            'SELECT seq, code, "column", verdict, note, coder, timestamp FROM current_verdicts '
            'ORDER BY code, "column"'
        )
        keys = ("seq", "code", "column", "verdict", "note", "coder", "timestamp")
        return [dict(zip(keys, row, strict=True)) for row in rows]


def _decision(row: tuple[Any, ...]) -> Decision:
    fragment_id, coder, factor, presence, priority, status, timestamp, note = row
    return Decision(
        fragment_id=fragment_id,
        coder=coder,
        factor=factor,
        presence=Presence(presence) if presence else None,
        priority=priority,
        status=Status(status),
        timestamp=timestamp,
        note=note,
    )


def _suggestion(row: tuple[Any, ...]) -> Suggestion:
    _, model, factor, presence, confidence, probs, presence_prob, reasons = row
    return Suggestion(
        factor=factor,
        presence=Presence(presence) if presence else None,
        confidence=confidence,
        factor_probs=json.loads(probs),
        presence_prob=presence_prob,
        reasons=tuple(json.loads(reasons)),
        model=model,
    )


def _record(
    fragment: Fragment, latest: tuple[int, Decision] | None, suggestion: Suggestion | None
) -> FragmentRecord:
    if latest is None:
        extra: dict[str, Any] = {"status": "open", "coder": None, "seq": None}
        return FragmentRecord(fragment, None, suggestion, extra)
    seq, d = latest
    coding = None
    if d.status.value in CODED:
        coding = Coding(d.factor, d.presence, d.priority, d.coder)
    extra = {"status": d.status.value, "coder": d.coder, "seq": seq}
    return FragmentRecord(fragment, coding, suggestion, extra)


def _margin(suggestion: Suggestion | None) -> float:
    if suggestion is None or not suggestion.factor_probs:
        return 1.0
    top = [*sorted(suggestion.factor_probs.values(), reverse=True), 0.0]
    return top[0] - top[1]


def project_status(reader: StoreReader) -> dict[str, Any]:
    """Counts for ``status``: reports, fragments, suggestions, and per coder and report the
    confirmed/corrected/rejected/open fragments (open: no decision by that coder yet)."""
    conn = reader.conn
    active = reader.active_model_id()
    per_report = {
        rid: {"fragments": n, "suggestions": 0, "coders": {}}
        for rid, n in conn.execute(
            f"SELECT f.report_id, count(*) FROM fragments f WHERE {IN_CURRENT} GROUP BY 1"
        )
    }
    for rid, n in conn.execute(
        f"SELECT f.report_id, count(*) FROM suggestions s JOIN fragments f ON f.id = s.fragment_id"
        f" WHERE {IN_CURRENT} AND s.model_id = ? GROUP BY 1",
        (active,),
    ):
        per_report[rid]["suggestions"] = n
    coders: dict[str, dict[str, int]] = {}
    for coder, rid, status, n in conn.execute(
        "SELECT d.coder, f.report_id, d.status, count(*) FROM current_decisions d "
        f"JOIN fragments f ON f.id = d.fragment_id WHERE {IN_CURRENT} GROUP BY 1, 2, 3"
    ):
        counts = per_report[rid]["coders"].setdefault(coder, _zero())
        counts[status] = n
        coders.setdefault(coder, _zero())[status] += n
    total = sum(r["fragments"] for r in per_report.values())
    for counts in coders.values():
        counts["open"] = total - sum(counts[s] for s in HUMAN)
    for row in per_report.values():
        for coder in coders:
            counts = row["coders"].setdefault(coder, _zero())
            counts["open"] = row["fragments"] - sum(counts[s] for s in HUMAN)
    for rid, n in reader.reopened_per_report().items():
        per_report[rid]["reopened"] = n
    reports = reader.reports()
    sources_by_text: dict[str, list[str]] = {}
    for r in reports:
        sources_by_text.setdefault(r["sha256"], []).append(r["source"])
    listing = [
        {
            **{k: r[k] for k in ("id", "source", "version", "respondent", "group")},
            "reopened": 0,
            **per_report.get(r["id"], {}),
            "same_text_as": [s for s in sources_by_text[r["sha256"]] if s != r["source"]],
        }
        for r in reports
    ]
    codebook = reader.project_codebook()
    return {
        "project": str(reader.path),
        "codebook": None if codebook is None else codebook.id,
        "unit": reader.unit(),
        "active_model": active,
        "reports": len(per_report),
        "versions": conn.execute("SELECT count(*) FROM report_versions").fetchone()[0],
        "fragments": total,
        "suggestions": sum(r["suggestions"] for r in per_report.values()),
        "reopened": sum(r["reopened"] for r in listing),
        "duplicates": sum(bool(r["same_text_as"]) for r in listing),
        "coders": coders,
        "per_report": listing,
    }


def _zero() -> dict[str, int]:
    return {"suggested": 0, "confirmed": 0, "corrected": 0, "rejected": 0, "open": 0}
