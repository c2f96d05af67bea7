"""The classifier's token analysis of a batch of texts as numbers, built with array operations.

Tokens, lemmas, punctuation, negation and hedge cues and the negation scope of every text of
a batch at once: a batch is a gather from the store of analysed pieces
(autocoder.segment_pieces), and the cues are marked over the gathered tokens
(``stream_cue_flags``, which gives what ``segment_cues.cue_flags`` gives text by text). Texts
that need the full pipeline (very long ones, and tokenizer special cases across pieces) take
``segment_analysis.analyse_whole``. ``text_analyses`` turns the arrays into TextAnalysis
records. ``analyse_arrays`` and ``analyse_texts`` in autocoder.segment are the public entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat

import numpy as np
from spacy.language import Language

from autocoder.segment_analysis import TextAnalysis, analyse_whole, split_pieces
from autocoder.segment_cues import DOUBLE_NEGATION_WINDOW, HEDGE_PHRASES, NEGATION_PHRASES
from autocoder.segment_pieces import (
    CLAUSE_END,
    HEDGE,
    NEGATION,
    NIET,
    NOT_AFTER_NIET,
    STORE,
    PieceStore,
    StringTable,
)


@dataclass(frozen=True)
class TokenArrays:
    """The non-space tokens of a batch of texts, one text after another (``starts`` and
    ``lengths`` per text); strings as numbers in ``strings``."""

    strings: StringTable
    lower: np.ndarray
    lemma: np.ndarray
    punct: np.ndarray
    cue: np.ndarray
    negated: np.ndarray
    hedge: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    pieces: np.ndarray  # the texts' whitespace-separated pieces, as numbers in ``store``
    piece_counts: np.ndarray  # per text (0 for a text too long to be taken in pieces)
    store: PieceStore

    @property
    def rows(self) -> np.ndarray:
        """The text (row) of each token."""
        return np.repeat(np.arange(len(self.lengths)), self.lengths)


def text_analyses(arrays: TokenArrays) -> list[TextAnalysis]:
    """Each text's analysis as a TextAnalysis record (strings and flags as tuples)."""
    texts = arrays.strings.texts
    lower = [texts[i] for i in arrays.lower.tolist()]
    lemma = [texts[i] for i in arrays.lemma.tolist()]
    flags = [arrays.negated.tolist(), arrays.cue.tolist(), arrays.hedge.tolist()]
    punct = arrays.punct.tolist()
    out = []
    for start, length in zip(arrays.starts.tolist(), arrays.lengths.tolist(), strict=True):
        end = start + length
        negated, cue, hedge = (tuple(column[start:end]) for column in flags)
        out.append(
            TextAnalysis(
                tuple(lower[start:end]),
                tuple(lemma[start:end]),
                negated,
                cue,
                hedge,
                tuple(punct[start:end]),
            )
        )
    return out


def analyse_arrays(nlp: Language, texts: list[str]) -> TokenArrays:
    """The analysis of a batch of texts as arrays (``nlp``: the pipeline of autocoder.segment)."""
    with STORE.lock:  # the store is shared by threads
        return _analyse(nlp, texts, STORE)


