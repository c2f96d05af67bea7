"""FastVectoriser: the fitted feature blocks' matrices, without running the analyzers.

A runtime helper of LinearSuggester, built from its fitted ColumnTransformers; it is never
saved with a model (the saved estimator holds scikit-learn objects only).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from autocoder.classify.batch_features import BatchFeaturiser, BatchInput, Matches
from autocoder.classify.char_table import CharTable
from autocoder.classify.features import FeatureDoc
from autocoder.classify.token_index import TokenTable, WordIds


class FastVectoriser:
    """What the fitted ColumnTransformers give, without running the vectorisers' analyzers.

    scikit-learn's vectorisers split and count every document in Python, one n-gram at a
    time (a few hundred character n-grams per fragment). Here the term counts come from the
    fitted vocabularies directly, for a whole batch at once:

    - the ``words`` tokens of each document are looked up once (as numbers); their unigram
      and bigram columns, their ``P_``/``N_`` columns in the neighbours' context, and their
      ``factor|word`` columns for the presence head follow by array lookups;
    - character n-grams per distinct word, worked out once and kept (classify.char_table);
    - ``meta`` and ``scoped`` tokens by dictionary lookups.

    The counts then go through each vectoriser's own tf-idf step and the same weights and
    stacking, so the matrices are exactly those ``ColumnTransformer.transform`` returns.
    """

    def __init__(
        self,
        blocks: dict[str, tuple[Any, float | None]],
        presence_blocks: dict[str, tuple[Any, float | None]],
        labels: Sequence[str],
    ) -> None:
        self.blocks = blocks
        self.presence_blocks = presence_blocks
        self.labels = {label: i for i, label in enumerate(labels)}
        self.tokens = TokenTable(
            blocks["words"][0],
            blocks["context"][0],
            presence_blocks["factor_words"][0] if presence_blocks else None,
            labels,
        )
        self.featuriser = BatchFeaturiser(
            self.tokens,
            blocks["meta"][0].vocabulary_,
            presence_blocks["scoped"][0].vocabulary_ if presence_blocks else None,
        )
        self.chars = CharTable(blocks["chars"][0])

    @classmethod
    def build(
        cls, features: ColumnTransformer, presence: ColumnTransformer | None, labels: Sequence[str]
    ) -> FastVectoriser | None:
        blocks = cls._blocks(
            features,
            {
                "words": ("word", (1, 2)),
                "chars": ("char_wb", None),
                "meta": ("word", (1, 1)),
                "context": ("word", (1, 1)),
            },
        )
        presence_blocks: dict[str, tuple[Any, float | None]] | None = {}
        if presence is not None:
            presence_blocks = cls._blocks(
                presence, {"scoped": ("word", (1, 1)), "factor_words": ("word", (1, 1))}
            )
        if blocks is None or presence_blocks is None:
            return None
        return cls(blocks, presence_blocks, labels)

    @staticmethod
    def _blocks(
        transformer: ColumnTransformer, expected: dict[str, tuple[str, tuple[int, int] | None]]
    ) -> dict[str, tuple[Any, float | None]] | None:
        fitted = [item for item in transformer.transformers_ if item[0] != "remainder"]
        if (
            [name for name, _, _ in fitted] != list(expected)
            or transformer.remainder != "drop"
            or not getattr(transformer, "sparse_output_", False)
        ):
            return None
        weights = transformer.transformer_weights or {}
        blocks = {}
        for name, vectoriser, _ in fitted:
            analyzer, ngrams = expected[name]
            if not _plain_vectoriser(vectoriser, analyzer, ngrams):
                return None
            blocks[name] = (vectoriser, weights.get(name))
        return blocks

    def factor(
        self, docs: Sequence[FeatureDoc]
    ) -> tuple[sparse.csr_matrix, WordIds, sparse.csr_matrix]:
        """The factor block's matrix, the documents' word numbers (for ``presence``), and the
        matrix without its character n-grams (for ranking contributions)."""
        n = len(docs)
        words = WordIds.of(docs, self.tokens)
        table = self.tokens
        counts = {
            "words": _counts(words.pairs(table), n, self.blocks["words"][0]),
            "chars": self.chars.counts([doc.chars for doc in docs]),
            "meta": _token_counts([doc.meta for doc in docs], self.blocks["meta"][0]),
            "context": _counts(words.context(docs, table), n, self.blocks["context"][0]),
        }
        matrix, readable = self._factor_matrices(counts)
        return matrix, words, readable

    def factor_batch(
        self, batch: BatchInput
    ) -> tuple[sparse.csr_matrix, WordIds, sparse.csr_matrix, Matches]:
        """What ``factor`` gives for the texts of a batch (straight from their token arrays),
        and their indicator matches."""
        n = len(batch.texts)
        words = self.featuriser.words(batch)
        meta, matches = self.featuriser.meta_counts(batch)
        table = self.tokens
        context = words.neighbour_context(batch.before, batch.after, table)
        counts = {
            "words": _counts(words.pairs(table), n, self.blocks["words"][0]),
            "chars": self.chars.batch_counts(batch.texts, batch.arrays),
            "meta": _counts(meta, n, self.blocks["meta"][0]),
            "context": _counts(context, n, self.blocks["context"][0]),
        }
        matrix, readable = self._factor_matrices(counts)
        return matrix, words, readable, matches

    def _factor_matrices(
        self, counts: dict[str, sparse.csr_matrix]
    ) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        parts = self._parts(self.blocks, counts)
        matrix = sparse.hstack(parts).tocsr()
        chars = list(self.blocks).index("chars")
        parts[chars] = sparse.csr_matrix(parts[chars].shape, dtype=parts[chars].dtype)
        return matrix, sparse.hstack(parts).tocsr()

    def presence(
        self, docs: Sequence[FeatureDoc] | BatchInput, factors: Sequence[str], words: WordIds
    ) -> sparse.csr_matrix:
        """The presence block's extra matrix for documents (or a batch's texts) suggested
        ``factors``."""
        label = np.array([self.labels.get(factor, -1) for factor in factors], dtype=np.int64)
        scoped_vectoriser = self.presence_blocks["scoped"][0]
        if isinstance(docs, BatchInput):
            scoped = _counts(self.featuriser.scoped_counts(docs), len(factors), scoped_vectoriser)
        else:
            scoped = _token_counts([doc.scoped for doc in docs], scoped_vectoriser)
        counts = {
            "scoped": scoped,
            "factor_words": _counts(
                words.factor_words(label, self.tokens),
                len(factors),
                self.presence_blocks["factor_words"][0],
            ),
        }
        return sparse.hstack(self._parts(self.presence_blocks, counts)).tocsr()

    @staticmethod
    def _parts(
        blocks: dict[str, tuple[Any, float | None]], counts: dict[str, sparse.csr_matrix]
    ) -> list[Any]:
        """Each block's counts through its vectoriser's tf-idf step and its weight."""
        parts = []
        for name, (vectoriser, weight) in blocks.items():
            matrix = counts[name]
            if isinstance(vectoriser, TfidfVectorizer):
                matrix = _tfidf(matrix, vectoriser._tfidf)
            if weight is not None and not (weight == 1.0 and matrix.dtype.kind == "f"):
                matrix = matrix * weight  # (times 1.0 changes no float)
            parts.append(matrix)
        return parts


def _tfidf(counts: sparse.csr_matrix, transformer: Any) -> sparse.csr_matrix:
    """``transformer.transform(counts, copy=False)``: the same steps on the counts' data in
    place, without the input checks (the counts come from ``_counts``: canonical CSR)."""
    if transformer.norm not in (None, "l2") or counts.dtype not in (np.float32, np.float64):
        return transformer.transform(counts, copy=False)
    data = counts.data
    if transformer.sublinear_tf:
        np.log(data, data)
        data += 1.0
    if hasattr(transformer, "idf_"):
        data *= transformer.idf_[counts.indices]
    if transformer.norm == "l2":
        inplace_csr_row_normalize_l2(counts)
    return counts


def _plain_vectoriser(vectoriser: Any, analyzer: str, ngrams: tuple[int, int] | None) -> bool:
    """Is this a fitted vectoriser whose counting FastVectoriser reproduces exactly?"""
    if not isinstance(vectoriser, CountVectorizer) or not hasattr(vectoriser, "vocabulary_"):
        return False
    params = vectoriser.get_params()
    plain = (
        params["analyzer"] == analyzer
        and params["input"] == "content"
        and params["preprocessor"] is None
        and params["tokenizer"] is None
        and params["stop_words"] is None
        and params["strip_accents"] is None
        and not params["binary"]
    )
    if analyzer == "word":
        plain = plain and (
            params["token_pattern"] == r"\S+"
            and not params["lowercase"]
            and tuple(params["ngram_range"]) == ngrams
        )
    if isinstance(vectoriser, TfidfVectorizer):
        plain = plain and hasattr(vectoriser, "_tfidf")
    return plain


def _token_counts(texts: list[str], vectoriser: Any) -> sparse.csr_matrix:
    """Counts of the whitespace-separated tokens of each text (unigram vectorisers)."""
    per_doc = [text.split() for text in texts]
    lengths = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(per_doc))
    flat = [token for tokens in per_doc for token in tokens]
    get = vectoriser.vocabulary_.get
    columns = np.fromiter(map(get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
    return _counts((np.repeat(np.arange(len(texts)), lengths), columns), len(texts), vectoriser)


def _counts(
    found: tuple[np.ndarray, np.ndarray], n_rows: int, vectoriser: Any
) -> sparse.csr_matrix:
    """A count matrix, as the vectoriser builds it (columns sorted, no duplicates), from
    (row, column) occurrences."""
    rows, columns = found
    keep = np.flatnonzero(columns >= 0)
    rows, columns = rows[keep], columns[keep]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    order = np.argsort(rows, kind="stable")  # a few sorted runs: fast
    counts = sparse.csr_matrix(
        (np.ones(len(rows), dtype=vectoriser.dtype), columns[order], indptr),
        shape=(n_rows, len(vectoriser.vocabulary_)),
    )
    # Transposing there and back sorts each row's columns, duplicates side by side (cheaper
    # than sorting them); summing them is then one pass.
    counts = counts.tocsc().tocsr()
    counts.sum_duplicates()
    return counts
