"""Dutch negation and hedging cues, and the negation scope they open. Pure functions.

``cue_flags`` marks, per lowercased token, whether it is a negation cue, inside a negation's
scope, or a hedge; the ``autocoder_cues`` component (autocoder.segment_components) and the
piecewise analysis (autocoder.segment_analysis) both use it.
"""

from __future__ import annotations

NEGATION_CUES = frozenset(
    {
        "geen",
        "niet",
        "nooit",
        "nergens",
        "niemand",
        "niets",
        "niks",
        "nauwelijks",
        "amper",
        "onvoldoende",
        "allerminst",
        "geenszins",
        "evenmin",
        "noch",
        "zonder",
        "ontbreekt",
        "ontbreken",
        "ontbrak",
        "ontbraken",
        "ontbroken",
        "ontbrekende",
        "ontbrekend",
        "mis",
        "mist",
        "missen",
        "miste",
        "misten",
        "gemist",
        "gebrek",
        "gebreken",
        "tekort",
        "tekorten",
        "tekortkoming",
        "tekortkomingen",
    }
)
NEGATION_PHRASES = (("te", "weinig"), ("bij", "lange", "na", "niet"))
NOT_A_NEGATION_AFTER_NIET = frozenset({"alleen", "enkel", "slechts", "zelden"})

HEDGE_CUES = frozenset(
    {
        "misschien",
        "wellicht",
        "mogelijk",
        "mogelijkerwijs",
        "waarschijnlijk",
        "vermoedelijk",
        "soms",
        "enigszins",
        "enigermate",
        "deels",
        "gedeeltelijk",
        "grotendeels",
        "redelijk",
        "redelijke",
        "tamelijk",
        "nogal",
        "ietwat",
        "beetje",
        "eventueel",
        "eventuele",
        "lijkt",
        "lijken",
        "leek",
        "leken",
        "schijnt",
        "ogenschijnlijk",
        "weleens",
        "welleens",
        "zowat",
    }
)
HEDGE_PHRASES = (
    ("een", "beetje"),
    ("een", "tikje"),
    ("min", "of", "meer"),
    ("af", "en", "toe"),
    ("hier", "en", "daar"),
    ("wel", "eens"),
    ("in", "zekere", "zin"),
    ("tot", "op", "zekere", "hoogte"),
    ("niet", "helemaal"),
)

CLAUSE_END_PUNCT = frozenset({",", ";", ":", ".", "!", "?", "…", "...", "(", ")", "–", "—"})
CLAUSE_END_WORDS = frozenset(
    {
        "maar",
        "want",
        "omdat",
        "terwijl",
        "hoewel",
        "alhoewel",
        "ofschoon",
        "doch",
        "echter",
        "zodat",
        "dus",
        "tenzij",
        "behalve",
        "zolang",
        "daarentegen",
    }
)
DOUBLE_NEGATION_WINDOW = 2  # a cue at most this many tokens after another cue cancels it


def _mark_phrases(
    lowers: list[str],
    flags: list[bool],
    phrases: tuple[tuple[str, ...], ...],
    tails: list[bool] | None = None,
) -> None:
    """Set ``flags`` on each token of every phrase occurrence, ``tails`` on all but the first."""
    firsts = {phrase[0] for phrase in phrases}
    for i, word in enumerate(lowers):
        if word not in firsts:
            continue
        for phrase in phrases:
            size = len(phrase)
            if tuple(lowers[i : i + size]) == phrase:
                for offset in range(size):
                    flags[i + offset] = True
                    if tails is not None and offset:
                        tails[i + offset] = True


def cue_flags(lowers: list[str]) -> tuple[list[bool], list[bool], list[bool]]:
    """(negation_cue, negated, hedge) per token, from the lowercased token texts.

    ``negated`` marks the tokens after a cue up to the clause end (, ; : . ! ? … brackets and
    dashes, or a conjunction such as maar/want/omdat/terwijl/hoewel). A second cue at most two
    tokens after the first ("geen gebrek aan", "niet zonder", "niet te weinig") is a double
    negation: the tokens after it are not negated. "niet alleen/enkel/slechts" is no cue.
    """
    n = len(lowers)
    cue = [False] * n
    tail = [False] * n  # non-first token of a multi-word cue ("te weinig")
    hedge = [False] * n
    for i, word in enumerate(lowers):
        if word in NEGATION_CUES and not (
            word == "niet" and i + 1 < n and lowers[i + 1] in NOT_A_NEGATION_AFTER_NIET
        ):
            cue[i] = True
        if word in HEDGE_CUES:
            hedge[i] = True
    _mark_phrases(lowers, cue, NEGATION_PHRASES, tail)
    _mark_phrases(lowers, hedge, HEDGE_PHRASES)
    negated = [False] * n
    active = False
    last_cue = -100
    for i, word in enumerate(lowers):
        if word in CLAUSE_END_PUNCT or word in CLAUSE_END_WORDS:
            active = False
            continue
        if tail[i]:  # the rest of a multi-word cue shares the flag of its first word
            negated[i] = negated[i - 1]
            last_cue = i
            continue
        if active:
            negated[i] = True
        if cue[i]:
            active = not (active and i - last_cue <= DOUBLE_NEGATION_WINDOW)
            last_cue = i
    return cue, negated, hedge
