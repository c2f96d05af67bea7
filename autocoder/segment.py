"""Split reports into fragments, and analyse fragment texts, with a Dutch spaCy pipeline.

spaCy objects never leave this module: the public functions take and return plain records.

Two layers:

1. Report structure, per line with precompiled regexes (fast): headings, question headings,
   speaker turns, list items and paragraphs become *blocks* of respondent text, each knowing
   the question it answers and who speaks. Not fragments: "# headings", bold heading lines,
   question headings, interviewer turns, and short title lines in plain prose.
2. Sentences inside running-text blocks, by the ``autocoder_sentences`` spaCy component
   (see autocoder.segment_components), run with ``nlp.pipe`` over short chunks of blocks.

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
- A list item is one fragment, also in the sentence unit; unindented lines under an item
  that ends a sentence start a new paragraph. A bold lead-in ("**Tijd:** ...") at the start
  of a line is a label and not part of the fragment.
- Fragments without any letter or digit are dropped.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Literal, get_args

import spacy
from spacy.attrs import IS_PUNCT, IS_SPACE, LEMMA, LOWER, ORTH
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

from autocoder.errors import AutocoderError
from autocoder.records import Fragment, Report
from autocoder.segment_components import (
    CUES_COMPONENT,
    FLAGS_KEY,
    HEDGE_CUES,
    HEDGE_PHRASES,
    LOWERS_KEY,
    NEGATION_CUES,
    NEGATION_PHRASES,
    REGIONS_KEY,
    SENTENCE_CHARS_KEY,
    SENTENCE_COMPONENT,
    TEXT_KEY,
    add_special_cases,
    cue_flags,
    register_extensions,
)

Unit = Literal["sentence", "paragraph", "answer"]
UNITS: tuple[str, ...] = get_args(Unit)

MAX_BLOCK_CHARS = 100_000  # longer blocks go to spaCy in pieces (bounded memory per Doc)
# Consecutive blocks may share one Doc up to this span. Kept small: spaCy's tokenizer stops
# caching for the rest of a Doc after an abbreviation, so short Docs tokenise faster.
CHUNK_CHARS = 1000
SHORT_LINE_CHARS = 50
SHORT_LINE_SHARE = 0.7
HEADING_MAX_CHARS = 60
HEADING_MAX_WORDS = 8


@dataclass(frozen=True, slots=True)
class TextAnalysis:
    """Token-level view of one text for the classifier (whitespace tokens left out)."""

    tokens: tuple[str, ...]  # lowercased
    lemmas: tuple[str, ...]
    negated: tuple[bool, ...]
    cue: tuple[bool, ...]
    hedge: tuple[bool, ...]
    is_punct: tuple[bool, ...]


# --- the pipeline ---------------------------------------------------------------------------


@cache
def _pipeline() -> Language:
    """spacy.blank("nl") + lookup lemmatizer + autocoder components; built once per process."""
    register_extensions()
    nlp = spacy.blank("nl")
    add_special_cases(nlp)
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.add_pipe(SENTENCE_COMPONENT)
    nlp.add_pipe(CUES_COMPONENT)
    try:
        nlp.initialize()
    except (OSError, ValueError, ImportError) as exc:
        raise AutocoderError(
            "cannot build the Dutch pipeline: the lemma tables of spacy-lookups-data are missing"
        ) from exc
    return nlp


_SEGMENT_DISABLED = ["lemmatizer", CUES_COMPONENT]
_ANALYSE_DISABLED = [SENTENCE_COMPONENT]


# --- line structure -------------------------------------------------------------------------

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
_LABEL_LINE = re.compile(r"(?=[^:\n]{1,25}:\s)[A-ZÀ-Þ][\w\-/]*(?: [\w\-/]+){0,2}:\s")
_LAST_QUESTION_MARK = re.compile(r".*\?(?:\*\*)?\s+(?=\S)")
_SENTENCE_END = re.compile(r"[.!?…][\"”’')\]]*\s")

# a line ending in one of these words stops mid-sentence: no heading, no boundary after it
_NO_FINAL_WORDS = frozenset(
    "de het een van met en of te dat die om als maar tot want omdat naar".split()
)
_SURROGATE = re.compile("[\ud800-\udfff]")

_TERMINAL = frozenset(".!?…")


@dataclass(slots=True)
class _Line:
    kind: int
    start: int  # content start (after markers and labels)
    end: int  # content end (whitespace and closing bold markers excluded)
    indented: bool = False
    number: int | None = None  # question number set by this line
    speaker: str | None = None  # TURN: "interviewer", "respondent" or initials
    remainder: int | None = None  # QUESTION: start of answer text on the same line
    has_question_mark: bool = False
    width: int = 0  # longest text line of the run of non-blank lines this line is in


@dataclass(slots=True)
class _Block:
    start: int
    end: int
    item: bool
    speaker: str | None
    question: int | None
    paragraph: int
    answer: int


def _spacy_safe(text: str) -> str:
    """Lone surrogates (undecodable input) break spaCy; replace them one-for-one."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _iter_lines(text: str) -> Iterator[tuple[int, int]]:
    position = 0
    while True:
        newline = text.find("\n", position)
        if newline < 0:
            yield position, len(text)
            return
        yield position, newline
        position = newline + 1


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _content(text: str, start: int, end: int) -> tuple[int, int]:
    """Strip whitespace, a bold lead-in label, and bold markers around the whole content."""
    start, end = _strip_span(text, start, end)
    if text.startswith("**", start):
        closing = text.find("**", start + 2, end)
        if closing == end - 2 and closing > start + 2:
            return _strip_span(text, start + 2, end - 2)
        lead = _BOLD_LEAD.match(text, start, end)
        if lead:
            return _strip_span(text, lead.end(), end)
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


