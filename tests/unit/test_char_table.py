"""The character n-gram table equals scikit-learn's char_wb counting, on awkward words too."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from autocoder.classify.char_table import CharTable

TRAINING = [
    "Het overleg gaat goed, vooral sinds de komst van de procesregisseur.",
    "Er is geen gebrek aan vertrouwen; wél aan tijd en geld.",
    "De afspraken (convenant) staan op papier: niemand leest ze.",
    "Ze zei „prima” en liep weg — maar dat was vóór 2019.",
    "Coördinatie, naïef, ﬁnanciën en e-mail: alles loopt door elkaar.",
]
AWKWARD = [
    "",
    "a",
    "ab",
    "overleg",
    "Overleg",
    "overleg.",
    "„prima”",
    "ﬁnanciën",  # a ligature
    "naïef",  # precomposed
    "nai\u0308ef",  # with a combining mark
    "e-mail",
    "x\u00a0y",  # a non-breaking space inside
    "tab\tin",
    "ctrl\x07char",
    "😀overleg😀",
    "ÅÉÎÕÜ",
    "procesregisseurscoördinatieoverleg",
    "2019",
    "   ",
]


def fitted(ngrams: tuple[int, int] = (3, 5)) -> TfidfVectorizer:
    vectoriser = TfidfVectorizer(analyzer="char_wb", ngram_range=ngrams, dtype=np.float32)
    return vectoriser.fit(TRAINING)


def expected_counts(vectoriser: TfidfVectorizer, words: list[str]) -> np.ndarray:
    analyse = vectoriser.build_analyzer()
    counts = np.zeros((len(words), len(vectoriser.vocabulary_)))
    for row, word in enumerate(words):
        for gram in analyse(word):
            column = vectoriser.vocabulary_.get(gram)
            if column is not None:
                counts[row, column] += 1
    return counts


@pytest.mark.parametrize("ngrams", [(3, 5), (2, 4), (1, 1)])
def test_rows_equal_scikit_learn_counts(ngrams: tuple[int, int]) -> None:
    vectoriser = fitted(ngrams)
    table = CharTable(vectoriser)
    words = AWKWARD + [w for text in TRAINING for w in text.split()]
    rows = table._rows(words[:7])  # grown in two batches, as in use
    rows = np.concatenate([rows, table._rows(words[7:])])
    assert table.matrix is not None
    got = table.matrix[rows].toarray()
    np.testing.assert_array_equal(got, expected_counts(vectoriser, words))
    assert got.sum() > 0


def test_the_dictionary_fallback_gives_the_same_rows() -> None:
    vectoriser = fitted()
    fast, slow = CharTable(vectoriser), CharTable(vectoriser)
    slow._grams().fits = False  # n-gram codes too wide for 62 bits: one lookup per n-gram
    words = AWKWARD + [w for text in TRAINING for w in text.split()]
    fast_rows, slow_rows = fast._rows(words), slow._rows(words)
    assert fast.matrix is not None and slow.matrix is not None
    np.testing.assert_array_equal(
        fast.matrix[fast_rows].toarray(), slow.matrix[slow_rows].toarray()
    )
    np.testing.assert_array_equal(
        slow.matrix[slow_rows].toarray(), expected_counts(vectoriser, words)
    )
