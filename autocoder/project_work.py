"""The work behind ``code_reports``: read, segment and classify report files, and store what
that gives, in whichever process runs it (this one, or a worker of ``project_pool``).

``process_paths`` streams outcomes (plain records) for report files; files already stored
unchanged (same source, same normalised text) are skipped before segmentation.
``store_outcome`` stores one outcome, a report with its fragments and suggestions in one
transaction, and counts it in a ``CodeSummary``.
"""

from __future__ import annotations

import gc
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from pathlib import Path

from autocoder.classify.model import SuggestionModel
from autocoder.codebook import Codebook
from autocoder.config import DEFAULT_SETTINGS, Limits
from autocoder.errors import InputError
from autocoder.fragment_links import Carried
from autocoder.ingest import read_reports
from autocoder.pipeline import CLASSIFY_BATCH
from autocoder.records import Fragment, Report, Suggestion, source_report_id
from autocoder.segment import Unit, segment_reports
from autocoder.store import Project, meta_key
from autocoder.transformer_dir import load_any_model

LOW_CONFIDENCE = 0.5
METADATA_FILE = "metadata.csv"

__all__ = ["CodeSummary", "Coded", "Failed", "Known", "LazyModel", "Outcome", "Relabelled"]
__all__ += ["Skipped", "process_paths", "store_outcome"]


# --- what the work gives (plain records) ------------------------------------------------------


@dataclass(frozen=True)
class Coded:
    report: Report
    fragments: list[Fragment]
    suggestions: list[Suggestion]


@dataclass(frozen=True)
class Skipped:
    source: str


@dataclass(frozen=True)
class Relabelled:
    """Same text, other metadata: a new version that keeps its fragments and codings."""

    report: Report


@dataclass(frozen=True)
class Failed:
    source: str
    reason: str
    line: int | None = None


Outcome = Coded | Skipped | Relabelled | Failed | str  # a str is a warning message
Known = dict[str, tuple[str, tuple[str, ...]]]  # source -> (sha256, metadata) as stored


class LazyModel:
    """A model directory loaded on first use (a run with nothing new never loads it)."""

    def __init__(self, directory: Path, codebook: Codebook | None = None) -> None:
        self.directory = directory
        self.codebook = codebook
        self._model: SuggestionModel | None = None

    def load(self) -> SuggestionModel:
        if self._model is None:
            self._model = load_any_model(self.directory, self.codebook)
            gc.freeze()  # the model lives as long as the job: keep it out of every collection
        return self._model

    def warm(self) -> None:
        """Load the model and suggest for one word, which also builds the spaCy pipeline and
        the model's lookup tables (so that forked workers start with them)."""
        self.load().suggest([Fragment("warm-up:0-2", "warm-up", 0, 2, "ja")])

    def suggest(self, fragments: Sequence[Fragment]) -> list[Suggestion]:
        if not fragments:
            return []
        return self.load().suggest(fragments)


def process_paths(
    paths: Iterable[Path],
    known: Known,
    unit: Unit,
    model: LazyModel | SuggestionModel | None,
    limits: Limits = DEFAULT_SETTINGS.limits,
) -> Iterator[Outcome]:
    """Read, segment and classify report files, streaming; ``known`` maps a source to the
    sha256 of its stored text and its metadata: unchanged files are skipped before segmenting."""
    side: list[Outcome] = []

    def fresh() -> Iterator[Report]:
        for path in paths:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                items = list(read_reports([path], limits))
            side.extend(str(w.message) for w in caught)
            for item in items:
                if isinstance(item, InputError):
                    side.append(Failed(item.source, item.reason, item.line))
                    continue
                source = str(path)  # one report per file and content (see source_report_id)
                report = replace(item, source=source, id=source_report_id(source, item.sha256))
                stored = known.get(report.source)
                if stored == (report.sha256, meta_key(report)):
                    side.append(Skipped(report.source))
                elif stored is not None and stored[0] == report.sha256:
                    side.append(Relabelled(report))  # no need to segment or classify again
                else:
                    yield report

    reports = fresh()
    first = next(reports, None)  # build the spaCy pipeline only when there is work
    if first is not None:
        pending: list[tuple[Report, list[Fragment]]] = []
        for pair in segment_reports(chain([first], reports), unit):
            pending.append(pair)
            if sum(len(fragments) for _, fragments in pending) >= CLASSIFY_BATCH:
                yield from _classified(pending, model)
            yield from _drain(side)
        yield from _classified(pending, model)
    yield from _drain(side)


