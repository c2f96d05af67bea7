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

from autocoder.classify.lexicon import CodeLexicon, LexiconIndex, lexicon_index
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


# Per lemma: the cue classes it belongs to, in CUES order.
CUE_NAMES: dict[str, tuple[str, ...]] = {}
for _name, _words in CUES.items():
    for _word in _words:
        CUE_NAMES[_word] = (*CUE_NAMES.get(_word, ()), _name)


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
SCOPE_OF: dict[str, str] = {}
for _name, _words in reversed(SCOPE_OPENERS.items()):
    SCOPE_OF.update(dict.fromkeys(_words, _name))


def scoped_words(analysis: TextAnalysis) -> str:
    """Lemmas tagged by clause: after a contrast, in a wish or past scope, negation parity."""
    out: list[str] = []
    clause: list[str] = []
    negations = 0
    scope = ""
    after_contrast = False
    scope_of = SCOPE_OF
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


def question_token(question: int | None, question_codes: dict[int, str], priority: set[int]) -> str:
    if question is None:
        return "Q_unknown"
    if question in priority:
        return "Q_priority"
    return f"Q_{question_codes.get(question, 'general')}"
