"""Cross-validation folds' feature matrices from term counts made once.

Fitting a vectoriser on a fold runs its analyzer (character n-grams above all) over texts the
other folds analyse too. Which terms a document holds does not depend on the fold; only the
vocabulary (``min_df``, ``max_features``), the idf weights and the heads do. ``CountedBlock``
counts every document once and derives a fold's vectoriser state from the fold's rows,
exactly as scikit-learn's ``fit_transform`` would:

- the vocabulary is pruned as in ``CountVectorizer._limit_features`` (document frequencies
  of the fold's rows; ``max_features`` keeps the most frequent terms, ties broken by the same
  ``argsort`` over the same array: the fold's terms in alphabetical order);
- each training row lists its terms in the order ``_count_vocab`` leaves them (the order the
  fold's documents first meet them), since sums over a row (the l2 norm, the heads' dot
  products) depend on it in the last bit; test rows are sorted, as ``transform`` gives them;
- the counts go through a ``TfidfTransformer`` fitted on the fold's training counts.

The fold models are used for out-of-fold scores only; the saved model is fitted as before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer

from autocoder.classify.blocks import (
    ModelSettings,
    as_matrix,
    make_features,
    make_presence_features,
    presence_rows,
    presence_table,
)
from autocoder.classify.features import FeatureDoc
from autocoder.classify.linear import LinearSuggester


@dataclass
class FoldBlock:
    """One vectoriser fitted on a fold: its kept terms and its tf-idf step."""

    counted: CountedBlock
    column: np.ndarray  # the fold's column of each counted term (-1: not kept)
    tfidf: TfidfTransformer | None
    train: sparse.csr_matrix  # the training rows' weighted matrix, as fit_transform gives it

    def transform(self, rows: np.ndarray) -> sparse.csr_matrix:
        """The weighted matrix of counted rows, as the fitted vectoriser's ``transform``."""
        counts = self.counted.select(rows, self.column)
        counts.sort_indices()
        return self.counted.finish(counts, self.tfidf)

    def vectoriser(self) -> CountVectorizer:
        """A plain fitted vectoriser with this state (for texts that were not counted)."""
        vectoriser = clone(self.counted.vectoriser)
        kept = np.flatnonzero(self.column >= 0)
        vectoriser.vocabulary_ = dict(
            zip(self.counted.terms[kept].tolist(), range(len(kept)), strict=True)
        )
        vectoriser.fixed_vocabulary_ = False
        if self.tfidf is not None:
            vectoriser._tfidf = self.tfidf
        return vectoriser


@dataclass
class CountedBlock:
    """A vectoriser's term counts over all documents, each row's terms in the order its
    analyzer first meets them; terms (columns) in alphabetical order."""

    vectoriser: CountVectorizer  # not fitted: its settings only
    weight: float | None
    terms: np.ndarray
    counts: sparse.csr_matrix
    by_term: np.ndarray  # positions in ``counts.indices``, term by term (ascending)
    term_starts: np.ndarray  # where each term's run starts in ``by_term``
    term_rows: np.ndarray  # the row of each position in ``by_term``

    @classmethod
    def count(
        cls, vectoriser: CountVectorizer, weight: float | None, texts: Sequence[str]
    ) -> CountedBlock:
        seen: dict[str, int] = {}  # term -> number, in order of first appearance
        indices: list[int] = []
        values: list[int] = []
        indptr = [0]
        for terms in _analysed(vectoriser, texts, seen):
            found = Counter(terms)  # keeps the order of first appearance
            indices.extend(found)
            values.extend(found.values())
            indptr.append(len(indices))
        terms = np.array(sorted(seen), dtype=object)
        alphabetical = np.empty(len(seen), dtype=np.int32)
        alphabetical[[seen[term] for term in terms.tolist()]] = np.arange(len(seen))
        columns = alphabetical[np.asarray(indices, dtype=np.int64)]
        counts = sparse.csr_matrix(
            (np.asarray(values, dtype=np.intc), columns, np.asarray(indptr, dtype=np.int32)),
            shape=(len(texts), len(seen)),
        )
        # Column by column, each entry's position in ``counts`` and its row (both ascending).
        positions = sparse.csr_matrix(
            (np.arange(counts.nnz), counts.indices, counts.indptr), shape=counts.shape
        ).tocsc()
        return cls(
            vectoriser,
            weight,
            terms,
            counts,
            positions.data,
            positions.indptr[:-1],
            positions.indices,
        )

    def fit(self, train: np.ndarray) -> FoldBlock:
        """The vectoriser fitted on rows ``train`` (ascending), as ``fit_transform`` fits it."""
        v = self.vectoriser
        rows = self.counts[train]
        n_doc = len(train)
        frequency = np.bincount(rows.indices, minlength=len(self.terms))
        high = v.max_df if isinstance(v.max_df, Integral) else v.max_df * n_doc
        low = v.min_df if isinstance(v.min_df, Integral) else v.min_df * n_doc
        if high < low:
            raise ValueError("max_df corresponds to < documents than min_df")
        mask = (frequency > 0) & (frequency <= high) & (frequency >= low)
        if v.max_features is not None and mask.sum() > v.max_features:
            totals = np.asarray(rows.astype(v.dtype).sum(axis=0)).ravel()
            best = (-totals[mask]).argsort()[: v.max_features]
            limited = np.zeros(len(mask), dtype=bool)
            limited[np.flatnonzero(mask)[best]] = True
            mask = limited
        kept = np.flatnonzero(mask)
        if len(kept) == 0:
            raise ValueError("After pruning, no terms remain.")
        column = np.full(len(self.terms), -1, dtype=np.int64)
        column[kept] = np.arange(len(kept))
        # The fold's own order of first appearance: the first training entry of each term.
        in_train = np.zeros(self.counts.shape[0], dtype=bool)
        in_train[train] = True
        positions = np.where(in_train[self.term_rows], self.by_term, -1)
        positions[positions < 0] = len(self.by_term)
        first = np.minimum.reduceat(positions, self.term_starts)
        appearance = kept[np.argsort(first[kept])]
        rank = np.full(len(self.terms), -1, dtype=np.int64)
        rank[appearance] = np.arange(len(kept))
        counts = self.select(train, rank)
        counts.sort_indices()  # by first appearance; then the columns are the alphabetical ones
        counts.indices = column[appearance][counts.indices].astype(counts.indices.dtype)
        tfidf = None
        if isinstance(v, TfidfVectorizer):
            tfidf = TfidfTransformer(
                norm=v.norm, use_idf=v.use_idf, smooth_idf=v.smooth_idf, sublinear_tf=v.sublinear_tf
            ).fit(counts)
        return FoldBlock(self, column, tfidf, self.finish(counts, tfidf))

    def select(self, rows: np.ndarray, column: np.ndarray) -> sparse.csr_matrix:
        """Counts of ``rows`` in the vectoriser's dtype, terms renumbered by ``column`` (terms
        at -1 dropped); each row's entries stay in the counted order."""
        part = self.counts[rows]
        new = column[part.indices]
        keep = new >= 0
        indptr = np.concatenate([[0], np.cumsum(keep)])[part.indptr]
        return sparse.csr_matrix(
            (
                part.data[keep].astype(self.vectoriser.dtype),
                new[keep].astype(np.int32),
                indptr.astype(np.int32),
            ),
            shape=(len(rows), int(column.max()) + 1),
        )

    def finish(
        self, counts: sparse.csr_matrix, tfidf: TfidfTransformer | None
    ) -> sparse.csr_matrix:
        matrix = counts if tfidf is None else tfidf.transform(counts, copy=False)
        return matrix if self.weight is None else matrix * self.weight


