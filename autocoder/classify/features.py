"""Turn fragments into feature documents that generalise across writers. Pure functions.

Each fragment becomes strings that standard scikit-learn vectorisers read:
- ``words``: lemmas, with ``NEG_`` lemmas inside a negation scope (so "geen vertrouwen" and
  "vertrouwen" differ), plus a few general Dutch cue classes (wish, contrast, past, now);
- ``chars``: the lowercased text, for character n-grams (spelling variants, compounds, typos);
- ``meta``: codebook-aware tokens (indicator matches per code, overlap with each code's
  definition) and the guide question's code block, which the model may weigh like any feature;
- ``context``: the lemmas of the fragments just before and after it in the same report
  (answers run on: a short "Dat klopt." is about what was said before);
- ``scoped``: for the presence head, lemmas marked by the clause they stand in: after a
  contrast ("maar ..." carries the claim), after a wish or need, in a past-time clause, and the
  parity of negations in the clause (so "geen gebrek aan" reads as a double negation).
Keeping the estimator on plain strings means it saves in a safe format (no custom classes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from spacy.lang.nl.stop_words import STOP_WORDS

from autocoder.codebook import Codebook
from autocoder.segment import TextAnalysis, analyse_texts

# General Dutch cue classes (not tied to any codebook or corpus). They mark how a statement is
# made, which is what presence hinges on: a wish implies something is missing now.
CUES: dict[str, frozenset[str]] = {
    "WISH": frozenset(
        [
            "behoefte",
            "wens",
            "wensen",
            "zou",
            "zouden",
            "moeten",
            "mogen",
            "graag",
            "hopen",
            "hoop",
            "verlangen",
            "missen",
            "verbeteren",
            "verbetering",
            "beter",
            "ontbreken",
            "nodig",
        ]
    ),
    "CONTRAST": frozenset(
        ["maar", "echter", "toch", "alleen", "hoewel", "terwijl", "daarentegen", "wel"]
    ),
    "PAST": frozenset(
        ["vroeger", "eerst", "destijds", "toen", "voorheen", "ooit", "begin", "aanvankelijk"]
    ),
    "NOW": frozenset(["nu", "inmiddels", "tegenwoordig", "momenteel", "sindsdien", "intussen"]),
    "LACK": frozenset(
        ["te", "weinig", "gebrek", "tekort", "krap", "onvoldoende", "amper", "nauwelijks"]
    ),
    "PRAISE": frozenset(
        ["goed", "prima", "fijn", "sterk", "helder", "duidelijk", "uitstekend", "prettig"]
    ),
}
MIN_COMPOUND = 5  # an indicator lemma this long also matches inside a compound word


@dataclass(frozen=True, slots=True)
class CodeLexicon:
    """Per code: indicator lemma sequences and the content lemmas of its description."""

    code: str
    indicators: tuple[tuple[str, ...], ...]
    indicator_text: tuple[str, ...]
    vocabulary: frozenset[str]


@dataclass(frozen=True, slots=True)
class FeatureDoc:
    words: str
    chars: str
    meta: str
    scoped: str
    matches: tuple[tuple[str, str, bool], ...]  # (code, indicator, negated)
    before: str = ""  # ``words`` of the fragment just before it in the same report
    after: str = ""  # ... and just after it

    @property
    def context(self) -> str:
        """The neighbours' words, marked ``P_`` (before) and ``N_`` (after)."""
        parts = ["P_" + word for word in self.before.split()]
        parts += ["N_" + word for word in self.after.split()]
        return " ".join(parts)


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


def feature_docs(
    texts: Sequence[str],
    questions: Sequence[int | None],
    codebook: Codebook,
    lexicons: Sequence[CodeLexicon],
    positions: Sequence[tuple[str, int]] | None = None,
) -> list[FeatureDoc]:
    """Feature documents; ``positions`` (report id, start) give each fragment's neighbours."""
    question_codes = codebook.question_codes()
    priority = set(codebook.priority_questions)
    index = _lexicon_index(tuple(lexicons))
    question_tokens: dict[int | None, str] = {}
    parts = []
    for text, analysis, question in zip(texts, analyse_texts(texts), questions, strict=True):
        token = question_tokens.get(question)
        if token is None:
            token = question_tokens[question] = _question_token(question, question_codes, priority)
        parts.append(_doc(text, analysis, token, index))
    before, after = _neighbours(positions or [("", i) for i in range(len(parts))])
    return [
        FeatureDoc(
            words,
            chars,
            meta,
            scoped,
            matches,
            "" if previous < 0 else parts[previous][0],
            "" if following < 0 else parts[following][0],
        )
        for (words, chars, meta, scoped, matches), previous, following in zip(
            parts, before, after, strict=True
        )
    ]


def with_context(docs: list[FeatureDoc], positions: Sequence[tuple[str, int]]) -> list[FeatureDoc]:
    """Attach the previous and next fragment of the same report (by offset) to each doc."""
    before, after = _neighbours(positions)
    return [
        FeatureDoc(
            doc.words,
            doc.chars,
            doc.meta,
            doc.scoped,
            doc.matches,
            "" if previous < 0 else docs[previous].words,
            "" if following < 0 else docs[following].words,
        )
        for doc, previous, following in zip(docs, before, after, strict=True)
    ]


