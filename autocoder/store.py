"""The project store: one SQLite file holding reports, fragments, suggestions and the coding log.

The only module that speaks SQL (with ``store_schema``, which owns the file and its schema).
Writes happen in transactions (``with project.transaction():``); a report is stored together
with its fragments (and, from the caller, its suggestions) or not at all. Nothing is
overwritten: decisions, memos and verdicts are append-only logs; the current state is a view.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autocoder.codebook import Codebook, parse_codebook
from autocoder.errors import CodebookMismatchError, StaleError, StoreError
from autocoder.fragment_links import Carried, link_fragments
from autocoder.records import PRIORITY_HIGH, Decision, Fragment, Report, Suggestion
from autocoder.store_read import StoreReader
from autocoder.store_schema import connect, describe, guarded

VERDICTS = ("present", "partly", "absent")
_JSON = json.JSONEncoder(ensure_ascii=False)  # one encoder for every suggestion row
MEMO_KINDS = ("report", "fragment")


def meta_key(report: Report) -> tuple[str, str, str, str, str]:
    """The metadata stored per report version (respondent, organisation, role, group, date)."""
    meta = report.meta
    return (meta.respondent, meta.organisation, meta.role, str(meta.group), meta.date)


def _canonical(meta: dict[str, Any]) -> str:
    return json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str)


def project_model_id(meta: dict[str, Any]) -> str:
    """A model's id in a project: its model_id and 8 hex of the hash of its metadata."""
    digest = hashlib.sha256(_canonical(meta).encode("utf-8")).hexdigest()[:8]
    return f"{meta.get('model_id') or 'model'}-{digest}"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@guarded
