"""Retrain on a project's human codings, compare old and new on held-out codings, guard.

The new model learns from the base model's training data plus the project's confirmed and
corrected codings (each fragment's latest decision; corrections weigh ``correction_weight``).
A grouped-by-report share of the project's codings is held out: both models are scored on it,
and the new model replaces the project's active one only when it is not worse (or ``force``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from autocoder.classify.blocks import ModelSettings
from autocoder.classify.model import SuggestionModel
from autocoder.codebook import Codebook
from autocoder.errors import (
    InputError,
    ModelError,
    StoreError,
    TrainingError,
    collected_warnings,
)
from autocoder.evaluate import model_predictions
from autocoder.metrics import headline, suggestion_metrics
from autocoder.modeldir import CODEBOOK, META, load_model, read_meta, save_model
from autocoder.project import rescore_open
from autocoder.records import FragmentRecord
from autocoder.shipped import portable_path, resolve_portable
from autocoder.store import Project
from autocoder.train import TrainingSet, load_training_records, train_model, training_set

TOLERANCE = 0.005  # the new macro-F1 may be this much lower and still count as "not worse"
CALIBRATION_FOLDS = 3
CONFIRMED, CORRECTED = "confirmed", "corrected"


@dataclass
class RetrainResult:
    model_dir: Path
    model_id: str  # the new model's id in the project
    base: str
    old: dict[str, float]  # held-out scores: macro_f1, kappa, accuracy, presence_accuracy, n
    new: dict[str, float]
    activated: bool
    reason: str
    holdout_by: str  # "report" or "fragment"
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Split:
    train: list[FragmentRecord]
    held: list[FragmentRecord]
    held_reports: list[str]
    by: str


def retrain(
    project_path: Path,
    base_dir: Path,
    out_dir: Path,
    *,
    correction_weight: float = 2.0,
    holdout: float = 0.2,
    seed: int = 13,
    force: bool = False,
    rescore: bool = True,
) -> RetrainResult:
    """Train, compare on held-out project codings, save, register and (maybe) activate;
    an activated model re-scores the open fragments (``rescore``; decisions stay as made)."""
    base_dir, out_dir = Path(base_dir), Path(out_dir)
    _check_arguments(base_dir, out_dir, correction_weight, holdout)
    base_meta = read_meta(base_dir)
    if base_meta.get("backend", "linear") != "linear":
        raise ModelError(f"{base_dir}: retrain works from a linear model, not a transformer")
    with Project.open(project_path, create=False) as project:
        old = load_model(base_dir, _project_codebook(project))
        codings = human_codings(project)
        split = holdout_split(codings, holdout, seed)
        context = project.coded_fragments(report_ids=_reports(split.held))
    notes = [] if split.by == "report" else [_fragment_note(split)]
    kept = _without(base_records(base_dir, old.codebook, notes), split, codings, notes)
    new, caught = _train(kept, split, old.codebook, base_meta, correction_weight, seed, out_dir)
    scores = {"old": held_out_scores(old, context, split.held)}
    scores["new"] = held_out_scores(new, context, split.held)
    counts = _counts(codings, split, len(kept), int(new.meta["n_fragments"]))
    new.meta.update(_provenance(base_dir, base_meta, project_path, counts, correction_weight))
    new.meta["holdout_metrics"] = scores
    save_model(new, out_dir, (base_dir / CODEBOOK).read_text(encoding="utf-8"))
    activated, reason = decide(scores["old"], scores["new"], force)
    with Project.open(project_path, create=False) as project:
        model_id = project.register_model(read_meta(out_dir), out_dir, activate=activated)
    if activated and rescore:
        counts["rescored"] = rescore_open(Path(project_path), out_dir).fragments
    return RetrainResult(
        model_dir=out_dir,
        model_id=model_id,
        base=str(base_meta.get("model_id", base_dir.name)),
        old=scores["old"],
        new=scores["new"],
        activated=activated,
        reason=reason,
        holdout_by=split.by,
        counts=counts,
        notes=notes,
        warnings=caught,
    )


def _train(
    base: list[FragmentRecord],
    split: Split,
    codebook: Codebook,
    base_meta: dict[str, Any],
    correction_weight: float,
    seed: int,
    out_dir: Path,
) -> tuple[SuggestionModel, list[str]]:
    """Fit on base + the project's training codings; calibrate with grouped folds."""
    data = _combine([training_set(base)] if base else [], _weighted(split.train, correction_weight))
    settings = replace(_settings(base_meta), seed=seed)
    with collected_warnings() as messages:
        model = train_model(
            data, codebook, folds=CALIBRATION_FOLDS, settings=settings, model_id=out_dir.name
        )
    return model, messages