def _analyse(nlp: Language, texts: list[str], store: PieceStore) -> TokenArrays:
    split = [split_pieces(text) for text in texts]
    flat = [piece for pieces in split if pieces for piece in pieces]
    piece_ids = np.fromiter(map(store.ids.get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
    if (piece_ids < 0).any():
        generation = store.generation
        store.add(nlp, sorted({flat[i] for i in np.flatnonzero(piece_ids < 0).tolist()}))
        if store.generation != generation:  # the store started afresh: add them all
            store.add(nlp, sorted(set(flat) - store.ids.keys()))
        piece_ids = np.fromiter(map(store.ids.__getitem__, flat), dtype=np.int64, count=len(flat))
    counts = np.fromiter((len(p) if p else 0 for p in split), dtype=np.int64, count=len(split))
    whole = _whole_texts(nlp, store, split, piece_ids, counts)
    stream = _gather(store, piece_ids, counts)
    arrays = _with_whole(store.strings, nlp, texts, whole, stream)
    return TokenArrays(*arrays, piece_ids, counts, store)


def _whole_texts(
    nlp: Language, store: PieceStore, split: list, piece_ids: np.ndarray, counts: np.ndarray
) -> set[int]:
    """Texts for the full pipeline: too long to split, or a special case across pieces."""
    whole = {i for i, pieces in enumerate(split) if pieces is None}
    if not len(piece_ids):
        return whole
    text_of = np.repeat(np.arange(len(split)), counts)
    ends = np.bincount(text_of, store.column("special_end")[piece_ids], minlength=len(split))
    starts = np.bincount(text_of, store.column("special_start")[piece_ids], minlength=len(split))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    for i in np.flatnonzero((ends > 0) & (starts > 0)).tolist():
        if store.special_across(nlp, piece_ids[offsets[i] : offsets[i + 1]]):
            whole.add(i)
    return whole


@dataclass
class _Stream:
    """Tokens of all texts from the piece store (space tokens included), per text counted."""

    lower: np.ndarray
    lemma: np.ndarray
    punct: np.ndarray
    space: np.ndarray
    lengths: np.ndarray


def _gather(store: PieceStore, piece_ids: np.ndarray, counts: np.ndarray) -> _Stream:
    starts, lengths = store.column("start")[piece_ids], store.column("length")[piece_ids]
    at = ranges(starts, lengths)
    text_of = np.repeat(np.arange(len(counts)), counts)
    per_text = np.bincount(text_of, lengths, minlength=len(counts)).astype(np.int64)
    return _Stream(
        store.column("lower")[at],
        store.column("lemma")[at],
        store.column("punct")[at],
        store.column("space")[at],
        per_text,
    )


def _with_whole(
    strings: StringTable, nlp: Language, texts: list[str], whole: set[int], stream: _Stream
) -> tuple:
    """Cues marked over the stream, space tokens dropped, and the whole-pipeline texts in
    their places."""
    rows = np.repeat(np.arange(len(texts)), stream.lengths)
    cue, negated, hedge = stream_cue_flags(stream.lower, rows, strings)
    keep = ~stream.space
    if whole:
        keep &= ~np.isin(rows, list(whole))
    columns = [
        column[keep] for column in (stream.lower, stream.lemma, stream.punct, cue, negated, hedge)
    ]
    lengths = np.bincount(rows[keep], minlength=len(texts)).astype(np.int64)
    if whole:
        columns, lengths = _splice(strings, nlp, texts, sorted(whole), columns, lengths)
    starts = np.zeros(len(texts), dtype=np.int64)
    starts[1:] = np.cumsum(lengths)[:-1]
    return (strings, *columns, starts, lengths)


def _splice(
    strings: StringTable,
    nlp: Language,
    texts: list[str],
    whole: list[int],
    columns: list[np.ndarray],
    lengths: np.ndarray,
) -> tuple[list[np.ndarray], np.ndarray]:
    extra: list[list] = [[], [], [], [], [], []]
    extra_starts = np.zeros(len(texts), dtype=np.int64)
    base = len(columns[0])
    for i in whole:
        analysis: TextAnalysis = analyse_whole(nlp, texts[i])
        extra_starts[i] = base + len(extra[0])
        lengths[i] = len(analysis.tokens)
        extra[0] += map(strings.number, analysis.tokens)
        extra[1] += map(strings.number, analysis.lemmas)
        extra[2] += analysis.is_punct
        extra[3] += analysis.cue
        extra[4] += analysis.negated
        extra[5] += analysis.hedge
    own_starts = np.zeros(len(texts), dtype=np.int64)
    stream_lengths = lengths.copy()
    stream_lengths[whole] = 0
    own_starts[1:] = np.cumsum(stream_lengths)[:-1]
    own_starts[whole] = extra_starts[whole]
    at = ranges(own_starts, lengths)
    joined = [
        np.concatenate([column, np.array(values, dtype=column.dtype)])[at]
        for column, values in zip(columns, extra, strict=True)
    ]
    return joined, lengths


def stream_cue_flags(
    lower: np.ndarray, rows: np.ndarray, strings: StringTable
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(negation cue, negated, hedge) per token of texts one after another (``rows``: each
    token's text); what ``segment_cues.cue_flags`` gives for each text on its own."""
    n = len(lower)
    kind = strings.kinds[lower] if n else np.zeros(0, dtype=np.int64)
    same_next = np.zeros(n, dtype=bool)
    same_next[:-1] = rows[:-1] == rows[1:]
    before_exception = np.zeros(n, dtype=bool)
    before_exception[:-1] = (kind[1:] & NOT_AFTER_NIET) != 0
    cue = ((kind & NEGATION) != 0) & ~(((kind & NIET) != 0) & same_next & before_exception)
    hedge = (kind & HEDGE) != 0
    tail = np.zeros(n, dtype=bool)
    for phrase in NEGATION_PHRASES:
        for start in _phrase_starts(lower, rows, phrase, strings):
            cue[start : start + len(phrase)] = True
            tail[start + 1 : start + len(phrase)] = True
    for phrase in HEDGE_PHRASES:
        for start in _phrase_starts(lower, rows, phrase, strings):
            hedge[start : start + len(phrase)] = True
    return cue, _negated(cue, tail, (kind & CLAUSE_END) != 0, rows), hedge


def _phrase_starts(
    lower: np.ndarray, rows: np.ndarray, phrase: tuple[str, ...], strings: StringTable
) -> list[int]:
    numbers = [strings.ids.get(word, -1) for word in phrase]
    size = len(phrase)
    if -1 in numbers or len(lower) < size:
        return []
    starts = np.flatnonzero(lower[: len(lower) - size + 1] == numbers[0])
    for offset, number in enumerate(numbers[1:], start=1):
        starts = starts[lower[starts + offset] == number]
    return starts[rows[starts] == rows[starts + size - 1]].tolist()


def _negated(
    cue: np.ndarray, tail: np.ndarray, clause_end: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Tokens inside a negation's scope (see cue_flags): the state changes only at cues, so
    it is followed from cue to cue and then spread over the tokens between them."""
    n = len(cue)
    segment_start = clause_end.copy()
    segment_start[1:] |= rows[1:] != rows[:-1]
    segment = np.cumsum(segment_start)
    events = np.flatnonzero((cue | tail) & ~clause_end)
    active_after = np.zeros(len(events), dtype=bool)
    active, last, current = False, -100, -1
    is_tail = tail[events].tolist()
    for j, (i, s) in enumerate(zip(events.tolist(), segment[events].tolist(), strict=True)):
        if s != current:
            active, last, current = False, -100, s
        if not is_tail[j]:
            active = not (active and i - last <= DOUBLE_NEGATION_WINDOW)
        last = i
        active_after[j] = active
    marks = np.full(n, -1, dtype=np.int64)
    marks[events] = np.arange(len(events))
    previous = np.full(n, -1, dtype=np.int64)
    if n > 1:
        previous[1:] = np.maximum.accumulate(marks)[:-1]
    known = previous >= 0
    known[known] = segment[events[previous[known]]] == segment[known]
    negated = np.zeros(n, dtype=bool)
    negated[known] = active_after[previous[known]]
    negated &= ~clause_end
    if tail.any():  # a multi-word cue's later words share the flag of its first word
        heads = np.maximum.accumulate(np.where(tail, -1, np.arange(n)))
        negated[tail] = negated[heads[tail]]
    return negated


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of ``range(start, start + length)`` for each pair."""
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.arange(total) + np.repeat(starts - (ends - lengths), lengths)