def _classify(text: str, line_start: int, line_end: int, after_item: bool) -> _Line:
    start, end = _strip_span(text, line_start, line_end)
    if start == end:
        return _Line(BLANK, start, end)
    raw = text[start:end]
    indented = start > line_start
    if _MD_HEADING.match(text, line_start, line_end):
        clean = raw.lstrip("#").replace("**", "").strip()
        is_question, number = _question_number(clean)
        return _Line(HEADING, start, end, number=number if is_question else None)
    clean = raw.replace("**", "").replace("__", "").strip()
    is_question, number = _question_number(clean)
    if is_question and _VRAAG.match(clean):
        line = _Line(QUESTION, start, end, number=number, has_question_mark="?" in clean)
        tail = _LAST_QUESTION_MARK.match(text, start, end)
        if tail:
            rest_start, rest_end = _content(text, tail.end(), end)
            if rest_start < rest_end and not text[rest_start:rest_end].endswith("?"):
                line.remainder = rest_start
        return line
    if is_question and not after_item:
        return _Line(QUESTION, start, end, number=number, has_question_mark="?" in clean)
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
            return _Line(
                TURN,
                content_start,
                content_end,
                number=number,
                speaker="interviewer",
                has_question_mark=content.rstrip("*").endswith("?"),
            )
        who = "respondent" if lowered in _RESPONDENT_LABELS else label
        return _Line(TURN, content_start, content_end, speaker=who)
    if raw.startswith("**") and raw.endswith("**") and raw.count("**") == 2 and len(raw) > 4:
        kind = QUESTION if clean.endswith("?") else HEADING
        return _Line(kind, start, end, has_question_mark=kind == QUESTION)
    item = _ITEM.match(text, line_start, line_end)
    if item:
        content_start, content_end = _content(text, item.end(), end)
        return _Line(ITEM, content_start, content_end, indented=indented)
    content_start, content_end = _content(text, start, end)
    return _Line(TEXT, content_start, content_end, indented=indented)


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
        self.blocks: list[_Block] = []
        self.question: int | None = None
        self.speaker: str | None = None
        self.paragraph = 0
        self.answer = 0
        self.current: _Block | None = None
        self.current_last_line = ""
        self.in_question = False  # the previous line was a question or interviewer turn
        self.question_open = False  # ... and that line had no "?" yet
        self.last_kind = BLANK  # kind of the previous non-blank line

    def close(self) -> None:
        if self.current is not None:
            self.blocks.extend(_split_long(self.text, self.current))
            self.current = None

    def structure(self) -> None:
        self.close()
        self.answer += 1

    def open(self, line_start: int, line_end: int, item: bool, new_paragraph: bool = True):
        self.close()
        if new_paragraph:
            self.paragraph += 1
        self.current = _Block(
            line_start,
            line_end,
            item,
            None if self.speaker == "interviewer" else self.speaker,
            self.question,
            self.paragraph,
            self.answer,
        )
        self.current_last_line = self.text[line_start:line_end]


