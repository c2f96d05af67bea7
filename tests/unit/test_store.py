"""The project store on real SQLite files: schema, append-only log, views, versions, faults."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from autocoder import store_schema
from autocoder.codebook import Codebook, load_codebook
from autocoder.errors import CodebookMismatchError, SchemaVersionError, StoreError
from autocoder.pipeline import codebook_source
from autocoder.records import Decision, Group, Presence, ReportMeta, Status, Suggestion
from autocoder.store import Project
from tests.conftest import sentence_report

CODEBOOK = load_codebook()
CODEBOOK_TEXT = codebook_source(None)
FACTOR = CODEBOOK.ids[0]
OTHER = CODEBOOK.ids[1]


def suggestion(factor: str | None, confidence: float, model: str = "m") -> Suggestion:
    probs = {FACTOR: confidence, "none": round(1 - confidence, 4)}
    presence = Presence.PRESENT if factor else None
    return Suggestion(factor, presence, confidence, probs, 0.9, ("the word x",), model)


def decision(fid: str, coder: str = "anna", factor: str | None = FACTOR, **kw) -> Decision:
    values = {
        "presence": Presence.PRESENT if factor else None,
        "priority": None,
        "status": Status.CONFIRMED,
        "timestamp": "",
    }
    values.update(kw)
    return Decision(fid, coder, factor, **values)


@pytest.fixture
def project(tmp_path: Path):
    with Project.open(tmp_path / "study.db") as opened:
        opened.ensure_codebook(CODEBOOK_TEXT, CODEBOOK)
        yield opened


@pytest.fixture
def coded(project: Project):
    report, fragments = sentence_report("Eerste zin. Tweede zin. Derde zin.")
    assert project.add_report(report, fragments, "sentence") == "new"
    model = project.add_model({"model_id": "m", "codebook_hash": CODEBOOK.hash}, activate=True)
    items = [(f.id, suggestion(FACTOR, c)) for f, c in zip(fragments, (0.9, 0.3, 0.6), strict=True)]
    assert project.add_suggestions(model, items) == 3
    return project, report, fragments, model


def test_new_file_gets_the_schema_and_pragmas(project: Project) -> None:
    conn = project.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(store_schema.MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"reports", "fragments", "decisions", "current_decisions", "memos"} <= names


@pytest.mark.parametrize("table", ["decisions", "memos", "verdicts", "reports", "suggestions"])
def test_logs_are_append_only(coded, table: str) -> None:
    project, _, fragments, _ = coded
    project.record_decision(decision(fragments[0].id))
    project.add_memo("fragment", fragments[0].id, "anna", "memo")
    project.add_verdict(FACTOR, "uitvoerend", "present", "", "anna")
    column = "rowid"
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        project.conn.execute(f"UPDATE {table} SET {column} = {column} + 100")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        project.conn.execute(f"DELETE FROM {table}")
    assert project.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] >= 1


def test_current_decision_is_a_view_over_the_log(coded) -> None:
    project, _, fragments, _ = coded
    fid = fragments[0].id
    first = project.record_decision(decision(fid))
    second = project.record_decision(decision(fid, factor=OTHER, status=Status.CORRECTED))
    project.record_decision(decision(fid, coder="bert", status=Status.REJECTED, factor=None))
    assert second > first
    mine = project.current_decisions("anna")
    assert [(d.factor, d.status) for d in mine] == [(OTHER, Status.CORRECTED)]
    assert len(project.current_decisions()) == 2
    assert project.conn.execute("SELECT count(*) FROM decisions").fetchone()[0] == 3


def test_coded_fragments_joins_coding_and_suggestion(coded) -> None:
    project, report, fragments, model = coded
    project.record_decision(decision(fragments[0].id, factor=OTHER, status=Status.CORRECTED))
    project.record_decision(decision(fragments[1].id, factor=None, status=Status.REJECTED))
    records = project.coded_fragments("anna", include_suggestions=True)
    assert [r.fragment.text for r in records] == [f.text for f in fragments]
    assert records[0].coding is not None and records[0].coding.factor == OTHER
    assert records[0].extra["status"] == "corrected" and records[0].extra["coder"] == "anna"
    assert records[1].coding is None and records[1].extra["status"] == "rejected"
    assert records[2].coding is None and records[2].extra["status"] == "open"
    assert records[2].suggestion is not None and records[2].suggestion.model == model
    assert project.coded_fragments("bert")[0].coding is None
    assert project.coded_fragments()[0].coding.coder == "anna"
    assert project.coded_fragments()[0].suggestion is None
    text = project.report_text(report.id)
    assert all(text[r.fragment.start : r.fragment.end] == r.fragment.text for r in records)


def test_open_suggestions_by_strategy(coded) -> None:
    project, _, fragments, _ = coded
    project.record_decision(decision(fragments[1].id))
    least = project.open_suggestions("anna", "least_confidence")
    assert [r.suggestion.confidence for r in least] == [0.6, 0.9]
    assert len(project.open_suggestions("bert", "margin", limit=2)) == 2
    shuffled = project.open_suggestions("bert", "random", seed=3)
    assert shuffled == project.open_suggestions("bert", "random", seed=3)
    with pytest.raises(StoreError, match="strategy"):
        project.open_suggestions("anna", "best")


def test_versions_keep_old_content_and_codings(coded) -> None:
    project, report, fragments, _ = coded
    project.record_decision(decision(fragments[0].id))
    again, again_fragments = sentence_report(report.text)
    assert project.add_report(again, again_fragments, "sentence") == "unchanged"
    changed, changed_fragments = sentence_report("Eerste zin. Nieuwe zin.")
    assert project.add_report(changed, changed_fragments, "sentence") == "new version"
    listing = project.reports()
    assert [(r["id"], r["version"]) for r in listing] == [(changed.id, 2)]
    assert len(project.reports(all_versions=True)) == 2
    assert {r.fragment.report for r in project.coded_fragments()} == {changed.id}
    assert project.coded_fragments("anna", report_ids=[report.id])[0].coding is not None
    assert project.current_decisions("anna")[0].fragment_id == fragments[0].id
    reverted, reverted_fragments = sentence_report(report.text)
    assert project.add_report(reverted, reverted_fragments, "sentence") == "new version"
    assert project.reports()[0]["version"] == 3


def test_metadata_change_is_a_version_of_the_same_content(coded) -> None:
    project, report, fragments, _ = coded
    project.record_decision(decision(fragments[0].id))
    relabelled = replace(report, meta=ReportMeta(respondent="R9", group=Group.MANAGEMENT))
    assert project.add_report(relabelled, [], "sentence") == "new version"
    assert project.add_report(relabelled, [], "sentence") == "unchanged"
    assert [(r["id"], r["version"], r["respondent"]) for r in project.reports()] == [
        (report.id, 2, "R9")
    ]
    records = project.coded_fragments("anna")
    assert len(records) == len(fragments) and records[0].coding is not None
    assert {(r.fragment.respondent, r.fragment.group) for r in records} == {("R9", "management")}
    assert project.known_sources()["a.txt"] == (
        report.sha256,
        ("R9", "unknown", "unknown", "management", "unknown"),
    )


def test_a_failed_transaction_leaves_nothing(project: Project) -> None:
    report, fragments = sentence_report("Een zin. Nog een zin.")
    with pytest.raises(RuntimeError), project.transaction():
        project.add_report(report, fragments, "sentence")
        raise RuntimeError("crash between report and suggestions")
    assert project.reports() == []
    assert project.conn.execute("SELECT count(*) FROM fragments").fetchone()[0] == 0


def test_decisions_are_validated(coded) -> None:
    project, _, fragments, _ = coded
    with pytest.raises(StoreError, match="not in codebook"):
        project.record_decision(decision(fragments[0].id, factor="made_up"))
    with pytest.raises(StoreError, match="no fragment"):
        project.record_decision(decision("r000:0-1"))
    with pytest.raises(StoreError, match="priority"):
        project.record_decision(decision(fragments[0].id, priority="low"))


def test_codebook_and_model_mismatch_is_refused(project: Project) -> None:
    other = Codebook.model_validate({**CODEBOOK.model_dump(), "name": "Another codebook"})
    with pytest.raises(CodebookMismatchError, match="project uses codebook"):
        project.ensure_codebook("other yaml", other)
    with pytest.raises(CodebookMismatchError):
        project.add_model({"model_id": "x", "codebook_hash": "f" * 64}, activate=True)
    assert project.project_codebook().hash == CODEBOOK.hash


def test_unit_is_fixed_per_project(project: Project) -> None:
    report, fragments = sentence_report("Een zin.")
    project.add_report(report, fragments, "sentence")
    other, other_fragments = sentence_report("Andere tekst.", "b.txt")
    with pytest.raises(StoreError, match="--unit sentence"):
        project.add_report(other, other_fragments, "paragraph")


def test_memos_verdicts_and_status(coded) -> None:
    project, report, fragments, _ = coded
    project.add_memo("report", report.id, "anna", "first")
    project.add_memo("report", report.id, "anna", "second")
    assert [m["text"] for m in project.memos("report", report.id)] == ["first", "second"]
    with pytest.raises(StoreError, match="no fragment"):
        project.add_memo("fragment", "nope", "anna", "x")
    project.add_verdict(FACTOR, "uitvoerend", "present", "", "anna")
    project.add_verdict(FACTOR, "uitvoerend", "partly", "on reflection", "anna")
    assert [(v["verdict"], v["note"]) for v in project.verdicts()] == [("partly", "on reflection")]
    project.record_decision(decision(fragments[0].id))
    project.record_decision(decision(fragments[1].id, factor=OTHER, status=Status.CORRECTED))
    status = project.status()
    assert (status["reports"], status["fragments"], status["suggestions"]) == (1, 3, 3)
    assert status["coders"]["anna"] == {
        "suggested": 0,
        "confirmed": 1,
        "corrected": 1,
        "rejected": 0,
        "open": 1,
    }
    assert status["per_report"][0]["coders"]["anna"]["open"] == 1


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Project.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(store_schema.MIGRATIONS) + 1}")
    with pytest.raises(SchemaVersionError, match="newer autocoder"):
        Project.open(path)


def test_corrupt_file_gives_a_clear_error_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "study.db"
    path.write_bytes(b"this is not a database, just some bytes " * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not an autocoder project or the file is damaged"):
        Project.open(path)
    assert path.read_bytes() == before


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not an autocoder project"):
        Project.open(path)


def test_missing_project_without_create(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such project"):
        Project.open(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


def test_locked_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "study.db"
    Project.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Project.open(path, timeout=0.1) as project:
            with pytest.raises(StoreError, match="database is locked"):
                project.ensure_codebook(CODEBOOK_TEXT, CODEBOOK)
            report, fragments = sentence_report("Een zin.")
            with pytest.raises(StoreError, match="in use by another program"):
                project.add_report(report, fragments, "sentence")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Project.open(path) as project:
        project.ensure_codebook(CODEBOOK_TEXT, CODEBOOK)
        assert project.project_codebook() is not None


def test_migration_writes_a_backup_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "study.db"
    with Project.open(path) as project:
        project.ensure_codebook(CODEBOOK_TEXT, CODEBOOK)
        report, fragments = sentence_report("Een zin. Twee zinnen.")
        project.add_report(report, fragments, "sentence")
    old_version = len(store_schema.MIGRATIONS)
    extra = "CREATE TABLE later_feature (x INTEGER);"
    monkeypatch.setattr(store_schema, "MIGRATIONS", [*store_schema.MIGRATIONS, extra])
    with Project.open(path) as project:
        assert project.conn.execute("PRAGMA user_version").fetchone()[0] == old_version + 1
        assert len(project.reports()) == 1
    backup = tmp_path / "study.db.bak"
    assert backup.exists()
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == old_version
        assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 1


def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "study.db"
    Project.open(path).close()
    version = len(store_schema.MIGRATIONS)
    broken = "CREATE TABLE half (x INTEGER);\nCREATE TABLE reports (x);"
    monkeypatch.setattr(store_schema, "MIGRATIONS", [*store_schema.MIGRATIONS, broken])
    with pytest.raises(StoreError):
        Project.open(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == version
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "half" not in names
