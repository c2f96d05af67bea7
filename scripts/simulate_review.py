"""Simulate a reviewer who corrects suggestions batch by batch, to show what corrections gain.

Usage: python scripts/simulate_review.py GOLD.jsonl [--model DIR] [--batch 25] [--rounds N]
       [--strategy least_confidence|random|both] [--seed S] [--png FILE] [--test-share 0.3]

GOLD's reports are split (grouped by report) into a pool the reviewer works through and a fixed
test set. The starting model is --model DIR, or one trained on a seed set: the first batch of
the pool, in report order. Each round the reviewer takes the next batch of open suggestions
(least confident first, or in random order), "corrects" them with the gold labels, the model is
retrained (folds=0) on the seed plus everything reviewed (corrections weigh more) and the rest
is re-scored. Only figures are printed, never report text.
"""

from __future__ import annotations

import argparse
import random
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from autocoder.classify.blocks import ModelSettings
from autocoder.codebook import Codebook, load_codebook
from autocoder.evaluate import agg_pyplot, save_png
from autocoder.metrics import suggestion_metrics
from autocoder.records import NO_FACTOR_KEY, Fragment, FragmentRecord, Suggestion
from autocoder.train import TrainingSet, load_training_records, train_model, training_set

STRATEGIES = ("least_confidence", "random")
CORRECTION_WEIGHT = 2.0
FIGURES = ("kappa", "macro_f1", "presence_accuracy")


class Scorer(Protocol):
    def suggest(self, fragments: Sequence[Fragment]) -> list[Suggestion]: ...


Trainer = Callable[[Sequence[FragmentRecord], Sequence[float]], Scorer]


@dataclass
class Round:
    strategy: str
    number: int
    reviewed: int  # gold labels the model has seen (seed included)
    corrections: int  # of this round's batch, how many suggestions needed a correction
    batch: int
    pool: dict[str, Any]  # figures on the pool fragments not reviewed yet
    test: dict[str, Any]  # figures on the fixed test set
    picked: list[str] = field(default_factory=list)  # fragment ids reviewed in this round


@dataclass
class Start:
    """What both strategies share: the data, the starting model and its suggestions."""

    pool: list[FragmentRecord]
    test: list[FragmentRecord]
    seed_ids: list[str]
    labels: tuple[str, ...]
    pool_suggestions: dict[str, Suggestion] = field(default_factory=dict)
    test_suggestions: list[Suggestion] = field(default_factory=list)


def grouped_split(
    records: Sequence[FragmentRecord], test_share: float, seed: int
) -> tuple[list[FragmentRecord], list[FragmentRecord]]:
    """Pool and test set by whole reports (shuffled with ``seed``); pool in report order."""
    reports = list(dict.fromkeys(r.fragment.report for r in records))
    if len(reports) < 2:
        raise SystemExit("GOLD needs coded fragments from at least two reports")
    random.Random(seed).shuffle(reports)
    n_test = min(len(reports) - 1, max(1, round(test_share * len(reports))))
    rank = {report: i for i, report in enumerate(reports)}
    ordered = sorted(records, key=lambda r: (rank[r.fragment.report], r.fragment.start))
    test_reports = set(reports[:n_test])
    pool = [r for r in ordered if r.fragment.report not in test_reports]
    return pool, [r for r in ordered if r.fragment.report in test_reports]


def needs_correction(suggestion: Suggestion, gold: FragmentRecord) -> bool:
    """The reviewer changes the code, or the presence of a code that is right."""
    coding = gold.coding
    assert coding is not None
    if suggestion.factor != coding.factor:
        return True
    return coding.factor is not None and coding.presence not in (None, suggestion.presence)


def pick(
    strategy: str,
    open_records: Sequence[FragmentRecord],
    suggestions: dict[str, Suggestion],
    random_rank: dict[str, int],
    batch: int,
) -> list[FragmentRecord]:
    if strategy == "random":
        return sorted(open_records, key=lambda r: random_rank[r.fragment.id])[:batch]
    order = {r.fragment.id: i for i, r in enumerate(open_records)}
    return sorted(
        open_records,
        key=lambda r: (suggestions[r.fragment.id].confidence, order[r.fragment.id]),
    )[:batch]


def figures(
    suggestions: Sequence[Suggestion], gold: Sequence[FragmentRecord], labels: Sequence[str]
) -> dict[str, Any]:
    """kappa, macro-F1 and presence accuracy of suggestions against gold (None: no data)."""
    if not gold:
        return {"n": 0, **dict.fromkeys(FIGURES)}
    data = training_set(gold)
    probs = np.array([[s.factor_probs.get(label, 0.0) for label in labels] for s in suggestions])
    present = np.array([0.5 if s.presence_prob is None else s.presence_prob for s in suggestions])
    metrics = suggestion_metrics(data.factors, data.presences, probs, present, labels)
    found = {
        "kappa": metrics["factor"]["kappa"],
        "macro_f1": metrics["factor"]["macro_f1"],
        "presence_accuracy": metrics["presence"]["accuracy"],
    }
    return {"n": len(gold), **{k: None if np.isnan(v) else v for k, v in found.items()}}


