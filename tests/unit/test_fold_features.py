"""Fold features derived from counts made once equal those of vectorisers fitted on the fold.

Real corpus fragments; equality is exact (values, column order and the order of each row's
entries), since the heads' results depend on all three in the last bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from sklearn.model_selection import GroupKFold

from autocoder.classify.blocks import (
    ModelSettings,
    as_matrix,
    make_features,
    make_presence_features,
    presence_rows,
    presence_table,
)
from autocoder.classify.fold_features import CountedFeatures
from autocoder.classify.lexicon import build_lexicons
from autocoder.classify.linear import LinearSuggester
from autocoder.codebook import load_codebook
from autocoder.train import featurise, fit_suggester, load_training_records, training_set

CORPUS = Path(__file__).resolve().parents[2] / "training_data" / "fragments.jsonl"
# A small character vocabulary, so that max_features prunes (with ties at the cut).
SETTINGS = (ModelSettings(), ModelSettings(max_char_features=1500))


@pytest.fixture(scope="module")
def corpus():
    codebook = load_codebook()
    data = training_set(load_training_records([CORPUS], codebook).records[:900])
    docs = featurise(data, codebook, build_lexicons(codebook))
    folds = list(GroupKFold(n_splits=3).split(np.zeros(len(data)), groups=data.groups))
    return codebook, data, docs, folds


def assert_same(derived: sparse.spmatrix, fitted: sparse.spmatrix) -> None:
    derived, fitted = derived.tocsr(), fitted.tocsr()
    assert derived.shape == fitted.shape
    assert derived.dtype == fitted.dtype
    np.testing.assert_array_equal(derived.indptr, fitted.indptr)
    np.testing.assert_array_equal(derived.indices, fitted.indices)
    np.testing.assert_array_equal(derived.data, fitted.data)


@pytest.mark.parametrize("settings", SETTINGS)
def test_fold_blocks_equal_a_fit_on_the_fold(corpus, settings):
    _, data, docs, folds = corpus
    counted = CountedFeatures(docs, data.factors, settings)
    table = as_matrix(docs)
    chars = counted.blocks[1]
    for train, test in folds:
        fresh = make_features(settings)
        fitted_matrix = fresh.fit_transform(table[train])
        blocks = [block.fit(train) for block in counted.blocks]
        assert_same(sparse.hstack([block.train for block in blocks]), fitted_matrix)
        assert_same(
            sparse.hstack([block.transform(test) for block in blocks]),
            fresh.transform(table[test]),
        )
        for block, (_, vectoriser, _) in zip(blocks, fresh.transformers_, strict=True):
            derived = block.vectoriser()
            assert derived.vocabulary_ == vectoriser.vocabulary_
            if hasattr(vectoriser, "idf_"):
                np.testing.assert_array_equal(derived.idf_, vectoriser.idf_)
        vocabulary = fresh.named_transformers_["chars"].vocabulary_
        if settings.max_char_features < 60000:
            assert len(vocabulary) == settings.max_char_features
            assert (chars.counts[train].getnnz(axis=0) >= 2).sum() > len(vocabulary)


def test_presence_blocks_equal_a_fit_on_the_fold(corpus):
    _, data, docs, folds = corpus
    counted = CountedFeatures(docs, data.factors, ModelSettings())
    for train, _ in folds:
        index = presence_rows([data.presences[i] for i in train])
        assert index is not None
        rows = train[index]
        fresh = make_presence_features()
        fitted_matrix = fresh.fit_transform(
            presence_table([docs[i] for i in rows], [data.factors[i] for i in rows])
        )
        blocks = [block.fit(rows) for block in counted.presence]
        assert_same(sparse.hstack([block.train for block in blocks]), fitted_matrix)


@pytest.mark.parametrize("settings", SETTINGS)
def test_fold_scores_equal_those_of_a_model_fitted_on_the_fold(corpus, settings):
    codebook, data, docs, folds = corpus
    counted = CountedFeatures(docs, data.factors, settings)
    for train, test in folds:
        fitted = fit_suggester(data.subset(train), [docs[i] for i in train], codebook, settings)
        logits, presence = fitted.scores(fitted.transform([docs[i] for i in test]))
        model = LinearSuggester(codebook.ids, settings)
        derived_logits, derived_presence = counted.fold_scores(
            model, train, test, data.factors, data.presences, data.weights
        )
        np.testing.assert_array_equal(model.factor_.coef_, fitted.factor_.coef_)
        np.testing.assert_array_equal(model.presence_.coef_, fitted.presence_.coef_)
        np.testing.assert_array_equal(derived_logits, logits)
        np.testing.assert_array_equal(derived_presence, presence)
