"""Turn fragments into feature documents that generalise across writers. Pure functions.

Each fragment becomes strings that standard scikit-learn vectorisers read:
- ``words``: lemmas, with ``NEG_`` lemmas inside a negation scope (so "geen vertrouwen" and
  "vertrouwen" differ), plus a few general Dutch cue classes (wish, contrast, past, now) of
  the lemma or the token ("zou" has the lemma "zullen"), and each clause's negation parity
  and polarity (below), so that the presence head's factor|word columns can weigh them;
- ``chars``: the lowercased text, for character n-grams (spelling variants, compounds, typos);
- ``meta``: codebook-aware tokens (indicator matches per code, overlap with each code's
  definition) and the guide question's code block, which the model may weigh like any feature;
- ``context``: the lemmas of the fragments just before and after it in the same report
  (answers run on: a short "Dat klopt." is about what was said before);
- ``scoped``: for the presence head, lemmas marked by the clause they stand in: after a
  contrast ("maar ..." or a clause opening with "alleen" carries the claim), after a wish or
  need, in a past or now clause, and the parity of negations in the clause (so "geen gebrek
  aan" reads as a double negation); each clause's polarity (its evaluative words under its
  negations and downtoners, else its negations alone: "niet goed" and "er is geen overleg"
  are negative, "geen probleem" positive) and that of the last clause that has one, the
  claim the fragment ends on. The word lists are general Dutch (classify.cue_words).
Keeping the estimator on plain strings means it saves in a safe format (no custom classes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from autocoder.classify.cue_words import (
    CLAUSE_BREAKS,
    CONTRAST,
    CUE_NAMES,
    DOWNTONERS,
    NEGATIVE_AFFIX,
    NOT_NEGATIVE_ON,
    PARITY,
    POLARITY,
    RESTRICTIVE,
    SCOPE_OF,
)
from autocoder.classify.lexicon import CodeLexicon, LexiconIndex, lexicon_index
from autocoder.codebook import Codebook
from autocoder.segment import TextAnalysis, analyse_texts


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
    index = lexicon_index(tuple(lexicons))
    question_tokens: dict[int | None, str] = {}
    parts = []
    for text, analysis, question in zip(texts, analyse_texts(texts), questions, strict=True):
        token = question_tokens.get(question)
        if token is None:
            token = question_tokens[question] = question_token(question, question_codes, priority)
        parts.append(_doc(text, analysis, token, index))
    before, after = neighbours(positions or [("", i) for i in range(len(parts))])
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


def neighbours(positions: Sequence[tuple[str, int]]) -> tuple[list[int], list[int]]:
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


_Parts = tuple[str, str, str, str, tuple[tuple[str, str, bool], ...]]


def _doc(text: str, analysis: TextAnalysis, question: str, index: LexiconIndex) -> _Parts:
    """A fragment's words, chars, meta, scoped and matches (FeatureDoc without context)."""
    lemmas, negated, cues, punct = (
        analysis.lemmas,
        analysis.negated,
        analysis.cue,
        analysis.is_punct,
    )
    words: list[str] = []
    append = words.append
    cue_names = CUE_NAMES
    tokens = analysis.tokens
    if True in negated or True in cues:
        for token, lemma, neg, cue, skip in zip(tokens, lemmas, negated, cues, punct, strict=True):
            if skip:
                continue
            if cue:
                append("CUE_NEG")
                append(lemma)
            else:
                append("NEG_" + lemma if neg else lemma)
            names = cue_names.get(lemma) or cue_names.get(token)
            if names:
                words += names
    else:
        for token, lemma, skip in zip(tokens, lemmas, punct, strict=True):
            if skip:
                continue
            append(lemma)
            names = cue_names.get(lemma) or cue_names.get(token)
            if names:
                words += names
    if True in analysis.hedge:
        append("CUE_HEDGE")
    meta, matches = index.meta(lemmas, negated, question)
    scoped = scoped_words(analysis)
    # The clauses' negation parity and polarity also go into ``words``, so that the presence
    # head's factor|word columns can weigh them per factor.
    words += [
        token
        for token in scoped.split()
        if token in PARITY or "POL_EV_" in token or token.startswith("POL_END_")
    ]
    return " ".join(words), text.lower(), meta, scoped, matches


def scoped_words(analysis: TextAnalysis) -> str:
    """Lemmas tagged by clause: after a contrast, in a wish, past or now scope, negation
    parity; each clause's polarity (its evaluative words under its negations, else its
    negations alone), and the polarity of the last clause that has one: the claim the
    fragment ends on."""
    out: list[str] = []
    clause: list[str] = []
    negations = 0
    evaluation = 0
    scope = ""
    last = ""
    after_contrast = False
    scope_of = SCOPE_OF
    polarity = POLARITY
    breaks = CLAUSE_BREAKS
    for token, lemma, cue, punct in zip(
        analysis.tokens, analysis.lemmas, analysis.cue, analysis.is_punct, strict=True
    ):
        if punct or token in breaks:
            if clause:
                last = (
                    _close_clause(out, clause, negations, evaluation, scope, after_contrast) or last
                )
                clause = []
            negations, evaluation, scope = 0, 0, ""
            after_contrast = after_contrast or token in CONTRAST
            continue
        if not clause and token in RESTRICTIVE:
            after_contrast = True
        # Dutch "on-" adjectives (onduidelijk, onvoldoende, onbelangrijk) negate like a cue.
        if cue or (
            token.startswith("on")
            and len(token) > 6
            and token.endswith(NEGATIVE_AFFIX)
            and not token.startswith(NOT_NEGATIVE_ON)
        ):
            negations += 1
            continue
        if lemma in DOWNTONERS:
            negations += 1
        # Lemma, else token, else the token without the adjective ending ("goede", "lastige").
        evaluation += polarity.get(lemma) or polarity.get(token) or polarity.get(token[:-1], 0)
        clause.append(lemma)
        if scope:
            out.append(scope + lemma)
        if after_contrast:
            out.append("AFTER_" + lemma)
        scope = scope_of.get(lemma) or scope_of.get(token) or scope
    if clause:
        last = _close_clause(out, clause, negations, evaluation, scope, after_contrast) or last
    if last:
        out.append(last)
    return " ".join(out)


def _close_clause(
    out: list[str],
    clause: list[str],
    negations: int,
    evaluation: int = 0,
    scope: str = "",
    after_contrast: bool = False,
) -> str:
    """Add the clause's tokens; return its claim token (``POL_END_...``; "" when the clause
    has no polarity)."""
    parity = "POL_NEG" if negations % 2 else ("POL_DNEG" if negations else "POL_POS")
    out.append(parity)
    prefix = parity + "_"
    out += [prefix + lemma for lemma in clause]
    if evaluation:
        positive = (evaluation > 0) != bool(negations % 2)
    elif negations:  # "er is geen overleg" is negative, "geen gebrek aan" positive
        positive = not negations % 2
    else:
        return ""
    sign = "POS" if positive else "NEG"
    out.append("POL_EV_" + sign)
    if scope:
        out.append(scope + "POL_EV_" + sign)
    if after_contrast:
        out.append("AFTER_POL_EV_" + sign)
    return f"POL_END_{scope}{sign}"


def question_token(question: int | None, question_codes: dict[int, str], priority: set[int]) -> str:
    if question is None:
        return "Q_unknown"
    if question in priority:
        return "Q_priority"
    return f"Q_{question_codes.get(question, 'general')}"