class CountedFeatures:
    """The factor and presence blocks of ``make_features`` and ``make_presence_features``,
    counted once over all training documents (presence texts with each coded factor)."""

    def __init__(
        self, docs: Sequence[FeatureDoc], factors: Sequence[str], settings: ModelSettings
    ) -> None:
        self.docs = docs
        self.blocks = _counted(make_features(settings), as_matrix(docs))
        self.presence = _counted(make_presence_features(), presence_table(docs, factors))

    def fold_scores(
        self,
        model: LinearSuggester,
        train: np.ndarray,
        test: np.ndarray,
        factors: Sequence[str],
        presences: Sequence[int | None],
        weights: Sequence[float],
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Fit ``model``'s heads on rows ``train``; its raw scores for rows ``test`` (as
        ``fit`` then ``scores`` give them)."""
        fitted = [block.fit(train) for block in self.blocks]
        matrix = sparse.hstack([block.train for block in fitted]).tocsr()
        train_presences = [presences[i] for i in train]
        index = presence_rows(train_presences)
        presence_fitted: list[FoldBlock] = []
        extra = None
        if index is not None:
            presence_fitted = [block.fit(train[index]) for block in self.presence]
            extra = sparse.hstack([block.train for block in presence_fitted]).tocsr()
        model.fit_heads(
            matrix,
            [factors[i] for i in train],
            train_presences,
            [weights[i] for i in train],
            extra,
        )
        test_matrix = sparse.hstack([block.transform(test) for block in fitted]).tocsr()
        return _scores(model, test_matrix, [self.docs[i] for i in test], presence_fitted)


def _analysed(
    vectoriser: CountVectorizer, texts: Sequence[str], seen: dict[str, int]
) -> Iterator[list[int]]:
    """Each text's terms as the vectoriser's analyzer gives them, numbered by ``seen``
    (extended with new terms). Character n-grams within word boundaries are worked out
    once per distinct word (the analyzer takes each word of the preprocessed text alone)."""
    if vectoriser.analyzer != "char_wb":
        analyze = vectoriser.build_analyzer()
        for text in texts:
            yield [seen.setdefault(term, len(seen)) for term in analyze(text)]
        return
    preprocess = vectoriser.build_preprocessor()
    per_word: dict[str, tuple[int, ...]] = {}
    for text in texts:
        numbers: list[int] = []
        for word in preprocess(vectoriser.decode(text)).split():
            grams = per_word.get(word)
            if grams is None:
                grams = tuple(
                    seen.setdefault(gram, len(seen)) for gram in vectoriser._char_wb_ngrams(word)
                )
                per_word[word] = grams
            numbers.extend(grams)
        yield numbers


def _counted(transformer: Any, table: np.ndarray) -> list[CountedBlock]:
    weights = transformer.transformer_weights or {}
    return [
        CountedBlock.count(vectoriser, weights.get(name), table[:, column].tolist())
        for name, vectoriser, column in transformer.transformers
    ]


def _scores(
    model: LinearSuggester,
    matrix: sparse.csr_matrix,
    docs: Sequence[FeatureDoc],
    presence: list[FoldBlock],
) -> tuple[np.ndarray, np.ndarray | None]:
    """``LinearSuggester.scores`` with the presence block's fold state."""
    logits = model.factor_logits(matrix)
    if model.presence_ is None or not presence:
        return logits, None
    suggested = [model.labels[i] for i in logits.argmax(axis=1)]
    table = presence_table(docs, suggested)
    parts = [block.vectoriser().transform(table[:, i]) for i, block in enumerate(presence)]
    combined = sparse.hstack([matrix, sparse.hstack(parts).tocsr()]).tocsr()
    return logits, model.presence_.decision_function(combined)
