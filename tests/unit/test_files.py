"""Atomic writes leave no temporary file behind: not on an error in the data, not on
KeyboardInterrupt, and one left by a killed process goes with the next write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from autocoder.codebook import load_codebook
from autocoder.files import atomic_write_chunks, atomic_write_text
from autocoder.jsonl import read_records, write_records

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Respondent zegt dat de wethouder niet te vertrouwen is."


def _failing(error: BaseException) -> Iterator[bytes]:
    yield SECRET.encode("utf-8")
    raise error


@pytest.mark.parametrize("error", [ValueError("bad row"), KeyboardInterrupt(), OSError(28, "full")])
def test_a_failure_mid_write_leaves_the_old_file_and_no_temporary_file(tmp_path, error):
    target = tmp_path / "report.csv"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(type(error)):
        atomic_write_chunks(target, _failing(error))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv"]
    assert target.read_text(encoding="utf-8") == "old\n"


def test_an_export_whose_records_fail_midway_leaves_nothing(tmp_path):
    records = read_records(ROOT / "training_data" / "fragments.jsonl", load_codebook()).records

    def some_then_interrupted() -> Iterator:
        yield from records[:50]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_records(tmp_path / "export.jsonl", some_then_interrupted())
    assert list(tmp_path.iterdir()) == []


def test_a_temporary_file_of_a_killed_writer_goes_with_the_next_write(tmp_path):
    target = tmp_path / "export.csv"
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from autocoder.files import atomic_write_chunks\n"
        "def chunks():\n"
        f"    yield {SECRET!r}.encode()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        f"atomic_write_chunks(Path({str(target)!r}), chunks())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], env=env, check=False)
    assert done.returncode == -signal.SIGKILL
    (orphan,) = tmp_path.iterdir()  # SIGKILL cannot be caught: its temporary file stays ...
    assert orphan.name.startswith(".export.csv.") and orphan.suffix == ".tmp"
    live = tmp_path / f".export.csv.{os.getppid()}-abcd.tmp"  # ... as does a live writer's
    live.write_text("being written", encoding="utf-8")
    atomic_write_text(target, "new\n")  # ... until the next write of the same file
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["export.csv", live.name])
