"""End-to-end jobs over the stages: segment files to JSONL (and later: code into a project)."""

from __future__ import annotations

import gc
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from itertools import islice
from pathlib import Path

from autocoder.classify.blocks import ModelSettings
from autocoder.classify.model import SuggestionModel
from autocoder.codebook import DEFAULT_CODEBOOK, load_codebook
from autocoder.config import DEFAULT_SETTINGS, Limits
from autocoder.errors import InputError, RecordError, collected_warnings
from autocoder.files import atomic_write_lines
from autocoder.ingest import iter_report_paths, read_reports
from autocoder.jsonl import dump_record, iter_records
from autocoder.modeldir import save_model
from autocoder.records import Fragment, FragmentRecord, Report
from autocoder.segment import Unit, segment_reports
from autocoder.shipped import portable_path
from autocoder.train import load_training_records, resolve_data_path, train_model, training_set


@dataclass
class SegmentSummary:
    reports: int = 0
    fragments: int = 0
    failures: list[InputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    per_report: list[tuple[str, str, int]] = field(default_factory=list)  # source, id, count


def iter_segmented(
    paths: Iterable[Path], unit: Unit, summary: SegmentSummary, limits: Limits
) -> Iterator[tuple[Report, list[Fragment]]]:
    """Ingest and segment report files one at a time; bad files land in ``summary``."""

    def good_reports() -> Iterator[Report]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for item in read_reports(iter_report_paths(paths), limits):
                summary.warnings.extend(str(w.message) for w in caught)
                caught.clear()
                if isinstance(item, InputError):
                    summary.failures.append(item)
                else:
                    yield item

    for report, fragments in segment_reports(good_reports(), unit=unit):
        summary.reports += 1
        summary.fragments += len(fragments)
        summary.per_report.append((report.source, report.id, len(fragments)))
        yield report, fragments


def segment_to_jsonl(
    paths: Iterable[Path],
    out: Path,
    unit: Unit = "sentence",
    limits: Limits = DEFAULT_SETTINGS.limits,
) -> SegmentSummary:
    """Write one fragment record per line to ``out`` (atomically, streaming)."""
    summary = SegmentSummary()
    lines = (
        dump_record(FragmentRecord(fragment))
        for _, fragments in iter_segmented(paths, unit, summary, limits)
        for fragment in fragments
    )
    atomic_write_lines(out, lines)
    return summary


def segment_for_display(
    paths: Iterable[Path], unit: Unit = "sentence", limits: Limits = DEFAULT_SETTINGS.limits
) -> tuple[list[tuple[Report, list[Fragment]]], SegmentSummary]:
    """Segment a few files and keep them (for the demo and small previews)."""
    summary = SegmentSummary()
    return list(iter_segmented(paths, unit, summary, limits)), summary


@dataclass
class TrainSummary:
    model: SuggestionModel
    directory: Path
    skipped: list[RecordError] = field(default_factory=list)
    uncoded: int = 0
    warnings: list[str] = field(default_factory=list)


def train_to_dir(
    data_paths: Sequence[Path],
    out: Path,
    codebook_path: Path | None = None,
    *,
    folds: int = 5,
    seed: int = DEFAULT_SETTINGS.seed,
    skip_invalid: bool = False,
) -> TrainSummary:
    """Train on coded fragment records and write the model directory."""
    codebook = load_codebook(codebook_path)
    loaded = load_training_records(data_paths, codebook, skip_invalid=skip_invalid)
    data = training_set(loaded.records)
    with collected_warnings() as messages:
        model = train_model(
            data, codebook, folds=folds, settings=ModelSettings(seed=seed), model_id=out.name
        )
    model.meta["training_data"] = [portable_path(resolve_data_path(p)) for p in data_paths]
    save_model(model, out, codebook_source(codebook_path))
    return TrainSummary(model, out, loaded.skipped, loaded.uncoded, messages)


def codebook_source(codebook_path: Path | None) -> str:
    if codebook_path is None:
        ref = resources.files("autocoder") / "codebooks" / f"{DEFAULT_CODEBOOK}.yaml"
        return ref.read_text(encoding="utf-8")
    return Path(codebook_path).read_text(encoding="utf-8-sig")


@dataclass
class ClassifySummary:
    fragments: int = 0
    per_factor: Counter = field(default_factory=Counter)
    low_confidence: int = 0
    skipped: list[Exception] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


LOW_CONFIDENCE = 0.5


def batched(items: Iterable[FragmentRecord], size: int) -> Iterator[list[FragmentRecord]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


CLASSIFY_BATCH = 4096


def classify_to_jsonl(
    inputs: Sequence[Path],
    model: SuggestionModel,
    out: Path,
    *,
    skip_invalid: bool = False,
    unit: Unit = "sentence",
) -> ClassifySummary:
    """Add a ``suggestion`` to every fragment record; report files are segmented first."""
    summary = ClassifySummary()
    gc.freeze()  # the loaded model lives as long as the job: keep it out of every collection

    def records() -> Iterator[FragmentRecord]:
        for path in inputs:
            if path.suffix.lower() == ".jsonl":
                for item in iter_records(path, model.codebook, skip_invalid=skip_invalid):
                    if isinstance(item, RecordError):
                        summary.skipped.append(item)
                    else:
                        yield item
            else:
                segmented = SegmentSummary()
                for _, fragments in iter_segmented(
                    [path], unit, segmented, DEFAULT_SETTINGS.limits
                ):
                    yield from (FragmentRecord(f) for f in fragments)
                summary.skipped.extend(segmented.failures)
                summary.warnings.extend(segmented.warnings)

    def lines() -> Iterator[str]:
        for batch in batched(records(), CLASSIFY_BATCH):
            suggestions = model.suggest([r.fragment for r in batch])
            for record, suggestion in zip(batch, suggestions, strict=True):
                summary.fragments += 1
                summary.per_factor[suggestion.factor or "(none)"] += 1
                summary.low_confidence += suggestion.confidence < LOW_CONFIDENCE
                yield dump_record(replace(record, suggestion=suggestion))

    atomic_write_lines(out, lines())
    return summary
