"""Speed and memory of the default model, printed beside the issue's targets (not a timed test).

Each measurement runs in a fresh subprocess limited to one core (OMP/OPENBLAS/MKL thread
variables set to 1 and the process pinned to one CPU), which reports its peak RSS
(``resource.getrusage``):

- ``load``: library import time (autocoder's model modules, scikit-learn, spaCy) and
  model load time of ``models/default`` (``load_model``), then the first suggestion (builds
  the spaCy pipeline; shown for information);
- ``classify``: ``SuggestionModel.suggest`` on the corpus fragments repeated to about
  ``--classify`` fragments (every copy its own report, so neighbours stay within a copy), in
  batches of the pipeline's size, after a one-sentence warm-up that builds the spaCy
  pipeline; the share of time per stage (the batch's token arrays from the spaCy analysis,
  the rest of the batch input, vectorising, heads, reasons) is measured in the same run.
  Repeated text finds the analysis's word cache warm, so the rate of the first copy (distinct
  texts) is printed beside the overall rate;
- ``train``: ``train_model`` on ``--train`` fragments (the corpus repeated with fresh report
  ids), once with ``folds=0`` (one fit, no calibration) and once with ``folds=5`` (as
  ``autocoder train`` runs it: the fit plus five grouped fits for calibration and metrics).

Rates and durations use the process's CPU time (steady on a shared machine; on one core it is
the wall time of an idle machine); wall times are printed beside them. Targets (issue 4):
classify >= 20,000 fragments/s on one core, train 10,000 fragments < 30 s, peak memory < 1 GB,
model load < 1 s.

Usage: python scripts/bench_model.py [--model models/default] [--classify 20000] [--train 10000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "training_data" / "fragments.jsonl"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TARGET_RATE = 20_000
TARGET_TRAIN_S = 30.0
TARGET_RSS_BYTES = 1024**3
TARGET_LOAD_S = 1.0
STAGES = ("spaCy analysis", "batch input", "vectorising", "heads", "reasons")


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> dict[str, float]:
    wall, cpu = clocks()
    return {"wall": wall - start[0], "cpu": cpu - start[1]}


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KB on Linux


# --- measurements (each in its own subprocess) -----------------------------------------------


def corpus_copies(n: int) -> list[list[Any]]:
    """Coded corpus records repeated to ``n`` in all, copy by copy; each copy's reports get
    fresh ids."""
    from autocoder.codebook import load_codebook
    from autocoder.train import load_training_records

    records = load_training_records([CORPUS], load_codebook()).records
    copies: list[list[Any]] = []
    left = n
    while left > 0:
        copy = []
        for record in records[:left]:
            fragment = record.fragment
            report = f"{fragment.report}c{len(copies)}"
            fresh = replace(fragment, report=report, id=f"{report}:{fragment.start}-{fragment.end}")
            copy.append(replace(record, fragment=fresh))
        copies.append(copy)
        left -= len(copy)
    return copies


def measure_load(model_dir: Path) -> dict[str, Any]:
    start = clocks()
    from autocoder.modeldir import load_model

    imported = since(start)
    start = clocks()
    model = load_model(model_dir)
    loaded = since(start)
    from autocoder.records import Fragment

    text = "We hebben elkaar echt nodig in deze zaken."
    start = clocks()
    model.suggest([Fragment("x:0-42", "x", 0, len(text), text)])
    first = since(start)
    return {"import": imported, "load": loaded, "first_suggest": first, "rss": peak_rss_bytes()}


@contextmanager
def stage_timers(model: Any, spent: dict[str, float]) -> Iterator[None]:
    """Wrap the model's stage functions to add their CPU time to ``spent``."""
    import autocoder.classify.model as model_module

    suggester = model.suggester
    fast = suggester._fast()
    originals: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, key: str, materialise: bool = False) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            result = original(*args, **kwargs)
            if materialise:
                result = list(result)
            spent[key] += time.process_time() - started
            return result

        originals.append((owner, name, original))
        setattr(owner, name, timed)

    wrap(model_module, "analyse_arrays", "analysis")
    wrap(model, "batch_input", "batch_input")
    wrap(suggester, "transform_batch", "transform")
    wrap(fast, "presence", "presence_transform")
    wrap(suggester, "predict_proba", "predict_proba")
    try:
        yield
    finally:
        for owner, name, original in reversed(originals):
            if owner is model or owner is suggester or owner is fast:
                delattr(owner, name)  # drop the instance attribute: the method shows again
            else:
                setattr(owner, name, original)


def measure_classify(model_dir: Path, n: int) -> dict[str, Any]:
    from collections import defaultdict

    from autocoder.modeldir import load_model
    from autocoder.pipeline import CLASSIFY_BATCH
    from autocoder.records import Fragment

    model = load_model(model_dir)
    copies = [[record.fragment for record in copy] for copy in corpus_copies(n)]
    text = "Dit is een zin om de pijplijn op te warmen."
    model.suggest([Fragment("w:0-44", "w", 0, len(text), text)])  # builds the spaCy pipeline
    gc.freeze()  # as autocoder classify and code do once the model is loaded
    spent: dict[str, float] = defaultdict(float)
    per_copy = []
    with stage_timers(model, spent):
        start = clocks()
        made = 0
        for fragments in copies:
            started = time.process_time()
            for first in range(0, len(fragments), CLASSIFY_BATCH):
                made += len(model.suggest(fragments[first : first + CLASSIFY_BATCH]))
            per_copy.append(time.process_time() - started)
        total = since(start)
    stages = {
        "spaCy analysis": spent["analysis"],
        "batch input": spent["batch_input"] - spent["analysis"],
        "vectorising": spent["transform"] + spent["presence_transform"],
        "heads": spent["predict_proba"] - spent["presence_transform"],
        "reasons": total["cpu"]
        - spent["batch_input"]
        - spent["transform"]
        - spent["predict_proba"],
    }
    return {
        "fragments": made,
        "distinct": len(copies[0]),
        "first_copy_cpu": per_copy[0],
        "batch": CLASSIFY_BATCH,
        "time": total,
        "stages": stages,
        "rss": peak_rss_bytes(),
    }


