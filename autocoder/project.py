"""Jobs over a project file: pre-code report files into it, rescore, export and import codings.

``code_reports`` reads, segments and classifies each report and stores it with its
suggestions in one transaction, so an interrupted run leaves a consistent project that a
re-run completes. Files already stored unchanged (same source, same normalised text) are
skipped before segmentation. With ``jobs > 1``, that many worker processes (``project_pool``)
each code and store a share of the files into the project, while this process sums up
what they did. A report's source is its resolved file path. The reading, segmenting,
classifying and storing of a report live in ``project_work``.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from autocoder.codebook import parse_codebook
from autocoder.errors import CodebookError, InputError, ModelError, StoreError, collected_warnings
from autocoder.ingest import iter_report_paths
from autocoder.modeldir import CODEBOOK, read_meta
from autocoder.project_export import export_project
from autocoder.project_import import import_codings
from autocoder.project_pool import code_parallel
from autocoder.project_work import (
    LOW_CONFIDENCE,
    CodeSummary,
    LazyModel,
    process_paths,
    store_outcome,
)
from autocoder.records import Fragment
from autocoder.segment import Unit
from autocoder.shipped import DEFAULT_MODEL
from autocoder.store import Project, project_model_id

SCORE_BATCH = 2048
# Forked workers start with the loaded model and pipeline (seconds sooner); spawn elsewhere.
POOL_CONTEXT = "fork" if sys.platform == "linux" else "spawn"

__all__ = ["CodeSummary", "RescoreSummary", "code_reports", "export_project", "import_codings"]
__all__ += ["activate_model", "choose_model_dir", "rescore_open"]


@dataclass
class RescoreSummary:
    model: str
    fragments: int = 0
    suggestions: Counter = field(default_factory=Counter)
    low_confidence: int = 0
    interrupted: bool = False
    active: str | None = None  # the project's active model after the run


# --- the job -----------------------------------------------------------------------------------


def code_reports(
    paths: Sequence[Path],
    project_path: Path,
    model_dir: Path | None = None,
    jobs: int = 1,
    unit: Unit = "sentence",
    progress: Callable[[CodeSummary], None] | None = None,
    activate: bool = False,
) -> CodeSummary:
    """Pre-code report files into a project (see the module docstring) with ``model_dir``,
    else the project's active model, else the default one. ``activate`` makes ``model_dir``
    the active model (so does the first model of a project)."""
    started = time.perf_counter()
    summary = CodeSummary()
    files = _report_files(paths, summary)
    summary.files = len(files)
    with Project.open(project_path) as project:
        if project.unit() not in (None, unit):
            raise StoreError(f"{project_path}: this project uses --unit {project.unit()}")
        chosen = choose_model_dir(project, model_dir)
        if chosen is None:
            summary.note = NO_MODEL
        model, summary.model = _attach_model(project, chosen, activate)
        active = project.active_model_id()
        known = project.known_sources()
    parallel = jobs > 1 and len(files) > 1
    try:
        if parallel:  # the workers store what they code; this process only adds up
            workers = min(jobs, len(files))
            parts = code_parallel(
                files, project_path, known, unit, model, summary.model, workers, POOL_CONTEXT
            )
            with closing(parts):  # on Ctrl-C too: the workers stop before this returns
                for part in parts:
                    summary.add(part)
                    _report_progress(progress, summary)
        with Project.open(project_path) as project:
            if not parallel:
                for outcome in process_paths(files, known, unit, model):
                    store_outcome(project, outcome, summary, unit)
                    _report_progress(progress, summary)
            if model is not None and summary.model is not None:  # stored without suggestions
                filled = RescoreSummary(summary.model)
                _score(project, model, project.unscored_fragments(None), filled)
                summary.filled = filled.fragments
    except KeyboardInterrupt:
        summary.interrupted = True
    if summary.model not in (None, active) and (summary.fragments or summary.filled):
        summary.note = _not_active(str(summary.model), active)
    summary.seconds = round(time.perf_counter() - started, 2)
    return summary


def _report_progress(progress: Callable[[CodeSummary], None] | None, summary: CodeSummary) -> None:
    if progress is not None:
        progress(summary)


def _report_files(paths: Sequence[Path], summary: CodeSummary) -> list[Path]:
    files: list[Path] = []
    for given in paths:
        try:
            with collected_warnings() as messages:  # files in a folder that are left out
                files.extend(iter_report_paths([given]))
            summary.warnings.extend(messages)
        except InputError as exc:
            summary.failures.append(exc)
    return list(dict.fromkeys(path.resolve() for path in files))


NO_MODEL = (
    "no model given and no default model (models/default): reports were segmented and "
    "stored without suggestions; run again with --model DIR to pre-code them"
)


def _not_active(model_id: str, active: str | None) -> str:
    return (
        f"this run's suggestions are by {model_id}; the project's active model stays {active} "
        "(its suggestions are the ones reviewed): add --activate to switch, or run "
        "'autocoder code --rescore --project ...' to score the new fragments with it"
    )


def choose_model_dir(project: Project, given: Path | None) -> Path | None:
    """The model for a run: ``given``, else the project's active model (where it was
    registered from), else the default model; None when there is none."""
    if given is not None:
        return Path(given)
    active = project.active_model_id()
    if active is None:
        return DEFAULT_MODEL if (DEFAULT_MODEL / "meta.json").is_file() else None
    recorded = project.model_dir(active)
    for candidate in [Path(recorded)] if recorded else [DEFAULT_MODEL]:  # DEFAULT: older projects
        try:
            if project_model_id(read_meta(candidate)) == active:
                return candidate
        except ModelError:
            continue
    where = f"registered from {recorded}, now missing or changed" if recorded else "no directory"
    raise ModelError(
        f"{project.path}: the project's active model {active} is not found ({where}); give "
        "--model DIR for this run (with --activate to make it the active model)"
    )


def _attach_model(
    project: Project, model_dir: Path | None, activate: bool
) -> tuple[LazyModel | None, str | None]:
    """Check the model's codebook against the project's (refused when they differ) and
    register it, as the active model when ``activate`` or when the project has none yet;
    its estimator is loaded later, when there is something to score."""
    if model_dir is None:
        return None, None
    meta = read_meta(model_dir)
    codebook = project.project_codebook()
    if codebook is None:
        try:
            text = (model_dir / CODEBOOK).read_text(encoding="utf-8")
            codebook = parse_codebook(text, str(model_dir / CODEBOOK))
        except (OSError, CodebookError) as exc:
            raise ModelError(
                f"{model_dir}: the model's codebook.yaml is missing or invalid"
            ) from exc
        if codebook.hash != meta.get("codebook_hash"):
            raise ModelError(f"{model_dir}: codebook.yaml does not match meta.json (tampered?)")
        project.ensure_codebook(text, codebook)
    first = project.active_model_id() is None
    model_id = project.register_model(meta, model_dir, activate=activate or first)
    return LazyModel(model_dir, codebook), model_id


def activate_model(project_path: Path, model_id: str) -> str:
    """Make a model registered in the project its active model; returns the one before."""
    with Project.open(project_path, create=False) as project:
        before = project.active_model_id()
        project.activate_model(model_id)
        return str(before)


# --- scoring stored fragments ----------------------------------------------------------------


def rescore_open(
    project_path: Path, model_dir: Path | None = None, activate: bool = False
) -> RescoreSummary:
    """Score the open fragments (no person's decision yet) that ``model_dir`` (default: the
    project's active model) has not scored; ``activate`` makes it the active model.
    Decisions are never touched; earlier suggestions stay in the log."""
    with Project.open(project_path, create=False) as project:
        chosen = choose_model_dir(project, model_dir)
        if chosen is None:
            raise ModelError(f"{project_path}: no model to score with: give --model DIR")
        model, model_id = _attach_model(project, chosen, activate)
        assert model is not None and model_id is not None
        summary = RescoreSummary(model_id, active=project.active_model_id())
        try:
            _score(project, model, project.unscored_fragments(model_id, open_only=True), summary)
        except KeyboardInterrupt:
            summary.interrupted = True  # the batches scored so far are stored
        return summary


def _score(
    project: Project, model: LazyModel, fragments: list[Fragment], summary: RescoreSummary
) -> RescoreSummary:
    """Suggest and store in batches (one transaction each)."""
    iterator = iter(fragments)
    while batch := list(islice(iterator, SCORE_BATCH)):
        suggestions = model.suggest(batch)
        ids = [fragment.id for fragment in batch]
        project.add_suggestions(summary.model, zip(ids, suggestions, strict=True))
        summary.fragments += len(batch)
        for suggestion in suggestions:
            summary.suggestions[suggestion.factor or "(none)"] += 1
            summary.low_confidence += suggestion.confidence < LOW_CONFIDENCE
    return summary
