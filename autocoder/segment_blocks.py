"""A report's structure: its lines grouped into blocks of respondent text.

Each block knows the question it answers, who speaks, and its paragraph and answer number;
the sentence unit splits running-text blocks further (autocoder.segment), the paragraph and
answer units group them. Lines come classified from autocoder.segment_lines.

Structure rules:

- Question headings: "Vraag 12", "Vraag 12:", "Vraag 12.", "V12:", "**Vraag 12** ...",
  "# Vraag 12", and numbered lines "12." / "12)" whose text is empty or ends in "?"
  ("12. Hoe werkt u samen?", "**12. Hoe ...?**"). A numbered line whose text does not end in
  "?" is a list item ("1. Te weinig tijd."), and so is a numbered "...?" line directly under
  a list item or under a line ending in ":" (no blank line between). A "Vraag N" line may
  carry the answer after its last "?". A line right under a question heading continues the
  question when it starts in lower case, or ends in "?" while the heading had no "?" yet.
  Bold lines ending in "?" are unnumbered questions (the question number stays). A
  fragment's question is the latest number above it (None before any).
- Speaker turns: "I:", "R:", "V:" (vraag), "A:" (antwoord), "Q:", "Interviewer:",
  "Respondent:", "Onderzoeker:", "Geïnterviewde:", "Vraag:", "Antwoord:", and initials of two
  or three capitals ("JV:"); also in bold, and with a note in brackets ("I (vraag 34):").
  Interviewer turns are skipped; one that names "vraag 12" (or starts with a question
  number) sets the question. Initials count as respondent speakers. A respondent's speaker
  lasts across blank lines until the next label, heading or question; an interviewer's turn
  goes on while the next lines start in lower case or end in "?".
- Line breaks inside a paragraph are no boundary, except before a list item, question or
  speaker turn, before or after a "Label: ..." line ("Duur: 60 minuten"), and after a short
  line (at most 50 characters, and clearly shorter than the longest line around it) that
  has no final punctuation, does not end in an article/preposition/conjunction, and is
  followed by a capitalised line. Blank lines always are.
- A plain-prose line of at most 8 words without final punctuation that starts a paragraph,
  is followed by capitalised running text and is not right after a question, is a heading
  ("Achtergrond"), and so not a fragment.
- The report's header (everything before its first question, or first speaker turn that is
  more than a label: a title, the date and place, "Respondent: mevr. J. de Vries", the cells
  of a metadata table) holds no answers: there, a one-line paragraph of at most
  HEADER_LINE_WORDS words without final punctuation ("Datum", "4 maart 2026", "Duur: 60
  minuten") is not a fragment. Sentences there (an introduction of the respondent) stay. In a
  report without any question or turn only a leading run of such lines that prose follows is
  header (two or more, or one "Label: value" line: a metadata table's cells); the rest stays.
- A list item is one fragment, also in the sentence unit; unindented lines under an item
  that ends a sentence start a new paragraph. A bold lead-in ("**Tijd:** ...") at the start
  of a line is a label and not part of the fragment.
- Fragments without any letter or digit are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from autocoder.segment_lines import (
    BLANK,
    HEADING,
    ITEM,
    QUESTION,
    TEXT,
    TURN,
    Line,
    report_lines,
    strip_span,
)

MAX_BLOCK_CHARS = 100_000  # longer blocks go to spaCy in pieces (bounded memory per Doc)
SHORT_LINE_CHARS = 50
SHORT_LINE_SHARE = 0.7
HEADING_MAX_CHARS = 60
HEADING_MAX_WORDS = 8
HEADER_LINE_WORDS = 12

_LABEL_LINE = re.compile(r"(?=[^:\n]{1,25}:\s)[A-ZÀ-Þ][\w\-/]*(?: [\w\-/]+){0,2}:\s")
_SENTENCE_END = re.compile(r"[.!?…][\"”’')\]]*\s")

# a line ending in one of these words stops mid-sentence: no heading, no boundary after it
_NO_FINAL_WORDS = frozenset(
    "de het een van met en of te dat die om als maar tot want omdat naar".split()
)

_TERMINAL = frozenset(".!?…")


@dataclass(slots=True)
class Block:
    """A run of respondent text: its span, whether it is a list item, who speaks, the question
    it answers, and its paragraph and answer numbers (blocks that share one are grouped)."""

    start: int
    end: int
    item: bool
    speaker: str | None
    question: int | None
    paragraph: int
    answer: int


def _heading_like(line: str) -> bool:
    if not line or len(line) > HEADING_MAX_CHARS:
        return False
    if not (line[0].isupper() or line[0].isdigit()):
        return False
    if not (line[-1].isalnum() or line[-1] == ")") or _LABEL_LINE.match(line):
        return False
    words = line.split()
    if len(words) > HEADING_MAX_WORDS or words[-1].lower() in _NO_FINAL_WORDS:
        return False
    return any(ch.isalpha() for ch in line)


def _starts_capitalised(line: str) -> bool:
    first = line.lstrip("„“\"‘'«(")[:1]
    return bool(first) and (first.isupper() or first.isdigit())


def _break_is_boundary(previous: str, following: str, width: int) -> bool:
    """Is a single line break between these two lines of running text a sentence boundary?

    Only after a line without final punctuation that does not end in an article,
    preposition or conjunction, before a capitalised line, and when either line is a
    "Label: ..." line or the line before is short: at most SHORT_LINE_CHARS and clearly
    shorter than the longest line around (``width``; narrow columns of wrapped text stay
    together).
    """
    if not previous or not following:
        return False
    if not (previous[-1].isalnum() or previous[-1] == ")"):
        return False
    if not _starts_capitalised(following):
        return False
    if previous.rsplit(None, 1)[-1].lower() in _NO_FINAL_WORDS:
        return False
    if _LABEL_LINE.match(following) or _LABEL_LINE.match(previous):
        return True
    return len(previous) <= SHORT_LINE_CHARS and len(previous) <= SHORT_LINE_SHARE * width


class _Builder:
    """Turns classified lines into blocks of respondent text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.blocks: list[Block] = []
        self.question: int | None = None
        self.speaker: str | None = None
        self.paragraph = 0
        self.answer = 0
        self.current: Block | None = None
        self.current_last_line = ""
        self.in_question = False  # the previous line was a question or interviewer turn
        self.question_open = False  # ... and that line had no "?" yet
        self.last_kind = BLANK  # kind of the previous non-blank line
        self.in_header = True  # no question or speaker turn yet
        self.header_blocks: list[int] = []  # indices of blocks made in the header

    def close(self) -> None:
        if self.current is not None:
            if self.in_header:
                self.header_blocks.append(len(self.blocks))
            self.blocks.extend(split_long(self.text, self.current))
            self.current = None

    def structure(self) -> None:
        self.close()
        self.answer += 1

    def open(self, line_start: int, line_end: int, item: bool, new_paragraph: bool = True) -> None:
        self.close()
        if new_paragraph:
            self.paragraph += 1
        self.current = Block(
            line_start,
            line_end,
            item,
            None if self.speaker == "interviewer" else self.speaker,
            self.question,
            self.paragraph,
            self.answer,
        )
        self.current_last_line = self.text[line_start:line_end]