def _parse(text: str) -> list[_Block]:
    """The report's respondent text as blocks, in order, with speaker and question."""
    lines: list[_Line] = []
    after_item = False
    for line_start, line_end in _iter_lines(text):
        line = _classify(text, line_start, line_end, after_item)
        # a numbered "...?" line directly after a list item or a line ending in ":" is an item
        after_item = line.kind == ITEM or (
            line.kind == TEXT and text[line.start : line.end].endswith(":")
        )
        lines.append(line)
    _set_widths(lines)
    builder = _Builder(text)
    for index, line in enumerate(lines):
        _feed(builder, lines, index, line)
        if line.kind != BLANK:
            builder.last_kind = line.kind
    builder.close()
    return builder.blocks


def _set_widths(lines: list[_Line]) -> None:
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


def _next_text_line(lines: list[_Line], index: int) -> _Line | None:
    for following in range(index + 1, len(lines)):
        if lines[following].kind != BLANK:
            return lines[following]
    return None


def _feed(b: _Builder, lines: list[_Line], index: int, line: _Line) -> None:
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


def _split_long(text: str, block: _Block) -> list[_Block]:
    """Cut a block longer than MAX_BLOCK_CHARS, preferably after a sentence end."""
    if block.end - block.start <= MAX_BLOCK_CHARS:
        return [block]
    pieces: list[_Block] = []
    start = block.start
    while block.end - start > MAX_BLOCK_CHARS:
        limit = start + MAX_BLOCK_CHARS
        cut = None
        for match in _SENTENCE_END.finditer(text, start + MAX_BLOCK_CHARS // 2, limit):
            cut = match.end()
        if cut is None:
            space = max(text.rfind(" ", start + 1, limit), text.rfind("\n", start + 1, limit))
            cut = space + 1 if space > start else limit
        piece_start, piece_end = _strip_span(text, start, cut)
        if piece_start < piece_end:
            pieces.append(_with_span(block, piece_start, piece_end))
        start = cut
    piece_start, piece_end = _strip_span(text, start, block.end)
    if piece_start < piece_end:
        pieces.append(_with_span(block, piece_start, piece_end))
    return pieces


def _with_span(block: _Block, start: int, end: int) -> _Block:
    return _Block(
        start, end, block.item, block.speaker, block.question, block.paragraph, block.answer
    )


# --- fragments ------------------------------------------------------------------------------


_WORD_CHAR = re.compile(r"[^\W_]")


def _fragment(report: Report, start: int, end: int, block: _Block) -> Fragment | None:
    start, end = _strip_span(report.text, start, end)
    if start >= end:
        return None
    text = report.text[start:end]
    if not _WORD_CHAR.search(text):
        return None
    meta = report.meta
    group = getattr(meta.group, "value", meta.group)
    return Fragment(
        id=f"{report.id}:{start}-{end}",
        report=report.id,
        start=start,
        end=end,
        text=text,
        respondent=meta.respondent,
        group=str(group),
        question=block.question,
        speaker=block.speaker,
    )


def _grouped(report: Report, blocks: list[_Block], key: str) -> list[Fragment]:
    fragments: list[Fragment] = []
    index = 0
    while index < len(blocks):
        first = blocks[index]
        last = first
        value = getattr(first, key)
        while index + 1 < len(blocks) and getattr(blocks[index + 1], key) == value:
            index += 1
            last = blocks[index]
        fragment = _fragment(report, first.start, last.end, first)
        if fragment is not None:
            fragments.append(fragment)
        index += 1
    return fragments


def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise AutocoderError(f"unknown segmentation unit {unit!r}; use one of {', '.join(UNITS)}")


@dataclass(slots=True)
class _Pending:
    report: Report
    blocks: list[_Block]
    sentences: list[list[tuple[int, int]] | None]  # per block: absolute sentence spans
    remaining: int  # chunks still in the pipeline


def _chunks(blocks: list[_Block]) -> list[list[int]]:
    """Consecutive running-text blocks, grouped into spans of at most CHUNK_CHARS each."""
    chunks: list[list[int]] = []
    chunk_start = -1
    for index, block in enumerate(blocks):
        if block.item:
            continue
        if chunks and block.end - chunk_start <= CHUNK_CHARS:
            chunks[-1].append(index)
        else:
            chunks.append([index])
            chunk_start = block.start
    return chunks


def segment_report(report: Report, unit: Unit = "sentence") -> list[Fragment]:
    """The report's fragments of respondent text, in order, with exact offsets."""
    for _, fragments in segment_reports([report], unit):
        return fragments
    return []


def segment_reports(
    reports: Iterable[Report], unit: Unit = "sentence", batch_size: int = 64
) -> Iterator[tuple[Report, list[Fragment]]]:
    """Stream (report, fragments) pairs in input order.

    The sentence unit runs ``nlp.pipe`` over chunks of running-text blocks (one Doc per chunk
    of at most CHUNK_CHARS characters, the blocks inside it as regions); at most about
    ``batch_size`` chunks are in flight, so memory stays bounded however long the stream.
    """
    _check_unit(unit)
    if unit != "sentence":
        key = "paragraph" if unit == "paragraph" else "answer"
        for report in reports:
            yield report, _grouped(report, _parse(report.text), key)
        return
    nlp = _pipeline()
    pending: deque[_Pending] = deque()

    def feed() -> Iterator[tuple[Doc, tuple[_Pending, list[int]]]]:
        for report in reports:
            blocks = _parse(report.text)
            chunks = _chunks(blocks)
            entry = _Pending(report, blocks, [None] * len(blocks), max(1, len(chunks)))
            pending.append(entry)
            if not chunks:  # a marker, so that the report streams out in order
                yield nlp.make_doc(""), (entry, [])
            for chunk in chunks:
                start, end = blocks[chunk[0]].start, blocks[chunk[-1]].end
                text = _spacy_safe(report.text[start:end])
                doc = nlp.make_doc(text)
                doc.user_data[TEXT_KEY] = text
                doc.user_data[REGIONS_KEY] = [
                    (blocks[i].start - start, blocks[i].end - start) for i in chunk
                ]
                yield doc, (entry, chunk)

    def finished() -> Iterator[tuple[Report, list[Fragment]]]:
        while pending and pending[0].remaining == 0:
            entry = pending.popleft()
            yield entry.report, _sentence_fragments(entry)

    docs = nlp.pipe(
        feed(), as_tuples=True, batch_size=max(1, batch_size), disable=_SEGMENT_DISABLED
    )
    for doc, (entry, chunk) in docs:
        if chunk:
            offset = entry.blocks[chunk[0]].start
            for index, starts in zip(chunk, doc.user_data[SENTENCE_CHARS_KEY], strict=True):
                block_end = entry.blocks[index].end
                absolute = [offset + start for start in starts]
                entry.sentences[index] = list(
                    zip(absolute, [*absolute[1:], block_end], strict=True)
                )
        entry.remaining -= 1
        yield from finished()
    yield from finished()


def _sentence_fragments(entry: _Pending) -> list[Fragment]:
    fragments: list[Fragment] = []
    report = entry.report
    for block, sentences in zip(entry.blocks, entry.sentences, strict=True):
        for start, end in [(block.start, block.end)] if sentences is None else sentences:
            fragment = _fragment(report, start, end, block)
            if fragment is not None:
                fragments.append(fragment)
    return fragments


# --- analysis for the classifier ------------------------------------------------------------


def _pieces(text: str) -> list[str]:
    if len(text) <= MAX_BLOCK_CHARS:
        return [text]
    block = _Block(0, len(text), False, None, None, 0, 0)
    return [text[piece.start : piece.end] for piece in _split_long(text, block)]


def analyse_texts(texts: Iterable[str], batch_size: int = 256) -> Iterator[TextAnalysis]:
    """Tokens, lemmas and negation/hedge cues of each text, in order (streaming).

    spaCy's tokenizer splits a text at whitespace first and tokenises each piece on its own,
    and the lookup lemmatizer reads one token at a time; so each whitespace-separated piece is
    analysed once by the pipeline (tokenizer and lemmatizer) and remembered, and a text is the
    concatenation of its pieces. Negation and hedge cues are then marked over the whole text
    (``cue_flags``, as the cues component does). Texts longer than MAX_BLOCK_CHARS go through
    the pipeline in pieces, as in segmentation.
    """
    nlp = _pipeline()
    batch: list[str] = []
    size = max(1, batch_size)
    for text in texts:
        batch.append(_spacy_safe(text))
        if len(batch) >= size:
            yield from _analyse_batch(nlp, batch)
            batch = []
    if batch:
        yield from _analyse_batch(nlp, batch)


# A whitespace-free piece of text (or a run of whitespace) -> its tokens as (lowercased text,
# lemma, is punctuation, is space), and its first token as the pipeline and as a tokenizer
# without special cases split it; bounded (cleared when full). _SPECIAL_ENDS and
# _SPECIAL_STARTS: pieces whose last (first) tokens may be part of a split special case.
_Token = tuple[str, str, bool, bool]
_PIECES: dict[str, tuple[tuple[_Token, ...], tuple[str, str]]] = {}
_SPECIAL_ENDS: dict[str, tuple[str, str]] = {}
_SPECIAL_STARTS: set[str] = set()
_PIECES_LOCK = threading.Lock()
MAX_CACHED_PIECES = 200_000
_RUNS = re.compile(r"\s+|\S+")
_CUE_WORDS = NEGATION_CUES | HEDGE_CUES
_CUE_PHRASES = tuple(frozenset(phrase) for phrase in (*NEGATION_PHRASES, *HEDGE_PHRASES))


def _split_pieces(text: str) -> list[str] | None:
    """The pieces spaCy's tokenizer sees, in order (None: a text for the full pipeline).

    Whitespace separates pieces; a single space after a token belongs to it, any other run
    of whitespace (after dropping that space) is a piece of its own (space tokens)."""
    if len(text) > MAX_BLOCK_CHARS:
        return None
    words = text.split()
    if " ".join(words) == text:
        return words
    pieces = []
    for match in _RUNS.finditer(text):
        run = match.group()
        if run[0].isspace() and match.start() > 0 and run[0] == " ":
            run = run[1:]
        if run:
            pieces.append(run)
    return pieces


def _analyse_batch(nlp: Language, texts: list[str]) -> list[TextAnalysis]:
    with _PIECES_LOCK:  # the caches are shared by threads
        return list(_analyse_cached(nlp, texts))


def _analyse_cached(nlp: Language, texts: list[str]) -> Iterator[TextAnalysis]:
    split = [_split_pieces(text) for text in texts]
    cache = _PIECES
    seen: set[str] = set()
    for pieces in split:
        if pieces:
            seen.update(pieces)
    missing = seen - cache.keys()
    if len(cache) + len(missing) > MAX_CACHED_PIECES:
        cache.clear()
        _SPECIAL_ENDS.clear()
        _SPECIAL_STARTS.clear()
        missing = seen
    if missing:
        _analyse_pieces(nlp, sorted(missing))
    ends, starts = _SPECIAL_ENDS.keys(), _SPECIAL_STARTS
    for text, pieces in zip(texts, split, strict=True):
        if pieces is None or (
            not ends.isdisjoint(pieces)
            and not starts.isdisjoint(pieces)
            and _special_across(nlp, pieces)
        ):
            yield _analyse_whole(nlp, text)
            continue
        records: list[_Token] = []
        for piece in pieces:
            records += cache[piece][0]
        yield _join(records)


def _analyse_pieces(nlp: Language, pieces: list[str]) -> None:
    strings = nlp.vocab.strings
    bare, firsts, seconds, _ = _special_pairs(nlp)
    disabled = [SENTENCE_COMPONENT, CUES_COMPONENT]
    for piece, doc in zip(pieces, nlp.pipe(pieces, batch_size=1000, disable=disabled), strict=True):
        array = doc.to_array([LOWER, LEMMA, IS_PUNCT, IS_SPACE, ORTH]).tolist()
        split = bare(piece)
        first = (strings[array[0][4]], split[0].text)
        _PIECES[piece] = (
            tuple(
                (strings[lower], strings[lemma].lower(), bool(punct), bool(space))
                for lower, lemma, punct, space, _ in array
            ),
            first,
        )
        last = (strings[array[-1][4]], split[-1].text)
        if not firsts.isdisjoint(last):
            _SPECIAL_ENDS[piece] = last
        if not seconds.isdisjoint(first):
            _SPECIAL_STARTS.add(piece)


@cache
def _special_pairs(
    nlp: Language,
) -> tuple[Tokenizer, frozenset[str], frozenset[str], frozenset[tuple[str, str]]]:
    """Tokenizer special cases that the affix rules split into several tokens (":(" -> ":"
    "("): a tokenizer without special cases, the first and the second tokens of adjacent
    token pairs in those splits, and the pairs. The tokenizer merges such a sequence back into
    one token; a sequence across whitespace can keep it from doing so inside a piece, so texts
    where one may occur (judged by the first and last tokens of their pieces, with and without
    special cases) take the full pipeline."""
    tokenizer = nlp.tokenizer
    bare = Tokenizer(
        nlp.vocab,
        prefix_search=tokenizer.prefix_search,
        suffix_search=tokenizer.suffix_search,
        infix_finditer=tokenizer.infix_finditer,
        token_match=tokenizer.token_match,
        url_match=tokenizer.url_match,
    )
    pairs = set()
    for rule in tokenizer.rules or {}:
        orths = [token.text for token in bare(rule)]
        pairs.update(pairwise(orths))
    firsts = frozenset(first for first, _ in pairs)
    return bare, firsts, frozenset(second for _, second in pairs), frozenset(pairs)


def _special_across(nlp: Language, pieces: list[str]) -> bool:
    pairs = _special_pairs(nlp)[3]
    for before, after in pairwise(pieces):
        ends = _SPECIAL_ENDS.get(before)
        if ends and any((end, start) in pairs for end in ends for start in _PIECES[after][1]):
            return True
    return False


def _join(records: list[_Token]) -> TextAnalysis:
    if not records:
        return TextAnalysis((), (), (), (), (), ())
    lowers, lemmas, punct, space = zip(*records, strict=True)
    words = set(lowers)
    if words.isdisjoint(_CUE_WORDS) and not any(phrase <= words for phrase in _CUE_PHRASES):
        negated = cue = hedge = (False,) * len(lowers)  # cue_flags would mark nothing
    else:
        flags = cue_flags(list(lowers))
        cue, negated, hedge = (tuple(column) for column in flags)
    if True in space:
        keep = [i for i, is_space in enumerate(space) if not is_space]
        columns = (lowers, lemmas, negated, cue, hedge, punct)
        return TextAnalysis(*(tuple(column[i] for i in keep) for column in columns))
    return TextAnalysis(lowers, lemmas, negated, cue, hedge, punct)


def _analyse_whole(nlp: Language, text: str) -> TextAnalysis:
    """A long text through the full pipeline, in pieces (cues are marked per piece)."""
    columns: list[list] = [[], [], [], [], [], []]
    for doc in nlp.pipe(_pieces(text), disable=_ANALYSE_DISABLED):
        _collect(doc, columns)
    return TextAnalysis(*(tuple(column) for column in columns))


def _collect(doc: Doc, columns: list[list]) -> None:
    """Append the Doc's non-space tokens to the six TextAnalysis columns (array reads only)."""
    tokens, lemmas, negated, cue, hedge, is_punct = columns
    cue_flags, negated_flags, hedge_flags = doc.user_data[FLAGS_KEY]
    lowers = doc.user_data[LOWERS_KEY]
    if not lowers:
        return
    array = doc.to_array([LEMMA, IS_PUNCT, IS_SPACE])
    strings = doc.vocab.strings
    space = array[:, 2].tolist()
    keep = [i for i, is_space in enumerate(space) if not is_space]
    lemma_keys = array[:, 0].tolist()
    punct = array[:, 1].tolist()
    tokens.extend([lowers[i] for i in keep])
    lemmas.extend([strings[lemma_keys[i]].lower() for i in keep])
    negated.extend([negated_flags[i] for i in keep])
    cue.extend([cue_flags[i] for i in keep])
    hedge.extend([hedge_flags[i] for i in keep])
    is_punct.extend([bool(punct[i]) for i in keep])
