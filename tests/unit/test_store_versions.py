"""The store carries codings into a report's new version and links its fragments."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from autocoder.fragment_links import Carried
from autocoder.records import ReportMeta, Status, source_report_id
from autocoder.store import Project
from tests.conftest import sentence_report
from tests.unit.test_store import CODEBOOK, CODEBOOK_TEXT, FACTOR, OTHER, decision


@pytest.fixture
def project(tmp_path: Path):
    with Project.open(tmp_path / "study.db") as opened:
        opened.ensure_codebook(CODEBOOK_TEXT, CODEBOOK)
        yield opened


def test_carried_reopened_and_dropped(project: Project) -> None:
    report, old = sentence_report("Eerste zin. Tweede zin. Derde zin. Vierde zin.")
    project.add_report(report, old, "sentence")
    project.record_decision(decision(old[0].id))
    project.record_decision(decision(old[0].id, coder="bert", factor=OTHER))
    project.record_decision(decision(old[1].id, status=Status.CORRECTED))
    project.record_decision(decision(old[2].id))
    undone = decision(old[3].id, factor=None, status=Status.SUGGESTED)  # an undo: no coding
    project.record_decision(undone)
    changed, new = sentence_report("Eerste zin. Tweede zinnetje. Vierde zin.")
    result, carried = project.store_report(changed, new, "sentence")
    assert result == "new version"
    assert (carried.carried, carried.reopened, carried.dropped) == (2, 1, 1)
    first = {d.coder: d for d in project.current_decisions() if d.fragment_id == new[0].id}
    assert (first["anna"].factor, first["bert"].factor) == (
        FACTOR,
        OTHER,
    )
    assert all(d.note == f"carried from version 1 ({old[0].id})" for d in first.values())
    assert project.earlier_codings(new[1].id)[0]["status"] == "corrected"
    assert project.earlier_codings(new[2].id) == []  # unchanged, nothing was coded
    assert project.status()["reopened"] == 1
    project.record_decision(decision(new[1].id))  # decided again: no longer reopened
    assert project.earlier_codings(new[1].id) == [] and project.status()["reopened"] == 0
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        project.conn.execute("DELETE FROM fragment_links")


def test_a_relabelled_report_keeps_its_stored_id(project: Project) -> None:
    """A report stored under an older id scheme: new metadata points at the stored text."""
    report, fragments = sentence_report("Een zin. Nog een zin.")
    project.add_report(report, fragments, "sentence")
    project.record_decision(decision(fragments[0].id))
    renamed = replace(
        report, id=source_report_id(report.source, report.sha256), meta=ReportMeta("R9")
    )
    assert project.store_report(renamed, [], "sentence") == ("new version", Carried())
    assert [(r["id"], r["respondent"]) for r in project.reports()] == [(report.id, "R9")]
    assert project.coded_fragments("anna")[0].extra["status"] == "confirmed"


def test_a_changed_fragment_shows_the_coding_of_two_versions_back(project: Project) -> None:
    report, v1 = sentence_report("Eerste zin. Het weer was mooi.")
    project.add_report(report, v1, "sentence")
    project.record_decision(decision(v1[1].id, factor=OTHER))
    _, v2 = sentence_report("Eerste zin. Het weer was heel mooi.")
    project.add_report(sentence_report("Eerste zin. Het weer was heel mooi.")[0], v2, "sentence")
    v3_report, v3 = sentence_report("Nieuwe eerste zin. Het weer was heel mooi.")
    project.add_report(v3_report, v3, "sentence")
    assert [w["factor"] for w in project.earlier_codings(v3[1].id)] == [OTHER]
