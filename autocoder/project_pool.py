"""Worker processes for ``code_reports --jobs N``: each reads, segments, classifies and stores
a share of the report files, so that no records travel between processes.

The workers are forked once the model and the spaCy pipeline are ready (Linux), so they
start with them; elsewhere they are spawned and load them. This process holds no database
connection while it forks them: every worker opens its own, and SQLite (WAL) lets them take
turns at writing, one report per transaction. A worker sends back only a ``CodeSummary`` of
its task. Tasks shrink towards the end of the run, so that no worker is left with a big one
while the others have nothing to do. Should this process be killed, a worker ends once it
has stored its current task (nobody is left to take that task's summary).
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

from autocoder.project_work import CodeSummary, Known, LazyModel, process_paths, store_outcome
from autocoder.segment import Unit
from autocoder.store import Project

# A task is at least one file and at most TASK_BYTES of them (bigger batches classify faster
# per fragment), and at most a 1/(2 * jobs) share of what is left (tasks shrink at the end).
TASK_BYTES = 256 * 1024
SMALLEST_TASK_BYTES = 16 * 1024

__all__ = ["code_parallel", "tasks_by_size"]


def tasks_by_size(files: Sequence[Path], jobs: int) -> list[list[Path]]:
    """Consecutive groups of ``files`` (none empty, order kept) sized as described above."""
    sizes = [_size(path) for path in files]
    left = sum(sizes)
    tasks: list[list[Path]] = []
    current: list[Path] = []
    filled = 0
    for path, size in zip(files, sizes, strict=True):
        current.append(path)
        filled += size
        target = max(SMALLEST_TASK_BYTES, min(TASK_BYTES, left // (2 * jobs)))
        if filled >= target:
            tasks.append(current)
            left -= filled
            current, filled = [], 0
    if current:
        tasks.append(current)
    return tasks


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # reading it will report what is wrong


@dataclass(frozen=True)
class _Job:
    project: Path
    known: Known
    unit: Unit
    model_id: str | None


_state: list[tuple[_Job, LazyModel | None]] = []  # this worker's job, set by _start_worker


def _start_worker(job: _Job, model: LazyModel | Path | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C
    if isinstance(model, Path):
        model = LazyModel(model)
    _state.append((job, model))


def _work(paths: list[Path]) -> CodeSummary:
    job, model = _state[-1]
    part = CodeSummary(model=job.model_id)
    with Project.open(job.project, create=False) as project:
        for outcome in process_paths(paths, job.known, job.unit, model):
            store_outcome(project, outcome, part, job.unit)
    return part


def code_parallel(
    files: Sequence[Path],
    project_path: Path,
    known: Known,
    unit: Unit,
    model: LazyModel | None,
    model_id: str | None,
    jobs: int,
    pool_context: str,
) -> Generator[CodeSummary, None, None]:
    """Code ``files`` into the project with ``jobs`` worker processes; yields each task's
    summary as it finishes. The caller must not hold a connection to the project while
    this starts the workers. ``pool_context`` is the multiprocessing start method: with
    "fork" the model and pipeline are made ready here first."""
    job = _Job(Path(project_path), known, unit, model_id)
    source: LazyModel | Path | None = model.directory if model is not None else None
    if pool_context == "fork" and model is not None:
        model.warm()
        source = model
    context = multiprocessing.get_context(pool_context)
    with context.Pool(jobs, _start_worker, (job, source)) as pool:
        yield from pool.imap_unordered(_work, tasks_by_size(files, jobs))
