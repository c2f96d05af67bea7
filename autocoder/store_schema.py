"""The project database file: connecting, schema versions, migrations and their backups.

``PRAGMA user_version`` is the schema version. Migration N (1-based) takes a database from
version N-1 to N; append new ones and never edit one that has shipped. Before migrating an
existing project, a consistent copy is written to ``<file>.bak``. Nothing is ever overwritten:
every table is append-only (triggers abort any UPDATE or DELETE, and refuse a REPLACE or an
upsert of a row that exists); current state is a view.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from autocoder.errors import SchemaVersionError, StoreBusyError, StoreError
from autocoder.records import source_report_id

APPEND_ONLY = (
    "settings",
    "reports",
    "report_versions",
    "fragments",
    "codebooks",
    "models",
    "model_activations",
    "suggestions",
    "decisions",
    "memos",
    "verdicts",
)


def _append_only(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: add a new entry instead'); END;
CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: nothing is deleted'); END;
"""


V1 = """
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE reports (
    id TEXT PRIMARY KEY,              -- content id: 'r' + 12 hex of sha256(normalised text)
    sha256 TEXT NOT NULL,
    text TEXT NOT NULL,               -- normalised text; fragment offsets index it
    format TEXT NOT NULL,
    added_at TEXT NOT NULL
);
-- A source (report file) has versions 1, 2, ...: its content (report id) and metadata then.
-- A metadata-only change is a new version that points at the same content and fragments.
CREATE TABLE report_versions (
    source TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    report_id TEXT NOT NULL REFERENCES reports(id),
    respondent TEXT NOT NULL,
    organisation TEXT NOT NULL,
    role TEXT NOT NULL,
    grp TEXT NOT NULL,
    date TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (source, version)
);
CREATE INDEX report_versions_report ON report_versions(report_id);
CREATE TABLE fragments (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL REFERENCES reports(id),
    start INTEGER NOT NULL CHECK (start >= 0),
    "end" INTEGER NOT NULL CHECK ("end" >= start),
    question INTEGER,
    speaker TEXT,
    unit TEXT NOT NULL
);
CREATE INDEX fragments_report ON fragments(report_id, start);
CREATE TABLE codebooks (
    hash TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    yaml TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE models (
    id TEXT PRIMARY KEY,
    codebook_hash TEXT NOT NULL REFERENCES codebooks(hash),
    meta TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE model_activations (
    seq INTEGER PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models(id),
    at TEXT NOT NULL
);
CREATE TABLE suggestions (
    fragment_id TEXT NOT NULL REFERENCES fragments(id),
    model_id TEXT NOT NULL REFERENCES models(id),
    factor TEXT,
    presence TEXT CHECK (presence IN ('present', 'absent')),
    confidence REAL NOT NULL,
    factor_probs TEXT NOT NULL,
    presence_prob REAL,
    reasons TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (fragment_id, model_id)
);
CREATE TABLE decisions (
    seq INTEGER PRIMARY KEY,
    fragment_id TEXT NOT NULL REFERENCES fragments(id),
    coder TEXT NOT NULL CHECK (length(coder) > 0),
    factor TEXT,
    presence TEXT CHECK (presence IN ('present', 'absent')),
    priority TEXT CHECK (priority IN ('high')),
    status TEXT NOT NULL CHECK (status IN ('suggested', 'confirmed', 'corrected', 'rejected')),
    timestamp TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX decisions_current ON decisions(fragment_id, coder, seq);
CREATE TABLE memos (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('report', 'fragment')),
    target_id TEXT NOT NULL,
    coder TEXT NOT NULL,
    text TEXT NOT NULL,
    timestamp TEXT NOT NULL
);
CREATE INDEX memos_target ON memos(kind, target_id);
CREATE TABLE verdicts (
    seq INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    "column" TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('present', 'partly', 'absent')),
    note TEXT NOT NULL DEFAULT '',
    coder TEXT NOT NULL,
    timestamp TEXT NOT NULL
);
-- The current coding of a fragment per coder: that coder's latest entry in the log.
CREATE VIEW current_decisions AS
SELECT d.* FROM decisions d
WHERE d.seq = (
    SELECT MAX(e.seq) FROM decisions e
    WHERE e.fragment_id = d.fragment_id AND e.coder = d.coder
);
CREATE VIEW latest_versions AS
SELECT v.* FROM report_versions v
WHERE v.version = (SELECT MAX(w.version) FROM report_versions w WHERE w.source = v.source);
-- The metadata of a report's content: from the version that last pointed at it.
CREATE VIEW report_meta AS
SELECT v.* FROM report_versions v
WHERE v.rowid = (SELECT MAX(w.rowid) FROM report_versions w WHERE w.report_id = v.report_id);
CREATE VIEW current_reports AS
SELECT DISTINCT report_id AS id FROM latest_versions;
CREATE VIEW active_model AS
SELECT model_id FROM model_activations ORDER BY seq DESC LIMIT 1;
CREATE VIEW current_verdicts AS
SELECT v.* FROM verdicts v
WHERE v.seq = (
    SELECT MAX(w.seq) FROM verdicts w WHERE w.code = v.code AND w."column" = v."column"
);
""" + "".join(_append_only(table) for table in APPEND_ONLY)

