"""The work behind ``code_reports``: read, segment and classify report files, in this process
and in worker processes.

``process_paths`` streams outcomes (plain, picklable records) for report files; files already
stored unchanged (same source, same normalised text) are skipped before segmentation.
``process_parallel`` runs ``jobs - 1`` worker processes alongside this process: forked
once the model is loaded (Linux; they never touch the database handle they inherit) or
spawned. Nothing here writes to the database: the caller
stores the outcomes.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
import warnings
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import chain
from multiprocessing.pool import AsyncResult
from pathlib import Path

from autocoder.classify.model import SuggestionModel
from autocoder.codebook import Codebook
from autocoder.config import DEFAULT_SETTINGS, Limits
from autocoder.errors import InputError
from autocoder.ingest import read_reports
from autocoder.pipeline import CLASSIFY_BATCH
from autocoder.records import Fragment, Report, Suggestion
from autocoder.segment import Unit, segment_reports
from autocoder.store import meta_key
from autocoder.transformer_dir import load_any_model

FILES_PER_TASK = 4  # report files a worker takes at a time

__all__ = ["FILES_PER_TASK", "Coded", "Failed", "Known", "LazyModel", "Outcome"]
__all__ += ["Relabelled", "Skipped", "process_parallel", "process_paths"]


# --- what a worker sends back (plain, picklable records) -------------------------------------


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
                report = replace(item, source=str(path))
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


# --- worker processes --------------------------------------------------------------------------


@dataclass
class _WorkerState:
    known: Known
    unit: Unit
    model: LazyModel | None


_worker: list[_WorkerState] = []  # this worker process's state, set once by _init_worker


def _init_worker(model: LazyModel | Path | None, known: Known, unit: Unit) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C
    if isinstance(model, Path):
        model = LazyModel(model)
    _worker.append(_WorkerState(known, unit, model))


def _work(paths: list[Path]) -> list[Outcome]:
    state = _worker[-1]
    return list(process_paths(paths, state.known, state.unit, state.model))


def process_parallel(
    files: Sequence[Path],
    known: Known,
    unit: Unit,
    model_dir: Path | None,
    model: LazyModel | None,
    jobs: int,
    pool_context: str,
) -> Iterator[Outcome]:
    """``jobs - 1`` worker processes plus this one: workers take tasks from the front, this
    process (which also writes the database) takes one from the back whenever no worker
    result is waiting, so no core idles while the workers start up. ``pool_context`` is the
    multiprocessing start method: with "fork" the model and the spaCy pipeline are made
    ready here first and the workers start with them; with "spawn" each worker loads them."""
    size = max(1, min(FILES_PER_TASK, len(files) // (4 * jobs)))
    tasks = deque(list(files[i : i + size]) for i in range(0, len(files), size))
    context = multiprocessing.get_context(pool_context)
    source: LazyModel | Path | None = model_dir
    if pool_context == "fork" and model is not None:
        model.warm()
        source = model
    with context.Pool(jobs - 1, _init_worker, (source, known, unit)) as pool:
        running: deque[AsyncResult] = deque()
        while tasks or running:
            while tasks and len(running) < 2 * (jobs - 1):
                running.append(pool.apply_async(_work, (tasks.popleft(),)))
            done = next((result for result in running if result.ready()), None)
            if done is None and tasks:
                yield from process_paths(tasks.pop(), known, unit, model)
                continue
            done = done or running[0]
            running.remove(done)
            yield from done.get()