def report_blocks(text: str) -> list[Block]:
    """The report's respondent text as blocks, in order, with speaker and question."""
    lines = report_lines(text)
    builder = _Builder(text)
    for index, line in enumerate(lines):
        if builder.in_header and _ends_header(text, line):
            builder.close()  # what came before was the header
            builder.in_header = False
        _feed(builder, lines, index, line)
        if line.kind != BLANK:
            builder.last_kind = line.kind
    builder.close()
    if builder.in_header:  # no question or turn at all: only a leading run of labels is header
        return builder.blocks[_leading_header(text, builder.blocks) :]
    drop = {i for i in builder.header_blocks if _header_line(text, builder.blocks[i])}
    return [block for i, block in enumerate(builder.blocks) if i not in drop]


def _ends_header(text: str, line: Line) -> bool:
    """A question, a numbered heading, or a speaker turn that says more than a label."""
    if line.kind == QUESTION or (line.kind == HEADING and line.number is not None):
        return True
    return line.kind == TURN and not _label_like(text[line.start : line.end])


def _leading_header(text: str, blocks: list[Block]) -> int:
    """How many blocks open a report without questions or turns as its header: a run of label
    and value lines (a metadata table's cells, "Datum: 3 maart 2026") that prose follows; two
    or more such lines, or one "Label: value" line. Nothing when no prose follows."""
    count = 0
    while count < len(blocks) and _header_line(text, blocks[count]):
        count += 1
    if count == len(blocks):
        return 0
    line_start = text.rfind("\n", 0, blocks[0].start) + 1  # with its label ("Respondent: R02")
    if count >= 2 or (count == 1 and _LABEL_LINE.match(text[line_start : blocks[0].end])):
        return count
    return 0