def measure_train(n: int, folds: int) -> dict[str, Any]:
    from autocoder.codebook import load_codebook
    from autocoder.train import train_model, training_set

    codebook = load_codebook()
    data = training_set([record for copy in corpus_copies(n) for record in copy])
    start = clocks()
    model = train_model(data, codebook, folds=folds, model_id="bench")
    spent = since(start)
    return {
        "fragments": len(data),
        "reports": len(set(data.groups)),
        "folds": folds,
        "time": spent,
        "cv_macro_f1": (model.meta["cv_metrics"] or {}).get("factor", {}).get("macro_f1"),
        "rss": peak_rss_bytes(),
    }


def child(args: argparse.Namespace) -> int:
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[0]})
    if args.child == "load":
        result = measure_load(args.model)
    elif args.child == "classify":
        result = measure_classify(args.model, args.classify)
    else:
        result = measure_train(args.train, args.folds)
    print(json.dumps(result))
    return 0


# --- the parent: run the subprocesses and print ------------------------------------------------


def run_child(stage: str, args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    env = {**os.environ, **dict.fromkeys(THREAD_VARS, "1")}
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        stage,
        "--model",
        str(args.model),
        "--classify",
        str(args.classify),
        "--train",
        str(args.train),
        *extra,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=3600
    )
    if done.returncode != 0:
        sys.exit(f"{stage} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def mb(n: int) -> str:
    return f"{n / 1024**2:,.0f} MB"


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    header = ("measure", "figure", "target", "result")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for index, row in enumerate([header, *rows]):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def seconds(spent: dict[str, float]) -> str:
    return f"{spent['cpu']:.2f} s (wall {spent['wall']:.2f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--classify", type=int, default=20_000, help="fragments to classify")
    parser.add_argument("--train", type=int, default=10_000, help="fragments to train on")
    parser.add_argument("--folds", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=("load", "classify", "train"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    say: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    say("load ...")
    load = run_child("load", args)
    say("classify ...")
    classify = run_child("classify", args)
    say("train, folds=0 ...")
    train0 = run_child("train", args, "--folds", "0")
    say("train, folds=5 ...")
    train5 = run_child("train", args, "--folds", "5")

    size = sum(p.stat().st_size for p in args.model.iterdir() if p.is_file())
    rate = classify["fragments"] / classify["time"]["cpu"]
    wall_rate = classify["fragments"] / classify["time"]["wall"]
    rest_cpu = classify["time"]["cpu"] - classify["first_copy_cpu"]
    later = (classify["fragments"] - classify["distinct"]) / rest_cpu if rest_cpu > 0 else 0.0
    print(f"model {args.model} ({mb(size)} on disk); one core, {', '.join(THREAD_VARS)}=1")
    print()
    rows = [
        ("library import", seconds(load["import"]), "", ""),
        (
            "model load",
            seconds(load["load"]),
            f"< {TARGET_LOAD_S:.0f} s",
            verdict(load["load"]["cpu"] < TARGET_LOAD_S),
        ),
        ("first suggestion (spaCy pipeline)", seconds(load["first_suggest"]), "", ""),
        ("peak RSS after load", mb(load["rss"]), "< 1 GB", verdict(load["rss"] < TARGET_RSS_BYTES)),
        (
            f"classify {classify['fragments']:,} fragments (all)",
            f"{rate:,.0f} fragments/s (wall {wall_rate:,.0f})",
            f">= {TARGET_RATE:,}/s",
            verdict(rate >= TARGET_RATE),
        ),
        (
            f"  of which the first {classify['distinct']:,} (distinct texts)",
            f"{classify['distinct'] / classify['first_copy_cpu']:,.0f} fragments/s",
            "",
            "",
        ),
        (
            "  and the rest (words seen before)",
            f"{later:,.0f} fragments/s",
            "",
            "",
        ),
        (
            "peak RSS classify",
            mb(classify["rss"]),
            "< 1 GB",
            verdict(classify["rss"] < TARGET_RSS_BYTES),
        ),
    ]
    for train in (train0, train5):
        label = f"train {train['fragments']:,} fragments, folds={train['folds']}"
        rows.append(
            (
                label,
                seconds(train["time"]),
                f"< {TARGET_TRAIN_S:.0f} s",
                verdict(train["time"]["cpu"] < TARGET_TRAIN_S),
            )
        )
        rows.append(
            (
                f"peak RSS train folds={train['folds']}",
                mb(train["rss"]),
                "< 1 GB",
                verdict(train["rss"] < TARGET_RSS_BYTES),
            )
        )
    print_table(rows)
    print()
    total = sum(classify["stages"].values())
    print(f"classification time per stage ({classify['fragments']:,} fragments, CPU time):")
    for name in STAGES:
        spent = classify["stages"][name]
        per_second = classify["fragments"] / spent if spent > 0 else float("inf")
        print(
            f"  {name:<15} {spent:7.2f} s  {spent / total:6.1%}  "
            f"(alone: {per_second:,.0f} fragments/s)"
        )
    print(
        f"training data: the corpus repeated with fresh report ids "
        f"({train0['reports']} reports); folds=5 grouped CV macro-F1 "
        f"{train5['cv_macro_f1']:.3f} (repeated text: not a quality figure)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
