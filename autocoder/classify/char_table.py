"""Character n-gram counts of texts from a table of n-gram counts per word (FastVectoriser).

A fitted ``char_wb`` vectoriser lowercases a text, splits it at whitespace and counts each
word's n-grams. Here each distinct word's n-grams are worked out once and kept as a row of a
sparse table, so that a batch's counts are (documents x words) @ (words x n-grams). For a
batch analysed as token arrays, the words are the analysis's whitespace-separated pieces,
found by their numbers instead of by their strings.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from scipy import sparse

from autocoder.segment import TokenArrays


class CharTable:
    """Rows of character n-gram counts per word, for one fitted ``char_wb`` vectoriser."""

    MAX_WORDS = 200_000  # kept rows; the table starts afresh beyond this

    def __init__(self, vectoriser: Any) -> None:
        self.vectoriser = vectoriser
        self.lock = threading.Lock()  # the table is shared by threads
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
        new = set(words) - ids.keys()
        if new or self.matrix is None:
            self._add(sorted(new))
        return np.fromiter(map(ids.__getitem__, words), dtype=np.int64, count=len(words))

    def _add(self, words: list[str]) -> None:
        vectoriser = self.vectoriser
        vocabulary = vectoriser.vocabulary_
        preprocess = vectoriser.build_preprocessor()
        table = self.table
        for word in words:
            self.word_ids[word] = table.rows
            found: dict[int, int] = {}
            for gram in vectoriser._char_wb_ngrams(preprocess(word)):
                column = vocabulary.get(gram)
                if column is not None:
                    found[column] = found.get(column, 0) + 1
            table.append(list(found), list(found.values()))
        self.matrix = table.matrix(len(vocabulary))
        self.transposed = None


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
    """Rows of a sparse matrix, appended one by one into arrays that double when full."""

    def __init__(self, dtype: Any) -> None:
        self.rows = 0
        # int32 as scipy keeps them for matrices this size (int64 ones would be copied)
        self.indptr = np.zeros(1024, dtype=np.int32)
        self.indices = np.zeros(16384, dtype=np.int32)
        self.data = np.zeros(16384, dtype=dtype)

    def append(self, columns: list[int], values: list[int]) -> None:
        start = int(self.indptr[self.rows])
        end = start + len(columns)
        if self.rows + 2 > len(self.indptr):
            self.indptr = np.concatenate([self.indptr, np.zeros_like(self.indptr)])
        if end > len(self.indices):
            size = max(end, 2 * len(self.indices))
            self.indices = np.concatenate([self.indices, np.zeros(size, dtype=np.int32)])
            self.data = np.concatenate([self.data, np.zeros(size, dtype=self.data.dtype)])
        self.indices[start:end] = columns
        self.data[start:end] = values
        self.rows += 1
        self.indptr[self.rows] = end

    def matrix(self, width: int) -> sparse.csr_matrix:
        """The rows so far (the matrix shares the arrays)."""
        nnz = int(self.indptr[self.rows])
        return sparse.csr_matrix(
            (self.data[:nnz], self.indices[:nnz], self.indptr[: self.rows + 1]),
            shape=(self.rows, width),
        )
