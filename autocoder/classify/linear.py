"""The default suggestion model: sparse text features and two linear heads.

A small adapter in the scikit-learn style (``fit`` / ``predict_proba``), following the
estimator contract: constructor arguments are settings, fitted state ends in ``_``.
Both heads are linear support-vector machines (fast, strong on sparse text); their margins
become probabilities by temperature scaling fitted on grouped out-of-fold scores.
The presence head also sees factor-specific words ("verloop" says something else about
stability than about relations): at training time with the coded factor, at prediction time
with the suggested one.

At prediction time the features come from ``FastVectoriser`` (classify.fast_vectoriser), a
runtime helper that is never saved; reasons are ranked in classify.contributions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import expit, softmax
from sklearn.compose import ColumnTransformer
from sklearn.svm import LinearSVC

from autocoder.classify.batch_features import BatchInput, Matches
from autocoder.classify.blocks import (
    ModelSettings,
    as_matrix,
    make_features,
    make_presence_features,
    presence_rows,
    presence_table,
)
from autocoder.classify.contributions import (
    TOP_CONTRIBUTIONS,
    top_columns_per_row,
    top_contributions,
)
from autocoder.classify.fast_vectoriser import FastVectoriser
from autocoder.classify.features import FeatureDoc
from autocoder.classify.token_index import WordIds
from autocoder.records import NO_FACTOR_KEY


@dataclass
class Features:
    """A batch's factor matrix plus what the presence head needs (built lazily): from feature
    documents (``docs``) or from a batch's token arrays (``batch``)."""

    factor: sparse.csr_matrix
    docs: Sequence[FeatureDoc] | BatchInput
    presence: sparse.csr_matrix | None = None
    words: WordIds | None = None  # FastVectoriser's numbered words of ``docs``
    readable: sparse.csr_matrix | None = None  # ``factor`` without character n-grams
    presence_extra: sparse.csr_matrix | None = None  # the presence head's own columns
    matches: Matches | None = None  # indicator matches of a batch (``docs`` hold their own)


