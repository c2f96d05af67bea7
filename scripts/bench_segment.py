"""Benchmark autocoder.segment against bare spaCy tokenisation of the same texts.

Builds a ~N-word corpus as a stream of reports (fresh ids), by repeating the passages of
tests/regression/segmentation_cases.yaml plus any .md/.txt under training_data/reports; the
corpus is never held in memory as a whole. Measures, in one run:
  (1) words/second of bare ``spacy.blank("nl")`` tokenisation (nlp.pipe over the report texts)
  (2) words/second of ``autocoder.segment.segment_reports`` (sentence unit)
and prints both, their ratio, peak RSS, and whether the targets are met (ratio >= 0.5,
peak RSS < 1 GB). All pipelines are warmed up on the passages first; rates use CPU time
(robust on a shared machine) and the best of --rounds alternating rounds; wall times too.

A stricter reference is printed as well: bare tokenisation of the same texts split at blank
lines (with its own pipeline). spaCy's tokenizer stops caching for the rest of a Doc once it
has met a special case (an abbreviation), so whole reports tokenise several times slower than
their paragraphs do; segment_reports gives spaCy short Docs and profits from that too.

Usage: python scripts/bench_segment.py [--words 1000000] [--report-words 2000]
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import spacy
import yaml

from autocoder.records import Report
from autocoder.segment import segment_reports

ROOT = Path(__file__).resolve().parent.parent
CASES_FILE = ROOT / "tests" / "regression" / "segmentation_cases.yaml"
REPORTS_DIR = ROOT / "training_data" / "reports"
FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
TARGET_RATIO = 0.5
TARGET_RSS_BYTES = 1024**3


def load_passages() -> list[str]:
    cases = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["cases"]
    passages = [case["text"] for case in cases]
    if REPORTS_DIR.is_dir():
        for path in sorted(REPORTS_DIR.rglob("*")):
            if path.suffix.lower() in {".md", ".txt"} and path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace")
                passages.append(FRONT_MATTER.sub("", text, count=1))
    return [passage for passage in passages if passage.strip()]


def corpus(passages: list[str], total_words: int, report_words: int) -> Iterator[Report]:
    """Reports of about ``report_words`` words until ``total_words`` words; one at a time."""
    counts = [len(passage.split()) for passage in passages]
    produced = 0
    number = 0
    position = 0
    while produced < total_words:
        parts: list[str] = []
        words = 0
        while words < report_words and produced + words < total_words:
            index = position % len(passages)
            parts.append(passages[index])
            words += counts[index]
            position += 1
        # shift the start for the next report so that reports differ
        position += number % 7
        number += 1
        produced += words
        yield Report(id=f"bench-{number:06d}", source="bench", text="\n\n".join(parts))


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def timed(run: Callable[[], int]) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, result) of ``run()``; CPU time is robust on a shared machine."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = run()
    return time.process_time() - cpu, time.perf_counter() - wall, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000, help="corpus size in words")
    parser.add_argument("--report-words", type=int, default=2000, help="words per report")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; best counts")
    args = parser.parse_args(argv)
    if args.words <= 0 or args.report_words <= 0 or args.rounds <= 0:
        parser.error("--words, --report-words and --rounds must be positive")

    passages = load_passages()
    words = sum(len(r.text.split()) for r in corpus(passages, args.words, args.report_words))
    print(f"passages: {len(passages)}; corpus: {words:,} words in reports of ~{args.report_words}")

    # separate pipelines, so that one measurement does not warm the other's tokenizer cache
    bare = spacy.blank("nl")
    bare_short = spacy.blank("nl")

    def run_bare() -> int:
        texts = (report.text for report in corpus(passages, args.words, args.report_words))
        return sum(len(doc) for doc in bare.pipe(texts, batch_size=args.batch_size))

    def run_bare_paragraphs() -> int:  # a stricter reference: many short Docs, as segment
        texts = (
            paragraph
            for report in corpus(passages, args.words, args.report_words)
            for paragraph in report.text.split("\n\n")
        )
        return sum(len(doc) for doc in bare_short.pipe(texts, batch_size=args.batch_size))

    def run_segment() -> int:
        stream = corpus(passages, args.words, args.report_words)
        found = segment_reports(stream, "sentence", batch_size=args.batch_size)
        return sum(len(fragments) for _, fragments in found)

    # warm-up: build the pipeline and fill both tokenizer caches with the passages' words
    list(bare.pipe(passages))
    list(bare_short.pipe(passages))
    warm = (Report(id=f"warm-{n}", source="bench", text=t) for n, t in enumerate(passages))
    for _ in segment_reports(warm):
        pass

    bare_times: list[tuple[float, float]] = []
    paragraph_times: list[tuple[float, float]] = []
    segment_times: list[tuple[float, float]] = []
    tokens = fragments = 0
    for _ in range(args.rounds):
        cpu, wall, tokens = timed(run_bare)
        bare_times.append((cpu, wall))
        cpu, wall, _ = timed(run_bare_paragraphs)
        paragraph_times.append((cpu, wall))
        cpu, wall, fragments = timed(run_segment)
        segment_times.append((cpu, wall))
    bare_cpu, bare_wall = min(bare_times)
    paragraph_cpu, paragraph_wall = min(paragraph_times)
    segment_cpu, segment_wall = min(segment_times)

    bare_rate = words / bare_cpu
    segment_rate = words / segment_cpu
    ratio = segment_rate / bare_rate
    peak = peak_rss_bytes()
    print(f"tokens (bare): {tokens:,}; fragments: {fragments:,}; best of {args.rounds} rounds")
    print(
        f"bare spacy.blank('nl') tokenisation: {bare_rate:>10,.0f} words/s CPU "
        f"({bare_cpu:.2f} s CPU, {bare_wall:.2f} s wall)"
    )
    print(
        f"  (same, split at blank lines):      {words / paragraph_cpu:>10,.0f} words/s CPU "
        f"({paragraph_cpu:.2f} s CPU, {paragraph_wall:.2f} s wall)"
    )
    print(
        f"segment_reports (sentence unit):     {segment_rate:>10,.0f} words/s CPU "
        f"({segment_cpu:.2f} s CPU, {segment_wall:.2f} s wall)"
    )
    print(f"ratio segmentation/tokenisation: {ratio:.2f} (target >= {TARGET_RATIO})")
    print(f"ratio segmentation/paragraph tokenisation: {segment_rate * paragraph_cpu / words:.2f}")
    print(f"peak RSS: {peak / 1024**2:,.0f} MiB (target < {TARGET_RSS_BYTES / 1024**2:,.0f} MiB)")
    passed = ratio >= TARGET_RATIO and peak < TARGET_RSS_BYTES
    print("target: PASS" if passed else "target: FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
