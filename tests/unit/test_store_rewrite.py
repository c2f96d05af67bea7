"""No row of a project file is rewritten: not by UPDATE or DELETE, nor by REPLACE or an upsert
(which replace a row without firing UPDATE or DELETE triggers), even from a plain sqlite3
connection; re-runs that rely on INSERT OR IGNORE keep working; v1 files migrate."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

import pytest

from autocoder import store_schema
from autocoder.codebook import load_codebook
from autocoder.pipeline import codebook_source
from autocoder.records import Decision, Presence, Status, Suggestion
from autocoder.store import Project
from tests.conftest import sentence_report

CODEBOOK = load_codebook()
CODEBOOK_TEXT = codebook_source(None)
FACTOR = CODEBOOK.ids[0]
TEXT = "Eerste zin. Tweede zin. Derde zin."
# A free text column per table: the one an attacker rewrites to "mallory".
REWRITTEN = {
    "settings": "value",
    "reports": "text",
    "report_versions": "respondent",
    "fragments": "speaker",
    "codebooks": "yaml",
    "models": "meta",
    "model_activations": "at",
    "suggestions": "reasons",
    "decisions": "coder",
    "memos": "coder",
    "verdicts": "coder",
}


def fill(project: Project) -> None:
    """One row (at least) in every table, made the way autocoder makes them."""
    project.ensure_codebook(CODEBOOK_TEXT, CODEBOOK)
    report, fragments = sentence_report(TEXT)
    project.add_report(report, fragments, "sentence")
    model = project.add_model({"model_id": "m", "codebook_hash": CODEBOOK.hash})
    guess = Suggestion(FACTOR, Presence.PRESENT, 0.7, {FACTOR: 0.7}, 0.9, ("x",), model)
    project.add_suggestions(model, [(f.id, guess) for f in fragments])
    project.record_decision(
        Decision(fragments[0].id, "anna", FACTOR, Presence.PRESENT, None, Status.CONFIRMED, "")
    )
    project.add_memo("fragment", fragments[0].id, "anna", "memo")
    project.add_verdict(FACTOR, "all", "present", "", "anna")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "study.db"
    with Project.open(path) as project:
        fill(project)
    return path


def snapshot(conn: sqlite3.Connection, table: str) -> list[tuple]:
    return conn.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid").fetchall()


def attacks(conn: sqlite3.Connection, table: str) -> list[tuple[str, tuple]]:
    """REPLACE, REPLACE INTO, an upsert, and a REPLACE through a taken rowid, each rewriting
    the table's first row to "mallory"."""
    columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
    rowid, *first = conn.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid").fetchone()
    target = REWRITTEN[table]
    row = tuple("mallory" if c == target else v for c, v in zip(columns, first, strict=True))
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    key = store_schema.KEYS[table][0]
    moved = tuple("mallory-key" if c == key else v for c, v in zip(columns, row, strict=True))
    replaced = [
        (f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({marks})", row),
        (f"REPLACE INTO {table} ({names}) VALUES ({marks})", row),
        (
            f"INSERT INTO {table} ({names}) VALUES ({marks}) "
            f'ON CONFLICT DO UPDATE SET "{target}" = excluded."{target}"',
            row,
        ),
    ]
    if key == "seq":  # the key is the rowid: the first attack was this one
        return replaced
    sql = f"INSERT OR REPLACE INTO {table} (rowid, {names}) VALUES (?, {marks})"
    return [*replaced, (sql, (rowid, *moved))]


@pytest.mark.parametrize("table", sorted(REWRITTEN))
@pytest.mark.parametrize("through", ["sqlite3", "project"])
def test_replace_and_upsert_leave_every_row_as_it_was(path: Path, table: str, through: str) -> None:
    project = Project.open(path, create=False) if through == "project" else None
    conn = project.conn if project else sqlite3.connect(path, isolation_level=None)
    try:
        before = snapshot(conn, table)
        for sql, values in attacks(conn, table):
            try:
                conn.execute(sql, values)
            except sqlite3.IntegrityError as exc:
                assert "append-only" in str(exc)  # refused, or (first row stays) skipped
            assert snapshot(conn, table) == before, sql
    finally:
        conn.close()


def test_a_taken_key_aborts_where_nothing_relies_on_or_ignore(path: Path) -> None:
    with sqlite3.connect(path, isolation_level=None) as conn:
        for table in sorted(set(REWRITTEN) - set(store_schema.FIRST_STAYS)):
            sql, values = attacks(conn, table)[0]
            with pytest.raises(sqlite3.IntegrityError, match=f"{table} is append-only"):
                conn.execute(sql, values)


def test_reruns_that_rely_on_or_ignore_still_work(path: Path) -> None:
    with Project.open(path, create=False) as project:
        counts = {t: len(snapshot(project.conn, t)) for t in REWRITTEN}
        report, fragments = sentence_report(TEXT)
        assert project.add_report(report, fragments, "sentence") == "unchanged"
        model = project.add_model({"model_id": "m", "codebook_hash": CODEBOOK.hash})
        guess = Suggestion(FACTOR, Presence.ABSENT, 0.1, {FACTOR: 0.1}, 0.2, (), model)
        assert project.add_suggestions(model, [(f.id, guess) for f in fragments]) == 0
        project.ensure_codebook(CODEBOOK_TEXT, CODEBOOK)
        assert {t: len(snapshot(project.conn, t)) for t in REWRITTEN} == counts
        moved, _ = sentence_report(TEXT, respondent="R2")  # same content, new metadata
        assert project.add_coded_report(moved, fragments, "sentence", model, [guess] * 3)[0] == (
            "new version"
        )  # its fragments and suggestions exist already: skipped, the version is added
        grown = {**counts, "report_versions": counts["report_versions"] + 1}
        assert {t: len(snapshot(project.conn, t)) for t in REWRITTEN} == grown
        assert project.coded_fragments(include_suggestions=True)[0].suggestion.confidence == 0.7
        with pytest.raises(sqlite3.IntegrityError, match="settings is append-only"):
            project.conn.execute("INSERT INTO settings VALUES ('unit', 'paragraph')")
        assert project.unit() == "sentence"


def test_connections_fire_triggers_for_replaced_rows_too(path: Path) -> None:
    with Project.open(path, create=False) as project:
        assert project.conn.execute("PRAGMA recursive_triggers").fetchone()[0] == 1


def test_a_v1_project_migrates_with_its_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    with monkeypatch.context() as patch:
        patch.setattr(store_schema, "MIGRATIONS", store_schema.MIGRATIONS[:1])
        with Project.open(path) as project:
            fill(project)
            assert project.conn.execute("PRAGMA user_version").fetchone()[0] == 1
    with sqlite3.connect(path, isolation_level=None) as conn:
        before = {table: snapshot(conn, table) for table in REWRITTEN}
    with Project.open(path, create=False) as project:
        conn = project.conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(store_schema.MIGRATIONS)
        assert {table: snapshot(conn, table) for table in REWRITTEN} == before
        for table in REWRITTEN:
            for sql, values in attacks(conn, table):
                with contextlib.suppress(sqlite3.IntegrityError):
                    conn.execute(sql, values)
            assert snapshot(conn, table) == before[table]
    with sqlite3.connect(path.with_name("old.db.bak")) as backup:
        assert backup.execute("PRAGMA user_version").fetchone()[0] == 1
        assert {table: snapshot(backup, table) for table in REWRITTEN} == before


def test_opening_an_old_file_from_many_threads_at_once_migrates_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    with monkeypatch.context() as patch:
        patch.setattr(store_schema, "MIGRATIONS", store_schema.MIGRATIONS[:1])
        with Project.open(path) as project:
            fill(project)
    barrier, errors = threading.Barrier(8), []

    def open_it() -> None:
        barrier.wait()
        try:
            Project.open(path, create=False).close()
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sqlite3.connect(path.with_name("old.db.bak")) as backup:
        assert backup.execute("PRAGMA user_version").fetchone()[0] == 1  # the file before
        assert backup.execute("SELECT count(*) FROM decisions").fetchone()[0] == 1
    with Project.open(path, create=False) as project:
        version = project.conn.execute("PRAGMA user_version").fetchone()[0]
        assert version == len(store_schema.MIGRATIONS)
