"""What each line of a report is, by precompiled regexes (fast), for autocoder.segment_blocks.

A line is blank, a heading, a question heading, a speaker turn, a list item or running text,
with its content span (list markers, speaker labels, bold lead-ins and markers left out), the
question number it sets and who speaks. The structure rules are listed in
autocoder.segment_blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

BLANK, HEADING, QUESTION, TURN, ITEM, TEXT = range(6)

_MD_HEADING = re.compile(r"\s{0,3}#{1,6}(?:\s|$)")
_VRAAG = re.compile(
    r"(?i)(?:vraag\s*(?:nr\.?\s*)?(\d{1,3})(?![\d.,:]\d)|v\s?(\d{1,3})[a-z]?\s*(?:[.:)]|$))"
)
_NUMBERED = re.compile(r"(\d{1,3})[.)](?:\s+(.*))?$")
_VRAAG_ANYWHERE = re.compile(r"(?i)\bvraag\s*(?:nr\.?\s*)?(\d{1,3})\b")
_SPEAKER = re.compile(
    r"\s*(?:\*\*)?"
    r"(?P<label>(?i:interviewer|interviewster|onderzoeker|respondent|geïnterviewde|vraag|antwoord"
    r"|int|resp)|[A-Z]{1,3})"
    r"\.?(?:\*\*)?(?:\s*\([^()\n]{0,40}\))?\s*:(?:\*\*)?(?=\s|$)\s*"
)
_INTERVIEWER_LABELS = frozenset(
    {"i", "v", "q", "interviewer", "interviewster", "onderzoeker", "vraag", "int"}
)
_RESPONDENT_LABELS = frozenset({"r", "a", "respondent", "geïnterviewde", "antwoord", "resp"})
_NOT_SPEAKERS = frozenset({"NB", "PS", "PPS", "CC", "BCC"})
_ITEM = re.compile(r"\s*(?:[-*•◦▪–+]|\d{1,3}[.)]|[a-z]\))\s+(?=\S)")
_BOLD_LEAD = re.compile(r"\*\*[^*\n]+?\*\*:?\s*(?=\S)")
_LAST_QUESTION_MARK = re.compile(r".*\?(?:\*\*)?\s+(?=\S)")


@dataclass(slots=True)
class Line:
    """One line of a report: its kind (BLANK ... TEXT) and its content."""

    kind: int
    start: int  # content start (after markers and labels)
    end: int  # content end (whitespace and closing bold markers excluded)
    indented: bool = False
    number: int | None = None  # question number set by this line
    speaker: str | None = None  # TURN: "interviewer", "respondent" or initials
    remainder: int | None = None  # QUESTION: start of answer text on the same line
    has_question_mark: bool = False
    width: int = 0  # longest text line of the run of non-blank lines this line is in


def report_lines(text: str) -> list[Line]:
    """Every line of the report, classified, each knowing the width of its run of lines."""
    lines: list[Line] = []
    after_item = False
    for line_start, line_end in _iter_lines(text):
        line = _classify(text, line_start, line_end, after_item)
        # a numbered "...?" line directly after a list item or a line ending in ":" is an item
        after_item = line.kind == ITEM or (
            line.kind == TEXT and text[line.start : line.end].endswith(":")
        )
        lines.append(line)
    _set_widths(lines)
    return lines


def _iter_lines(text: str) -> Iterator[tuple[int, int]]:
    position = 0
    while True:
        newline = text.find("\n", position)
        if newline < 0:
            yield position, len(text)
            return
        yield position, newline
        position = newline + 1


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _content(text: str, start: int, end: int) -> tuple[int, int]:
    """Strip whitespace, a bold lead-in label, and bold markers around the whole content."""
    start, end = strip_span(text, start, end)
    if text.startswith("**", start):
        closing = text.find("**", start + 2, end)
        if closing == end - 2 and closing > start + 2:
            return strip_span(text, start + 2, end - 2)
        lead = _BOLD_LEAD.match(text, start, end)
        if lead:
            return strip_span(text, lead.end(), end)
    return start, end


def _question_number(clean: str) -> tuple[bool, int | None]:
    """(is a question heading, its number) for a line without bold markers."""
    match = _VRAAG.match(clean)
    if match:
        return True, int(match.group(1) or match.group(2))
    match = _NUMBERED.match(clean)
    if match:
        rest = (match.group(2) or "").strip()
        if not rest or rest.endswith("?"):
            return True, int(match.group(1))
    return False, None


def _classify(text: str, line_start: int, line_end: int, after_item: bool) -> Line:
    start, end = strip_span(text, line_start, line_end)
    if start == end:
        return Line(BLANK, start, end)
    raw = text[start:end]
    indented = start > line_start
    if _MD_HEADING.match(text, line_start, line_end):
        clean = raw.lstrip("#").replace("**", "").strip()
        is_question, number = _question_number(clean)
        return Line(HEADING, start, end, number=number if is_question else None)
    clean = raw.replace("**", "").replace("__", "").strip()
    is_question, number = _question_number(clean)
    if is_question and _VRAAG.match(clean):
        line = Line(QUESTION, start, end, number=number, has_question_mark="?" in clean)
        tail = _LAST_QUESTION_MARK.match(text, start, end)
        if tail:
            rest_start, rest_end = _content(text, tail.end(), end)
            if rest_start < rest_end and not text[rest_start:rest_end].endswith("?"):
                line.remainder = rest_start
        return line
    if is_question and not after_item:
        return Line(QUESTION, start, end, number=number, has_question_mark="?" in clean)
    speaker = _SPEAKER.match(text, start, end)
    if speaker and speaker.group("label") not in _NOT_SPEAKERS:
        label = speaker.group("label")
        lowered = label.lower()
        content_start, content_end = _content(text, speaker.end(), end)
        content = text[content_start:content_end]
        if lowered in _INTERVIEWER_LABELS:
            clean_content = content.replace("**", "").strip()
            is_question, number = _question_number(clean_content)
            if not is_question:
                found = _VRAAG_ANYWHERE.search(raw.replace("**", ""))
                number = int(found.group(1)) if found else None
            return Line(
                TURN,
                content_start,
                content_end,
                number=number,
                speaker="interviewer",
                has_question_mark=content.rstrip("*").endswith("?"),
            )
        who = "respondent" if lowered in _RESPONDENT_LABELS else label
        return Line(TURN, content_start, content_end, speaker=who)
    if raw.startswith("**") and raw.endswith("**") and raw.count("**") == 2 and len(raw) > 4:
        kind = QUESTION if clean.endswith("?") else HEADING
        return Line(kind, start, end, has_question_mark=kind == QUESTION)
    item = _ITEM.match(text, line_start, line_end)
    if item:
        content_start, content_end = _content(text, item.end(), end)
        return Line(ITEM, content_start, content_end, indented=indented)
    content_start, content_end = _content(text, start, end)
    return Line(TEXT, content_start, content_end, indented=indented)


def _set_widths(lines: list[Line]) -> None:
    """Give each line the longest TEXT/ITEM line length of its run of non-blank lines."""
    run_start = 0
    for index in range(len(lines) + 1):
        if index == len(lines) or lines[index].kind == BLANK:
            run = lines[run_start:index]
            width = max(
                (line.end - line.start for line in run if line.kind in (TEXT, ITEM)), default=0
            )
            for line in run:
                line.width = width
            run_start = index + 1
