"""How ``code --jobs N`` cuts the files into tasks, and what a worker sends back."""

from __future__ import annotations

import pickle
from collections import Counter
from itertools import pairwise
from pathlib import Path

from autocoder.errors import DecodeError, InputError
from autocoder.project_pool import SMALLEST_TASK_BYTES, TASK_BYTES, tasks_by_size
from autocoder.project_work import CodeSummary


def files_of(folder: Path, sizes: list[int]) -> list[Path]:
    paths = []
    for number, size in enumerate(sizes):
        path = folder / f"verslag-{number:03d}.txt"
        path.write_bytes(b"x" * size)
        paths.append(path)
    return paths


def test_tasks_keep_every_file_in_order_and_shrink_towards_the_end(tmp_path: Path) -> None:
    files = files_of(tmp_path, [12_000] * 300)
    tasks = tasks_by_size(files, jobs=2)
    assert [path for task in tasks for path in task] == files
    sizes = [len(task) * 12_000 for task in tasks]
    assert max(sizes) <= TASK_BYTES + 12_000  # a task stops at the first file over the size
    assert sizes[0] > 4 * sizes[-1]  # the last tasks are small: no worker waits on a big one
    assert all(later <= earlier for earlier, later in pairwise(sizes))


def test_a_small_run_still_gives_every_worker_several_tasks(tmp_path: Path) -> None:
    files = files_of(tmp_path, [12_000] * 30)
    tasks = tasks_by_size(files, jobs=2)
    assert len(tasks) >= 2 * 2
    assert all(task for task in tasks)


def test_a_big_file_ends_its_task_and_a_missing_file_counts_as_empty(tmp_path: Path) -> None:
    files = files_of(tmp_path, [2_000, 3 * TASK_BYTES, 2_000, 2_000])
    missing = tmp_path / "weg.txt"
    tasks = tasks_by_size([*files, missing], jobs=4)
    assert tasks == [files[:2], [*files[2:], missing]]  # the rest is under the smallest task
    assert SMALLEST_TASK_BYTES > 3 * 2_000


def test_worker_summaries_add_up_and_travel_between_processes() -> None:
    failure = DecodeError("a.txt", "no encoding fits", line=3)
    part = CodeSummary(reports=2, new=1, unchanged=1, fragments=5, files_done=2)
    part.suggestions.update({"stabiliteit": 3, "(none)": 2})
    part.low_confidence = 1
    part.failures.append(failure)
    part.warnings.append("b.txt: no metadata")
    sent = pickle.loads(pickle.dumps(part))
    assert isinstance(sent.failures[0], DecodeError) and sent.failures[0].line == 3
    total = CodeSummary(files=4)
    total.add(sent)
    total.add(sent)  # the same failure and warning twice are listed once
    assert (total.reports, total.new, total.unchanged, total.fragments) == (4, 2, 2, 10)
    assert total.suggestions == Counter({"stabiliteit": 6, "(none)": 4})
    assert (total.low_confidence, total.files_done, total.files) == (2, 4, 4)
    assert [str(f) for f in total.failures] == ["a.txt:3: no encoding fits"]
    assert total.warnings == ["b.txt: no metadata"]
    assert isinstance(total.failures[0], InputError)
