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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

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
    context: str = ""


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
    docs = [
        _doc(text, analysis, question, question_codes, priority, lexicons)
        for text, analysis, question in zip(texts, analyse_texts(texts), questions, strict=True)
    ]
    return with_context(docs, positions or [("", i) for i in range(len(docs))])


def with_context(docs: list[FeatureDoc], positions: Sequence[tuple[str, int]]) -> list[FeatureDoc]:
    """Attach the previous and next fragment of the same report (by offset) to each doc."""
    order = sorted(range(len(docs)), key=lambda i: (positions[i][0], positions[i][1], i))
    result = list(docs)
    for rank, index in enumerate(order):
        parts = []
        for step, prefix in ((-1, "P_"), (1, "N_")):
            other = rank + step
            if 0 <= other < len(order) and positions[order[other]][0] == positions[index][0]:
                parts.extend(prefix + word for word in docs[order[other]].words.split())
        result[index] = replace(docs[index], context=" ".join(parts))
    return result


def _doc(
    text: str,
    analysis: TextAnalysis,
    question: int | None,
    question_codes: dict[int, str],
    priority: set[int],
    lexicons: Iterable[CodeLexicon],
) -> FeatureDoc:
    words: list[str] = []
    for lemma, negated, cue, punct in zip(
        analysis.lemmas, analysis.negated, analysis.cue, analysis.is_punct, strict=True
    ):
        if punct:
            continue
        if cue:
            words.append("CUE_NEG")
        words.append(f"NEG_{lemma}" if negated and not cue else lemma)
        words.extend(name for name, cue_words in CUES.items() if lemma in cue_words)
    if any(analysis.hedge):
        words.append("CUE_HEDGE")
    matches = _indicator_matches(analysis, lexicons)
    meta = [f"CB_{code}" + ("_NEG" if negated else "") for code, _, negated in matches]
    meta.extend(_vocabulary_tokens(analysis, lexicons))
    meta.append(_question_token(question, question_codes, priority))
    scoped = scoped_words(analysis)
    return FeatureDoc(" ".join(words), text.lower(), " ".join(meta), scoped, tuple(matches))


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


def _negative_word(token: str, cue: bool) -> bool:
    # Dutch "on-" adjectives (onduidelijk, onvoldoende, onbelangrijk) negate like a cue word.
    return cue or (token.startswith("on") and len(token) > 6 and token.endswith(NEGATIVE_AFFIX))


def scoped_words(analysis: TextAnalysis) -> str:
    """Lemmas tagged by clause: after a contrast, in a wish or past scope, negation parity."""
    out: list[str] = []
    clause: list[str] = []
    negations = 0
    scope = ""
    after_contrast = False

    def close_clause() -> None:
        if clause:
            parity = "POL_NEG" if negations % 2 else ("POL_DNEG" if negations else "POL_POS")
            out.append(parity)
            out.extend(f"{parity}_{lemma}" for lemma in clause)

    for token, lemma, cue, punct in zip(
        analysis.tokens, analysis.lemmas, analysis.cue, analysis.is_punct, strict=True
    ):
        if punct or token in CLAUSE_BREAKS:
            close_clause()
            clause, negations, scope = [], 0, ""
            after_contrast = after_contrast or token in CONTRAST
            continue
        if _negative_word(token, cue):
            negations += 1
            continue
        clause.append(lemma)
        if scope:
            out.append(scope + lemma)
        if after_contrast:
            out.append("AFTER_" + lemma)
        scope = next((name for name, words in SCOPE_OPENERS.items() if lemma in words), scope)
    close_clause()
    return " ".join(out)


def _indicator_matches(
    analysis: TextAnalysis, lexicons: Iterable[CodeLexicon]
) -> list[tuple[str, str, bool]]:
    lemmas, negated = analysis.lemmas, analysis.negated
    found = []
    for lex in lexicons:
        for sequence, label in zip(lex.indicators, lex.indicator_text, strict=True):
            hit = _find(lemmas, sequence)
            if hit is not None:
                found.append((lex.code, label, negated[hit]))
    return found


def _find(lemmas: tuple[str, ...], sequence: tuple[str, ...]) -> int | None:
    if not sequence:
        return None
    if len(sequence) == 1:
        needle = sequence[0]
        for i, lemma in enumerate(lemmas):
            if lemma == needle or (
                len(needle) >= MIN_COMPOUND and lemma != needle and needle in lemma
            ):
                return i
        return None
    first, size = sequence[0], len(sequence)
    for i in range(len(lemmas) - size + 1):
        if lemmas[i] == first and lemmas[i : i + size] == sequence:
            return i
    return None


def _vocabulary_tokens(analysis: TextAnalysis, lexicons: Iterable[CodeLexicon]) -> list[str]:
    content = {_content(lemma) for lemma in analysis.lemmas} - {""}
    tokens = []
    for lex in lexicons:
        overlap = min(3, len(content & lex.vocabulary))
        tokens.extend([f"CBV_{lex.code}"] * overlap)
    return tokens


def _question_token(
    question: int | None, question_codes: dict[int, str], priority: set[int]
) -> str:
    if question is None:
        return "Q_unknown"
    if question in priority:
        return "Q_priority"
    return f"Q_{question_codes.get(question, 'general')}"