def suggest_all(model: Scorer, records: Sequence[FragmentRecord]) -> list[Suggestion]:
    return model.suggest([r.fragment for r in records])


def suggest_by_id(model: Scorer, records: Sequence[FragmentRecord]) -> dict[str, Suggestion]:
    """Score whole reports together (neighbours count); look suggestions up by fragment id."""
    return dict(zip([r.fragment.id for r in records], suggest_all(model, records), strict=True))


def seed_set(pool: Sequence[FragmentRecord], batch: int) -> list[FragmentRecord]:
    """The first ``batch`` pool fragments (report order), extended until two labels occur."""
    size = batch
    while size < len(pool) and len({r.coding.factor for r in pool[:size] if r.coding}) < 2:
        size += 1
    return list(pool[:size])


def prepare(
    pool: list[FragmentRecord],
    test: list[FragmentRecord],
    labels: tuple[str, ...],
    train: Trainer,
    batch: int,
    start_model: Scorer | None = None,
) -> Start:
    """The seed set (without a starting model) and the starting model's suggestions."""
    seed = [] if start_model is not None else seed_set(pool, batch)
    seed_ids = [r.fragment.id for r in seed]
    model = start_model or train(seed, [1.0] * len(seed))
    start = Start(pool, test, seed_ids, labels)
    start.pool_suggestions = suggest_by_id(model, pool)
    start.test_suggestions = suggest_all(model, test)
    return start


def simulate(
    start: Start,
    strategy: str,
    train: Trainer,
    *,
    batch: int,
    rounds: int,
    seed: int,
    report: Callable[[Round], None] | None = None,
) -> list[Round]:
    """Round 0 is the starting model; each further round reviews one batch and retrains."""
    weight = dict.fromkeys(start.seed_ids, 1.0)  # reviewed fragment id -> training weight
    shuffled = [r.fragment.id for r in start.pool]
    random.Random(seed).shuffle(shuffled)
    random_rank = {fragment_id: i for i, fragment_id in enumerate(shuffled)}
    pool_suggestions, test_suggestions = start.pool_suggestions, start.test_suggestions
    history = [measure(start, strategy, 0, weight, pool_suggestions, test_suggestions)]
    tell = report or (lambda _: None)
    tell(history[0])
    for number in range(1, rounds + 1):
        open_records = [r for r in start.pool if r.fragment.id not in weight]
        if not open_records:
            break
        chosen = pick(strategy, open_records, pool_suggestions, random_rank, batch)
        corrected = [needs_correction(pool_suggestions[r.fragment.id], r) for r in chosen]
        for record, changed in zip(chosen, corrected, strict=True):
            weight[record.fragment.id] = CORRECTION_WEIGHT if changed else 1.0
        reviewed = [r for r in start.pool if r.fragment.id in weight]
        model = train(reviewed, [weight[r.fragment.id] for r in reviewed])
        pool_suggestions = suggest_by_id(model, start.pool)
        test_suggestions = suggest_all(model, start.test)
        done = measure(start, strategy, number, weight, pool_suggestions, test_suggestions)
        done.corrections, done.batch = sum(corrected), len(chosen)
        done.picked = [r.fragment.id for r in chosen]
        history.append(done)
        tell(done)
    return history


def measure(
    start: Start,
    strategy: str,
    number: int,
    weight: dict[str, float],
    pool_suggestions: dict[str, Suggestion],
    test_suggestions: list[Suggestion],
) -> Round:
    open_records = [r for r in start.pool if r.fragment.id not in weight]
    open_suggestions = [pool_suggestions[r.fragment.id] for r in open_records]
    return Round(
        strategy,
        number,
        len(weight),
        0,
        0,
        figures(open_suggestions, open_records, start.labels),
        figures(test_suggestions, start.test, start.labels),
    )


# --- output ------------------------------------------------------------------------------------


