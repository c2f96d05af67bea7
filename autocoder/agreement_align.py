"""Matching several coders' codings onto common units, and checking that they can be matched.

Codings of the same fragments are matched by the records' ids when every source gives ids
and they match (as in files from a spreadsheet or another tool, with no offsets); by their
offsets (``report:start-end``, which our own ids are too) when the ids differ or are missing
and every coding has offsets. Coders who coded different spans of the same reports (as in QDA
packages) are aligned on the sentence fragments of our own segmentation: a span codes every
unit it covers by at least half of the unit's characters. What cannot be compared is counted
with the reason.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from warnings import catch_warnings, simplefilter

from autocoder.agreement_result import LeftOut, UnitRow
from autocoder.codebook import Codebook
from autocoder.errors import InputError, MetadataWarning, SkippedFileWarning
from autocoder.ingest import iter_report_paths, read_reports
from autocoder.records import NO_FACTOR_KEY, UNKNOWN, Fragment, Report

MIN_UNIT_SHARE = 0.5  # a span codes every unit it covers by at least half the unit's characters


@dataclass(frozen=True, slots=True)
class Coded:
    """One coder's code for one fragment or span; ``label`` is a code id or "none"."""

    id: str
    report: str
    start: int | None
    end: int | None
    text: str | None
    label: str
    presence: str | None
    question: int | None = None
    named: bool = True  # the source gave the id (not derived from the text or the offsets)


@dataclass
class Source:
    """One coder's codings, read from ``spec``."""

    spec: str
    coder: str
    codings: list[Coded]
    uncoded: int = 0  # records without a code
    project: Path | None = None  # the project file that holds the reports' texts


# --- checking and matching -------------------------------------------------------------------


def check_source(source: Source, codebook: Codebook) -> None:
    """A coder with codes, each fragment coded once, every code in the codebook."""
    if not source.codings:
        raise InputError(
            source.spec,
            f"coder {source.coder!r} has nothing coded ({source.uncoded} records without a "
            "code); records need a 'factor' (a code id, or empty for no factor)",
        )
    allowed = {*codebook.ids, NO_FACTOR_KEY}
    bad = Counter(c.label for c in source.codings if c.label not in allowed)
    if bad:
        listed = ", ".join(f"{label!r} ({n})" for label, n in bad.most_common(5))
        raise InputError(
            source.spec,
            f"{bad.total()} of {len(source.codings)} codings use codes that are not in "
            f"codebook {codebook.id!r}: {listed}; give the right --codebook or fix the codes",
        )
    check_once(source, record_key)


def check_once(source: Source, key: Callable[[Coded], str]) -> None:
    """Each fragment (by ``key``) coded once by the source."""
    twice = [k for k, n in Counter(map(key, source.codings)).items() if n > 1]
    if twice:
        example = next(c for c in source.codings if key(c) == twice[0])
        unnamed = not example.named and example.start is None
        raise InputError(
            source.spec,
            f"{len(twice)} fragments are coded more than once by one coder (e.g. {twice[0]!r}"
            f"{', records without id or offsets: same report and text' if unnamed else ''}); "
            "give each fragment one code per coder (or give the records ids)",
        )


def record_key(coded: Coded) -> str:
    """A record's own identity: its id when the source gave one, else its offsets."""
    return coded.id if coded.named or coded.start is None else span_key(coded)


def span_key(coded: Coded) -> str:
    """Offsets identify a span (our own ids are ``report:start-end`` too)."""
    return f"{coded.report}:{coded.start}-{coded.end}" if coded.start is not None else coded.id


def match_key(sources: Sequence[Source]) -> Callable[[Coded], str]:
    """Ids when every source names its records and shares ids with another source; else
    offsets (codings without offsets then cannot be matched, and the check says so)."""
    keys = [{c.id for c in s.codings} for s in sources]
    named = all(c.named for s in sources for c in s.codings)
    others = [set().union(*(k for j, k in enumerate(keys) if j != i)) for i in range(len(keys))]
    if named and all(k & other for k, other in zip(keys, others, strict=True)):
        return record_key
    if any(c.start is not None for s in sources for c in s.codings):
        return span_key
    return record_key


def common_reports(sources: list[Source], left_out: list[LeftOut]) -> None:
    """Keep the codings on reports every source coded; count the others. Sources whose
    records do not name their report (e.g. a CSV with ids only) are matched by id alone."""
    named = [s for s in sources if all(c.report != UNKNOWN for c in s.codings)]
    covered = [{c.report for c in s.codings} for s in named]
    common = set.intersection(*covered) if covered else set()
    if len(named) > 1 and not common:
        counts = ", ".join(f"{s.spec} {len(r)}" for s, r in zip(named, covered, strict=True))
        raise InputError(
            named[-1].spec,
            f"the sources share no report (number of reports coded: {counts}); compare "
            "codings of the same reports",
        )
    for source, reports in zip(named if len(named) > 1 else [], covered, strict=False):
        kept = [c for c in source.codings if c.report in common]
        if len(kept) < len(source.codings):
            reason = f"on {len(reports - common)} report(s) that not every source coded"
            left_out.append(LeftOut(source.coder, len(source.codings) - len(kept), reason))
        source.codings = kept