def _classified(
    pending: list[tuple[Report, list[Fragment]]], model: LazyModel | SuggestionModel | None
) -> Iterator[Coded]:
    """Classify the fragments of several reports in one batch (faster), then one by one."""
    fragments = [fragment for _, report_fragments in pending for fragment in report_fragments]
    suggestions = model.suggest(fragments) if model is not None else []
    start = 0
    for report, report_fragments in pending:
        end = start + len(report_fragments)
        yield Coded(report, report_fragments, suggestions[start:end])
        start = end
    pending.clear()


def _drain(side: list[Outcome]) -> Iterator[Outcome]:
    items = side[:]
    side.clear()
    yield from items


# --- storing what the work gave --------------------------------------------------------------


@dataclass
class CodeSummary:
    reports: int = 0  # report files read (new, unchanged or new version)
    new: int = 0
    unchanged: int = 0
    new_versions: int = 0
    fragments: int = 0  # fragments stored by this run
    suggestions: Counter = field(default_factory=Counter)  # per factor ("(none)": no factor)
    low_confidence: int = 0  # suggestions below LOW_CONFIDENCE
    filled: int = 0  # fragments from earlier runs that got their first suggestion now
    codings: Carried = field(default_factory=Carried)  # of the new versions' previous ones
    failures: list[InputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: int = 0  # report files found
    files_done: int = 0
    model: str | None = None  # the model's id in the project
    note: str = ""
    interrupted: bool = False
    seconds: float = 0.0

    def count(self, suggestions: Iterable[Suggestion]) -> None:
        for suggestion in suggestions:
            self.suggestions[suggestion.factor or "(none)"] += 1
            self.low_confidence += suggestion.confidence < LOW_CONFIDENCE

    def add(self, part: CodeSummary) -> None:
        """Add the counts, failures and warnings of a part of the run (a worker's task)."""
        for name in ("reports", "new", "unchanged", "new_versions", "fragments", "files_done"):
            setattr(self, name, getattr(self, name) + getattr(part, name))
        self.low_confidence += part.low_confidence
        self.codings.add(part.codings)
        self.suggestions.update(part.suggestions)
        for warning in part.warnings:
            self.note_warning(warning)
        for failure in part.failures:
            self.note_failure(failure)

    def note_warning(self, warning: str) -> None:
        if warning not in self.warnings:
            self.warnings.append(warning)

    def note_failure(self, failure: InputError) -> None:
        if str(failure) not in map(str, self.failures):
            self.failures.append(failure)


def store_outcome(project: Project, outcome: Outcome, summary: CodeSummary, unit: str) -> None:
    """Store one outcome of ``process_paths`` (a report in its own transaction) and count it
    in ``summary`` (whose ``model`` is the id the suggestions are stored under)."""
    if isinstance(outcome, str):
        summary.note_warning(outcome)
    elif isinstance(outcome, Failed):
        summary.note_failure(InputError(outcome.source, outcome.reason, line=outcome.line))
        summary.files_done += Path(outcome.source).name.lower() != METADATA_FILE
    elif isinstance(outcome, Skipped):
        summary.reports += 1
        summary.unchanged += 1
        summary.files_done += 1
    elif isinstance(outcome, Relabelled):
        result = project.add_report(outcome.report, [], unit)
        summary.reports += 1
        summary.files_done += 1
        summary.new_versions += result == "new version"
        summary.unchanged += result == "unchanged"
    else:
        _store_coded(project, outcome, summary, unit)


def _store_coded(project: Project, coded: Coded, summary: CodeSummary, unit: str) -> None:
    result, carried = project.add_coded_report(
        coded.report, coded.fragments, unit, summary.model, coded.suggestions
    )
    summary.codings.add(carried)
    summary.reports += 1
    summary.files_done += 1
    if result == "unchanged":
        summary.unchanged += 1
        return
    summary.new += result == "new"
    summary.new_versions += result == "new version"
    summary.fragments += len(coded.fragments)
    summary.count(coded.suggestions)