# REPLACE (and an upsert) rewrites a row without UPDATE or DELETE triggers: a BEFORE INSERT
# trigger refuses a row whose key or rowid is taken. Tables filled with INSERT OR IGNORE
# (content-addressed: the first row stays) skip it quietly, so OR IGNORE keeps working; the
# others abort. NEW.rowid is -1 when not given, hence the sign test.
KEYS = {
    "settings": ("key",),
    "reports": ("id",),
    "report_versions": ("source", "version"),
    "fragments": ("id",),
    "codebooks": ("hash",),
    "models": ("id",),
    "model_activations": ("seq",),
    "suggestions": ("fragment_id", "model_id"),
    "decisions": ("seq",),
    "memos": ("seq",),
    "verdicts": ("seq",),
}
FIRST_STAYS = ("reports", "fragments", "codebooks", "models", "suggestions")


def _no_rewrite(table: str, key: tuple[str, ...]) -> str:
    match = " AND ".join(f'"{column}" = NEW."{column}"' for column in key)
    action = (
        "RAISE(IGNORE)"
        if table in FIRST_STAYS
        else f"RAISE(ABORT, '{table} is append-only: this entry exists already')"
    )
    return f"""
CREATE TRIGGER {table}_no_rewrite BEFORE INSERT ON {table}
WHEN EXISTS (SELECT 1 FROM {table} WHERE {match})
  OR (NEW.rowid >= 0 AND EXISTS (SELECT 1 FROM {table} WHERE rowid = NEW.rowid))
BEGIN SELECT {action}; END;
"""


V2_NO_REWRITE = "".join(_no_rewrite(table, key) for table, key in KEYS.items())

# Review options (blind coding and the like): a log like the others, the latest entry per key
# counts, so an option can be switched off and on again; indexes for the review pages.
REVIEW_OPTIONS = """
CREATE TABLE options (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    coder TEXT NOT NULL,
    timestamp TEXT NOT NULL
);
CREATE INDEX options_key ON options(key, seq);
CREATE INDEX decisions_coder ON decisions(coder, seq, fragment_id, status);
""" + _append_only("options")

# Per-file report ids; fragment links between versions; where each model was loaded from.
# Reports that several files shared (ids were content ids) get a report of their own per
# file: a new version pointing at a copy under the file's id, with the fragments, suggestions
# and current decisions (noted as carried); the first file to store it keeps the old id.
FILE_REPORTS = """
CREATE TABLE fragment_links (
    new_id TEXT NOT NULL REFERENCES fragments(id),
    old_id TEXT NOT NULL REFERENCES fragments(id),
    kind TEXT NOT NULL CHECK (kind IN ('same', 'changed')),
    note TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (new_id, old_id)
);
CREATE INDEX fragment_links_old ON fragment_links(old_id);
CREATE TABLE model_dirs (
    seq INTEGER PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models(id),
    path TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TEMP TABLE shared_split AS
SELECT v.source, v.report_id AS old_id, report_id_for(v.source, r.sha256) AS new_id,
       v.version + 1 AS version, v.respondent, v.organisation, v.role, v.grp, v.date
FROM latest_versions v JOIN reports r ON r.id = v.report_id
WHERE (SELECT MIN(x.rowid) FROM report_versions x
       WHERE x.report_id = v.report_id AND x.source = v.source)
    > (SELECT MIN(x.rowid) FROM report_versions x JOIN latest_versions y
       ON y.source = x.source AND y.report_id = x.report_id WHERE x.report_id = v.report_id);
INSERT OR IGNORE INTO reports
SELECT s.new_id, r.sha256, r.text, r.format, strftime('%Y-%m-%dT%H:%M:%f+00:00')
FROM shared_split s JOIN reports r ON r.id = s.old_id;
INSERT OR IGNORE INTO fragments
SELECT s.new_id || substr(f.id, length(s.old_id) + 1), s.new_id, f.start, f."end", f.question,
       f.speaker, f.unit
FROM shared_split s JOIN fragments f ON f.report_id = s.old_id;
INSERT INTO report_versions
SELECT source, version, new_id, respondent, organisation, role, grp, date,
       strftime('%Y-%m-%dT%H:%M:%f+00:00')
FROM shared_split;
INSERT OR IGNORE INTO suggestions
SELECT s.new_id || substr(g.fragment_id, length(s.old_id) + 1), g.model_id, g.factor,
       g.presence, g.confidence, g.factor_probs, g.presence_prob, g.reasons, g.created_at
FROM shared_split s JOIN fragments f ON f.report_id = s.old_id
JOIN suggestions g ON g.fragment_id = f.id ORDER BY g.rowid;
INSERT INTO decisions (fragment_id, coder, factor, presence, priority, status, timestamp, note)
SELECT s.new_id || substr(d.fragment_id, length(s.old_id) + 1), d.coder, d.factor, d.presence,
       d.priority, d.status, d.timestamp,
       'carried from ' || d.fragment_id || ' (the same text in another file)'
FROM shared_split s JOIN fragments f ON f.report_id = s.old_id
JOIN current_decisions d ON d.fragment_id = f.id
WHERE d.status IN ('confirmed', 'corrected', 'rejected') ORDER BY s.source, d.seq;
INSERT INTO fragment_links
SELECT s.new_id || substr(f.id, length(s.old_id) + 1), f.id, 'same',
       'the same text in another file', strftime('%Y-%m-%dT%H:%M:%f+00:00')
FROM shared_split s JOIN fragments f ON f.report_id = s.old_id;
DROP TABLE temp.shared_split;
-- The metadata of a report's content: from the latest version of the source that points at
-- it now (before: the version that last pointed at it, which could be another file's).
DROP VIEW report_meta;
CREATE VIEW report_meta AS
SELECT v.* FROM report_versions v
WHERE v.rowid = (
    SELECT w.rowid FROM report_versions w WHERE w.report_id = v.report_id
    ORDER BY w.version = (SELECT MAX(x.version) FROM report_versions x WHERE x.source = w.source)
    DESC, w.rowid DESC LIMIT 1
);
""" + "".join(_append_only(table) for table in ("fragment_links", "model_dirs"))

