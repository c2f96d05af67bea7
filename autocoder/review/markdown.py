"""The light Markdown our ingest writes ('# ' headings, '**bold**', '- ' items), for the pages.

No HTML is made here: a text is cut into runs of (text, CSS classes) that the templates
escape like any other text. Markup characters stay in the page as runs of class ``mk``
(hidden by the stylesheet), so the page's text is the report text character for character
and every fragment offset still points at the right characters. Also: the wording of each
numbered question, read from the report's own question lines.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass

from autocoder.segment_lines import QUESTION, TURN, report_lines

HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+(?=\S)(.*)$", re.MULTILINE)
ITEM = re.compile(r"^[ \t]*[-*][ \t]+(?=\S)", re.MULTILINE)
BOLD = re.compile(r"\*\*(?=[^\s*])([^\n]*?[^\s*])\*\*")
QUESTION_PREFIX = re.compile(r"(?i)^(?:vraag\s*(?:nr\.?\s*)?)?\d{1,3}[a-z]?\s*[.:)]?\s*")
MAX_WORDING = 240

Run = tuple[str, str]  # text, CSS classes ("" for plain text)


@dataclass(frozen=True)
class Marks:
    """Where a text's markup is: sorted (start, end, class) intervals."""

    intervals: tuple[tuple[int, int, str], ...]

    @classmethod
    def of(cls, text: str) -> Marks:
        found: list[tuple[int, int, str]] = []
        for match in HEADING.finditer(text):
            found.append((match.start(), match.start(2), "mk"))
            found.append((match.start(2), match.end(2), f"md-h md-h{len(match.group(1))}"))
        for match in ITEM.finditer(text):
            found.append((match.start(), match.end(), "md-li"))
        for match in BOLD.finditer(text):
            found.append((match.start(), match.start(1), "mk"))
            found.append((match.start(1), match.end(1), "md-b"))
            found.append((match.end(1), match.end(), "mk"))
        return cls(tuple(sorted(found)))

    def runs(self, text: str, start: int, end: int) -> list[Run]:
        """``text[start:end]`` as runs, each with the classes of the marks covering it."""
        points = {start, end}
        for a, b, _ in self.intervals:
            if a < end and b > start:
                points.update(p for p in (a, b) if start < p < end)
        cuts = sorted(points)
        runs: list[Run] = []
        starts = [a for a, _, _ in self.intervals]
        for left, right in itertools.pairwise(cuts):
            upto = bisect.bisect_right(starts, left)
            classes = [c for a, b, c in self.intervals[:upto] if a <= left and right <= b]
            runs.append((text[left:right], " ".join(classes)))
        return runs


def pieces_with_runs(
    text: str, pieces: list[tuple[int, int, str | None]]
) -> list[dict[str, object]]:
    """(start, end, fragment id or None) pieces as template pieces with their runs."""
    marks = Marks.of(text)
    return [{"fid": fid, "runs": marks.runs(text, a, b)} for a, b, fid in pieces]


def question_wordings(text: str) -> dict[int, str]:
    """Question number -> its wording, from the first line of the report that sets it."""
    found: dict[int, str] = {}
    for line in report_lines(text):
        if line.number is None or line.number in found or line.kind not in (QUESTION, TURN):
            continue
        stop = line.remainder if line.remainder is not None else line.end
        wording = QUESTION_PREFIX.sub("", text[line.start : stop].replace("**", "")).strip()
        if wording:
            found[line.number] = wording[:MAX_WORDING]
    return found
