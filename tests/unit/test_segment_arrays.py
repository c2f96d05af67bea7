"""The array analysis of a batch (pieces from a cache, cues marked over the whole batch) gives
exactly what the full spaCy pipeline gives text by text."""

from pathlib import Path

import pytest

from autocoder.codebook import load_codebook
from autocoder.jsonl import read_records
from autocoder.segment import _pipeline, _spacy_safe, analyse_arrays, analyse_texts
from autocoder.segment_analysis import analyse_whole

CORPUS = Path(__file__).resolve().parents[2] / "training_data" / "fragments.jsonl"

# Cases cue_flags has rules for, whitespace runs, special cases across pieces, a text too long
# for one Doc, and texts without words.
EDGE_TEXTS = [
    "Er is niet alleen overleg, maar geen   vertrouwen.\n\nBij lange na niet genoeg.",
    "Niet niet geen gebrek aan vertrouwen; een beetje wel eens",
    "geen gebrek aan overleg en niet zonder reden nooit",
    "Dat is\tniet\u00a0goed\n\nmaar wel onduidelijk",
    "niet helemaal niet",
    "te weinig, te weinig tijd en niet te weinig geld",
    "Het is :( jammer",
    "a :( b",
    "",
    "   ",
    ".",
    "kort " * 5 + "niet " * 25_000,
    "Onvoldoende\ud800 geregeld",
]


def _rows(texts: list[str]) -> list[tuple]:
    arrays = analyse_arrays(texts)
    strings = arrays.strings.texts
    rows = []
    for start, length in zip(arrays.starts.tolist(), arrays.lengths.tolist(), strict=True):
        at = slice(start, start + length)
        rows.append(
            (
                tuple(strings[i] for i in arrays.lower[at].tolist()),
                tuple(strings[i] for i in arrays.lemma[at].tolist()),
                tuple(arrays.negated[at].tolist()),
                tuple(arrays.cue[at].tolist()),
                tuple(arrays.hedge[at].tolist()),
                tuple(arrays.punct[at].tolist()),
            )
        )
    return rows


def _expected(texts: list[str]) -> list[tuple]:
    """Each text on its own through the whole pipeline (tokenizer and cues component)."""
    found = [analyse_whole(_pipeline(), _spacy_safe(text)) for text in texts]
    return [(a.tokens, a.lemmas, a.negated, a.cue, a.hedge, a.is_punct) for a in found]


def _records(texts: list[str]) -> list[tuple]:
    return [
        (a.tokens, a.lemmas, a.negated, a.cue, a.hedge, a.is_punct) for a in analyse_texts(texts)
    ]


def test_edge_texts_match_the_per_text_analysis():
    assert _rows(EDGE_TEXTS) == _expected(EDGE_TEXTS)
    assert _records(EDGE_TEXTS) == _expected(EDGE_TEXTS)


def test_each_edge_text_alone_matches_too():
    for text in EDGE_TEXTS:
        assert _rows([text]) == _expected([text]), text[:40]


@pytest.mark.slow
def test_corpus_fragments_match_the_per_text_analysis():
    texts = [r.fragment.text for r in read_records(CORPUS, load_codebook()).records]
    assert _rows(texts) == _expected(texts)


def test_negation_scope_over_a_batch_stays_within_each_text():
    rows = _rows(["Er is geen", "overleg hier"])
    assert rows[1][2] == (False, False)
    assert rows[0][2] == (False, False, False)
