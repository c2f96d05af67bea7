"""The default suggestion model: sparse text features and two linear heads.

A small adapter in the scikit-learn style (``fit`` / ``predict_proba``), following the
estimator contract: constructor arguments are settings, fitted state ends in ``_``.
Both heads are linear support-vector machines (fast, strong on sparse text); their margins
become probabilities by temperature scaling fitted on grouped out-of-fold scores.
The presence head also sees factor-specific words ("verloop" says something else about
stability than about relations): at training time with the coded factor, at prediction time
with the suggested one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import minimize_scalar
from scipy.special import expit, softmax
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.svm import LinearSVC

from autocoder.classify.features import FeatureDoc
from autocoder.records import NO_FACTOR_KEY

WORDS, CHARS, META, CONTEXT = 0, 1, 2, 3
SCOPED, FACTOR_WORDS = 0, 1


@dataclass(frozen=True)
class ModelSettings:
    seed: int = 13
    factor_c: float = 0.5
    presence_c: float = 0.5
    char_ngrams: tuple[int, int] = (3, 5)
    max_char_features: int = 60000
    meta_weight: float = 0.3
    context_weight: float = 0.7
    class_weight: str | None = "balanced"


def make_features(settings: ModelSettings) -> ColumnTransformer:
    words = TfidfVectorizer(
        token_pattern=r"\S+", lowercase=False, ngram_range=(1, 2), min_df=2, sublinear_tf=True
    )
    chars = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=settings.char_ngrams,
        min_df=2,
        sublinear_tf=True,
        max_features=settings.max_char_features,
        dtype=np.float32,
    )
    meta = CountVectorizer(token_pattern=r"\S+", lowercase=False)
    context = _tokens_tfidf()
    return ColumnTransformer(
        [
            ("words", words, WORDS),
            ("chars", chars, CHARS),
            ("meta", meta, META),
            ("context", context, CONTEXT),
        ],
        transformer_weights={
            "words": 1.0,
            "chars": 1.0,
            "meta": settings.meta_weight,
            "context": settings.context_weight,
        },
        sparse_threshold=1.0,
    )


def make_presence_features() -> ColumnTransformer:
    return ColumnTransformer(
        [("scoped", _tokens_tfidf(), SCOPED), ("factor_words", _tokens_tfidf(), FACTOR_WORDS)],
        sparse_threshold=1.0,
    )


def _tokens_tfidf() -> TfidfVectorizer:
    return TfidfVectorizer(token_pattern=r"\S+", lowercase=False, min_df=2, sublinear_tf=True)


def as_matrix(docs: Sequence[FeatureDoc]) -> np.ndarray:
    table = np.empty((len(docs), 4), dtype=object)
    for i, doc in enumerate(docs):
        table[i] = (doc.words, doc.chars, doc.meta, doc.context)
    return table


def presence_table(docs: Sequence[FeatureDoc], factors: Sequence[str]) -> np.ndarray:
    table = np.empty((len(docs), 2), dtype=object)
    for i, (doc, factor) in enumerate(zip(docs, factors, strict=True)):
        table[i] = (doc.scoped, " ".join(f"{factor}|{word}" for word in doc.words.split()))
    return table


def fit_temperature(logits: np.ndarray, target: np.ndarray, binary: bool = False) -> float:
    """The temperature that minimises the negative log-likelihood of held-out scores."""
    if len(target) == 0:
        return 1.0

    def nll(log_t: float) -> float:
        t = float(np.exp(log_t))
        if binary:
            p = np.clip(expit(logits / t), 1e-12, 1 - 1e-12)
            return float(-np.mean(target * np.log(p) + (1 - target) * np.log(1 - p)))
        probs = softmax(logits / t, axis=1)
        return float(-np.mean(np.log(np.clip(probs[np.arange(len(target)), target], 1e-12, 1))))

    result = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


@dataclass
class Features:
    """A batch's factor matrix plus what the presence head needs (built lazily)."""

    factor: sparse.csr_matrix
    docs: Sequence[FeatureDoc]
    presence: sparse.csr_matrix | None = None


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
        settings = self.settings
        self.features_ = make_features(settings)
        matrix = self.features_.fit_transform(as_matrix(docs)).tocsr()
        sample_weight = None if weights is None else np.asarray(weights, dtype=float)
        self.factor_ = self._svm(settings.factor_c).fit(
            matrix, np.asarray(factors), sample_weight=sample_weight
        )
        self.presence_features_ = None
        self.presence_ = None
        known = np.array([p is not None for p in presences])
        if known.any() and len({p for p in presences if p is not None}) == 2:
            index = np.flatnonzero(known)
            kept = [docs[i] for i in index]
            self.presence_features_ = make_presence_features()
            extra = self.presence_features_.fit_transform(
                presence_table(kept, [factors[i] for i in index])
            )
            target = np.array([presences[i] for i in index], dtype=int)
            pw = None if sample_weight is None else sample_weight[index]
            combined = sparse.hstack([matrix[index], extra]).tocsr()
            self.presence_ = self._svm(settings.presence_c).fit(combined, target, sample_weight=pw)
        self.factor_temperature_ = 1.0
        self.presence_temperature_ = 1.0
        for block in (self.features_, self.presence_features_):
            _drop_pruned_terms(block)
        return self

    def transform(self, docs: Sequence[FeatureDoc]) -> Features:
        return Features(self.features_.transform(as_matrix(docs)).tocsr(), docs)

    def scores(self, features: Features) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw factor margins (columns in ``self.labels`` order) and presence margins."""
        matrix = features.factor
        logits = np.full((matrix.shape[0], len(self.labels)), -1e4)
        raw = self.factor_.decision_function(matrix)
        if raw.ndim == 1:  # two classes seen: sklearn returns one column
            raw = np.column_stack([-raw / 2, raw / 2])
        for column, label in enumerate(self.factor_.classes_):
            logits[:, self.labels.index(label)] = raw[:, column]
        if self.presence_ is None or self.presence_features_ is None:
            return logits, None
        suggested = [self.labels[i] for i in logits.argmax(axis=1)]
        extra = self.presence_features_.transform(presence_table(features.docs, suggested))
        features.presence = sparse.hstack([matrix, extra]).tocsr()
        return logits, self.presence_.decision_function(features.presence)

    def predict_proba(self, features: Features) -> tuple[np.ndarray, np.ndarray | None]:
        """Calibrated factor probabilities and the probability that the factor is present."""
        logits, presence = self.scores(features)
        probs = softmax(logits / self.factor_temperature_, axis=1)
        present = None if presence is None else expit(presence / self.presence_temperature_)
        return probs, present

    def contributions(self, features: Features, row: int, label: str) -> list[tuple[str, float]]:
        """Features of one row that pushed towards ``label``, strongest first."""
        classes = list(self.factor_.classes_)
        if label not in classes:
            return []
        coef = self.factor_.coef_
        weights = coef[classes.index(label)] if coef.shape[0] > 1 else coef[0]
        return _top(features.factor, row, weights, self._names("factor"))

    def presence_contributions(
        self, features: Features, row: int, present: bool
    ) -> list[tuple[str, float]]:
        if self.presence_ is None or features.presence is None:
            return []
        weights = self.presence_.coef_[0] * (1 if present else -1)
        return _top(features.presence, row, weights, self._names("presence"))

    def _names(self, head: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_name_cache", {})
        if head not in cache:
            names = self.features_.get_feature_names_out()
            if head == "presence" and self.presence_features_ is not None:
                names = np.concatenate([names, self.presence_features_.get_feature_names_out()])
            cache[head] = names
        return cache[head]


def _drop_pruned_terms(block: ColumnTransformer | None) -> None:
    # Vectorisers keep every term they pruned (``stop_words_``) only for introspection; it
    # would make up most of a saved model and its load time.
    for _, vectoriser, _ in block.transformers_ if block is not None else ():
        if hasattr(vectoriser, "stop_words_"):
            del vectoriser.stop_words_


def _top(matrix, row: int, weights: np.ndarray, names: np.ndarray) -> list[tuple[str, float]]:
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    columns = matrix.indices[start:end]
    values = matrix.data[start:end] * weights[columns]
    order = np.argsort(-values)
    return [(str(names[columns[i]]), float(values[i])) for i in order[:12] if values[i] > 0]