class LinearSuggester:
    """Factor head over codebook ids plus "no factor"; presence head over present/absent."""

    def __init__(self, codes: Sequence[str], settings: ModelSettings | None = None) -> None:
        self.codes = tuple(codes)
        self.settings = settings or ModelSettings()
        self.labels = (*self.codes, NO_FACTOR_KEY)

    def _svm(self, c: float) -> LinearSVC:
        return LinearSVC(
            C=c, class_weight=self.settings.class_weight, random_state=self.settings.seed
        )

    def fit(
        self,
        docs: Sequence[FeatureDoc],
        factors: Sequence[str],
        presences: Sequence[int | None],
        weights: Sequence[float] | None = None,
    ) -> LinearSuggester:
        """``factors`` use NO_FACTOR_KEY for no factor; ``presences`` are 1, 0 or None."""
        self.features_ = make_features(self.settings)
        matrix = self.features_.fit_transform(as_matrix(docs)).tocsr()
        self.presence_features_ = None
        extra = None
        index = presence_rows(presences)
        if index is not None:
            self.presence_features_ = make_presence_features()
            extra = self.presence_features_.fit_transform(
                presence_table([docs[i] for i in index], [factors[i] for i in index])
            )
        self.fit_heads(matrix, factors, presences, weights, extra)
        for block in (self.features_, self.presence_features_):
            _drop_pruned_terms(block)
        for cache in ("_name_cache", "_fast_cache", "_masked_cache"):
            self.__dict__.pop(cache, None)
        return self

    def fit_heads(
        self,
        matrix: sparse.csr_matrix,
        factors: Sequence[str],
        presences: Sequence[int | None],
        weights: Sequence[float] | None,
        presence_extra: sparse.csr_matrix | None,
    ) -> LinearSuggester:
        """The two heads on the factor matrix; ``presence_extra`` holds the presence block's
        columns for the rows ``presence_rows`` picks (None: no presence head)."""
        settings = self.settings
        sample_weight = None if weights is None else np.asarray(weights, dtype=float)
        self.factor_ = self._svm(settings.factor_c).fit(
            matrix, np.asarray(factors), sample_weight=sample_weight
        )
        self.presence_ = None
        index = presence_rows(presences)
        if index is not None and presence_extra is not None:
            target = np.array([presences[i] for i in index], dtype=int)
            pw = None if sample_weight is None else sample_weight[index]
            combined = sparse.hstack([matrix[index], presence_extra]).tocsr()
            self.presence_ = self._svm(settings.presence_c).fit(combined, target, sample_weight=pw)
        self.factor_temperature_ = 1.0
        self.presence_temperature_ = 1.0
        return self

    def _fast(self) -> FastVectoriser | None:
        """The fast vectoriser for the fitted blocks (None when they are not the usual ones)."""
        key = (id(self.features_), id(self.presence_features_))
        cached = self.__dict__.get("_fast_cache")
        if cached is None or cached[0] != key:
            built = FastVectoriser.build(self.features_, self.presence_features_, self.labels)
            cached = (key, built)
            self.__dict__["_fast_cache"] = cached
        return cached[1]

    def transform(self, docs: Sequence[FeatureDoc]) -> Features:
        fast = self._fast()
        if fast is None or not docs:
            return Features(self.features_.transform(as_matrix(docs)).tocsr(), docs)
        matrix, words, readable = fast.factor(docs)
        return Features(matrix, docs, words=words, readable=readable)

    def transform_batch(self, batch: BatchInput) -> Features | None:
        """``transform`` for a batch's texts, straight from their token arrays (None: these
        fitted blocks need feature documents)."""
        fast = self._fast()
        if fast is None or not batch.texts:
            return None
        matrix, words, readable, matches = fast.factor_batch(batch)
        return Features(matrix, batch, words=words, readable=readable, matches=matches)

    def factor_logits(self, matrix: sparse.csr_matrix) -> np.ndarray:
        """Raw factor margins of a factor matrix, columns in ``self.labels`` order (labels
        the head never saw get a margin that never wins)."""
        logits = np.full((matrix.shape[0], len(self.labels)), -1e4)
        raw = self.factor_.decision_function(matrix)
        if raw.ndim == 1:  # two classes seen: sklearn returns one column
            raw = np.column_stack([-raw / 2, raw / 2])
        for column, label in enumerate(self.factor_.classes_):
            logits[:, self.labels.index(label)] = raw[:, column]
        return logits

    def scores(self, features: Features) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw factor margins (columns in ``self.labels`` order) and presence margins."""
        matrix = features.factor
        logits = self.factor_logits(matrix)
        if self.presence_ is None or self.presence_features_ is None:
            return logits, None
        suggested = [self.labels[i] for i in logits.argmax(axis=1)]
        fast = self._fast()
        if fast is None:
            assert not isinstance(features.docs, BatchInput)
            extra = self.presence_features_.transform(presence_table(features.docs, suggested))
        else:
            words = features.words if features.words is not None else fast.factor(features.docs)[1]
            extra = fast.presence(features.docs, suggested, words)
        features.presence = sparse.hstack([matrix, extra]).tocsr()
        features.presence_extra = extra
        return logits, self.presence_.decision_function(features.presence)

    def predict_proba(self, features: Features) -> tuple[np.ndarray, np.ndarray | None]:
        """Calibrated factor probabilities and the probability that the factor is present."""
        logits, presence = self.scores(features)
        probs = softmax(logits / self.factor_temperature_, axis=1)
        present = None if presence is None else expit(presence / self.presence_temperature_)
        return probs, present

    def contributions(self, features: Features, row: int, label: str) -> list[tuple[str, float]]:
        """Features of one row that pushed towards ``label``, strongest first (at most
        TOP_CONTRIBUTIONS; character n-grams, which mean nothing to a reader, left out)."""
        classes = list(self.factor_.classes_)
        if label not in classes:
            return []
        coef = self.factor_.coef_
        weights = coef[classes.index(label)] if coef.shape[0] > 1 else coef[0]
        return top_contributions(
            features.factor, row, weights, self._names("factor"), self._chars()
        )

    def presence_contributions(
        self, features: Features, row: int, present: bool
    ) -> list[tuple[str, float]]:
        if self.presence_ is None or features.presence is None:
            return []
        weights = self.presence_.coef_[0] * (1 if present else -1)
        return top_contributions(
            features.presence, row, weights, self._names("presence"), self._chars()
        )

    def ranked_columns(
        self,
        features: Features,
        labels: Sequence[str],
        k: int = TOP_CONTRIBUTIONS,
        shown: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """For every row at once: the columns of the features that pushed most towards its
        label (at most ``k``, as ``contributions`` ranks them), or with ``shown`` only among
        the columns it marks: per column of ``feature_names("factor")``, or per label (rows in
        ``self.labels`` order) and column. Row i's are ``columns[offsets[i]:offsets[i + 1]]``;
        returns (offsets, columns)."""
        classes = {label: i for i, label in enumerate(self.factor_.classes_.tolist())}
        coef = self.factor_.coef_
        which = np.array([classes.get(label, -1) for label in labels], dtype=np.int64)
        if coef.shape[0] == 1:  # two classes: one row of weights
            which = np.minimum(which, 0)
        matrix, skip = features.factor, self._chars()
        if features.readable is not None:
            matrix, skip = features.readable, None
        weights = self._masked("factor", lambda: coef, shown)
        return top_columns_per_row(matrix, weights, which, k, skip)

    def ranked_presence_columns(
        self,
        features: Features,
        present: Sequence[bool | None],
        k: int = TOP_CONTRIBUTIONS,
        shown: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The columns ``presence_contributions`` gives for each row (none where ``present``
        is None), as in ``ranked_columns``; ``shown`` per column of the presence head."""
        if self.presence_ is None or features.presence is None:
            return np.zeros(len(present) + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
        coef = self.presence_.coef_[0]
        which = np.array([-1 if p is None else (0 if p else 1) for p in present], dtype=np.int64)
        matrix, skip = features.presence, self._chars()
        if features.readable is not None and features.presence_extra is not None:
            matrix = sparse.hstack([features.readable, features.presence_extra]).tocsr()
            skip = None
        weights = self._masked("presence", lambda: np.vstack([coef, -coef]), shown)
        return top_columns_per_row(matrix, weights, which, k, skip)

    def _masked(
        self, head: str, make_weights: Callable[[], np.ndarray], shown: np.ndarray | None
    ) -> np.ndarray:
        """The weights with the columns ``shown`` leaves out set to zero (never ranked);
        kept for the last few masks (a model ranks with the same masks batch after batch,
        and ``fit`` forgets them)."""
        if shown is None:
            return make_weights()
        cache = self.__dict__.setdefault("_masked_cache", {})
        key = (head, id(shown), shown.shape)
        masked = cache.get(key)
        if masked is None:
            weights = make_weights()
            if shown.ndim == 2:  # per label: the rows of the factor head's classes
                classes = list(self.factor_.classes_)
                rows = classes if weights.shape[0] > 1 else classes[-1:]
                shown = shown[[self.labels.index(label) for label in rows]]
            masked = np.where(shown, weights, 0.0)
            if len(cache) >= 8:
                cache.clear()
            cache[key] = masked
        return masked

    def _chars(self) -> tuple[int, int] | None:
        """The column range of character n-grams in the factor matrix."""
        chars = self.features_.output_indices_.get("chars")
        return None if chars is None else (chars.start, chars.stop)

    def feature_names(self, head: str) -> np.ndarray:
        """The column names of the ``"factor"`` or ``"presence"`` head's matrix, as Python
        strings in an object array (fast to index)."""
        cache = self.__dict__.setdefault("_name_cache", {})
        key = head + ":objects"
        if key not in cache:
            cache[key] = np.array([str(name) for name in self._names(head)], dtype=object)
        return cache[key]

    def _names(self, head: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_name_cache", {})
        if head not in cache:
            if head == "presence" and self.presence_features_ is not None:
                own = self.presence_features_.get_feature_names_out()
                cache[head] = np.concatenate([self._names("factor"), own])
            else:
                cache[head] = self.features_.get_feature_names_out()
        return cache[head]


def _drop_pruned_terms(block: ColumnTransformer | None) -> None:
    # Vectorisers keep every term they pruned (``stop_words_``) only for introspection; it
    # would make up most of a saved model and its load time.
    for _, vectoriser, _ in block.transformers_ if block is not None else ():
        if hasattr(vectoriser, "stop_words_"):
            del vectoriser.stop_words_