def _check_arguments(base_dir: Path, out_dir: Path, weight: float, holdout: float) -> None:
    if not 0 < holdout < 1:
        raise TrainingError(f"--holdout must be a share between 0 and 1, not {holdout}")
    if not weight > 0:
        raise TrainingError(f"--correction-weight must be above 0, not {weight}")
    if out_dir.resolve() == base_dir.resolve():
        raise ModelError(f"{out_dir}: --out must differ from --base (the base stays as it was)")
    if (out_dir / META).exists():
        raise ModelError(f"{out_dir}: already holds a model; choose another --out")


def _project_codebook(project: Project) -> Codebook:
    codebook = project.project_codebook()
    if codebook is None:
        raise StoreError(f"{project.path}: the project has no codebook yet; code reports first")
    return codebook


def human_codings(project: Project) -> list[FragmentRecord]:
    """Each fragment's latest confirmed or corrected decision (any coder), as coded records."""
    return [
        r
        for r in project.coded_fragments()
        if r.coding is not None and r.extra.get("status") in (CONFIRMED, CORRECTED)
    ]


def holdout_split(codings: Sequence[FragmentRecord], share: float, seed: int) -> Split:
    """Hold out ``share`` of the coded reports (at least one, never all); with fewer than two
    coded reports, ``share`` of the coded fragments instead. Deterministic for ``seed``."""
    if len(codings) < 2:
        raise TrainingError(
            "the project needs at least two confirmed or corrected codings to retrain "
            "(review some suggestions first)"
        )
    rng = random.Random(seed)
    reports = sorted({r.fragment.report for r in codings})
    if len(reports) >= 2:
        rng.shuffle(reports)
        held = set(reports[: min(len(reports) - 1, max(1, round(share * len(reports))))])
        train = [r for r in codings if r.fragment.report not in held]
        return Split(
            train, [r for r in codings if r.fragment.report in held], sorted(held), "report"
        )
    order = list(range(len(codings)))
    rng.shuffle(order)
    chosen = set(order[: min(len(codings) - 1, max(1, round(share * len(codings))))])
    held_records = [r for i, r in enumerate(codings) if i in chosen]
    train = [r for i, r in enumerate(codings) if i not in chosen]
    return Split(train, held_records, reports, "fragment")


def _fragment_note(split: Split) -> str:
    return (
        f"the project has codings from only one report: held out {len(split.held)} fragments "
        "instead of whole reports (their neighbours were trained on; scores are optimistic)"
    )


def _reports(records: Sequence[FragmentRecord]) -> list[str]:
    return list(dict.fromkeys(r.fragment.report for r in records))


def base_records(base_dir: Path, codebook: Codebook, notes: list[str]) -> list[FragmentRecord]:
    """The base model's training records, from the paths in its meta.json (relative to the
    shipped data's root: the checkout, or the installed package's copy)."""
    meta = read_meta(base_dir)
    named = meta.get("training_data")
    if not named:
        raise ModelError(
            f"{base_dir}: {META} names no 'training_data'; retrain needs the data the base "
            "model was trained on"
        )
    paths = [resolve_portable(p) for p in named]
    for path in paths:
        if not path.exists():
            raise InputError(str(path), f"training data of the base model {base_dir} is missing")
    loaded = load_training_records(paths, codebook, skip_invalid=True)
    if loaded.skipped:
        notes.append(f"{len(loaded.skipped)} unreadable lines in the base training data skipped")
    original = loaded.records and "base_model" not in meta
    if original and training_set(loaded.records).data_hash() != meta.get("data_hash"):
        notes.append("the base training data has changed since the base model was trained")
    return loaded.records