class Project(StoreReader):
    """An open project file. Use ``Project.open(path)`` as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        super().__init__(conn, path)
        self._depth = 0

    @classmethod
    def open(cls, path: Path | str, create: bool = True, *, timeout: float = 10.0) -> Project:
        path = Path(path)
        return cls(connect(path, create=create, timeout=timeout), path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all; nested blocks join the outer one."""
        if self._depth == 0:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise describe(exc, self.path) from None
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0 and self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self._depth -= 1
        if self._depth == 0:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise describe(exc, self.path) from None

    # --- reports -----------------------------------------------------------------------------

    def add_report(self, report: Report, fragments: list[Fragment], unit: str) -> str:
        """Store a report and its fragments: "new", "unchanged" or "new version" (other
        content, or other metadata: then ``fragments`` may be empty, they are stored)."""
        return self.store_report(report, fragments, unit)[0]

    def store_report(
        self, report: Report, fragments: list[Fragment], unit: str
    ) -> tuple[str, Carried]:
        """``add_report``, and what became of the codings of the source's previous version
        when its text changed (``carry_codings``)."""
        _check_fragments(report, fragments)
        with self.transaction():
            latest = self.conn.execute(
                "SELECT v.report_id, v.version, v.respondent, v.organisation, v.role, v.grp, "
                "v.date, r.sha256 FROM latest_versions v JOIN reports r ON r.id = v.report_id "
                "WHERE v.source = ?",
                (report.source,),
            ).fetchone()
            sha = report.sha256 or hashlib.sha256(report.text.encode("utf-8")).hexdigest()
            if latest is not None and latest[7] == sha and latest[0] != report.id:
                report, fragments = _renamed(report, latest[0]), []  # stored under its old id
            if latest is not None and (latest[0], *latest[2:7]) == (report.id, *meta_key(report)):
                return "unchanged", Carried()
            self._set_once("unit", unit, "fragment unit", "--unit")
            self.conn.execute(
                "INSERT OR IGNORE INTO reports VALUES (?, ?, ?, ?, ?)",
                (report.id, sha, report.text, report.format, now()),
            )
            self.conn.executemany(
                "INSERT OR IGNORE INTO fragments VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(f.id, report.id, f.start, f.end, f.question, f.speaker, unit) for f in fragments],
            )
            version = 1 if latest is None else latest[1] + 1
            self.conn.execute(
                "INSERT INTO report_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (report.source, version, report.id, *meta_key(report), now()),
            )
            if latest is None:
                return "new", Carried()
            carried = Carried()
            if latest[0] != report.id and fragments:
                carried = self.carry_codings(latest[0], fragments, latest[1])
            return "new version", carried

    def carry_codings(self, old_report: str, fragments: list[Fragment], version: int) -> Carried:
        """Link the fragments of ``old_report`` (``version`` of a source) to ``fragments``
        (its new version's) and append each coder's current decision on an unchanged one to
        the log again, on the new fragment. A changed fragment stays open, linked to its old
        one (``earlier_codings``); the codings of text that is gone are counted as dropped."""
        links = link_fragments(self.fragments(old_report), fragments)
        decided = dict(
            self.conn.execute(
                "SELECT d.fragment_id, count(*) FROM current_decisions d JOIN fragments f "
                "ON f.id = d.fragment_id WHERE f.report_id = ? AND d.status IN "
                "('confirmed', 'corrected', 'rejected') GROUP BY 1",
                (old_report,),
            ).fetchall()
        )
        stamp = now()
        note = f"carried from version {version}"
        self.conn.executemany(
            "INSERT OR IGNORE INTO fragment_links VALUES (?, ?, ?, ?, ?)",
            [(k.new, k.old, "same" if k.same else "changed", note, stamp) for k in links],
        )
        same = [(k.new, f"{note} ({k.old})", k.old) for k in links if k.same and k.old in decided]
        self.conn.executemany(
            "INSERT INTO decisions (fragment_id, coder, factor, presence, priority, status, "
            "timestamp, note) SELECT ?, coder, factor, presence, priority, status, timestamp, ? "
            "FROM current_decisions WHERE fragment_id = ? AND status IN "
            "('confirmed', 'corrected', 'rejected') ORDER BY seq",
            same,
        )
        return Carried.count(links, decided)

    def _set_once(self, key: str, value: str, what: str, hint: str) -> None:
        stored = self.setting(key)
        if stored is None:
            self.conn.execute("INSERT INTO settings VALUES (?, ?)", (key, value))
        elif stored != value:
            raise StoreError(
                f"{self.path}: this project uses {what} {stored!r}: use {hint} {stored}"
            )

    # --- codebook and models -----------------------------------------------------------------

    def ensure_codebook(self, codebook_yaml_text: str, codebook: Codebook) -> None:
        """Make ``codebook`` the project's; refuse one that differs from the project's."""
        stored = self.setting("codebook")
        if stored is None:
            if parse_codebook(codebook_yaml_text, "codebook text").hash != codebook.hash:
                raise StoreError("the codebook text does not match the codebook given with it")
            with self.transaction():
                stored = self.setting("codebook")  # under the lock: another process may be first
                if stored is None:
                    self.conn.execute(
                        "INSERT OR IGNORE INTO codebooks VALUES (?, ?, ?, ?)",
                        (codebook.hash, codebook.id, codebook_yaml_text, now()),
                    )
                    self.conn.execute(
                        "INSERT INTO settings VALUES ('codebook', ?)", (codebook.hash,)
                    )
        if stored is not None and stored != codebook.hash:
            raise CodebookMismatchError(self._mismatch(codebook.id, codebook.hash))
        self._codebook = codebook

    def _mismatch(self, other_id: str, other_hash: str) -> str:
        own = self.project_codebook()
        name, digest = (own.id, own.hash[:12]) if own else ("?", "?")
        return (
            f"{self.path}: the project uses codebook {name!r} (hash {digest})"
            f", not {other_id!r} (hash {other_hash[:12]}); use a model trained on the "
            "project's codebook, or start a new project"
        )

    def add_model(self, meta: dict[str, Any], activate: bool = True) -> str:
        """Register a model (by its metadata); returns its id in this project."""
        codebook = self.project_codebook()
        if codebook is None:
            raise StoreError(f"{self.path}: add the project's codebook before a model")
        if meta.get("codebook_hash") != codebook.hash:
            other = str(meta.get("codebook_hash") or "?")
            raise CodebookMismatchError(self._mismatch(str(meta.get("codebook_id")), other))
        canonical, model_id = _canonical(meta), project_model_id(meta)
        with self.transaction():
            self.conn.execute(
                "INSERT OR IGNORE INTO models VALUES (?, ?, ?, ?)",
                (model_id, codebook.hash, canonical, now()),
            )
            if activate and self.active_model_id() != model_id:
                self.conn.execute(
                    "INSERT INTO model_activations (model_id, at) VALUES (?, ?)", (model_id, now())
                )
        return model_id

    def register_model(self, meta: dict[str, Any], directory: Path, activate: bool) -> str:
        """``add_model`` and where the model was loaded from (so that later runs without
        ``--model`` can use the project's active model)."""
        path = str(Path(directory).resolve())
        with self.transaction():
            model_id = self.add_model(meta, activate=activate)
            if self.model_dir(model_id) != path:
                self.conn.execute(
                    "INSERT INTO model_dirs (model_id, path, at) VALUES (?, ?, ?)",
                    (model_id, path, now()),
                )
        return model_id

    def activate_model(self, model_id: str) -> None:
        """Make a registered model the active one (its suggestions are the ones shown)."""
        known = [m["id"] for m in self.models()]
        if model_id not in known:
            listed = ", ".join(known) or "none yet"
            raise StoreError(f"{self.path}: no model {model_id!r} in this project ({listed})")
        with self.transaction():
            if self.active_model_id() != model_id:
                self.conn.execute(
                    "INSERT INTO model_activations (model_id, at) VALUES (?, ?)", (model_id, now())
                )

    def add_suggestions(self, model_id: str, items: Iterable[tuple[str, Suggestion]]) -> int:
        """Store suggestions (one per fragment and model; a repeat is ignored)."""
        rows = _suggestion_rows(model_id, items)
        with self.transaction():
            return self._insert_suggestions(rows)

    def _insert_suggestions(self, rows: list[tuple[Any, ...]]) -> int:
        before = self.conn.total_changes
        self.conn.executemany(
            "INSERT OR IGNORE INTO suggestions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
        return self.conn.total_changes - before

    def add_coded_report(
        self,
        report: Report,
        fragments: list[Fragment],
        unit: str,
        model_id: str | None,
        suggestions: list[Suggestion],
    ) -> tuple[str, Carried]:
        """``store_report`` and the fragments' suggestions by ``model_id`` (None: none) in one
        transaction. The rows are made before it starts, so that the write lock is held only
        for the writing (other processes may be storing reports into the same file)."""
        rows = []
        if model_id is not None:
            ids = [fragment.id for fragment in fragments]
            rows = _suggestion_rows(model_id, zip(ids, suggestions, strict=True))
        with self.transaction():
            result, carried = self.store_report(report, fragments, unit)
            if result != "unchanged" and rows and self.has_fragment(rows[0][0]):
                self._insert_suggestions(rows)  # (none when the text was stored before)
            return result, carried

    # --- the logs ----------------------------------------------------------------------------

    def record_decision(self, decision: Decision) -> int:
        """Append a coding decision to the log; returns its sequence number."""
        self._check_decision(decision)
        with self.transaction():
            cursor = self.conn.execute(
                "INSERT INTO decisions (fragment_id, coder, factor, presence, priority, status, "
                "timestamp, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    decision.fragment_id,
                    decision.coder,
                    decision.factor,
                    decision.presence.value if decision.presence else None,
                    decision.priority,
                    decision.status.value,
                    decision.timestamp or now(),
                    decision.note or "",
                ),
            )
            return int(cursor.lastrowid or 0)

    def record_decision_if_latest(self, decision: Decision, seen_seq: object) -> int:
        """Append ``decision`` only if the coder's latest entry on its fragment is still
        ``seen_seq`` (None: no entry yet), else raise StaleError. Check and append are one
        write transaction, so of many changes made from the same state exactly one lands."""
        with self.transaction():
            latest = self.conn.execute(
                "SELECT MAX(seq) FROM decisions WHERE fragment_id = ? AND coder = ?",
                (decision.fragment_id, decision.coder),
            ).fetchone()[0]
            _require_latest(latest, seen_seq, f"fragment {decision.fragment_id}")
            return self.record_decision(decision)

    def _check_decision(self, decision: Decision) -> None:
        codebook = self.project_codebook()
        if codebook is None:
            raise StoreError(f"{self.path}: the project has no codebook yet; code reports first")
        if decision.factor is not None and decision.factor not in codebook.ids:
            raise StoreError(f"factor {decision.factor!r} is not in codebook {codebook.id!r}")
        if decision.factor is None and decision.presence is not None:
            raise StoreError("a decision without a factor cannot have a presence")
        if decision.priority not in (None, PRIORITY_HIGH):
            raise StoreError(f'priority must be "{PRIORITY_HIGH}" or empty')
        if not decision.coder.strip():
            raise StoreError("a decision needs a coder name")
        if not self.has_fragment(decision.fragment_id):
            raise StoreError(f"no fragment {decision.fragment_id!r} in this project")

    def add_verdict(self, code: str, column: str, verdict: str, note: str, coder: str) -> int:
        if verdict not in VERDICTS:
            raise StoreError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        codebook = self.project_codebook()
        if codebook is not None and code not in codebook.ids:
            raise StoreError(f"code {code!r} is not in codebook {codebook.id!r}")
        with self.transaction():
            cursor = self.conn.execute(
                'INSERT INTO verdicts (code, "column", verdict, note, coder, timestamp) '
                "VALUES (?, ?, ?, ?, ?, ?)",
                (code, column, verdict, note or "", coder, now()),
            )
            return int(cursor.lastrowid or 0)

    def add_verdict_if_latest(
        self, code: str, column: str, verdict: str, note: str, coder: str, seen_seq: object
    ) -> int:
        """``add_verdict`` only if the cell's latest verdict is still ``seen_seq`` (None: none
        yet), checked in the same write transaction; else StaleError."""
        with self.transaction():
            latest = self.conn.execute(
                'SELECT MAX(seq) FROM verdicts WHERE code = ? AND "column" = ?', (code, column)
            ).fetchone()[0]
            _require_latest(latest, seen_seq, f"the verdict of {code} in {column!r}")
            return self.add_verdict(code, column, verdict, note, coder)

    def add_memo(self, kind: str, target_id: str, coder: str, text: str) -> int:
        if kind not in MEMO_KINDS:
            raise StoreError(f"a memo is about a report or a fragment, not {kind!r}")
        known = self.has_fragment(target_id) if kind == "fragment" else self.has_report(target_id)
        if not known:
            raise StoreError(f"no {kind} {target_id!r} in this project")
        with self.transaction():
            cursor = self.conn.execute(
                "INSERT INTO memos (kind, target_id, coder, text, timestamp) "
                "VALUES (?, ?, ?, ?, ?)",
                (kind, target_id, coder, text, now()),
            )
            return int(cursor.lastrowid or 0)


