"""Character n-gram counts of texts from a table of n-gram counts per word (FastVectoriser).

A fitted ``char_wb`` vectoriser lowercases a text, splits it at whitespace and counts each
word's n-grams. Here each distinct word's n-grams are worked out once and kept as a row of a
sparse table, so that a batch's counts are (documents x words) @ (words x n-grams). For a
batch analysed as token arrays, the words are the analysis's whitespace-separated pieces,
found by their numbers instead of by their strings.
"""

from __future__ import annotations

import threading
from itertools import chain, repeat
from typing import Any

import numpy as np
from scipy import sparse

from autocoder.segment import TokenArrays
from autocoder.segment_arrays import ranges


class CharTable:
    """Rows of character n-gram counts per word, for one fitted ``char_wb`` vectoriser."""

    MAX_WORDS = 200_000  # kept rows; the table starts afresh beyond this

    def __init__(self, vectoriser: Any) -> None:
        self.vectoriser = vectoriser
        self.lock = threading.Lock()  # the table is shared by threads
        self.gram_codes: _GramCodes | None = None
        self._reset()

    def _reset(self) -> None:
        self.word_ids: dict[str, int] = {}
        self.table = _GrowingRows(self.vectoriser.dtype)
        self.matrix: sparse.csr_matrix | None = None
        self.transposed: sparse.csr_matrix | None = None  # of ``matrix`` (n-grams x words)
        self.piece_rows = np.zeros(0, dtype=np.int64)  # per piece number: its row (-1: none)
        self.piece_store: tuple[int, int] | None = None  # (store id, generation) of piece_rows

    def counts(self, texts: list[str]) -> sparse.csr_matrix:
        """The vectoriser's counts of ``texts`` (the analyzer lowercases a text and splits it
        at whitespace; lowercasing each word instead gives the same words)."""
        per_doc = [text.split() for text in texts]
        words = [word for split in per_doc for word in split]
        with self.lock:
            self._make_room(len(words))
            flat = self._rows(words)
            table = self._transposed()
        lengths = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(per_doc))
        return _product(flat, lengths, table, self.vectoriser.dtype)

    def batch_counts(self, texts: list[str], arrays: TokenArrays) -> sparse.csr_matrix:
        """``counts`` of a batch's texts, with words found by their piece numbers (texts
        without pieces, too long for them, are split here)."""
        unsplit = np.flatnonzero(arrays.piece_counts == 0).tolist()
        words = [word for i in unsplit for word in texts[i].split()]
        with self.lock:
            self._make_room(len(arrays.pieces) + len(words))
            rows = self._piece_rows(arrays)
            extra = self._rows(words)
            table = self._transposed()
        text_of = np.repeat(np.arange(len(texts)), arrays.piece_counts)
        if unsplit:
            lengths = np.array([len(texts[i].split()) for i in unsplit], dtype=np.int64)
            text_of = np.concatenate([text_of, np.repeat(unsplit, lengths)])
            rows = np.concatenate([rows, extra])
            order = np.argsort(text_of, kind="stable")
            text_of, rows = text_of[order], rows[order]
        lengths = np.bincount(text_of, minlength=len(texts)).astype(np.int64)
        return _product(rows, lengths, table, self.vectoriser.dtype)

    def _piece_rows(self, arrays: TokenArrays) -> np.ndarray:
        store = arrays.store
        key = (id(store), store.generation)
        if self.piece_store != key:
            self.piece_store, self.piece_rows = key, np.zeros(0, dtype=np.int64)
        if len(self.piece_rows) < len(store.texts):
            grown = np.full(len(store.texts), -1, dtype=np.int64)
            grown[: len(self.piece_rows)] = self.piece_rows
            self.piece_rows = grown
        rows = self.piece_rows[arrays.pieces]
        if (rows < 0).any():
            new = np.unique(arrays.pieces[rows < 0])
            self.piece_rows[new] = self._rows([store.texts[piece] for piece in new.tolist()])
            rows = self.piece_rows[arrays.pieces]
        if self.matrix is None:
            self.matrix = self.table.matrix(len(self.vectoriser.vocabulary_))
            self.transposed = None
        return rows

    def _transposed(self) -> sparse.csr_matrix:
        """The table as n-grams x words (worked out again after words were added)."""
        assert self.matrix is not None
        if self.transposed is None:
            self.transposed = self.matrix.T.tocsr()
        return self.transposed

    def _make_room(self, words: int) -> None:
        """Start afresh when up to ``words`` new rows would overfill the table (before a
        batch, so that no row found for it is lost on the way)."""
        if len(self.word_ids) + words > self.MAX_WORDS:
            self._reset()

    def _rows(self, words: list[str]) -> np.ndarray:
        """The row of each word (added when new)."""
        ids = self.word_ids
        new = {word for word in words if word not in ids}  # not `- ids.keys()`: copies the table
        if new or self.matrix is None:
            self._add(sorted(new))
        return np.fromiter(map(ids.__getitem__, words), dtype=np.int64, count=len(words))

    def _add(self, words: list[str]) -> None:
        width = len(self.vectoriser.vocabulary_)
        first = self.table.rows
        self.word_ids.update(zip(words, range(first, first + len(words)), strict=True))
        owners, columns = self._grams().columns(words)
        # one key per (word, column); sorted, so each word's columns come in order
        keys, counts = np.unique(owners * width + columns, return_counts=True)
        self.table.extend(np.bincount(keys // width, minlength=len(words)), keys % width, counts)
        self.matrix = self.table.matrix(width)
        self.transposed = None

    def _grams(self) -> _GramCodes:
        """The vectoriser's n-gram lookup (made on first use)."""
        if self.gram_codes is None:
            self.gram_codes = _GramCodes(self.vectoriser)
        return self.gram_codes


class _GramCodes:
    """The vocabulary columns of the n-grams scikit-learn's ``char_wb`` analyzer finds in
    words (its ``_char_wb_ngrams`` of each preprocessed word), for many words at once.

    Each character of the vocabulary's n-grams gets a number from 1 up, and an n-gram the
    number whose digits (base 2 ** ``bits``) are its characters' numbers, so that n-grams of
    all lengths get distinct numbers; the vocabulary's, sorted, are looked up with one search
    per n-gram length. An n-gram with a character that none of them has is not in it."""

    def __init__(self, vectoriser: Any) -> None:
        self.preprocess = vectoriser.build_preprocessor()
        self.low, self.high = vectoriser.ngram_range
        self.vocabulary: dict[str, int] = vectoriser.vocabulary_
        grams = list(self.vocabulary)
        chars = np.unique(_points("".join(grams)))
        self.digit_of = np.zeros(int(chars.max(initial=0)) + 1, dtype=np.int64)  # per code point
        self.digit_of[chars] = np.arange(1, len(chars) + 1)
        self.bits = (len(chars) + 1).bit_length()
        self.fits = self.bits * self.high <= 62  # else: a dict lookup per n-gram
        lengths = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        digits = self._digits("".join(grams))
        codes = np.zeros(len(grams), dtype=np.int64)
        offsets = np.cumsum(lengths) - lengths
        for k in range(int(lengths.max(initial=0)) if self.fits else 0):
            has = lengths > k
            codes[has] = (codes[has] << self.bits) | digits[offsets[has] + k]
        order = np.argsort(codes)
        self.codes = codes[order]
        self.columns_of_codes = np.fromiter(self.vocabulary.values(), np.int64, len(grams))[order]

    def columns(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(word number, column) of each n-gram of ``words`` that is in the vocabulary."""
        # the analyzer's white-space normalisation and split come to the same as split()
        split = list(map(str.split, map(self.preprocess, words)))
        parts = list(chain.from_iterable(split))
        owners = np.repeat(np.arange(len(words)), list(map(len, split)))
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts)) + 2
        digits = self._digits(f" {'  '.join(parts)} ")  # the parts padded, one after another
        offsets = np.cumsum(lengths) - lengths
        found_owners, found_columns = [], []
        live = np.arange(len(parts))  # the padded parts still giving n-grams
        for n in range(self.low, self.high + 1):
            short = live[lengths[live] < n]  # a part this short gives itself, once
            found_owners.append(owners[short])
            found_columns.append(
                np.array([self.vocabulary.get(f" {parts[i]} ", -1) for i in short], np.int64)
            )
            live = live[lengths[live] >= n]  # these give all their n-grams of length n
            each = lengths[live] - n + 1
            found_owners.append(np.repeat(owners[live], each))
            found_columns.append(self._lookup(parts, digits, live, ranges(offsets[live], each), n))
            live = live[lengths[live] > n]
        owners = np.concatenate(found_owners)
        columns = np.concatenate(found_columns)
        known = columns >= 0
        return owners[known], columns[known]

    def _digits(self, text: str) -> np.ndarray:
        """The number of each character of ``text`` (0: not in the vocabulary's n-grams)."""
        points = _points(text)
        inside = points < len(self.digit_of)
        return np.where(inside, self.digit_of[np.where(inside, points, 0)], 0)

    def _lookup(
        self, parts: list[str], digits: np.ndarray, live: np.ndarray, starts: np.ndarray, n: int
    ) -> np.ndarray:
        """The column (-1: none) of each n-gram of length ``n`` of the ``live`` parts (at
        ``starts`` in ``digits``)."""
        if not self.fits or not len(self.codes):
            grams = [
                f" {parts[i]} "[k : k + n]
                for i in live.tolist()
                for k in range(len(parts[i]) + 3 - n)
            ]
            return np.fromiter(map(self.vocabulary.get, grams, repeat(-1)), np.int64, len(grams))
        codes = np.zeros(len(starts), dtype=np.int64)
        unknown = np.zeros(len(starts), dtype=bool)
        for k in range(n):
            digit = digits[starts + k]
            codes = (codes << self.bits) | digit
            unknown |= digit == 0
        at = np.minimum(np.searchsorted(self.codes, codes), len(self.codes) - 1)
        return np.where(~unknown & (self.codes[at] == codes), self.columns_of_codes[at], -1)


def _points(text: str) -> np.ndarray:
    """The code points of ``text``."""
    encoded = text.encode("utf-32-le", "surrogatepass")
    return np.frombuffer(encoded, dtype=np.uint32).astype(np.int64)


def _product(
    rows: np.ndarray, lengths: np.ndarray, transposed: sparse.csr_matrix, dtype: Any
) -> sparse.csr_matrix:
    """(documents x words) @ table, for documents with ``lengths`` word rows one after
    another in ``rows`` (``transposed``: the table as n-grams x words)."""
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(lengths)
    documents = sparse.csc_matrix(  # transposed: words x documents
        (np.ones(len(rows), dtype=dtype), rows, indptr), shape=(transposed.shape[1], len(lengths))
    )
    # The product's rows come out with unsorted columns; worked out transposed, the one
    # transposition back sorts them (cheaper than sorting them, or than two transpositions).
    return (transposed @ documents.tocsr()).T.tocsr()


class _GrowingRows:
    """Rows of a sparse matrix, appended a batch at a time into arrays that double when full."""

    def __init__(self, dtype: Any) -> None:
        self.rows = 0
        # int32 as scipy keeps them for matrices this size (int64 ones would be copied)
        self.indptr = np.zeros(1024, dtype=np.int32)
        self.indices = np.zeros(16384, dtype=np.int32)
        self.data = np.zeros(16384, dtype=dtype)

    def extend(self, lengths: np.ndarray, columns: np.ndarray, values: np.ndarray) -> None:
        """Add rows of ``lengths`` entries each, their columns and values one after another."""
        start = int(self.indptr[self.rows])
        end = start + len(columns)
        rows = self.rows + len(lengths)
        if rows + 1 > len(self.indptr):
            grown = np.zeros(max(rows + 1, 2 * len(self.indptr)), dtype=np.int32)
            grown[: self.rows + 1] = self.indptr[: self.rows + 1]
            self.indptr = grown
        if end > len(self.indices):
            size = max(end, 2 * len(self.indices))
            self.indices = np.concatenate([self.indices[:start], np.zeros(size - start, np.int32)])
            self.data = np.concatenate(
                [self.data[:start], np.zeros(size - start, dtype=self.data.dtype)]
            )
        self.indices[start:end] = columns
        self.data[start:end] = values
        self.indptr[self.rows + 1 : rows + 1] = start + np.cumsum(lengths)
        self.rows = rows

    def matrix(self, width: int) -> sparse.csr_matrix:
        """The rows so far (the matrix shares the arrays)."""
        nnz = int(self.indptr[self.rows])
        return sparse.csr_matrix(
            (self.data[:nnz], self.indices[:nnz], self.indptr[: self.rows + 1]),
            shape=(self.rows, width),
        )