def overlapping_spans(sources: Sequence[Source]) -> int:
    """Pairs of different spans that overlap: the sources segmented the reports differently."""
    spans: dict[str, set[tuple[int, int]]] = defaultdict(set)
    for source in sources:
        for c in source.codings:
            if c.start is not None and c.end is not None:
                spans[c.report].add((c.start, c.end))
    found = 0
    for items in spans.values():
        reach = -1
        for start, end in sorted(items):
            found += start < reach
            reach = max(reach, end)
    return found


def by_id(
    sources: Sequence[Source], left_out: list[LeftOut], unit_key: Callable[[Coded], str]
) -> list[UnitRow]:
    """Units coded by two or more sources, matched by ``unit_key`` (ids or offsets)."""
    table: dict[str, dict[int, Coded]] = defaultdict(dict)
    for index, source in enumerate(sources):
        check_once(source, unit_key)
        for c in source.codings:
            table[unit_key(c)][index] = c
    least = min(2, len(sources))  # one source (compared with a model): all its fragments
    alone = [sum(len(table[unit_key(c)]) == 1 for c in s.codings) for s in sources]
    for source, count in reversed(list(zip(sources, alone, strict=True))):
        if least > 1 and count == len(source.codings):
            other = next(s for s in sources if s is not source)
            raise InputError(
                source.spec,
                f"none of its {count} coded fragments is coded in another source: fragment "
                f"ids do not match (here e.g. {unit_key(source.codings[0])!r}, in {other.spec} "
                f"e.g. {unit_key(other.codings[0])!r}); compare codings of the same fragments, "
                "or give offsets and --reports DIR to align different spans",
            )
    for source, count in zip(sources, alone, strict=True):
        if least > 1 and count:
            reason = "fragments no other source coded (their ids are not in the other sources)"
            left_out.append(LeftOut(source.coder, count, reason))
    rows = [_row(cells, len(sources)) for cells in table.values() if len(cells) >= least]
    return sorted(rows, key=lambda r: (r.report, r.start or 0, r.id))


def _row(cells: dict[int, Coded], n: int) -> UnitRow:
    first = next(iter(cells.values()))
    row = [cells.get(i) for i in range(n)]
    return UnitRow(
        id=first.id,
        report=first.report,
        start=first.start,
        end=first.end,
        text=next((c.text for c in cells.values() if c.text), None),
        question=next((c.question for c in cells.values() if c.question is not None), None),
        labels=tuple(c.label if c else None for c in row),
        presence=tuple(c.presence if c else None for c in row),
    )


# --- different segmentations -----------------------------------------------------------------


@dataclass
class AlignCounts:
    """How one coder's spans landed on the common sentence units."""

    spans: int = 0
    one_to_one: int = 0  # covers one unit (by at least half of the unit)
    split: int = 0  # covers several units
    within: int = 0  # shorter than half of every unit it touches: the unit it overlaps most
    outside: int = 0  # overlaps no unit (e.g. interviewer text): left out
    conflicts: int = 0  # units that got different codes from this coder's spans
    uncoded_units: int = 0  # units only other coders coded: "no factor" for this coder


def _overlaps(span: Coded, units: Sequence[Fragment], starts: list[int]) -> list[tuple[int, int]]:
    """(unit index, overlapping characters) for the units the span touches."""
    assert span.start is not None and span.end is not None
    index = max(bisect.bisect_right(starts, span.start) - 1, 0)
    found = []
    while index < len(units) and units[index].start < span.end:
        overlap = min(span.end, units[index].end) - max(span.start, units[index].start)
        if overlap > 0:
            found.append((index, overlap))
        index += 1
    return found


def align(
    spans: Sequence[Coded], units: Sequence[Fragment], counts: AlignCounts
) -> dict[int, Coded]:
    """Unit index -> the span coding it: each span codes every unit it covers by at least half
    of the unit's characters; where spans of one coder disagree, the largest overlap wins."""
    starts = [u.start for u in units]
    chosen: dict[int, tuple[int, Coded]] = {}
    conflicts: set[int] = set()
    for span in spans:
        counts.spans += 1
        touched = _overlaps(span, units, starts)
        hits = [(i, o) for i, o in touched if o >= MIN_UNIT_SHARE * (units[i].end - units[i].start)]
        if not touched:
            counts.outside += 1
        elif not hits:
            counts.within += 1
            hits = [max(touched, key=lambda t: t[1])]
        elif len(hits) == 1:
            counts.one_to_one += 1
        else:
            counts.split += 1
        for index, overlap in hits:
            before = chosen.get(index)
            if before and (before[1].label, before[1].presence) != (span.label, span.presence):
                conflicts.add(index)
            if before is None or overlap > before[0]:
                chosen[index] = (overlap, span)
    counts.conflicts += len(conflicts)
    return {index: span for index, (_, span) in chosen.items()}


