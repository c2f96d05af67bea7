"""Split reports into fragments, and analyse fragment texts, with a Dutch spaCy pipeline.

spaCy objects never leave the segment modules: the public functions take and return plain
records. This module is their public API (the names in ``__all__``) and builds the pipeline
once per process.

Two layers:

1. Report structure, per line with precompiled regexes (fast): headings, question headings,
   speaker turns, list items and paragraphs become *blocks* of respondent text, each knowing
   the question it answers and who speaks (autocoder.segment_lines classifies the lines,
   autocoder.segment_blocks groups them and lists the structure rules). Not fragments:
   "# headings", bold heading lines, question headings, interviewer turns, and short title
   lines in plain prose.
2. Sentences inside running-text blocks, by the ``autocoder_sentences`` spaCy component
   (see autocoder.segment_components), run with ``nlp.pipe`` over short chunks of blocks.

``analyse_texts`` gives the classifier tokens, lemmas and negation/hedge cues per text
(autocoder.segment_analysis).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Literal, get_args

from spacy.language import Language
from spacy.tokens import Doc

from autocoder.errors import AutocoderError
from autocoder.records import Fragment, Report
from autocoder.segment_analysis import TextAnalysis
from autocoder.segment_arrays import TokenArrays, text_analyses
from autocoder.segment_arrays import analyse_arrays as _analyse_arrays
from autocoder.segment_blocks import (
    HEADING_MAX_CHARS,
    HEADING_MAX_WORDS,
    MAX_BLOCK_CHARS,
    SHORT_LINE_CHARS,
    SHORT_LINE_SHARE,
    Block,
    report_blocks,
)
from autocoder.segment_components import (
    CUES_COMPONENT,
    REGIONS_KEY,
    SENTENCE_CHARS_KEY,
    SENTENCE_COMPONENT,
    TEXT_KEY,
    dutch_pipeline,
    lemma_lookup,
    register_extensions,
)
from autocoder.segment_lines import BLANK, HEADING, ITEM, QUESTION, TEXT, TURN, strip_span
from autocoder.segment_pieces import MAX_CACHED_PIECES, StringTable

__all__ = [  # the public names, including those defined in the other segment modules
    "BLANK",
    "CHUNK_CHARS",
    "HEADING",
    "HEADING_MAX_CHARS",
    "HEADING_MAX_WORDS",
    "ITEM",
    "MAX_BLOCK_CHARS",
    "MAX_CACHED_PIECES",
    "QUESTION",
    "SHORT_LINE_CHARS",
    "SHORT_LINE_SHARE",
    "TEXT",
    "TURN",
    "UNITS",
    "StringTable",
    "TextAnalysis",
    "TokenArrays",
    "Unit",
    "analyse_arrays",
    "analyse_texts",
    "segment_report",
    "segment_reports",
]

Unit = Literal["sentence", "paragraph", "answer"]
UNITS: tuple[str, ...] = get_args(Unit)

# Consecutive blocks may share one Doc up to this span. Kept small: spaCy's tokenizer stops
# caching for the rest of a Doc after an abbreviation, so short Docs tokenise faster.
CHUNK_CHARS = 1000


# --- the pipeline ---------------------------------------------------------------------------


@cache
def _pipeline() -> Language:
    """A blank Dutch pipeline (adjusted tokenizer exceptions) + autocoder components and the
    lookup lemma table (read as a plain dict by the analysis, see
    segment_components.lemma_lookup); built once per process."""
    register_extensions()
    nlp = dutch_pipeline()
    nlp.add_pipe(SENTENCE_COMPONENT)
    nlp.add_pipe(CUES_COMPONENT)
    try:
        nlp.initialize()
        lemma_lookup()
    except (OSError, ValueError, KeyError, ImportError) as exc:
        raise AutocoderError(
            "cannot build the Dutch pipeline: the lemma tables of spacy-lookups-data are missing"
        ) from exc
    return nlp


_SEGMENT_DISABLED = [CUES_COMPONENT]
_SURROGATE = re.compile("[\ud800-\udfff]")


def _spacy_safe(text: str) -> str:
    """Lone surrogates (undecodable input) break spaCy; replace them one-for-one."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


# --- fragments ------------------------------------------------------------------------------


_WORD_CHAR = re.compile(r"[^\W_]")


def _fragment(report: Report, start: int, end: int, block: Block) -> Fragment | None:
    start, end = strip_span(report.text, start, end)
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


def _grouped(report: Report, blocks: list[Block], key: str) -> list[Fragment]:
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
    blocks: list[Block]
    sentences: list[list[tuple[int, int]] | None]  # per block: absolute sentence spans
    remaining: int  # chunks still in the pipeline


def _chunks(blocks: list[Block]) -> list[list[int]]:
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
            yield report, _grouped(report, report_blocks(report.text), key)
        return
    nlp = _pipeline()
    pending: deque[_Pending] = deque()

    def feed() -> Iterator[tuple[Doc, tuple[_Pending, list[int]]]]:
        for report in reports:
            blocks = report_blocks(report.text)
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


def analyse_texts(texts: Iterable[str], batch_size: int = 256) -> Iterator[TextAnalysis]:
    """Tokens, lemmas and negation/hedge cues of each text, in order (streaming): what
    ``analyse_arrays`` gives, as TextAnalysis records, ``batch_size`` texts at a time.

    spaCy's tokenizer splits a text at whitespace first and tokenises each piece on its own,
    and a lemma is looked up per token; so each whitespace-separated piece is analysed once
    and remembered, and a text is the concatenation of its pieces. Negation and hedge cues are
    then marked over the whole text (as ``cue_flags`` and the cues component do). Texts longer
    than MAX_BLOCK_CHARS go through the pipeline in pieces, as in segmentation.
    """
    batch: list[str] = []
    size = max(1, batch_size)
    for text in texts:
        batch.append(text)
        if len(batch) >= size:
            yield from text_analyses(analyse_arrays(batch))
            batch = []
    if batch:
        yield from text_analyses(analyse_arrays(batch))


def analyse_arrays(texts: list[str]) -> TokenArrays:
    """What ``analyse_texts`` gives for a batch of texts, as arrays of numbers for the whole
    batch (strings numbered in the returned ``strings`` table)."""
    return _analyse_arrays(_pipeline(), [_spacy_safe(text) for text in texts])
