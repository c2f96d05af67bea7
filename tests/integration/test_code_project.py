"""`code` into a real project file: re-runs, versions, faults, export/import, interruption."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from autocoder import project as project_module
from autocoder.classify.blocks import ModelSettings
from autocoder.cli import app
from autocoder.codebook import Codebook, load_codebook
from autocoder.errors import CodebookMismatchError
from autocoder.modeldir import save_model
from autocoder.pipeline import codebook_source
from autocoder.project import code_reports, export_project, import_codings, rescore_open
from autocoder.project_export import light, safe_text, sheet_names
from autocoder.records import Coding, Decision, Fragment, FragmentRecord, Presence, Status
from autocoder.store import Project
from autocoder.train import train_model, training_set

CODEBOOK = load_codebook()
REPO = Path(__file__).resolve().parents[2]

# (factor or None, presence, text): a few hand-written examples per code.
EXAMPLES = [
    ("wederzijdse_afhankelijkheid", "present", "We hebben elkaar echt nodig in deze zaken."),
    ("wederzijdse_afhankelijkheid", "present", "Zonder de politie lukt het ons niet."),
    ("wederzijdse_afhankelijkheid", "absent", "Wij kunnen het eigenlijk prima alleen af."),
    ("concretisering", "present", "De werkafspraken zijn duidelijk vastgelegd."),
    ("concretisering", "present", "Er is een heldere rolverdeling in het overleg."),
    ("concretisering", "absent", "Er zijn geen afspraken over wie wat doet."),
    ("onderlinge_verhoudingen", "present", "Er is veel vertrouwen tussen de partners."),
    ("onderlinge_verhoudingen", "present", "De lijnen zijn kort en we kennen elkaar."),
    ("onderlinge_verhoudingen", "absent", "Het vertrouwen tussen de partners is weg."),
    ("bestuurlijke_kracht", "present", "De stuurgroep neemt besluiten en houdt de regie."),
    ("bestuurlijke_kracht", "absent", "Niemand neemt bestuurlijk de regie."),
    ("bestuurlijke_kracht", "present", "De wethouder stuurt actief op de samenwerking."),
    ("stabiliteit", "absent", "Door de reorganisatie is er veel verloop."),
    ("stabiliteit", "present", "Het team is al jaren hetzelfde gebleven."),
    ("stabiliteit", "absent", "Er is een voortdurende wisseling van medewerkers."),
    ("continuiteit", "present", "Het overleg bestaat al sinds 2015."),
    ("continuiteit", "present", "We werken al jaren op deze manier samen."),
    ("continuiteit", "absent", "Het project stopt volgend jaar alweer."),
    ("externe_druk", "present", "De aanpak is ons door het ministerie opgelegd."),
    ("externe_druk", "present", "Het landelijk kader verplicht ons tot deelname."),
    ("externe_druk", "absent", "Niemand heeft ons verplicht om mee te doen."),
    ("randvoorwaarden", "absent", "Er is te weinig capaciteit en geen budget."),
    ("randvoorwaarden", "present", "De formatie is voldoende voor het werk."),
    ("randvoorwaarden", "absent", "Het budget schiet tekort voor de uren."),
    (None, None, "Het gesprek vond plaats op het kantoor."),
    (None, None, "De respondent werkt sinds kort bij de gemeente."),
    (None, None, "Het weer was die dag erg mooi."),
    (None, None, "Zij heeft twee kinderen en woont in de stad."),
    (None, None, "Het interview duurde ongeveer een uur."),
    (None, None, "Daarna werd koffie gedronken."),
]


def train_tiny(directory: Path, seed: int = 13, skip: int = 0) -> Path:
    records = []
    for index, (factor, presence, text) in enumerate(EXAMPLES[skip:]):
        fragment = Fragment(f"t{index}", f"r{index % 5}", 0, len(text), text)
        coding = Coding(factor, Presence(presence) if presence else None)
        records.append(FragmentRecord(fragment, coding))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = train_model(
            training_set(records), CODEBOOK, folds=0, settings=ModelSettings(seed=seed)
        )
    save_model(model, directory, codebook_source(None))
    return directory


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(autouse=True)
def no_default_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(project_module, "DEFAULT_MODEL", tmp_path / "no-default-model")


def write_report(path: Path, number: int, sentences: int = 6, extra: str = "") -> Path:
    body = [text for _, _, text in EXAMPLES]
    chosen = [body[(number * 7 + k) % len(body)] for k in range(sentences)]
    path.write_text(
        f"---\nrespondent: R{number:02d}\ngroup: uitvoerend\n---\n"
        f"# Verslag nummer {number}\n\nVraag 5. Hoe verloopt de samenwerking?\n\n"
        + " ".join(chosen)
        + extra
        + "\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    for number in range(4):
        write_report(folder / f"verslag-{number}.md", number)
    return folder


def table_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        tables = ("reports", "report_versions", "fragments", "suggestions", "decisions")
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


# With --jobs 2 the workers store the reports themselves: the same counts must come back.
JOBS = pytest.mark.parametrize("jobs", [1, 2])


@JOBS
def test_code_twice_adds_nothing(reports: Path, model_dir: Path, tmp_path: Path, jobs: int) -> None:
    db = tmp_path / "study.db"
    first = code_reports([reports], db, model_dir, jobs=jobs)
    assert (first.reports, first.new, first.failures) == (4, 4, [])
    assert first.fragments > 8 and sum(first.suggestions.values()) == first.fragments
    before = table_counts(db)
    second = code_reports([reports], db, model_dir, jobs=jobs)
    assert (second.unchanged, second.new, second.fragments, second.filled) == (4, 0, 0, 0)
    assert table_counts(db) == before
    with Project.open(db) as project:
        assert project.status()["suggestions"] == first.fragments


@JOBS
def test_changed_file_becomes_a_new_version(
    reports: Path, model_dir: Path, tmp_path: Path, jobs: int
) -> None:
    db = tmp_path / "study.db"
    code_reports([reports], db, model_dir)
    with Project.open(db) as project:
        old = project.coded_fragments()[0].fragment
        seq = project.record_decision(
            Decision(old.id, "anna", None, None, None, Status.CONFIRMED, "")
        )
    write_report(reports / "verslag-0.md", 0, extra=" Er is een nieuwe zin toegevoegd.")
    summary = code_reports([reports], db, model_dir, jobs=jobs)
    assert (summary.new_versions, summary.unchanged, summary.new) == (1, 3, 0)
    with Project.open(db) as project:
        versions = [r for r in project.reports(all_versions=True) if r["id"] == old.report]
        assert versions and versions[0]["version"] == 1
        assert old.report not in {r.fragment.report for r in project.coded_fragments()}
        kept = project.coded_fragments("anna", report_ids=[old.report])
        assert kept[0].extra["seq"] == seq
        assert len(project.reports()) == 4 and len(project.reports(all_versions=True)) == 5


@JOBS
def test_metadata_only_change_keeps_fragments_and_codings(
    reports: Path, model_dir: Path, tmp_path: Path, jobs: int
) -> None:
    db = tmp_path / "study.db"
    code_reports([reports], db, model_dir)
    with Project.open(db) as project:
        first = project.coded_fragments()[0].fragment
        project.record_decision(Decision(first.id, "anna", None, None, None, Status.CONFIRMED, ""))
    before = table_counts(db)
    path = reports / "verslag-0.md"
    path.write_text(path.read_text(encoding="utf-8").replace("R00", "R42"), encoding="utf-8")
    summary = code_reports([reports], db, model_dir, jobs=jobs)
    assert (summary.new_versions, summary.unchanged, summary.fragments) == (1, 3, 0)
    after = table_counts(db)
    assert after["report_versions"] == before["report_versions"] + 1
    assert {k: v for k, v in after.items() if k != "report_versions"} == {
        k: v for k, v in before.items() if k != "report_versions"
    }
    with Project.open(db) as project:
        record = project.coded_fragments("anna")[0]
        assert record.fragment.id == first.id and record.fragment.respondent == "R42"
        assert record.extra["status"] == "confirmed"


@JOBS
def test_bad_files_are_listed_and_the_rest_is_coded(
    reports: Path, model_dir: Path, tmp_path: Path, jobs: int
) -> None:
    (reports / "leeg.txt").write_text("   \n", encoding="utf-8")
    (reports / "kapot.docx").write_bytes(b"PK\x03\x04 not really a zip")
    db = str(tmp_path / "s.db")
    result = CliRunner().invoke(
        app, ["code", str(reports), "--project", db, "--model", str(model_dir), "--jobs", str(jobs)]
    )
    assert result.exit_code == 1
    assert "leeg.txt" in result.stderr and "kapot.docx" in result.stderr
    assert table_counts(tmp_path / "s.db")["reports"] == 4


def test_model_for_another_codebook_is_refused(
    reports: Path, model_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "study.db"
    other = Codebook.model_validate({**CODEBOOK.model_dump(), "name": "Ander codeboek"})
    text = codebook_source(None).replace(CODEBOOK.name, "Ander codeboek", 1)
    with Project.open(db) as project:
        project.ensure_codebook(text, other)
    with pytest.raises(CodebookMismatchError):
        code_reports([reports], db, model_dir)
    assert table_counts(db)["reports"] == 0


def test_segment_only_then_a_model_fills_in(reports: Path, model_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    bare = code_reports([reports], db, None)
    assert bare.model is None and "no default model" in bare.note
    assert table_counts(db)["suggestions"] == 0
    coded = code_reports([reports], db, model_dir)
    assert coded.unchanged == 4 and coded.filled == bare.fragments
    assert table_counts(db)["suggestions"] == bare.fragments


@pytest.mark.parametrize("context", ["fork", pytest.param("spawn", marks=pytest.mark.slow)])
def test_jobs_2_stores_the_same_as_jobs_1(
    context: str, reports: Path, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(project_module, "POOL_CONTEXT", context)
    one = code_reports([reports], tmp_path / "one.db", model_dir, jobs=1)
    two = code_reports([reports], tmp_path / "two.db", model_dir, jobs=2)
    assert (two.new, two.fragments, two.suggestions) == (one.new, one.fragments, one.suggestions)
    with Project.open(tmp_path / "one.db") as a, Project.open(tmp_path / "two.db") as b:
        assert [r.suggestion for r in a.coded_fragments(include_suggestions=True)] == [
            r.suggestion for r in b.coded_fragments(include_suggestions=True)
        ]


def test_four_workers_writing_at_once_store_the_same_as_one(
    model_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(12):
        write_report(folder / f"verslag-{number:02d}.md", number, sentences=20)
    one = code_reports([folder], tmp_path / "one.db", model_dir, jobs=1)
    four = code_reports([folder], tmp_path / "four.db", model_dir, jobs=4)
    assert (four.new, four.fragments, four.suggestions) == (12, one.fragments, one.suggestions)
    assert table_counts(tmp_path / "four.db") == table_counts(tmp_path / "one.db")
    with Project.open(tmp_path / "one.db") as a, Project.open(tmp_path / "four.db") as b:
        assert a.coded_fragments(include_suggestions=True) == b.coded_fragments(
            include_suggestions=True
        )
    with sqlite3.connect(tmp_path / "four.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_rescore_scores_only_open_fragments(reports: Path, model_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    code_reports([reports], db, model_dir)
    with Project.open(db) as project:
        decided = project.coded_fragments()[0].fragment.id
        project.record_decision(Decision(decided, "anna", None, None, None, Status.CONFIRMED, ""))
        total = project.status()["fragments"]
        old_model = project.active_model_id()
    newer = train_tiny(tmp_path / "newer", seed=5, skip=1)
    summary = rescore_open(db, newer, activate=True)
    assert summary.fragments == total - 1
    assert rescore_open(db, newer).fragments == 0
    with Project.open(db) as project:
        assert project.active_model_id() == summary.model != old_model
        records = {r.fragment.id: r for r in project.coded_fragments(include_suggestions=True)}
        assert records[decided].suggestion.model == old_model
        assert {r.suggestion.model for k, r in records.items() if k != decided} == {summary.model}
        assert len(project.current_decisions()) == 1


# --- export and import ----------------------------------------------------------------------


def review(path: Path, fmt: str, choices: dict[str, str], extra_id: str | None = None) -> None:
    """Fill in the factor column of an export, as a coder would; ``extra_id``: a row for a
    fragment that is not in the project (by id, nor by report and offsets)."""
    if fmt == "xlsx":
        book = openpyxl.load_workbook(path)
        for sheet in book.worksheets[1:]:
            header = [c.value for c in sheet[2]]  # the first row says whose codes these are
            for row in sheet.iter_rows(min_row=3):
                fid = row[header.index("fragment")].value
                if fid in choices:
                    row[header.index("factor")].value = choices[fid]
        if extra_id:
            book.worksheets[1].append([extra_id, None, None, "x", None, None, None, "none"])
        book.save(path)
    elif fmt == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            if row["id"] in choices:
                row["factor"] = choices[row["id"]]
        if extra_id:
            rows.append({**rows[0], "id": extra_id, "report": "r0", "factor": "none"})
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for data in lines:
            if data["id"] in choices:
                choice = choices[data["id"]]
                if choice == "reject":
                    data["status"] = "rejected"
                else:
                    data["factor"] = None if choice == "none" else choice
                    data["presence"] = None if choice == "none" else "present"
        if extra_id:
            lines.append({**lines[0], "id": extra_id, "report": "r0", "factor": None})
        path.write_text("\n".join(json.dumps(d) for d in lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "jsonl"])
def test_export_import_round_trip(fmt: str, reports: Path, model_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    code_reports([reports], db, model_dir)
    with Project.open(db) as project:
        records = project.coded_fragments(include_suggestions=True)
    first, second, third, fourth = (r.fragment.id for r in records[:4])
    suggested = records[1].suggestion.factor
    other = next(code for code in CODEBOOK.ids if code != suggested)
    out = tmp_path / f"review.{fmt}"
    exported = export_project(db, fmt, out, coder="anna")
    assert exported.records == len(records) and exported.reports == 4
    choices = {second: other, third: "reject", fourth: "not_a_code"}
    if fmt != "jsonl":
        choices[first] = "ok"
    review(out, fmt, choices, extra_id="r000000000000:0-5")
    refused = import_codings(out, db, "anna")  # two conflicts: nothing is written
    assert not refused.written and len(refused.conflicts) == 2
    with Project.open(db) as project:
        assert project.current_decisions("anna") == []
    summary = import_codings(out, db, "anna", partial=True)
    assert summary.written and summary.corrected == 1 and summary.rejected == 1
    assert summary.confirmed == (0 if fmt == "jsonl" else 1)
    assert len(summary.conflicts) == 2
    assert any("unknown fragment" in c for c in summary.conflicts)
    assert any("not_a_code" in c and "not a code" in c for c in summary.conflicts)
    with Project.open(db) as project:
        mine = {d.fragment_id: d for d in project.current_decisions("anna")}
    assert mine[second].factor == other and mine[second].status is Status.CORRECTED
    assert mine[third].status is Status.REJECTED

    again = tmp_path / f"again.{fmt}"
    export_project(db, fmt, again, coder="anna")
    repeat = import_codings(again, db, "anna")
    assert (repeat.recorded, repeat.unchanged, repeat.conflicts) == (0, len(mine), [])

    with Project.open(db) as project:  # a newer decision by anna, made in the review app
        project.record_decision(Decision(second, "anna", None, None, None, Status.CORRECTED, ""))
    stale = import_codings(out, db, "anna", partial=True)
    assert any("after this file was exported" in c for c in stale.conflicts)


def test_xlsx_sheets_colours_and_text_cells(reports: Path, model_dir: Path, tmp_path: Path) -> None:
    long_name = reports / ("een-heel-lange-bestandsnaam-voor-een-verslag-[1].md")
    write_report(long_name, 9, extra='\n\n=HYPERLINK("http://example.org") staat hier.')
    db = tmp_path / "study.db"
    code_reports([reports], db, model_dir)
    out = tmp_path / "export.xlsx"
    export_project(db, "xlsx", out)
    book = openpyxl.load_workbook(out)
    names = book.sheetnames
    assert names[0] == "codes" and len(names) == 6
    assert all(len(name) <= 31 and "[" not in name for name in names)
    assert len({name.lower() for name in names}) == len(names)
    colours = {c.fill.start_color.rgb[-6:] for s in names[1:] for c in book[s]["E"][1:]}
    assert len(colours - {"000000"}) >= 2
    texts = [c for s in names[1:] for c in book[s]["D"] if str(c.value).startswith("=")]
    assert texts and all(c.data_type == "s" for c in texts)


def test_sheet_names_colours_and_formula_guard() -> None:
    names = sheet_names(
        ["/a/codes.md", "/b/" + "x" * 40 + ".md", "/c/" + "X" * 40 + ".txt", "/d/'.md"]
    )
    assert names[0] != "codes" and len(set(map(str.lower, names))) == 4
    assert all(len(name) <= 31 for name in names) and names[3] == "report"
    assert light("#000000") == "A6A6A6" and light("#ffffff") == "FFFFFF"
    assert safe_text("=cmd()") == "'=cmd()" and safe_text("gewoon") == "gewoon"


def test_status_export_and_import_commands(reports: Path, model_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    runner = CliRunner()
    arguments = ["code", str(reports), "--project", str(db), "--model", str(model_dir)]
    coded = runner.invoke(app, arguments)
    assert coded.exit_code == 0, coded.output
    assert "new" in coded.stdout
    out = tmp_path / "review.csv"
    exported = runner.invoke(
        app, ["export", "--project", str(db), "--format", "csv", "--out", str(out)]
    )
    assert exported.exit_code == 0 and out.exists()
    imported = runner.invoke(
        app, ["import-codings", str(out), "--project", str(db), "--coder", "b"]
    )
    assert imported.exit_code == 0 and "0 conflicts" in imported.stdout
    status = runner.invoke(app, ["status", "--project", str(db), "--json"])
    assert json.loads(status.stdout)["reports"] == 4
    missing = runner.invoke(app, ["status", "--project", str(tmp_path / "none.db")])
    assert missing.exit_code == 1 and "no such project" in missing.stderr


# --- interruption ---------------------------------------------------------------------------


def stored_reports(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with Project.open(db, create=False, timeout=1) as project:
            return len(project.reports())
    except Exception:
        return 0


def assert_consistent(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        bare = conn.execute(
            "SELECT count(*) FROM report_versions v WHERE NOT EXISTS "
            "(SELECT 1 FROM fragments f WHERE f.report_id = v.report_id)"
        ).fetchone()[0]
        unscored = conn.execute(
            "SELECT count(*) FROM fragments f WHERE NOT EXISTS "
            "(SELECT 1 FROM suggestions s WHERE s.fragment_id = f.id)"
        ).fetchone()[0]
        assert (bare, unscored) == (0, 0)
        return conn.execute("SELECT count(*) FROM report_versions").fetchone()[0]


def child_pids(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def running(pid: int) -> bool:
    try:  # a zombie (state Z) has ended; whoever adopted it may not have reaped it yet
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize(
    ("how", "jobs"),
    [
        pytest.param(signal.SIGINT, 2, marks=pytest.mark.slow),
        (signal.SIGKILL, 1),
        pytest.param(
            signal.SIGKILL,
            2,
            marks=pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc"),
        ),
    ],
    ids=["ctrl-c-with-workers", "killed", "killed-with-workers"],
)
def test_interrupted_run_leaves_a_consistent_project(
    how: signal.Signals, jobs: int, model_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(30):
        write_report(folder / f"verslag-{number:02d}.md", number, sentences=100)
    db = tmp_path / "study.db"
    command = [sys.executable, "-m", "autocoder", "code", str(folder), "--project", str(db)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [*command, "--model", str(model_dir), "--jobs", str(jobs)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while stored_reports(db) < 1:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "no report was stored in time"
            time.sleep(0.02)
        workers = child_pids(process.pid) if jobs > 1 else set()
        process.send_signal(how)
        code = process.wait(timeout=60)
        while workers := {pid for pid in workers if running(pid)}:
            assert time.monotonic() < deadline, "workers outlived their main process"
            time.sleep(0.02)  # a worker ends within a moment of its main process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == (130 if how == signal.SIGINT else -signal.SIGKILL)
    stored = assert_consistent(db)
    assert 1 <= stored < 30
    rerun = code_reports([folder], db, model_dir)
    assert (rerun.unchanged, rerun.new, rerun.failures) == (stored, 30 - stored, [])
    assert assert_consistent(db) == 30
