"""The review pages read what they show, not the whole project: the SQLite work of a report
page and of a (warm) queue page stays the same when the project grows twentyfold."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest

pytest.importorskip("starlette")

from autocoder.codebook import DEFAULT_CODEBOOK, load_codebook
from autocoder.records import Decision, Fragment, Presence, Report, ReportMeta, Status, Suggestion
from autocoder.review import state
from autocoder.store import Project

CODEBOOK = load_codebook()
CODEBOOK_TEXT = (resources.files("autocoder") / "codebooks" / f"{DEFAULT_CODEBOOK}.yaml").read_text(
    encoding="utf-8"
)


def build(path: Path, reports: int) -> str:
    """``reports`` reports of 12 sentences with suggestions; anna decided a few. Returns
    the id of the first report."""
    first = ""
    with Project.open(path) as project:
        project.ensure_codebook(CODEBOOK_TEXT, CODEBOOK)
        model = project.add_model({"model_id": "m", "codebook_hash": CODEBOOK.hash})
        with project.transaction():
            for index in range(reports):
                text = "".join(f"Zin {n} van verslag {index} over afspraken. " for n in range(12))
                digest = hashlib.sha256(text.encode()).hexdigest()
                rid = "r" + digest[:12]
                first = first or rid
                meta = ReportMeta(respondent=f"R{index}")
                report = Report(rid, f"r{index}.txt", text, meta, "txt", digest)
                fragments, start = [], 0
                while (end := text.find(".", start)) > 0:
                    fragments.append(
                        Fragment(
                            f"{rid}:{start}-{end + 1}",
                            rid,
                            start,
                            end + 1,
                            text[start : end + 1],
                            meta.respondent,
                        )
                    )
                    start = end + 2
                suggestions = [
                    Suggestion(
                        CODEBOOK.ids[0],
                        Presence.PRESENT,
                        0.3 + (n % 7) / 10,
                        {CODEBOOK.ids[0]: 0.5, "none": 0.2},
                        0.8,
                        ("x",),
                        model,
                    )
                    for n in range(len(fragments))
                ]
                project.add_coded_report(report, fragments, "sentence", model, suggestions)
                project.record_decision(
                    Decision(fragments[0].id, "anna", None, None, None, Status.CONFIRMED, "")
                )
    return first


def vm_steps(path: Path, work: Callable[[Project], object]) -> int:
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    with Project.open(path, create=False) as project:
        project.conn.set_progress_handler(count, 100)
        work(project)
    return steps


@pytest.mark.parametrize("page", ["report", "queue", "state"])
def test_page_work_does_not_grow_with_the_project(tmp_path: Path, page: str) -> None:
    def work_for(report_id: str) -> Callable[[Project], object]:
        if page == "report":
            return lambda p: state.report_page(p, "bob", report_id)
        if page == "queue":
            return lambda p: state.queue_items(p, "bob", "least_confidence", 25, 0)
        return lambda p: state.state_for(p, "bob", {"report": report_id})

    small, large = tmp_path / "small.db", tmp_path / "large.db"
    steps = []
    for path, reports in ((small, 10), (large, 200)):
        work = work_for(build(path, reports))
        vm_steps(path, work)  # the queue order is sorted once per process and data version
        steps.append(vm_steps(path, work))
    assert steps[1] < 2 * steps[0] + 50, steps
