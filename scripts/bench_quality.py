"""Suggestion quality side by side on grouped cross-validation of the training corpus.

One run, the same ``GroupKFold`` splits by report for every method (no report in both train
and test):

- ``majority``: the most frequent factor and the most frequent presence of the training folds;
- ``dictionary``: codebook keyword auto-coding as QDA packages do it: a fragment gets the code
  whose ``indicators`` it matches most (lowercased text, an indicator matches where a word
  starts, so "afspraken" matches "afspraken" and "afsprakenlijst" but not "werkafspraken";
  no lemmatiser), ties go to the code that comes first in the codebook, no match is "no
  factor"; presence is "absent" when a negation word (geen, niet, nooit, ...) occurs, else
  "present";
- ``default model``: ``autocoder.train.train_model`` on each training fold as ``autocoder
  train`` runs it (``--inner-folds`` grouped CV inside the fold for the calibration);
- ``transformer``: with ``--base-model DIR`` and the ``transformer`` extra installed,
  ``train_transformer`` (``autocoder.transformer_dir``) on each training fold
  (``--max-steps`` caps the optimiser steps).

Figures are computed once over the pooled out-of-fold predictions, as ``autocoder evaluate
--cv`` does: factor macro-F1 and Cohen's kappa, presence accuracy (on fragments whose gold
code has a presence), training seconds (mean per fold) and classification speed (fragments
per second of ``SuggestionModel.suggest``, reasons included, on the test folds). Also prints
the macro-F1 gap between the default model and the dictionary (target >= 0.25).

Usage: python scripts/bench_quality.py [--folds 5] [--base-model DIR] [--max-steps N]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

from autocoder.classify.model import SuggestionModel
from autocoder.codebook import Codebook, load_codebook
from autocoder.evaluate import model_predictions
from autocoder.metrics import suggestion_metrics
from autocoder.records import NO_FACTOR_KEY, FragmentRecord
from autocoder.train import TrainingSet, load_training_records, train_model, training_set

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "training_data"
DEFAULT_META = ROOT / "models" / "default" / "meta.json"
SEED = 13
TARGET_GAP = 0.25
# The words a QDA user would put in a "negation" dictionary (whole words).
NEGATION_WORDS = (
    "geen",
    "niet",
    "nooit",
    "niets",
    "niks",
    "niemand",
    "nergens",
    "noch",
    "geenszins",
    "allerminst",
)

# One method: fit(train records, train set) -> classify(fragment records) -> (probs, present)
Classifier = Callable[[Sequence[FragmentRecord]], tuple[np.ndarray, np.ndarray | None]]
Fitter = Callable[[Sequence[FragmentRecord], TrainingSet], Classifier]


@dataclass
class Result:
    name: str
    probs: np.ndarray
    present: np.ndarray
    train_seconds: list[float] = field(default_factory=list)
    classify_seconds: float = 0.0
    classified: int = 0
    metrics: dict = field(default_factory=dict)
    note: str = ""


def one_hot(predicted: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    probs = np.zeros((len(predicted), len(labels)))
    probs[np.arange(len(predicted)), [labels.index(p) for p in predicted]] = 1.0
    return probs


# --- baselines ----------------------------------------------------------------------------------


def majority(labels: Sequence[str]) -> Fitter:
    def fit(records: Sequence[FragmentRecord], data: TrainingSet) -> Classifier:
        factor = Counter(data.factors).most_common(1)[0][0]
        known = Counter(p for p in data.presences if p is not None)
        present = 1.0 if known[1] > known[0] else 0.0

        def classify(batch: Sequence[FragmentRecord]) -> tuple[np.ndarray, np.ndarray]:
            return one_hot([factor] * len(batch), labels), np.full(len(batch), present)

        return classify

    return fit


def indicator_patterns(codebook: Codebook) -> list[tuple[str, list[re.Pattern[str]]]]:
    """Per code its indicators as patterns: the lowercased indicator where a word starts."""
    return [
        (code.id, [re.compile(r"(?<!\w)" + re.escape(ind.lower())) for ind in code.indicators])
        for code in codebook.codes
    ]


NEGATION = re.compile(r"(?<!\w)(?:" + "|".join(NEGATION_WORDS) + r")(?!\w)")


def dictionary_code(text: str, patterns: list[tuple[str, list[re.Pattern[str]]]]) -> str:
    lowered = text.lower()
    best, best_hits = NO_FACTOR_KEY, 0
    for code, found in patterns:  # codebook order: on a tie the first code wins
        hits = sum(1 for pattern in found if pattern.search(lowered))
        if hits > best_hits:
            best, best_hits = code, hits
    return best


def dictionary(codebook: Codebook, labels: Sequence[str]) -> Fitter:
    patterns = indicator_patterns(codebook)

    def fit(records: Sequence[FragmentRecord], data: TrainingSet) -> Classifier:
        def classify(batch: Sequence[FragmentRecord]) -> tuple[np.ndarray, np.ndarray]:
            texts = [r.fragment.text for r in batch]
            codes = [dictionary_code(text, patterns) for text in texts]
            present = [0.0 if NEGATION.search(text.lower()) else 1.0 for text in texts]
            return one_hot(codes, labels), np.array(present)

        return classify  # nothing to learn: the codebook is the dictionary

    return fit


# --- trained models ------------------------------------------------------------------------------


def suggestion_model(result: Result, model: SuggestionModel) -> Classifier:
    """Time ``suggest`` (what a user gets, reasons included); score with the raw probabilities."""

    def classify(batch: Sequence[FragmentRecord]) -> tuple[np.ndarray, np.ndarray | None]:
        fragments = [r.fragment for r in batch]
        started = time.perf_counter()
        model.suggest(fragments)
        result.classify_seconds += time.perf_counter() - started
        result.classified += len(fragments)
        return model_predictions(model, batch)

    return classify


def linear(codebook: Codebook, result: Result, inner_folds: int) -> Fitter:
    def fit(records: Sequence[FragmentRecord], data: TrainingSet) -> Classifier:
        model = train_model(data, codebook, folds=inner_folds, model_id="bench")
        return suggestion_model(result, model)

    return fit


def transformer(codebook: Codebook, result: Result, base: Path, args: argparse.Namespace) -> Fitter:
    try:
        from autocoder.transformer_dir import train_transformer
    except ImportError:  # before the backend's training moved out of classify/
        from autocoder.classify.transformer import train_transformer  # type: ignore[no-redef]

    def fit(records: Sequence[FragmentRecord], data: TrainingSet) -> Classifier:
        model = train_transformer(
            data,
            codebook,
            base,
            seed=SEED,
            max_steps=args.max_steps,
            batch_size=args.batch_size,
            max_length=args.max_length,
            model_id="bench-transformer",
        )
        return suggestion_model(result, model)

    return fit


def transformer_available() -> str | None:
    """None when the transformer backend can run here, else the reason it cannot."""
    from autocoder.classify.transformer import require_libraries
    from autocoder.errors import OptionalDependencyError

    try:
        require_libraries()
    except OptionalDependencyError as exc:
        return str(exc)
    return None


# --- the run -------------------------------------------------------------------------------------


def run(
    name: str,
    fitter_for: Callable[[Result], Fitter],
    records: Sequence[FragmentRecord],
    data: TrainingSet,
    splits: list[tuple[np.ndarray, np.ndarray]],
    labels: Sequence[str],
) -> Result:
    result = Result(name, np.zeros((len(data), len(labels))), np.full(len(data), 0.5))
    fit = fitter_for(result)
    timed_inside = False
    for number, (train, test) in enumerate(splits, start=1):
        started = time.perf_counter()
        classify = fit([records[i] for i in train], data.subset(train))
        result.train_seconds.append(time.perf_counter() - started)
        batch = [records[i] for i in test]
        before = result.classified
        started = time.perf_counter()
        probs, present = classify(batch)
        elapsed = time.perf_counter() - started
        if result.classified == before:  # the classifier did not time itself
            result.classify_seconds += elapsed
            result.classified += len(batch)
        else:
            timed_inside = True
        result.probs[test] = probs
        if present is not None:
            result.present[test] = present
        print(
            f"  {name}: fold {number}/{len(splits)} trained in {result.train_seconds[-1]:.2f} s",
            file=sys.stderr,
            flush=True,
        )
    if timed_inside:
        result.note = "speed of SuggestionModel.suggest (reasons included)"
    result.metrics = suggestion_metrics(
        data.factors, data.presences, result.probs, result.present, labels
    )
    return result


def table(results: Sequence[Result]) -> str:
    header = ("method", "macro-F1", "kappa", "presence acc", "train s/fold", "fragments/s")
    rows = [header]
    for r in results:
        speed = r.classified / r.classify_seconds if r.classify_seconds > 0 else float("inf")
        rows.append(
            (
                r.name,
                f"{r.metrics['factor']['macro_f1']:.3f}",
                f"{r.metrics['factor']['kappa']:.3f}",
                f"{r.metrics['presence']['accuracy']:.3f}",
                f"{np.mean(r.train_seconds):.2f}",
                f"{speed:,.0f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            rules = ["-" * (w + 2) if c == 0 else "-" * (w + 1) + ":" for c, w in enumerate(widths)]
            lines.append("|" + "|".join(rules) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="training_data folder or JSONL")
    parser.add_argument("--folds", type=int, default=5, help="grouped CV folds (by report)")
    parser.add_argument("--inner-folds", type=int, default=5, help="calibration CV in a fold")
    parser.add_argument("--base-model", type=Path, help="local HF model dir (transformer)")
    parser.add_argument("--max-steps", type=int, help="cap on transformer optimiser steps")
    parser.add_argument("--batch-size", type=int, default=16, help="transformer batch size")
    parser.add_argument("--max-length", type=int, default=128, help="transformer max tokens")
    args = parser.parse_args(argv)

    codebook = load_codebook(None)
    labels = (*codebook.ids, NO_FACTOR_KEY)
    records = load_training_records([args.data], codebook).records
    data = training_set(records)
    groups = np.asarray(data.groups)
    n_reports = len(set(data.groups))
    folds = min(args.folds, n_reports)
    splits = list(GroupKFold(n_splits=folds).split(np.zeros(len(data)), groups=groups))
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
    print(
        f"{len(data)} coded fragments from {n_reports} reports; {folds}-fold CV grouped by "
        f"report (the same splits for every method)",
        flush=True,
    )

    methods: list[tuple[str, Callable[[Result], Fitter]]] = [
        ("majority class", lambda result: majority(labels)),
        ("codebook dictionary", lambda result: dictionary(codebook, labels)),
        ("default model (linear)", lambda result: linear(codebook, result, args.inner_folds)),
    ]
    skipped = None
    if args.base_model is not None:
        skipped = transformer_available()
        if skipped is None:
            base = args.base_model
            steps = f", max {args.max_steps} steps" if args.max_steps else ""
            methods.append(
                (
                    f"transformer ({base.name}{steps})",
                    lambda result: transformer(codebook, result, base, args),
                )
            )
    results = [run(name, make, records, data, splits, labels) for name, make in methods]

    print()
    print(table(results))
    print()
    by_name = {r.name: r for r in results}
    default = by_name["default model (linear)"].metrics["factor"]["macro_f1"]
    keywords = by_name["codebook dictionary"].metrics["factor"]["macro_f1"]
    gap = default - keywords
    verdict = "pass" if gap >= TARGET_GAP else "FAIL"
    print(
        f"default model - dictionary, macro-F1: {gap:+.3f} (target >= {TARGET_GAP:.2f}): {verdict}"
    )
    if DEFAULT_META.is_file() and args.data == DATA and folds == 5:
        meta = json.loads(DEFAULT_META.read_text(encoding="utf-8"))
        stored = (meta.get("cv_metrics") or {}).get("factor", {}).get("macro_f1")
        if stored is not None:
            print(f"(models/default/meta.json records macro-F1 {stored:.3f} for this 5-fold CV)")
    for r in results:
        if r.note:
            print(f"{r.name}: fragments/s is the {r.note}")
    if args.base_model is not None and skipped is not None:
        print(f"transformer skipped: {skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
