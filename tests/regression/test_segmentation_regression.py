"""Segmentation regression: boundary precision/recall/F1 and question-number accuracy.

A boundary is a fragment's start or end offset. Expected fragments are located in the case
text in order. The corpus-wide F1 must stay >= 0.95; each case also runs on its own so that a
failure names the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from autocoder.records import Report
from autocoder.segment import segment_report

CASES_FILE = Path(__file__).with_name("segmentation_cases.yaml")
MIN_F1 = 0.95
MIN_QUESTION_ACCURACY = 0.95


def load_cases() -> list[dict]:
    return yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["cases"]


CASES = load_cases()


@dataclass
class Expected:
    start: int
    end: int
    question: int | None
    speaker: str | None
    check_speaker: bool


def expected_spans(case: dict) -> list[Expected]:
    text = case["text"]
    cursor = 0
    spans = []
    for item in case["fragments"]:
        position = text.find(item["text"], cursor)
        if position < 0:
            raise AssertionError(f"{case['name']}: expected fragment not in text: {item['text']!r}")
        end = position + len(item["text"])
        spans.append(Expected(position, end, item.get("q"), item.get("speaker"), "speaker" in item))
        cursor = end
    return spans


def run_case(case: dict):
    report = Report(id=f"case-{case['name']}", source="regression", text=case["text"])
    return segment_report(report, "sentence")


def boundaries(spans) -> set[int]:
    return {offset for span in spans for offset in (span.start, span.end)}


def test_cases_file_is_well_formed() -> None:
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    assert len(CASES) >= 45
    for case in CASES:
        expected_spans(case)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case: dict) -> None:
    name = case["name"]
    expected = expected_spans(case)
    fragments = run_case(case)
    got = [(f.start, f.end, f.text) for f in fragments]
    want = [(e.start, e.end, case["text"][e.start : e.end]) for e in expected]
    assert got == want, f"case {name!r}: fragments differ\n got: {got}\nwant: {want}"
    for fragment, exp in zip(fragments, expected, strict=True):
        assert fragment.question == exp.question, (
            f"case {name!r}: {fragment.text!r} answers question {fragment.question}, "
            f"expected {exp.question}"
        )
        if exp.check_speaker:
            assert fragment.speaker == exp.speaker, (
                f"case {name!r}: {fragment.text!r} spoken by {fragment.speaker!r}, "
                f"expected {exp.speaker!r}"
            )


def test_corpus_boundary_f1_and_question_accuracy() -> None:
    true_positives = predicted_total = expected_total = 0
    questions_right = questions_total = 0
    for case in CASES:
        expected = expected_spans(case)
        fragments = run_case(case)
        want, got = boundaries(expected), boundaries(fragments)
        true_positives += len(want & got)
        predicted_total += len(got)
        expected_total += len(want)
        by_span = {(f.start, f.end): f.question for f in fragments}
        for exp in expected:
            questions_total += 1
            if (exp.start, exp.end) in by_span and by_span[(exp.start, exp.end)] == exp.question:
                questions_right += 1
    precision = true_positives / predicted_total if predicted_total else 0.0
    recall = true_positives / expected_total if expected_total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = questions_right / questions_total if questions_total else 0.0
    print(
        f"\nsegmentation regression over {len(CASES)} cases: boundary precision "
        f"{precision:.3f}, recall {recall:.3f}, F1 {f1:.3f}; question accuracy {accuracy:.3f}"
    )
    assert f1 >= MIN_F1, f"boundary F1 {f1:.3f} below {MIN_F1}"
    assert accuracy >= MIN_QUESTION_ACCURACY, f"question accuracy {accuracy:.3f} too low"