def _without(
    base: list[FragmentRecord], split: Split, codings: Sequence[FragmentRecord], notes: list[str]
) -> list[FragmentRecord]:
    """Base records minus fragments a person coded in the project (their coding replaces
    the base's) and, when whole reports are held out, minus those reports."""
    coded = {r.fragment.id for r in codings}
    held = set(split.held_reports) if split.by == "report" else set()
    in_held = sum(r.fragment.report in held for r in base)
    if in_held:
        notes.append(
            f"the base model was trained on {in_held} fragments of the held-out reports: its "
            "held-out score is optimistic (the new model does not train on them)"
        )
    kept = [r for r in base if r.fragment.report not in held]
    replaced = sum(r.fragment.id in coded for r in kept)
    if replaced:
        notes.append(f"{replaced} base fragments are coded in the project; its coding counts")
    return [r for r in kept if r.fragment.id not in coded]


def _weighted(records: Sequence[FragmentRecord], correction_weight: float) -> list[TrainingSet]:
    sets = []
    for status, weight in ((CONFIRMED, 1.0), (CORRECTED, correction_weight)):
        chosen = [r for r in records if r.extra.get("status") == status]
        if chosen:
            sets.append(training_set(chosen, weight=weight))
    return sets


def _combine(*groups: list[TrainingSet]) -> TrainingSet:
    parts = [part for group in groups for part in group]
    if not parts:
        raise TrainingError("nothing to train on")
    names = [f.name for f in fields(TrainingSet)]
    return TrainingSet(**{n: tuple(v for p in parts for v in getattr(p, n)) for n in names})


def _settings(meta: dict[str, Any]) -> ModelSettings:
    known = {f.name for f in fields(ModelSettings)}
    given = {k: v for k, v in (meta.get("settings") or {}).items() if k in known}
    if "char_ngrams" in given:
        given["char_ngrams"] = tuple(given["char_ngrams"])
    return ModelSettings(**given)


def held_out_scores(
    model: SuggestionModel, context: Sequence[FragmentRecord], held: Sequence[FragmentRecord]
) -> dict[str, float]:
    """Headline figures on the held-out codings; their reports are scored whole (neighbours)."""
    row = {r.fragment.id: i for i, r in enumerate(context)}
    index = [row[r.fragment.id] for r in held]
    probs, present = model_predictions(model, context)
    gold = training_set(held)
    metrics = suggestion_metrics(
        gold.factors,
        gold.presences,
        probs[index],
        None if present is None else present[index],
        model.suggester.labels,
    )
    figures = {k: v for k, v in headline(metrics).items() if k != "ece"}
    figures["n"] = len(held)
    figures["presence_n"] = metrics["presence"]["n"]
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in figures.items()}


def decide(old: dict[str, Any], new: dict[str, Any], force: bool) -> tuple[bool, str]:
    """Activate when the held-out macro-F1 is not lower by more than TOLERANCE (or forced)."""
    before, after = old["macro_f1"], new["macro_f1"]
    compared = f"held-out macro-F1 {after:.3f} (new) vs {before:.3f} (old)"
    if after >= before - TOLERANCE:
        return True, f"activated: {compared}, not worse"
    if force:
        return True, f"activated with --force although worse: {compared}"
    return False, (
        f"not activated: {compared} is lower by more than {TOLERANCE}; the old model stays "
        "active (use --force to activate anyway)"
    )


def _counts(
    codings: Sequence[FragmentRecord], split: Split, base: int, total: int
) -> dict[str, int]:
    return {
        "confirmed": sum(r.extra.get("status") == CONFIRMED for r in codings),
        "corrected": sum(r.extra.get("status") == CORRECTED for r in codings),
        "project_training": len(split.train),
        "held_out": len(split.held),
        "held_out_reports": len(split.held_reports) if split.by == "report" else 0,
        "base_training": base,
        "training": total,
    }


def _provenance(
    base_dir: Path,
    base_meta: dict[str, Any],
    project_path: Path,
    counts: dict[str, int],
    correction_weight: float,
) -> dict[str, Any]:
    return {
        "base_model": {
            "model_id": base_meta.get("model_id"),
            "path": portable_path(base_dir),
            "data_hash": base_meta.get("data_hash"),
        },
        "training_data": list(base_meta.get("training_data") or []),
        "project_codings": {"project": portable_path(Path(project_path)), **counts},
        "correction_weight": correction_weight,
    }
