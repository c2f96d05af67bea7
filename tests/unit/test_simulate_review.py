"""The review simulation's bookkeeping on a tiny gold set, with a fake model (no training)."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from autocoder.codebook import load_codebook
from autocoder.jsonl import write_records
from autocoder.records import (
    NO_FACTOR_KEY,
    Coding,
    Fragment,
    FragmentRecord,
    Presence,
    Suggestion,
)

ROOT = Path(__file__).resolve().parents[2]
CODEBOOK = load_codebook()
A, B, C = CODEBOOK.ids[:3]
LABELS = (*CODEBOOK.ids, NO_FACTOR_KEY)
# Each report repeats these sentences; the fake model learns a sentence once it is reviewed.
SENTENCES = [
    (A, Presence.PRESENT),
    (B, Presence.ABSENT),
    (None, None),
    (A, Presence.ABSENT),
    (C, Presence.PRESENT),
    (None, None),
]


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "simulate_review", ROOT / "scripts" / "simulate_review.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["simulate_review"] = module
    spec.loader.exec_module(module)
    return module


sim = load_script()


def gold(reports: int = 5) -> list[FragmentRecord]:
    records = []
    for r in range(reports):
        for k, (factor, presence) in enumerate(SENTENCES):
            text = f"zin {k}"
            start = 10 * k
            fragment = Fragment(f"r{r}:{start}-{start + 5}", f"r{r}", start, start + 5, text)
            records.append(FragmentRecord(fragment, Coding(factor, presence, coder="gold")))
    return records


class FakeModel:
    """Knows the label of every sentence text it was trained on; guesses 'no factor' with a
    low, id-dependent confidence for the others."""

    def __init__(self, known: dict[str, tuple[str | None, Presence | None]]) -> None:
        self.known = known

    def suggest(self, fragments: Sequence[Fragment]) -> list[Suggestion]:
        return [self._one(f) for f in fragments]

    def _one(self, fragment: Fragment) -> Suggestion:
        factor, presence = self.known.get(fragment.text, (None, None))
        digest = int(hashlib.sha256(fragment.id.encode()).hexdigest(), 16)
        confidence = 0.95 if fragment.text in self.known else (digest % 400) / 1000
        probs = dict.fromkeys(LABELS, (1 - confidence) / (len(LABELS) - 1))
        probs[factor or NO_FACTOR_KEY] = confidence
        present = None if presence is None else float(presence is Presence.PRESENT)
        return Suggestion(factor, presence, confidence, probs, present, (), "fake")


calls: list[int] = []


def fake_train(records: Sequence[FragmentRecord], weights: Sequence[float]) -> FakeModel:
    assert len(records) == len(weights)
    calls.append(len(records))
    return FakeModel({r.fragment.text: (r.coding.factor, r.coding.presence) for r in records})


@pytest.fixture
def start() -> Any:
    pool, test = sim.grouped_split(gold(), 0.3, seed=1)
    calls.clear()
    return sim.prepare(pool, test, LABELS, fake_train, batch=4)


def test_grouped_split_keeps_reports_whole() -> None:
    pool, test = sim.grouped_split(gold(), 0.3, seed=1)
    assert {r.fragment.report for r in pool}.isdisjoint({r.fragment.report for r in test})
    assert len(test) == 2 * len(SENTENCES) and len(pool) == 3 * len(SENTENCES)
    reports = [r.fragment.report for r in pool]
    assert reports == sorted(reports, key=reports.index)  # each report in one run


def test_seed_set_is_the_first_batch_with_two_labels() -> None:
    pool, _ = sim.grouped_split(gold(), 0.3, seed=1)
    assert sim.seed_set(pool, 4) == pool[:4]
    none_first = sorted(pool, key=lambda r: r.coding.factor is not None)
    assert len(sim.seed_set(none_first, 2)) == 7  # six 'no factor' fragments, then a code


def test_rounds_count_reviews_and_corrections(start: Any) -> None:
    history = sim.simulate(start, "least_confidence", fake_train, batch=4, rounds=3, seed=1)
    assert [r.number for r in history] == [0, 1, 2, 3]
    assert [r.reviewed for r in history] == [4, 8, 12, 16]
    assert [r.pool["n"] for r in history] == [14, 10, 6, 2]
    assert all(r.test["n"] == 12 for r in history)
    assert calls == [4, 8, 12, 16]  # the seed, then seed + everything reviewed so far
    reviewed = set(start.seed_ids)
    for done in history[1:]:
        assert len(done.picked) == done.batch == 4 and reviewed.isdisjoint(done.picked)
        reviewed.update(done.picked)
    # the seed taught sentences 0-3; the first batch's unknown sentences needed a correction
    seed_texts = {r.fragment.text for r in start.pool if r.fragment.id in start.seed_ids}
    by_id = {r.fragment.id: r for r in start.pool}
    first = [by_id[i] for i in history[1].picked]
    expected = sum(r.fragment.text not in seed_texts and r.coding.factor is not None for r in first)
    assert history[1].corrections == expected


def test_least_confidence_first_and_random_differ(start: Any) -> None:
    least = sim.simulate(start, "least_confidence", fake_train, batch=4, rounds=1, seed=1)
    shuffled = sim.simulate(start, "random", fake_train, batch=4, rounds=1, seed=1)
    again = sim.simulate(start, "random", fake_train, batch=4, rounds=1, seed=1)
    open_ids = [r.fragment.id for r in start.pool if r.fragment.id not in start.seed_ids]
    confidence = {i: start.pool_suggestions[i].confidence for i in open_ids}
    assert least[1].picked == sorted(open_ids, key=confidence.get)[:4]
    assert shuffled[1].picked != least[1].picked
    assert shuffled[1].picked == again[1].picked  # deterministic for the seed


def test_runs_stop_when_the_pool_is_reviewed(start: Any) -> None:
    history = sim.simulate(start, "random", fake_train, batch=5, rounds=10, seed=1)
    assert [r.batch for r in history[1:]] == [5, 5, 4]
    assert history[-1].pool == {"n": 0, "kappa": None, "macro_f1": None, "presence_accuracy": None}
    assert history[-1].test["macro_f1"] == 1.0  # every sentence is known by now


def test_needs_correction() -> None:
    record = gold(1)[0]  # A, present
    probs = dict.fromkeys(LABELS, 0.0)
    right = Suggestion(A, Presence.PRESENT, 0.9, probs, 0.9, (), "m")
    assert not sim.needs_correction(right, record)
    assert sim.needs_correction(Suggestion(A, Presence.ABSENT, 0.9, probs, 0.1, (), "m"), record)
    assert sim.needs_correction(Suggestion(B, Presence.PRESENT, 0.9, probs, 0.9, (), "m"), record)
    assert sim.needs_correction(Suggestion(None, None, 0.9, probs, None, (), "m"), record)


def test_main_prints_both_strategies_and_saves_a_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gold.jsonl"
    write_records(path, gold(6))
    png = tmp_path / "curve.png"
    args = [str(path), "--batch", "6", "--rounds", "2", "--png", str(png), "--seed", "3"]
    assert sim.main(args, make=lambda codebook, base, seed: fake_train) == 0
    output = capsys.readouterr().out
    assert (
        output.count("least_confidence round") == 3 and output.count("random           round") == 3
    )
    assert "test F1" in output and "zin" not in output  # figures only, never fragment text
    assert png.read_bytes().startswith(b"\x89PNG")
