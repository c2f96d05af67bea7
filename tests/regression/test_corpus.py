"""The starter corpus (issue 3): schema, offsets, counts, originality, reproducibility."""

import importlib.util
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from autocoder.codebook import load_codebook
from autocoder.ingest import read_report
from autocoder.jsonl import read_records

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "training_data"
MIN_WORDS, MAX_WORDS = 1200, 3000


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def records():
    return read_records(DATA / "fragments.jsonl", load_codebook()).records


@pytest.fixture(scope="module")
def raw():
    return [json.loads(line) for line in (DATA / "fragments.jsonl").read_text().splitlines()]


def test_every_record_validates_and_is_coded(records, raw):
    assert len(records) == len(raw)
    assert all(r.coding is not None for r in records)
    assert all(r.coding.presence is not None for r in records if r.coding.factor)


def test_offsets_reproduce_the_report_text():
    for path in sorted((DATA / "annotations").glob("*.json")):
        annotation = json.loads(path.read_text(encoding="utf-8"))
        report = read_report(DATA / "reports" / annotation["report"])
        for coding in annotation["codings"]:
            assert report.text[coding["start"] : coding["end"]] == coding["quote"], path.name


def test_jsonl_is_exactly_what_the_build_script_produces():
    lines = load_script("build_corpus").corpus_lines()
    assert lines == (DATA / "fragments.jsonl").read_text(encoding="utf-8").splitlines()


def test_minimum_counts(raw):
    kinds = {r["report"]: r["group"] == "observatie" for r in raw}
    assert sum(1 for obs in kinds.values() if not obs) >= 36
    assert sum(1 for obs in kinds.values() if obs) >= 6
    assert len(raw) >= 2400
    cells = Counter((r["factor"], r["presence"]) for r in raw if r["factor"])
    for code in load_codebook().ids:
        for presence in ("present", "absent"):
            assert cells[(code, presence)] >= 60, (code, presence)
    none_share = sum(1 for r in raw if r["factor"] is None) / len(raw)
    assert 0.15 <= none_share <= 0.30
    tags = Counter(t for r in raw for t in r["tags"])
    for tag in ("negation", "wish", "mixed", "othersense", "indirect", "pastpresent"):
        assert tags[tag] >= 40, tag
    numbered = {r["report"] for r in raw if r["question"] is not None}
    assert len(kinds) - len(numbered) >= len(kinds) / 4


def test_interview_lengths():
    for path in sorted((DATA / "reports").glob("*.md")):
        report = read_report(path)
        if report.meta.group.value != "observatie":
            assert MIN_WORDS <= len(report.text.split()) <= MAX_WORDS, path.name


def word_grams(text, n=5):
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_no_near_duplicate_fragments_across_reports(raw):
    grams = [word_grams(r["text"]) for r in raw]
    index = defaultdict(set)
    for i, gram_set in enumerate(grams):
        for gram in gram_set:
            index[gram].add(i)
    for i, gram_set in enumerate(grams):
        shared = Counter(j for g in gram_set for j in index[g] if j > i)
        for j, count in shared.items():
            if raw[i]["report"] != raw[j]["report"]:
                jaccard = count / len(gram_set | grams[j])
                assert jaccard < 0.8, (raw[i]["text"], raw[j]["text"])


def test_no_report_reuses_another_reports_sentences(raw):
    seen = {}
    for record in raw:
        key = " ".join(re.findall(r"\w+", record["text"].lower()))
        if len(key.split()) >= 6:
            assert seen.setdefault(key, record["report"]) == record["report"], record["text"]


def test_data_card_counts_match_the_data(raw):
    stats = load_script("corpus_stats")
    card = (DATA / "README.md").read_text(encoding="utf-8")
    assert stats.summary_table(raw) in card
    assert stats.cell_table(raw) in card