def aligned(
    sources: Sequence[Source], reports: dict[str, Report], left_out: list[LeftOut]
) -> tuple[list[UnitRow], dict[str, AlignCounts]]:
    """Rows on the sentence units of each report that at least one coder coded."""
    from autocoder.segment import segment_report

    counts = [AlignCounts() for _ in sources]
    by_report = [_group(s.codings) for s in sources]
    rows, silent = [], 0
    for report_id in sorted(by_report[0]):
        units = sorted(segment_report(reports[report_id]), key=lambda u: u.start)
        maps = [align(b[report_id], units, c) for b, c in zip(by_report, counts, strict=True)]
        for index, unit in enumerate(units):
            cells = [m.get(index) for m in maps]
            if not any(cells):
                silent += 1
                continue
            for cell, count in zip(cells, counts, strict=True):
                count.uncoded_units += cell is None
            rows.append(_unit_row(unit, cells))
    if silent:
        left_out.append(LeftOut("all coders", silent, "sentence units no coder coded"))
    for source, count in zip(sources, counts, strict=True):
        if count.outside:
            reason = "spans outside every sentence unit (e.g. interviewer text)"
            left_out.append(LeftOut(source.coder, count.outside, reason))
    return rows, {s.coder: c for s, c in zip(sources, counts, strict=True)}


def _group(codings: Iterable[Coded]) -> dict[str, list[Coded]]:
    groups: dict[str, list[Coded]] = defaultdict(list)
    for c in codings:
        groups[c.report].append(c)
    return groups


def _unit_row(unit: Fragment, cells: Sequence[Coded | None]) -> UnitRow:
    return UnitRow(
        id=unit.id,
        report=unit.report,
        start=unit.start,
        end=unit.end,
        text=unit.text,
        question=unit.question,
        labels=tuple(c.label if c else NO_FACTOR_KEY for c in cells),
        presence=tuple(c.presence if c else None for c in cells),
    )


def report_texts(
    sources: Sequence[Source], reports_dir: Path | None, needed: set[str], warnings: list[str]
) -> dict[str, Report]:
    """The reports to segment: from project sources, else read from ``reports_dir``."""
    found: dict[str, Report] = {}
    for path in {s.project for s in sources if s.project is not None}:
        from autocoder.store import Project

        with Project.open(path, create=False) as project:
            for rid in needed - found.keys():
                if project.has_report(rid):
                    found[rid] = Report(rid, rid, project.report_text(rid))
    if reports_dir is not None and needed - found.keys():
        with catch_warnings():
            simplefilter("ignore", MetadataWarning)
            simplefilter("ignore", SkippedFileWarning)  # other files beside the reports
            for item in read_reports(iter_report_paths([reports_dir])):
                if isinstance(item, InputError):
                    warnings.append(f"report not read: {item}")
                else:
                    found.setdefault(item.id, item)
    missing = sorted(needed - found.keys())
    if missing:
        where = f"in {reports_dir}" if reports_dir else "without --reports DIR"
        raise InputError(
            str(reports_dir or sources[-1].spec),
            f"the sources code different spans of the same reports; aligning them needs the "
            f"report texts, and {len(missing)} report(s) are not found {where} (e.g. "
            f"{missing[0]!r}); give --reports DIR with the report files",
        )
    return found


def check_offsets(source: Source, reports: dict[str, Report]) -> None:
    """Every span's offsets index its report's text (and match its text, when given)."""
    unplaced = sum(c.start is None or c.report not in reports for c in source.codings)
    if unplaced:
        raise InputError(
            source.spec,
            f"{unplaced} of {len(source.codings)} codings have no report and offsets, so they "
            "cannot be aligned with the other sources' different spans; give report, start, end",
        )
    bad = [c for c in source.codings if not _fits(c, reports[c.report].text)]
    if bad:
        raise InputError(
            source.spec,
            f"{len(bad)} of {len(source.codings)} spans do not match the report text at their "
            f"offsets (e.g. {bad[0].id!r}); offsets index the report's normalised text",
        )


def _fits(c: Coded, text: str) -> bool:
    if c.start is None or c.end is None or c.end > len(text) or c.start >= c.end:
        return False
    return c.text is None or text[c.start : c.end].strip() == c.text.strip()