def _f(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def round_line(result: Round) -> str:
    pool, test = result.pool, result.test
    batch = f"{result.corrections:>3}/{result.batch:<3}" if result.number else " start "
    return (
        f"{result.strategy:<16} round {result.number:>2}  reviewed {result.reviewed:>4}  "
        f"corrections {batch}  open pool ({pool['n']:>4}): kappa {_f(pool['kappa'])} "
        f"F1 {_f(pool['macro_f1'])} presence {_f(pool['presence_accuracy'])}  |  "
        f"test ({test['n']}): kappa {_f(test['kappa'])} F1 {_f(test['macro_f1'])} "
        f"presence {_f(test['presence_accuracy'])}"
    )


def side_by_side(results: dict[str, list[Round]]) -> str:
    """One row per round; per strategy: corrections, open-pool F1 and test kappa/F1/presence."""
    strategies = list(results)
    head = f"{'round':>5} {'reviewed':>8} |"
    sub = f"{'':>5} {'':>8} |"
    for name in strategies:
        head += f" {name:^40} |"
        sub += f" {'corr':>5} {'pool F1':>7} {'test κ':>7} {'test F1':>7} {'test pres':>9} |"
    lines = [head, sub, "-" * len(sub)]
    for index in range(max(len(rounds) for rounds in results.values())):
        rows = [results[name][index] if index < len(results[name]) else None for name in results]
        first = next(r for r in rows if r is not None)
        line = f"{first.number:>5} {first.reviewed:>8} |"
        for row in rows:
            if row is None:
                line += f" {'':>40} |"
                continue
            corr = f"{row.corrections}/{row.batch}" if row.number else "start"
            line += (
                f" {corr:>5} {_f(row.pool['macro_f1']):>7} {_f(row.test['kappa']):>7} "
                f"{_f(row.test['macro_f1']):>7} {_f(row.test['presence_accuracy']):>9} |"
            )
        lines.append(line)
    return "\n".join(lines)


def learning_curve_png(results: dict[str, list[Round]], path: Path) -> Path:
    """Macro-F1 on the fixed test set against the number of reviewed fragments."""
    plt = agg_pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, rounds in results.items():
        points = [
            (r.reviewed, r.test["macro_f1"]) for r in rounds if r.test["macro_f1"] is not None
        ]
        ax.plot(*zip(*points, strict=True), marker="o", markersize=3, label=name.replace("_", " "))
    ax.set_xlabel("reviewed fragments (seed included)")
    ax.set_ylabel("macro-F1 on the test set")
    ax.set_title("Simulated review: what corrections gain")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return save_png(fig, path)


# --- the real trainer and the command line -----------------------------------------------------


def make_trainer(codebook: Codebook, base: Sequence[FragmentRecord], seed: int) -> Trainer:
    """Train the linear model (folds=0) on the base records plus the reviewed ones."""
    base_set = training_set(base) if base else None

    def train(records: Sequence[FragmentRecord], weights: Sequence[float]) -> Scorer:
        parts = [p for p in (base_set, _weighted(records, weights)) if p is not None]
        data = TrainingSet(**{n: sum((getattr(p, n) for p in parts), ()) for n in COLUMNS})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # few examples per code is the point here
            return train_model(data, codebook, folds=0, settings=ModelSettings(seed=seed))

    return train


COLUMNS = tuple(f.name for f in fields(TrainingSet))


def _weighted(records: Sequence[FragmentRecord], weights: Sequence[float]) -> TrainingSet:
    return replace(training_set(records), weights=tuple(weights))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gold", type=Path, help="coded fragment records (JSONL)")
    parser.add_argument("--model", type=Path, help="starting model (default: train on a seed)")
    parser.add_argument("--codebook", type=Path, help="codebook YAML (default: the shipped one)")
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--strategy", choices=(*STRATEGIES, "both"), default="both")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--png", type=Path, default=Path("simulate_review.png"))
    parser.add_argument("--test-share", type=float, default=0.3)
    args = parser.parse_args(argv)
    if args.batch < 1 or args.rounds < 0 or not 0 < args.test_share < 1:
        parser.error("--batch >= 1, --rounds >= 0 and 0 < --test-share < 1")
    return args


def load(
    args: argparse.Namespace,
) -> tuple[Codebook, list[FragmentRecord], Scorer | None, list[FragmentRecord]]:
    """The codebook, the gold records, the starting model (if any) and its base data."""
    from autocoder.retrain import base_records
    from autocoder.transformer_dir import load_any_model as load_model

    model = load_model(args.model) if args.model else None
    codebook = model.codebook if model else load_codebook(args.codebook)
    gold = load_training_records([args.gold], codebook).records
    if model is None:
        return codebook, gold, None, []
    notes: list[str] = []
    base = base_records(args.model, codebook, notes)  # each round retrains on it + reviewed
    seen = {r.fragment.report for r in base} & {r.fragment.report for r in gold}
    if seen:
        raise SystemExit(
            f"{args.model} was trained on {len(seen)} of GOLD's reports, so its suggestions "
            "there are remembered, not predicted; give a model trained without them, or leave "
            "out --model to start from a seed set"
        )
    print("\n".join(f"note: {n}" for n in notes))
    return codebook, gold, model, base


def main(argv: list[str] | None = None, make: Callable[..., Trainer] = make_trainer) -> int:
    args = parse_args(argv)
    codebook, gold, start_model, base = load(args)
    pool, test = grouped_split(gold, args.test_share, args.seed)
    labels = (*codebook.ids, NO_FACTOR_KEY)
    train = make(codebook, base, args.seed)
    start = prepare(pool, test, labels, train, args.batch, start_model)
    print(
        f"pool {len(pool)} fragments ({len({r.fragment.report for r in pool})} reports), test "
        f"{len(test)} ({len({r.fragment.report for r in test})} reports); seed "
        f"{len(start.seed_ids)}; batch {args.batch}; up to {args.rounds} rounds"
    )
    strategies = STRATEGIES if args.strategy == "both" else (args.strategy,)
    results = {
        name: simulate(
            start,
            name,
            train,
            batch=args.batch,
            rounds=args.rounds,
            seed=args.seed,
            report=lambda r: print(round_line(r), flush=True),
        )
        for name in strategies
    }
    print()
    print(side_by_side(results))
    print(f"learning curve -> {learning_curve_png(results, args.png)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