def _neighbours(positions: Sequence[tuple[str, int]]) -> tuple[list[int], list[int]]:
    """Per fragment, the index of the fragment just before and just after it in the same
    report (by offset; -1 for none)."""
    order = sorted(range(len(positions)), key=positions.__getitem__)  # stable: ties by index
    before = [-1] * len(positions)
    after = [-1] * len(positions)
    for previous, following in pairwise(order):
        if positions[previous][0] == positions[following][0]:
            before[following] = previous
            after[previous] = following
    return before, after


# Per lemma: the cue classes it belongs to, in CUES order.
_CUE_NAMES: dict[str, tuple[str, ...]] = {}
for _name, _words in CUES.items():
    for _word in _words:
        _CUE_NAMES[_word] = (*_CUE_NAMES.get(_word, ()), _name)


_Parts = tuple[str, str, str, str, tuple[tuple[str, str, bool], ...]]


def _doc(text: str, analysis: TextAnalysis, question: str, index: _LexiconIndex) -> _Parts:
    """A fragment's words, chars, meta, scoped and matches (FeatureDoc without context)."""
    lemmas, negated, cues, punct = (
        analysis.lemmas,
        analysis.negated,
        analysis.cue,
        analysis.is_punct,
    )
    words: list[str] = []
    append = words.append
    cue_names = _CUE_NAMES
    if True in negated or True in cues:
        for lemma, neg, cue, skip in zip(lemmas, negated, cues, punct, strict=True):
            if skip:
                continue
            if cue:
                append("CUE_NEG")
                append(lemma)
            else:
                append("NEG_" + lemma if neg else lemma)
            names = cue_names.get(lemma)
            if names:
                words += names
    else:
        for lemma, skip in zip(lemmas, punct, strict=True):
            if skip:
                continue
            append(lemma)
            names = cue_names.get(lemma)
            if names:
                words += names
    if True in analysis.hedge:
        append("CUE_HEDGE")
    meta, matches = index.meta(lemmas, negated, question)
    return " ".join(words), text.lower(), meta, scoped_words(analysis), matches


SCOPE_OPENERS = {"WISH_": CUES["WISH"], "PAST_": CUES["PAST"] | {"was", "waren", "had", "hadden"}}
CONTRAST = frozenset("maar echter toch".split())
CLAUSE_BREAKS = frozenset("maar want omdat terwijl hoewel".split())
NEGATIVE_AFFIX = (
    "ijk",
    "baar",
    "handig",
    "realistisch",
    "voldoende",
    "zeker",
    "bekend",
    "tevreden",
    "prettig",
    "helder",
)


# Per lemma: the scope it opens (the first of SCOPE_OPENERS that holds it).
_SCOPE_OF: dict[str, str] = {}
for _name, _words in reversed(SCOPE_OPENERS.items()):
    _SCOPE_OF.update(dict.fromkeys(_words, _name))


def scoped_words(analysis: TextAnalysis) -> str:
    """Lemmas tagged by clause: after a contrast, in a wish or past scope, negation parity."""
    out: list[str] = []
    clause: list[str] = []
    negations = 0
    scope = ""
    after_contrast = False
    scope_of = _SCOPE_OF
    breaks = CLAUSE_BREAKS
    for token, lemma, cue, punct in zip(
        analysis.tokens, analysis.lemmas, analysis.cue, analysis.is_punct, strict=True
    ):
        if punct or token in breaks:
            if clause:
                _close_clause(out, clause, negations)
                clause = []
            negations, scope = 0, ""
            after_contrast = after_contrast or token in CONTRAST
            continue
        # Dutch "on-" adjectives (onduidelijk, onvoldoende, onbelangrijk) negate like a cue.
        if cue or (token.startswith("on") and len(token) > 6 and token.endswith(NEGATIVE_AFFIX)):
            negations += 1
            continue
        clause.append(lemma)
        if scope:
            out.append(scope + lemma)
        if after_contrast:
            out.append("AFTER_" + lemma)
        scope = scope_of.get(lemma, scope)
    if clause:
        _close_clause(out, clause, negations)
    return " ".join(out)


def _close_clause(out: list[str], clause: list[str], negations: int) -> None:
    parity = "POL_NEG" if negations % 2 else ("POL_DNEG" if negations else "POL_POS")
    out.append(parity)
    prefix = parity + "_"
    out += [prefix + lemma for lemma in clause]


class _LexiconIndex:
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
_INDEXES: dict[tuple[CodeLexicon, ...], _LexiconIndex] = {}


def _lexicon_index(lexicons: tuple[CodeLexicon, ...]) -> _LexiconIndex:
    index = _INDEXES.get(lexicons)
    if index is None:
        if len(_INDEXES) >= 8:
            _INDEXES.clear()
        index = _INDEXES[lexicons] = _LexiconIndex(lexicons)
    return index


def _question_token(
    question: int | None, question_codes: dict[int, str], priority: set[int]
) -> str:
    if question is None:
        return "Q_unknown"
    if question in priority:
        return "Q_priority"
    return f"Q_{question_codes.get(question, 'general')}"