def _require_latest(latest: int | None, seen_seq: object, what: str) -> None:
    fresh = seen_seq is None or type(seen_seq) is int  # a page may send anything
    if not fresh or latest != seen_seq:
        raise StaleError(
            f"{what} has a newer entry (#{latest}) than the one the change was made from; "
            "read it again"
        )


def _suggestion_rows(
    model_id: str, items: Iterable[tuple[str, Suggestion]]
) -> list[tuple[Any, ...]]:
    stamp = now()
    return [
        (
            fragment_id,
            model_id,
            s.factor,
            s.presence.value if s.presence else None,
            s.confidence,
            _JSON.encode(s.factor_probs),
            s.presence_prob,
            _JSON.encode(list(s.reasons)),
            stamp,
        )
        for fragment_id, s in items
    ]


def _renamed(report: Report, report_id: str) -> Report:
    return replace(report, id=report_id)


def _check_fragments(report: Report, fragments: list[Fragment]) -> None:
    for fragment in fragments:
        if fragment.report != report.id or not 0 <= fragment.start <= fragment.end:
            raise StoreError(f"{report.source}: fragment {fragment.id} does not fit its report")
        if report.text[fragment.start : fragment.end] != fragment.text:
            raise StoreError(f"{report.source}: fragment {fragment.id} offsets do not match")
