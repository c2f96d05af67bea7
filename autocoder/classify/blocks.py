"""The default model's feature blocks and their settings, and how it calibrates scores.

``make_features`` stacks the factor head's blocks (lemma words 1-2 grams, character n-grams,
codebook ``meta`` tokens, the neighbours' ``context``) as scikit-learn vectorisers over the
columns of ``as_matrix``; ``make_presence_features`` the presence head's extra blocks
(``scoped`` clause tokens, ``factor|word`` interactions). Plain vectorisers keep a saved
model in a safe format (no custom classes). ``fit_temperature`` turns held-out margins into
calibrated probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, softmax
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from autocoder.classify.features import FeatureDoc

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


def presence_rows(presences: Sequence[int | None]) -> np.ndarray | None:
    """The rows the presence head trains on (None when they do not show both outcomes)."""
    known = [p for p in presences if p is not None]
    if len(set(known)) != 2:
        return None
    return np.flatnonzero([p is not None for p in presences])
