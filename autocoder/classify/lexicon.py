"""Codebook lexicons: each code's indicators and description as lemmas, and matching them.

``build_lexicons`` lemmatises a codebook with the same pipeline as fragments (once, when a
model is trained; the lexicons are saved with it). ``LexiconIndex`` finds a fragment's
indicator matches and its overlap with each code's description, for the ``meta`` feature
document (autocoder.classify.features).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spacy.lang.nl.stop_words import STOP_WORDS

from autocoder.codebook import Codebook
from autocoder.segment import analyse_texts

MIN_COMPOUND = 5  # an indicator lemma this long also matches inside a compound word


@dataclass(frozen=True, slots=True)
class CodeLexicon:
    """Per code: indicator lemma sequences and the content lemmas of its description."""

    code: str
    indicators: tuple[tuple[str, ...], ...]
    indicator_text: tuple[str, ...]
    vocabulary: frozenset[str]


def build_lexicons(codebook: Codebook) -> tuple[CodeLexicon, ...]:
    """Lemmatise every code's indicators and description with the same pipeline as fragments."""
    lexicons = []
    for code in codebook.codes:
        indicator_docs = list(analyse_texts(code.indicators)) if code.indicators else []
        description = " ".join(
            [code.name, code.definition, *code.dimensions, code.presence.present]
        )
        described = next(iter(analyse_texts([description])))
        vocabulary = {_content(lemma) for lemma in described.lemmas} - {""}
        indicators = tuple(
            tuple(lemma for lemma, punct in zip(doc.lemmas, doc.is_punct, strict=True) if not punct)
            for doc in indicator_docs
        )
        lexicons.append(
            CodeLexicon(code.id, indicators, tuple(code.indicators), frozenset(vocabulary))
        )
    # Words that describe every code say nothing about which one a fragment is about.
    shared = frozenset.intersection(*(lex.vocabulary for lex in lexicons)) if lexicons else set()
    return tuple(
        CodeLexicon(lex.code, lex.indicators, lex.indicator_text, lex.vocabulary - shared)
        for lex in lexicons
    )


def _content(lemma: str) -> str:
    return "" if lemma in STOP_WORDS or len(lemma) < 3 or not lemma.isalpha() else lemma


class LexiconIndex:
    """Indicator matching and definition overlap for a tuple of lexicons, by lemma.

    Gives what matching each code's indicators one by one against the lemmas gives: the
    first position of every indicator, an indicator lemma of MIN_COMPOUND letters or more
    also inside a compound; and per code the number of distinct content lemmas shared with its
    description. What a lemma matches is worked out once and remembered.
    """

    MAX_LEMMAS = 200_000

    def __init__(self, lexicons: tuple[CodeLexicon, ...]) -> None:
        self.found: list[tuple[str, str]] = []  # indicator number -> (code, indicator)
        self.exact: dict[str, list[int]] = {}
        self.compound: list[tuple[str, int]] = []
        self.sequences: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for lex in lexicons:
            for sequence, label in zip(lex.indicators, lex.indicator_text, strict=True):
                number = len(self.found)
                self.found.append((lex.code, label))
                if len(sequence) == 1:
                    self.exact.setdefault(sequence[0], []).append(number)
                    if len(sequence[0]) >= MIN_COMPOUND:
                        self.compound.append((sequence[0], number))
                elif sequence:
                    self.sequences.setdefault(sequence[0], []).append((number, sequence))
        self.codes = [lex.code for lex in lexicons]
        self.vocabularies = [lex.vocabulary for lex in lexicons]
        self.lemmas: dict[str, tuple[tuple[int, ...], tuple[int, ...]] | None] = {}

    def info(self, lemma: str) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """(indicator numbers this lemma matches alone, lexicons whose vocabulary holds it)."""
        info = self.lemmas.get(lemma, _UNKNOWN)
        return self._lemma(lemma) if info is _UNKNOWN else info

    def _lemma(self, lemma: str) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """(indicator numbers this lemma matches alone, lexicons whose vocabulary holds it)."""
        hits = set(self.exact.get(lemma, ()))
        hits.update(number for needle, number in self.compound if needle in lemma)
        shared = ()
        if _content(lemma):
            shared = tuple(i for i, words in enumerate(self.vocabularies) if lemma in words)
        info = (tuple(sorted(hits)), shared) if hits or shared else None
        if len(self.lemmas) >= self.MAX_LEMMAS:
            self.lemmas.clear()
        self.lemmas[lemma] = info
        return info

    def meta(
        self, lemmas: tuple[str, ...], negated: tuple[bool, ...], question: str
    ) -> tuple[str, tuple[tuple[str, str, bool], ...]]:
        """The ``meta`` string (indicator matches, definition overlap per code, the question
        token) and the matches as (code, indicator, negated)."""
        first: dict[int, int] = {}
        shared: dict[str, tuple[int, ...]] = {}
        known = self.lemmas
        sequences = self.sequences
        for i, lemma in enumerate(lemmas):
            info = known.get(lemma, _UNKNOWN)
            if info is _UNKNOWN:
                info = self._lemma(lemma)
            if info is not None:
                for number in info[0]:
                    if number not in first:
                        first[number] = i
                if info[1]:
                    shared[lemma] = info[1]
            if lemma in sequences:
                for number, sequence in sequences[lemma]:
                    if number not in first and lemmas[i : i + len(sequence)] == sequence:
                        first[number] = i
        tokens: list[str] = []
        matches: tuple[tuple[str, str, bool], ...] = ()
        if first:
            found = self.found
            matches = tuple((*found[number], negated[first[number]]) for number in sorted(first))
            tokens = [f"CB_{code}_NEG" if neg else f"CB_{code}" for code, _, neg in matches]
        if shared:
            counts = [0] * len(self.codes)
            for lexicons in shared.values():
                for i in lexicons:
                    counts[i] += 1
            for code, count in zip(self.codes, counts, strict=True):
                if count:
                    tokens += [f"CBV_{code}"] * min(3, count)
        tokens.append(question)
        return " ".join(tokens), matches


_UNKNOWN: Any = object()  # marks a lemma not looked at yet
_INDEXES: dict[tuple[CodeLexicon, ...], LexiconIndex] = {}


def lexicon_index(lexicons: tuple[CodeLexicon, ...]) -> LexiconIndex:
    index = _INDEXES.get(lexicons)
    if index is None:
        if len(_INDEXES) >= 8:
            _INDEXES.clear()
        index = _INDEXES[lexicons] = LexiconIndex(lexicons)
    return index
