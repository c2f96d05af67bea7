"""The classifier's token analysis of a batch of texts as numbers, built with array operations.

The same analysis as ``segment_analysis`` (tokens, lemmas, punctuation, negation and hedge
cues, negation scope), for a whole batch at once: every whitespace-separated piece goes through
the pipeline once and its tokens are kept as numbers in a growing store; a batch is a gather
from that store, and the cues are marked over the gathered tokens (``stream_cue_flags``, which
gives what ``segment_cues.cue_flags`` gives text by text). Texts that need the full pipeline
(very long ones, and tokenizer special cases across pieces) take ``segment_analysis``'s path.
``analyse_arrays`` in autocoder.segment is the public entry.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat

import numpy as np
from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, LOWER, ORTH
from spacy.language import Language

from autocoder.segment_analysis import (
    MAX_CACHED_PIECES,
    TextAnalysis,
    _analyse_whole,
    _special_pairs,
    _split_pieces,
)
from autocoder.segment_components import (
    CUES_COMPONENT,
    SENTENCE_COMPONENT,
    lemma_lookup,
    lemma_of,
)
from autocoder.segment_cues import (
    CLAUSE_END_PUNCT,
    CLAUSE_END_WORDS,
    DOUBLE_NEGATION_WINDOW,
    HEDGE_CUES,
    HEDGE_PHRASES,
    NEGATION_CUES,
    NEGATION_PHRASES,
    NOT_A_NEGATION_AFTER_NIET,
)

# Bits of a string's kind (what cue_flags asks of a lowercased token).
NEGATION, HEDGE, CLAUSE_END, NIET, NOT_AFTER_NIET = 1, 2, 4, 8, 16
MAX_STRINGS = 1_000_000


class StringTable:
    """Strings (lowercased tokens and lemmas) numbered from 0, with each one's kind bits.

    ``generation`` changes when the table starts afresh (it is bounded), so that tables of
    numbers kept elsewhere know to start afresh too."""

    def __init__(self) -> None:
        self.generation = 0
        self.clear()

    def clear(self) -> None:
        self.generation += 1
        self.ids: dict[str, int] = {}
        self.texts: list[str] = []
        self.kinds = np.zeros(1024, dtype=np.int64)

    def number(self, text: str) -> int:
        found = self.ids.get(text)
        if found is not None:
            return found
        number = self.ids[text] = len(self.texts)
        self.texts.append(text)
        if number >= len(self.kinds):
            self.kinds = np.concatenate([self.kinds, np.zeros_like(self.kinds)])
        self.kinds[number] = _kind(text)
        return number


def _kind(text: str) -> int:
    kind = NEGATION if text in NEGATION_CUES else 0
    kind |= HEDGE if text in HEDGE_CUES else 0
    kind |= CLAUSE_END if text in CLAUSE_END_PUNCT or text in CLAUSE_END_WORDS else 0
    kind |= NIET if text == "niet" else 0
    return kind | (NOT_AFTER_NIET if text in NOT_A_NEGATION_AFTER_NIET else 0)


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


class GrowingColumn:
    """A numpy array that grows by doubling."""

    def __init__(self, dtype: type) -> None:
        self.size = 0
        self.data = np.zeros(4096, dtype=dtype)

    def extend(self, values: list) -> None:
        end = self.size + len(values)
        if end > len(self.data):
            grown = np.zeros(max(end, 2 * len(self.data)), dtype=self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : end] = values
        self.size = end


class PieceStore:
    """Every piece analysed so far: its tokens (lowercased text and lemma as numbers, is
    punctuation, is space) and whether its first (last) tokens may start (end) a tokenizer
    special case split across pieces."""

    def __init__(self) -> None:
        self.strings = StringTable()
        self.lock = threading.Lock()
        self.generation = 0
        self.reset()

    def reset(self) -> None:
        self.generation += 1
        self.ids: dict[str, int] = {}
        self.texts: list[str] = []
        self.first_token: list[tuple[str, str]] = []
        self.last_token: dict[int, tuple[str, str]] = {}
        self.columns = {
            name: GrowingColumn(dtype)
            for name, dtype in (
                ("start", np.int64),
                ("length", np.int64),
                ("special_end", bool),
                ("special_start", bool),
                ("lower", np.int64),
                ("lemma", np.int64),
                ("punct", bool),
                ("space", bool),
            )
        }

    def column(self, name: str) -> np.ndarray:
        column = self.columns[name]
        return column.data[: column.size]

    def add(self, nlp: Language, pieces: list[str]) -> None:
        if len(self.ids) + len(pieces) > MAX_CACHED_PIECES or len(self.strings.texts) > MAX_STRINGS:
            self.reset()
            self.strings.clear()
        number = self.strings.number
        _, firsts, seconds, _ = _special_pairs(nlp)
        new: dict[str, list] = {name: [] for name in self.columns}
        size = self.columns["lower"].size
        for piece, rows, bare_first, bare_last in _analysed(nlp, pieces):
            first = (rows[0][4], bare_first)
            last = (rows[-1][4], bare_last)
            piece_id = self.ids[piece] = len(self.first_token)
            self.texts.append(piece)
            self.first_token.append(first)
            new["start"].append(size + len(new["lower"]))
            new["length"].append(len(rows))
            new["special_end"].append(not firsts.isdisjoint(last))
            new["special_start"].append(not seconds.isdisjoint(first))
            if not firsts.isdisjoint(last):
                self.last_token[piece_id] = last
            new["lower"] += [number(row[0]) for row in rows]
            new["lemma"] += [number(row[1]) for row in rows]
            new["punct"] += [bool(row[2]) for row in rows]
            new["space"] += [bool(row[3]) for row in rows]
        for name, values in new.items():  # one write per column (not one per piece)
            self.columns[name].extend(values)

    def special_across(self, nlp: Language, pieces: np.ndarray) -> bool:
        pairs = _special_pairs(nlp)[3]
        for before, after in zip(pieces[:-1].tolist(), pieces[1:].tolist(), strict=True):
            ends = self.last_token.get(before)
            if ends and any((e, s) in pairs for e in ends for s in self.first_token[after]):
                return True
        return False


STORE = PieceStore()
CHUNK_CHARS = 50_000  # new pieces go through the pipeline joined by spaces, this much at once

_Rows = list[tuple[str, str, int, int, str]]  # per token: lower, lemma, punct, space, orth


def _analysed(nlp: Language, pieces: list[str]) -> Iterator[tuple[str, _Rows, str, str]]:
    """Each piece's tokens (lowercased text, lemma, is punctuation, is space, text) and the
    first and last token texts as a tokenizer without special cases splits it.

    Pieces without whitespace go through the pipeline joined by single spaces: the tokenizer
    splits at whitespace first and tokenises each part on its own, so each piece gets the
    tokens it gets alone (which tests check), without a Doc per piece."""
    words = [piece for piece in pieces if not piece.isspace()]
    for chunk in _chunks(words):
        yield from _analysed_joined(nlp, chunk)
    for piece in pieces:
        if piece.isspace():
            yield from _analysed_joined(nlp, [piece])


def _chunks(words: list[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for word in words:
        if chunk and size + len(word) > CHUNK_CHARS:
            yield chunk
            chunk, size = [], 0
        chunk.append(word)
        size += len(word) + 1
    if chunk:
        yield chunk


def _analysed_joined(nlp: Language, chunk: list[str]) -> Iterator[tuple[str, _Rows, str, str]]:
    bare = _special_pairs(nlp)[0]
    text = " ".join(chunk)
    starts = np.zeros(len(chunk), dtype=np.int64)
    starts[1:] = np.cumsum([len(piece) + 1 for piece in chunk[:-1]])
    strings, table = nlp.vocab.strings, lemma_lookup()
    doc = nlp(text, disable=[SENTENCE_COMPONENT, CUES_COMPONENT])
    array = doc.to_array([LOWER, ORTH, IS_PUNCT, IS_SPACE, ORTH, IDX])
    owner = np.searchsorted(starts, array[:, 5].astype(np.int64), side="right") - 1
    bounds = np.searchsorted(owner, np.arange(len(chunk) + 1)).tolist()
    rows = [
        (strings[lower], lemma_of(strings[orth], table), punct, space, strings[orth])
        for lower, orth, punct, space, _, _ in array.tolist()
    ]
    split = bare(text)
    bare_idx = np.array([token.idx for token in split], dtype=np.int64)
    bare_owner = np.searchsorted(starts, bare_idx, side="right") - 1
    bare_bounds = np.searchsorted(bare_owner, np.arange(len(chunk) + 1)).tolist()
    for i, piece in enumerate(chunk):
        yield (
            piece,
            rows[bounds[i] : bounds[i + 1]],
            split[bare_bounds[i]].text,
            split[bare_bounds[i + 1] - 1].text,
        )


def analyse_arrays(nlp: Language, texts: list[str]) -> TokenArrays:
    """The analysis of a batch of texts as arrays (``nlp``: the pipeline of autocoder.segment)."""
    with STORE.lock:  # the store is shared by threads
        return _analyse(nlp, texts, STORE)


def _analyse(nlp: Language, texts: list[str], store: PieceStore) -> TokenArrays:
    split = [_split_pieces(text) for text in texts]
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
        analysis: TextAnalysis = _analyse_whole(nlp, texts[i])
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
