"""Benchmark `autocoder code` end to end against bare spaCy tokenisation (not a timed test).

Builds a corpus of about ``--words`` words from the training reports (each copy gets a
numbered header line, so every copy is a new report), then in the same run measures:

- bare ``spacy.blank("nl")`` tokenisation of the same texts (words/s),
- ``code`` into a fresh project with ``--jobs 1`` and ``--jobs 2`` (words/s, wall time,
  peak RSS of the process tree), each in its own process,

and prints the ratio code/tokenisation (target >= 0.40) and peak memory (target < 1.5 GB).

    .venv/bin/python scripts/bench_code.py --words 200000 [--model DIR] [--jobs 1,2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FRONT_MATTER_END = "\n---\n"


def sources() -> list[Path]:
    found = sorted((REPO / "training_data" / "reports").glob("*.md"))
    if not found:
        found = sorted(p for p in (REPO / "examples").iterdir() if p.suffix in (".md", ".txt"))
    if not found:
        sys.exit("no reports in training_data/reports or examples")
    return found


def build_corpus(folder: Path, words: int) -> tuple[int, int]:
    """Copies of the source reports with a fresh numbered header; returns (files, words)."""
    texts = [path.read_text(encoding="utf-8") for path in sources()]
    total = files = 0
    while total < words:
        text = texts[files % len(texts)]
        header = f"Verslag kopie {files:06d}\n\n"
        if text.startswith("---\n") and FRONT_MATTER_END in text[4:]:
            cut = text.index(FRONT_MATTER_END, 4) + len(FRONT_MATTER_END)
            copy = text[:cut] + header + text[cut:]
        else:
            copy = header + text
        (folder / f"report-{files:06d}.md").write_text(copy, encoding="utf-8")
        total += len(copy.split())
        files += 1
    return files, total


def tokenise(folder: Path) -> dict[str, float]:
    import spacy

    from autocoder.ingest import read_reports

    texts = [r.text for r in read_reports(sorted(folder.iterdir())) if hasattr(r, "text")]
    words = sum(len(text.split()) for text in texts)
    nlp = spacy.blank("nl")
    started, cpu = time.perf_counter(), time.process_time()
    tokens = sum(len(doc) for doc in nlp.pipe(texts, batch_size=64))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "words": words,
        "tokens": tokens,
        "words_per_s": words / seconds,
        "words_per_cpu_s": words / cpu,
    }


def tree_rss(pid: int) -> int:
    """Resident memory (bytes) of a process and all its descendants."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += (
                next(
                    int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")
                )
                * 1024
            )
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, StopIteration, ValueError):
            continue
    return total


def run_code(folder: Path, model: Path, jobs: int, workdir: Path) -> dict[str, float]:
    project = workdir / f"bench-jobs{jobs}-{time.monotonic_ns()}.db"
    command = [
        sys.executable,
        __file__,
        "--child",
        str(folder),
        str(project),
        str(model),
        str(jobs),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(process.pid))
        time.sleep(0.1)
    wall = time.perf_counter() - started
    output = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        sys.exit(f"code --jobs {jobs} failed (exit {process.returncode})")
    result = json.loads(output.strip().splitlines()[-1])
    result.update(wall=wall, peak_rss=peak)
    return result


def cpu_seconds() -> float:
    """CPU time of this process and its reaped children (the pool's workers)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def child(folder: str, project: str, model: str, jobs: str) -> None:
    started = time.perf_counter()
    from autocoder.project import code_reports

    imported = time.perf_counter() - started
    cpu = cpu_seconds()
    summary = code_reports([Path(folder)], Path(project), Path(model), jobs=int(jobs))
    cpu = cpu_seconds() - cpu
    if summary.failures or summary.interrupted:
        sys.exit(f"{len(summary.failures)} failures")
    print(
        json.dumps(
            {
                "seconds": summary.seconds,
                "cpu": cpu,
                "import_seconds": imported,
                "reports": summary.reports,
                "fragments": summary.fragments,
            }
        )
    )


def default_model(workdir: Path) -> Path:
    shipped = REPO / "models" / "default"
    if (shipped / "meta.json").is_file():
        return shipped
    from autocoder.pipeline import train_to_dir

    print("models/default not found: training a model on training_data (folds=0) ...")
    target = workdir / "model"
    train_to_dir([REPO / "training_data"], target, folds=0)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--jobs", default="1,2", help="comma-separated --jobs values")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per setting; the fastest counts"
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="bench-code-") as tmp:
        workdir = Path(tmp)
        corpus = workdir / "corpus"
        corpus.mkdir()
        files, words = build_corpus(corpus, args.words)
        print(f"corpus: {files} reports, {words} words; {os.cpu_count()} CPUs")
        model = args.model or default_model(workdir)
        base = max((tokenise(corpus) for _ in range(args.repeat)), key=lambda r: r["words_per_s"])
        print(
            f"spacy.blank('nl') tokenisation: {base['words_per_s']:,.0f} words/s "
            f"({base['seconds']:.1f} s)"
        )
        for jobs in (int(j) for j in args.jobs.split(",")):
            runs = [run_code(corpus, model, jobs, workdir) for _ in range(args.repeat)]
            result = min(runs, key=lambda r: r["seconds"])
            rate = words / result["seconds"]
            every = ", ".join(f"{words / r['seconds'] / base['words_per_s']:.2f}" for r in runs)
            per_cpu = words / result["cpu"]
            print(
                f"code --jobs {jobs}: {rate:,.0f} words/s in the job ({result['seconds']:.1f} s; "
                f"{result['wall']:.1f} s wall with start-up), {result['fragments']} fragments, "
                f"ratio {rate / base['words_per_s']:.2f} (target >= 0.40; with start-up "
                f"{words / result['wall'] / base['words_per_s']:.2f}); "
                f"{per_cpu:,.0f} words per CPU-second, CPU ratio "
                f"{per_cpu / base['words_per_cpu_s']:.2f}; "
                f"peak RSS {result['peak_rss'] / 2**30:.2f} GB (target < 1.5); "
                f"ratio of each run: {every}"
            )
        print(f"load average at the end: {os.getloadavg()[0]:.1f} (other work skews wall times)")


if __name__ == "__main__":
    main()
