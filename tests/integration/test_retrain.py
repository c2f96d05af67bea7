"""`retrain` on a real project: corrections teach the new model, the worse-model guard holds,
open fragments are re-scored without touching decisions, and `models` lists the versions."""

from __future__ import annotations

import json
import shutil
import warnings
from itertools import islice
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocoder.classify.blocks import ModelSettings
from autocoder.cli import app
from autocoder.codebook import load_codebook
from autocoder.jsonl import write_records
from autocoder.modeldir import load_model, save_model
from autocoder.pipeline import codebook_source
from autocoder.project import code_reports
from autocoder.records import Coding, Decision, Fragment, FragmentRecord, Presence, Status
from autocoder.retrain import holdout_split, human_codings, retrain
from autocoder.shipped import STARTER_CORPUS
from autocoder.store import Project
from autocoder.train import load_training_records, train_model, training_set

CODEBOOK = load_codebook()
BASE_REPORTS = 4  # reports of the starter corpus the small base model learns from
WORD = "zwieberplank"  # an invented word no model has seen
PLAIN = [
    "We hebben elkaar echt nodig in deze zaken.",
    "De werkafspraken zijn duidelijk vastgelegd.",
    "Er is veel vertrouwen tussen de partners.",
    "De stuurgroep neemt besluiten en houdt de regie.",
    "Door de reorganisatie is er veel verloop.",
    "Het overleg bestaat al sinds 2015.",
    "Er is te weinig capaciteit en geen budget.",
    "Het gesprek vond plaats op het kantoor.",
]
INVENTED = [
    f"De {WORD} regelt dat allemaal voor ons.",
    f"Via de {WORD} loopt bijna alles.",
    f"Sinds de {WORD} er is gaat het anders.",
    f"Over de {WORD} wordt veel gepraat.",
    f"Iedereen kent de {WORD} hier wel.",
    f"Zonder de {WORD} zouden we nergens staan.",
]
PROBES = [
    f"Ook in de wijk is de {WORD} bekend.",
    f"De {WORD} komt elke week terug.",
    f"Ze vertelde uitgebreid over de {WORD}.",
]


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small base model whose training data (meta 'training_data') is a JSONL file."""
    folder = tmp_path_factory.mktemp("base")
    loaded = load_training_records([STARTER_CORPUS / "fragments.jsonl"], CODEBOOK)
    reports = list(islice(dict.fromkeys(r.fragment.report for r in loaded.records), BASE_REPORTS))
    records = [r for r in loaded.records if r.fragment.report in reports]
    data_path = folder / "base.jsonl"
    write_records(data_path, records)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = train_model(
            training_set(records), CODEBOOK, folds=0, settings=ModelSettings(), model_id="base"
        )
    model.meta["training_data"] = [str(data_path)]
    return save_model(model, folder / "base", codebook_source(None))


def write_reports(folder: Path, bodies: list[list[str]]) -> list[Path]:
    folder.mkdir()
    paths = []
    for number, sentences in enumerate(bodies):
        path = folder / f"verslag-{number}.md"
        path.write_text(
            f"---\nrespondent: R{number:02d}\ngroup: uitvoerend\n---\n"
            f"# Verslag nummer {number}\n\n" + " ".join(sentences) + "\n",
            encoding="utf-8",
        )
        paths.append(path)
    return paths


def decide(project: Project, record: FragmentRecord, status: Status, factor: str | None) -> None:
    presence = None if factor is None else Presence.PRESENT
    if status is Status.CONFIRMED and record.suggestion is not None:
        presence = record.suggestion.presence
    project.record_decision(
        Decision(record.fragment.id, "anna", factor, presence, None, status, "")
    )


def predictions(model_dir: Path, texts: list[str]) -> list[str | None]:
    model = load_model(model_dir)
    fragments = [Fragment(f"p{i}", f"rprobe{i}", 0, len(t), t) for i, t in enumerate(texts)]
    return [s.factor for s in model.suggest(fragments)]


def test_corrections_teach_the_retrained_model(tmp_path: Path, base_dir: Path) -> None:
    bodies = [PLAIN[i % 3 :] + INVENTED[i % 4 : i % 4 + 3] for i in range(6)]
    bodies.append(PLAIN[:4] + INVENTED[3:5])  # left open: re-scored after the retrain
    paths = write_reports(tmp_path / "reports", bodies)
    db = tmp_path / "study.db"
    code_reports(paths, db, base_dir)
    before = set(predictions(base_dir, PROBES + INVENTED))
    target = next(code for code in CODEBOOK.ids if code not in before)
    with Project.open(db) as project:
        open_report = project.reports()[-1]["id"]
        for record in project.coded_fragments(include_suggestions=True):
            if record.fragment.report == open_report:
                continue
            if WORD in record.fragment.text:
                decide(project, record, Status.CORRECTED, target)
            else:
                suggested = record.suggestion.factor if record.suggestion else None
                decide(project, record, Status.CONFIRMED, suggested)
        decisions = project.current_decisions()

    result = retrain(db, base_dir, tmp_path / "models" / "taught")

    assert predictions(result.model_dir, PROBES) == [target] * len(PROBES)
    assert result.activated, result.reason
    assert result.new["macro_f1"] >= result.old["macro_f1"]
    assert result.counts["corrected"] == 18 and result.counts["held_out_reports"] == 1
    meta = load_model(result.model_dir).meta
    assert meta["base_model"]["model_id"] == "base"
    assert meta["correction_weight"] == 2.0
    assert meta["project_codings"]["corrected"] == 18
    assert set(meta["holdout_metrics"]) == {"old", "new"}
    with Project.open(db, create=False) as project:
        assert project.active_model_id() == result.model_id
        assert project.current_decisions() == decisions  # the retrain touched no decision
        queue = project.open_suggestions("anna")
    invented = [r for r in queue if WORD in r.fragment.text]
    assert len(invented) == 2 and result.counts["rescored"] == len(queue)
    assert all(r.suggestion and r.suggestion.factor == target for r in invented)
    again = code_reports(paths, db)  # no --model, every file unchanged: the new model stays
    with Project.open(db, create=False) as project:
        assert again.model == project.active_model_id() == result.model_id


@pytest.fixture
def misled(tmp_path: Path, base_dir: Path) -> Path:
    """A project whose held-out report confirms the base model and whose other reports
    'correct' the very same sentences to another code: retraining can only get worse."""
    paths = write_reports(tmp_path / "reports", [PLAIN + INVENTED[:2]] * 1 + [PLAIN] * 4)
    db = tmp_path / "study.db"
    code_reports(paths, db, base_dir)
    with Project.open(db) as project:
        records = project.coded_fragments(include_suggestions=True)
        for record in records:
            decide(project, record, Status.CONFIRMED, record.suggestion.factor)
        held = set(holdout_split(human_codings(project), 0.2, 13).held_reports)
        labels = CODEBOOK.ids
        for record in records:
            if record.fragment.report not in held:
                factor = record.suggestion.factor
                wrong = labels[(labels.index(factor) + 1) % len(labels)] if factor else labels[0]
                decide(project, record, Status.CORRECTED, wrong)
    return db


def test_worse_model_is_not_activated_without_force(
    tmp_path: Path, base_dir: Path, misled: Path
) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    with Project.open(misled, create=False) as project:
        base_id = project.active_model_id()
    args = ["retrain", "--project", str(misled), "--base", str(base_dir)]
    args += ["--correction-weight", "20"]

    refused = runner.invoke(app, [*args, "--out", str(tmp_path / "models" / "worse")])
    assert refused.exit_code == 0, refused.output
    assert "not activated" in refused.output and "macro-F1" in refused.output
    with Project.open(misled, create=False) as project:
        assert project.active_model_id() == base_id
        worse = project.models()[-1]
    held_out = worse["meta"]["holdout_metrics"]
    assert held_out["new"]["macro_f1"] < held_out["old"]["macro_f1"] - 0.005

    forced = runner.invoke(app, [*args, "--out", str(tmp_path / "models" / "forced"), "--force"])
    assert forced.exit_code == 0, forced.output
    assert "activated with --force" in forced.output
    with Project.open(misled, create=False) as project:
        active = project.active_model_id()
        assert active != base_id and active.startswith("forced-")

    listing = runner.invoke(app, ["models", "--project", str(misled)])
    assert listing.exit_code == 0, listing.output
    assert all(name in listing.output for name in (base_id, worse["id"], active))
    assert listing.output.count("✔") == 2  # the active row and the legend


def test_retrain_errors_and_a_single_coded_report(tmp_path: Path, base_dir: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    db = tmp_path / "study.db"
    code_reports(write_reports(tmp_path / "reports", [PLAIN]), db, base_dir)
    args = ["retrain", "--project", str(db), "--out", str(tmp_path / "models" / "next")]

    nothing = runner.invoke(app, [*args, "--base", str(base_dir)])
    assert nothing.exit_code == 1
    assert "at least two confirmed or corrected codings" in nothing.output

    with Project.open(db) as project:
        for record in project.coded_fragments(include_suggestions=True):
            decide(project, record, Status.CONFIRMED, record.suggestion.factor)
    moved = tmp_path / "moved-base"
    shutil.copytree(base_dir, moved)
    meta = json.loads((moved / "meta.json").read_text(encoding="utf-8"))
    meta["training_data"] = [str(tmp_path / "gone.jsonl")]
    (moved / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    missing = runner.invoke(app, [*args, "--base", str(moved)])
    assert missing.exit_code == 1
    assert "gone.jsonl: training data of the base model" in missing.output
    assert not (tmp_path / "models" / "next").exists()

    single = runner.invoke(app, [*args, "--base", str(base_dir)])
    assert single.exit_code == 0, single.output
    assert "codings from only one report: held out" in single.output


def test_holdout_split_is_grouped_and_deterministic() -> None:
    def coded(report: str, index: int) -> FragmentRecord:
        fragment = Fragment(f"{report}:{index}", report, index, index + 1, "x")
        return FragmentRecord(fragment, Coding(None), extra={"status": "confirmed"})

    records = [coded(f"r{r}", i) for r in range(10) for i in range(3)]
    split = holdout_split(records, 0.2, 13)
    assert split.by == "report" and len(split.held_reports) == 2 and len(split.held) == 6
    assert {r.fragment.report for r in split.train}.isdisjoint(split.held_reports)
    assert holdout_split(records, 0.2, 13) == split
    assert len(holdout_split(records[:6], 0.9, 13).held_reports) == 1  # never every report
    one = holdout_split(records[:3], 0.2, 13)
    assert one.by == "fragment" and len(one.held) == 1 and len(one.train) == 2
