"""Profile classification speed of a linear model on one core (not a timed test).

Loads ``models/default`` (or ``--model DIR``), repeats the corpus fragments of
``training_data/fragments.jsonl`` to about ``--n`` fragments (each copy is its own report, so
neighbours stay within a copy) and prints the rate of each stage and of
``SuggestionModel.suggest`` end to end (reasons included), in fragments per second, with the
fragments passed in batches of ``--batch`` (default: the batch size of ``autocoder classify``).

Stages: spaCy analysis (``segment.analyse_arrays``, the batch's token arrays); the rest of
the batch input (``model.batch_input``: question tokens, neighbours); vectorising
(``transform_batch``); the two heads (``predict_proba``, which also builds the presence head's
features); reasons and records (the rest of ``suggest``).
The first line is one pass over the corpus straight after loading (nothing cached yet).

    .venv/bin/python scripts/profile_classify.py [--n 20000] [--batch 2048] [--model DIR]

Threads are limited to one before numpy is imported, and times are the process's CPU time
(steady on a shared machine; on an idle machine it is the wall time).
"""

from __future__ import annotations

import os

for _name in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import gc  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def corpus() -> list[Any]:
    from autocoder.codebook import load_codebook
    from autocoder.jsonl import read_records

    path = ROOT / "training_data" / "fragments.jsonl"
    return [record.fragment for record in read_records(path, load_codebook()).records]


def repeated(base: Sequence[Any], n: int) -> list[Any]:
    """``base`` repeated to ``n`` fragments; every copy gets its own report and fragment ids."""
    out: list[Any] = []
    copy = 0
    while len(out) < n:
        out.extend(
            dataclasses.replace(f, report=f"{f.report}-{copy}", id=f"{f.id}-{copy}") for f in base
        )
        copy += 1
    return out[:n]


def timed(run: Callable[[], object]) -> float:
    started = time.process_time()
    run()
    return time.process_time() - started


def best_of(repeat: int, batches: Sequence[Any], run: Callable[[Any], object]) -> float:
    return min(sum(timed(lambda b=batch: run(b)) for batch in batches) for _ in range(repeat))


def main(argv: list[str] | None = None) -> int:
    from autocoder.pipeline import CLASSIFY_BATCH

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=CLASSIFY_BATCH)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args(argv)

    from autocoder.modeldir import load_model
    from autocoder.segment import analyse_arrays

    started = time.perf_counter()
    model = load_model(args.model)
    loaded = time.perf_counter() - started
    base = corpus()
    fragments = repeated(base, args.n)
    n = len(fragments)
    size = max(1, args.batch)
    batches = [fragments[i : i + size] for i in range(0, n, size)]
    model.suggest(base[:1])  # builds the spaCy pipeline (once per process)
    gc.freeze()  # as autocoder classify and code do once the model is loaded
    cold = sum(
        timed(lambda b=base[i : i + size]: model.suggest(b)) for i in range(0, len(base), size)
    )
    print(f"model {args.model.name}: loaded in {loaded:.2f} s; {n} fragments in batches of {size}")
    print(
        f"first pass over the {len(base)} corpus fragments (nothing cached yet): "
        f"{len(base) / cold:,.0f} fragments/s"
    )

    suggester = model.suggester
    texts = [[f.text for f in batch] for batch in batches]
    analysis = best_of(args.repeat, texts, analyse_arrays)
    docs = best_of(args.repeat, batches, model.batch_input)
    inputs = [model.batch_input(batch) for batch in batches]
    vectorise = best_of(args.repeat, inputs, suggester.transform_batch)
    matrices = [suggester.transform_batch(batch) for batch in inputs]
    heads = best_of(args.repeat, matrices, suggester.predict_proba)
    total = best_of(args.repeat, batches, model.suggest)
    stages = [
        ("analysis (segment.analyse_arrays)", analysis),
        ("batch input (after the analysis)", docs - analysis),
        ("vectorise (transform_batch)", vectorise),
        ("heads (predict_proba)", heads),
        ("reasons and records (the rest)", total - docs - vectorise - heads),
        ("end to end (suggest, with reasons)", total),
    ]
    width = max(len(name) for name, _ in stages)
    for name, seconds in stages:
        print(
            f"{name:<{width}}  {seconds * 1e6 / n:7.1f} us/fragment  "
            f"{n / seconds:10,.0f} fragments/s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
