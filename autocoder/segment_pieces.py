"""The store of analysed pieces behind autocoder.segment_arrays.

spaCy's tokenizer splits a text at whitespace first and tokenises each piece on its own, and
a lemma is looked up per token; so every whitespace-separated piece goes through the pipeline
once and its tokens are kept as numbers in growing numpy columns (``PieceStore``), with the
strings numbered in a ``StringTable``. New pieces go through the pipeline joined by spaces, a
chunk at a time, instead of one Doc each. Both are bounded and start afresh when full.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import cache

import numpy as np
from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, LOWER, ORTH
from spacy.language import Language

from autocoder.segment_analysis import special_pairs
from autocoder.segment_components import (
    CUES_COMPONENT,
    SENTENCE_COMPONENT,
    lemma_lookup,
    lemma_of,
)
from autocoder.segment_cues import (
    CLAUSE_END_PUNCT,
    CLAUSE_END_WORDS,
    HEDGE_CUES,
    NEGATION_CUES,
    NOT_A_NEGATION_AFTER_NIET,
)

MAX_CACHED_PIECES = 200_000
# Bits of a string's kind (what cue_flags asks of a lowercased token).
NEGATION, HEDGE, CLAUSE_END, NIET, NOT_AFTER_NIET = 1, 2, 4, 8, 16
MAX_STRINGS = 1_000_000


class GrowingColumn:
    """A numpy array that grows by doubling."""

    def __init__(self, dtype: type) -> None:
        self.size = 0
        self.data = np.zeros(4096, dtype=dtype)

    def extend(self, values: list | np.ndarray) -> None:
        end = self.size + len(values)
        if end > len(self.data):
            grown = np.zeros(max(end, 2 * len(self.data)), dtype=self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : end] = values
        self.size = end


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
        self._kinds = GrowingColumn(np.int64)

    @property
    def kinds(self) -> np.ndarray:
        """Per string number: its kind bits (what cue_flags asks of it)."""
        return self._kinds.data

    def number(self, text: str) -> int:
        found = self.ids.get(text)
        if found is not None:
            return found
        number = self.ids[text] = len(self.texts)
        self.texts.append(text)
        self._kinds.extend([_kind(text)])
        return number

    def numbers(self, texts: list[str]) -> np.ndarray:
        """``number`` of each of ``texts`` (new ones numbered in the order they come)."""
        ids = self.ids
        new = [text for text in dict.fromkeys(texts) if text not in ids]
        if new:
            ids.update(zip(new, range(len(self.texts), len(self.texts) + len(new)), strict=True))
            self.texts += new
            self._kinds.extend([_kind(text) for text in new])
        return np.fromiter(map(ids.__getitem__, texts), dtype=np.int64, count=len(texts))


def _kind(text: str) -> int:
    kind = NEGATION if text in NEGATION_CUES else 0
    kind |= HEDGE if text in HEDGE_CUES else 0
    kind |= CLAUSE_END if text in CLAUSE_END_PUNCT or text in CLAUSE_END_WORDS else 0
    kind |= NIET if text == "niet" else 0
    return kind | (NOT_AFTER_NIET if text in NOT_A_NEGATION_AFTER_NIET else 0)


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
        _, firsts, seconds, _ = special_pairs(nlp)
        new: dict[str, list] = {name: [] for name in self.columns}
        size = self.columns["lower"].size
        texts: list[str] = []  # per piece its tokens' lowercased texts, then their lemmas
        lower_at: list[int] = []  # where in ``texts`` each token's lowercased text is
        for piece, rows, bare_first, bare_last in _analysed(nlp, pieces):
            first = (rows[0][4], bare_first)
            last = (rows[-1][4], bare_last)
            piece_id = self.ids[piece] = len(self.first_token)
            self.texts.append(piece)
            self.first_token.append(first)
            new["start"].append(size + len(new["punct"]))
            new["length"].append(len(rows))
            new["special_end"].append(not firsts.isdisjoint(last))
            new["special_start"].append(not seconds.isdisjoint(first))
            if not firsts.isdisjoint(last):
                self.last_token[piece_id] = last
            at = len(texts)
            lower_at += range(at, at + len(rows))
            texts += [row[0] for row in rows]
            texts += [row[1] for row in rows]
            new["punct"] += [bool(row[2]) for row in rows]
            new["space"] += [bool(row[3]) for row in rows]
        numbers = self.strings.numbers(texts)  # numbered in the order of ``texts``
        lowers = np.array(lower_at, dtype=np.int64)
        lengths = np.array(new["length"], dtype=np.int64)
        new["lower"] = numbers[lowers]
        new["lemma"] = numbers[lowers + np.repeat(lengths, lengths)]  # a piece's lemmas follow
        for name, values in new.items():  # one write per column (not one per piece)
            self.columns[name].extend(values)

    def special_across(self, nlp: Language, pieces: np.ndarray) -> bool:
        pairs = special_pairs(nlp)[3]
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
    text = " ".join(chunk)
    strings, table = nlp.vocab.strings, lemma_lookup()
    doc = nlp(text, disable=[SENTENCE_COMPONENT, CUES_COMPONENT])
    array = doc.to_array([LOWER, ORTH, IS_PUNCT, IS_SPACE, IDX])
    bounds = _bounds(chunk, array[:, 4])
    orths = array[:, 1]
    lemmas: dict[int, str] = {}  # per distinct token text (as its hash)
    rows = []
    for lower, orth, punct, space, _ in array.tolist():
        token = strings[orth]
        lemma = lemmas.get(orth)
        if lemma is None:
            lemma = lemmas[orth] = lemma_of(token, table)
        rows.append((strings[lower], lemma, punct, space, token))
    bare = _bare_ends(nlp, chunk, bounds, orths)
    for i, piece in enumerate(chunk):
        first, last = bare.get(i) or (rows[bounds[i]][4], rows[bounds[i + 1] - 1][4])
        yield piece, rows[bounds[i] : bounds[i + 1]], first, last


def _bounds(chunk: list[str], idx: np.ndarray) -> list[int]:
    """Where each piece's tokens start in the Doc of the chunk joined by spaces (tokens at
    character offsets ``idx``), and the end."""
    starts = np.zeros(len(chunk), dtype=np.int64)
    starts[1:] = np.cumsum([len(piece) + 1 for piece in chunk[:-1]])
    owner = np.searchsorted(starts, idx.astype(np.int64), side="right") - 1
    return np.searchsorted(owner, np.arange(len(chunk) + 1)).tolist()


def _bare_ends(
    nlp: Language, chunk: list[str], bounds: list[int], orths: np.ndarray
) -> dict[int, tuple[str, str]]:
    """The first and last token texts, as the tokenizer without special cases splits them, of
    the pieces where they may differ from the pipeline's tokens.

    A special case puts all of its tokens in the Doc, so a piece without the first token of
    any special case took none, and the tokenizer without special cases splits it the same;
    only the other pieces go through that tokenizer (joined by spaces, as above)."""
    marked = np.flatnonzero(np.isin(orths, _special_marks(nlp)))
    if not len(marked):
        return {}
    owners = np.searchsorted(np.array(bounds), marked, side="right") - 1
    numbers = np.unique(owners).tolist()
    pieces = [chunk[i] for i in numbers]
    split = special_pairs(nlp)[0](" ".join(pieces))
    idx = np.array([token.idx for token in split], dtype=np.int64)
    bare_bounds = _bounds(pieces, idx)
    return {
        number: (split[bare_bounds[k]].text, split[bare_bounds[k + 1] - 1].text)
        for k, number in enumerate(numbers)
    }


@cache
def _special_marks(nlp: Language) -> np.ndarray:
    """The hashes of the first token text of each tokenizer special case."""
    strings = nlp.vocab.strings
    firsts = {substrings[0][ORTH] for substrings in (nlp.tokenizer.rules or {}).values()}
    return np.array(sorted(strings.add(text) for text in firsts), dtype=np.uint64)