def _header_line(text: str, block: Block) -> bool:
    """A header block that is a title, label or value rather than prose."""
    return not block.item and _label_like(text[block.start : block.end])


def _label_like(content: str) -> bool:
    """One line of at most HEADER_LINE_WORDS words without final punctuation (periods inside
    are allowed: initials and titles, "mevr. J. de Vries")."""
    if "\n" in content or content[-1:] in _TERMINAL:
        return False
    return len(content.split()) <= HEADER_LINE_WORDS


def _next_text_line(lines: list[Line], index: int) -> Line | None:
    for following in range(index + 1, len(lines)):
        if lines[following].kind != BLANK:
            return lines[following]
    return None


def _feed(b: _Builder, lines: list[Line], index: int, line: Line) -> None:
    text = b.text
    kind = line.kind
    if kind == BLANK:
        b.close()
        b.in_question = False
        if b.speaker == "interviewer":
            b.speaker = None
        return
    if kind in (HEADING, QUESTION):
        b.structure()
        b.speaker = None
        if line.number is not None:
            b.question = line.number
        b.in_question = kind == QUESTION
        b.question_open = kind == QUESTION and not line.has_question_mark
        if line.remainder is not None:
            b.in_question = False
            b.open(line.remainder, line.end, item=False)
        return
    if kind == TURN:
        if line.speaker == "interviewer":
            b.structure()
            b.speaker = "interviewer"
            if line.number is not None:
                b.question = line.number
            b.in_question = True
            b.question_open = True  # an interviewer may go on asking on the next line
            return
        if line.speaker != b.speaker:
            b.structure()
        b.close()
        b.speaker = line.speaker
        b.in_question = False
        if line.start < line.end:
            b.open(line.start, line.end, item=False)
        return
    content = text[line.start : line.end]
    if kind == ITEM:
        b.in_question = False
        if b.speaker == "interviewer":
            b.speaker = None
        b.open(line.start, line.end, item=True)
        return
    # plain text
    if b.in_question:
        if content[:1].islower() or (b.question_open and content.endswith("?")):
            return
        b.in_question = False
        if b.speaker == "interviewer":
            b.speaker = None
        b.open(line.start, line.end, item=False)
        return
    current = b.current
    if current is not None:
        previous = b.current_last_line
        if current.item:
            ends_sentence = previous[-1:] in _TERMINAL
            if line.indented or not (
                ends_sentence or _break_is_boundary(previous, content, line.width)
            ):
                current.end = line.end
                b.current_last_line = content
                return
            b.open(line.start, line.end, item=False)
            return
        if _break_is_boundary(previous, content, line.width):
            b.open(line.start, line.end, item=False, new_paragraph=False)
            return
        current.end = line.end
        b.current_last_line = content
        return
    if _heading_like(content) and b.last_kind not in (QUESTION, TURN):
        following = _next_text_line(lines, index)
        next_text = text[following.start : following.end] if following is not None else ""
        if (
            following is not None
            and following.kind in (TEXT, ITEM)
            and _starts_capitalised(next_text)
            and not _heading_like(next_text)
            # directly followed by text (no blank line): only if the break is a boundary
            and (
                following is not lines[index + 1]
                or _break_is_boundary(content, next_text, line.width)
            )
        ):
            b.structure()
            b.speaker = None
            return
    b.open(line.start, line.end, item=False)


def split_long(text: str, block: Block) -> list[Block]:
    """Cut a block longer than MAX_BLOCK_CHARS, preferably after a sentence end."""
    if block.end - block.start <= MAX_BLOCK_CHARS:
        return [block]
    pieces: list[Block] = []
    start = block.start
    while block.end - start > MAX_BLOCK_CHARS:
        limit = start + MAX_BLOCK_CHARS
        cut = None
        for match in _SENTENCE_END.finditer(text, start + MAX_BLOCK_CHARS // 2, limit):
            cut = match.end()
        if cut is None:
            space = max(text.rfind(" ", start + 1, limit), text.rfind("\n", start + 1, limit))
            cut = space + 1 if space > start else limit
        piece_start, piece_end = strip_span(text, start, cut)
        if piece_start < piece_end:
            pieces.append(_with_span(block, piece_start, piece_end))
        start = cut
    piece_start, piece_end = strip_span(text, start, block.end)
    if piece_start < piece_end:
        pieces.append(_with_span(block, piece_start, piece_end))
    return pieces


def _with_span(block: Block, start: int, end: int) -> Block:
    return Block(
        start, end, block.item, block.speaker, block.question, block.paragraph, block.answer
    )
