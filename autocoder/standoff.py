"""Stand-off codings (report file + character offsets + labels) -> coded fragment records.

An annotation file is JSON: ``{"report": "name.md", "codings": [{"start", "end", "factor",
"presence", "priority", "tags", "quote"}, ...]}``. Offsets index the report's normalised text
as ``autocoder.ingest`` reads it; ``quote`` must equal that slice, so an edited report is
caught instead of silently mis-anchored. The question number and speaker of each coding come
from the segmentation of the report, as they would for new reports.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from autocoder.codebook import Codebook
from autocoder.errors import InputError
from autocoder.ingest import read_report
from autocoder.jsonl import record_from_dict
from autocoder.records import Fragment, FragmentRecord, Report
from autocoder.segment import segment_report

CODER = "autocoder-team"


def load_annotations(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"unreadable annotation file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("codings"), list):
        raise InputError(str(path), "an annotation file has 'report' and a 'codings' list")
    return data


def _context(fragments: list[Fragment], start: int) -> Fragment | None:
    """The segmented fragment that contains (or last precedes) ``start``."""
    starts = [f.start for f in fragments]
    index = bisect.bisect_right(starts, start) - 1
    return fragments[index] if index >= 0 else (fragments[0] if fragments else None)


def coded_records(
    report: Report, codings: list[dict[str, Any]], codebook: Codebook, source: str
) -> Iterator[FragmentRecord]:
    fragments = segment_report(report)
    for number, coding in enumerate(codings, start=1):
        start, end = coding.get("start"), coding.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
            raise InputError(source, f"coding {number}: bad offsets {start!r}-{end!r}")
        text = report.text[start:end]
        if end > len(report.text) or text != coding.get("quote", text):
            raise InputError(source, f"coding {number}: quote does not match the report text")
        context = _context(fragments, start)
        data = {
            "id": f"{report.id}:{start}-{end}",
            "report": report.id,
            "respondent": report.meta.respondent,
            "group": report.meta.group.value,
            "question": context.question if context else None,
            "speaker": context.speaker if context else None,
            "start": start,
            "end": end,
            "text": text,
            "factor": coding.get("factor"),
            "presence": coding.get("presence"),
            "priority": coding.get("priority"),
            "coder": CODER,
            "source": report.source,
            "tags": list(coding.get("tags") or []),
        }
        try:
            yield record_from_dict(data, codebook)
        except ValueError as exc:
            raise InputError(source, f"coding {number}: {exc}") from None


def build_records(
    reports_dir: Path, annotations_dir: Path, codebook: Codebook
) -> Iterator[FragmentRecord]:
    """All coded records of a corpus, in file-name order then offset order."""
    for path in sorted(annotations_dir.glob("*.json")):
        data = load_annotations(path)
        report = read_report(reports_dir / str(data.get("report")))
        codings = sorted(data["codings"], key=lambda c: (c.get("start", 0), c.get("end", 0)))
        yield from coded_records(report, codings, codebook, str(path))