MIGRATIONS: list[str] = [
    V1,
    V2_NO_REWRITE,
    REVIEW_OPTIONS + _no_rewrite("options", ("seq",)),
    FILE_REPORTS,
]


def describe(exc: sqlite3.Error, path: Path) -> StoreError:
    """A clear message for what SQLite reports; the file itself is left as it was."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreBusyError(
            f"{path}: the project is in use by another program (database is locked); "
            "close that program or wait for it to finish, then retry"
        )
    if "not a database" in text or "malformed" in text:
        return StoreError(
            f"{path}: not an autocoder project or the file is damaged ({text}); nothing was "
            "changed: restore it from a backup (such as its .bak copy)"
        )
    if "readonly" in text or "unable to open" in text:
        return StoreError(f"{path}: cannot write the project file ({text}); check permissions")
    return StoreError(f"{path}: project database error ({text})")


C = TypeVar("C", bound=type)
NOT_GUARDED = frozenset({"transaction", "close"})


def guarded(cls: C) -> C:
    """Class decorator: SQLite errors from any public method become one clear StoreError
    naming the project file (``self.path``)."""
    for name, member in list(vars(cls).items()):
        if callable(member) and not name.startswith("_") and name not in NOT_GUARDED:
            setattr(cls, name, _guard(member))
    return cls


def _guard(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise describe(exc, self.path) from None

    return wrapper


def connect(path: Path, *, create: bool, timeout: float) -> sqlite3.Connection:
    """Open (or create) a project file and bring its schema up to date."""
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"{path}: is a folder; give a project file such as study.db")
    if not path.exists() and not create:
        raise StoreError(f"{path}: no such project; create it with 'autocoder code'")
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise describe(exc, path) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        version = _version(conn, path)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA recursive_triggers = ON")  # REPLACE's deletes fire triggers too
        conn.create_function("report_id_for", 2, source_report_id, deterministic=True)
        migrate(conn, path, version)
    except sqlite3.Error as exc:
        conn.close()
        raise describe(exc, path) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _version(conn: sqlite3.Connection, path: Path) -> int:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise SchemaVersionError(
            f"{path}: project made by a newer autocoder (schema version {version}, this "
            f"autocoder knows up to {len(MIGRATIONS)}); upgrade autocoder to open it"
        )
    if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise StoreError(f"{path}: an SQLite file but not an autocoder project; nothing changed")
    return version


def migrate(conn: sqlite3.Connection, path: Path, version: int) -> None:
    """Apply the missing migrations in one write transaction, backing up an existing file
    first under the same lock: of processes opening an old file at once, one backs it up
    and migrates, the others find it done (and the .bak keeps the version before)."""
    if version >= len(MIGRATIONS):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # read again, locked
        if 0 < version < len(MIGRATIONS):
            backup(path)
        for number in range(version + 1, len(MIGRATIONS) + 1):
            for statement in _statements(MIGRATIONS[number - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    """Split a script into complete statements (triggers contain inner semicolons)."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


def backup(path: Path) -> Path:
    """A consistent copy of the whole project at ``<file>.bak`` (written, synced, renamed).
    Read through a connection of its own (WAL readers pass the migrating writer's lock)."""
    target = path.with_name(path.name + ".bak")
    partial = path.with_name(path.name + ".bak.partial")
    partial.unlink(missing_ok=True)
    source, copy = sqlite3.connect(path), sqlite3.connect(partial)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)
    return target
