"""The custom spaCy components of autocoder's Dutch pipeline (internal to autocoder.segment).

- ``autocoder_sentences``: rule-based sentence boundaries in running text (the line structure
  of a report is handled in autocoder.segment, which passes the blocks as Doc regions).
- ``autocoder_cues``: Dutch negation and hedging cues as Token extensions
  ``token._.negation_cue``, ``token._.negated`` and ``token._.hedge``.

Also the tokenizer changes: extra Dutch abbreviations as special cases, and spaCy exceptions
removed that glue the period to real words ("dat.", "u.") or to acronyms ("VT.").

Nothing here is public API; autocoder.segment turns spaCy objects into plain records.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

import numpy as np
from spacy.attrs import IDX, LENGTH, LOWER, SENT_START, SPACY
from spacy.language import Language
from spacy.symbols import ORTH
from spacy.tokens import Doc, Token

SENTENCE_COMPONENT = "autocoder_sentences"
CUES_COMPONENT = "autocoder_cues"

# Abbreviations that spaCy's Dutch tokenizer splits ("z.g.a.n." -> "z.g.a.n" + "."); added as
# tokenizer special cases, in this form and capitalised. Month names only in lower case, so that
# "Jan." (a name) can still end a sentence. Day abbreviations are left out ("zo." = "so.").
EXTRA_ABBREVIATIONS = (
    "z.g.a.n.",
    "mw.",
    "m.i.",
    "incl.",
    "excl.",
    "mld.",
    "o.b.v.",
    "i.o.m.",
    "a.d.h.v.",
    "m.u.v.",
    "tel.",
    "ong.",
    "dept.",
    "afd.",
    "vnl.",
    "ivm.",
    "evt.",
)
MONTH_ABBREVIATIONS = (
    "jan.",
    "feb.",
    "mrt.",
    "apr.",
    "jun.",
    "jul.",
    "aug.",
    "sep.",
    "sept.",
    "okt.",
    "nov.",
    "dec.",
)
# spaCy's Dutch exceptions keep the period on some real words ("dat.", "al.", "me.", "u.") and on
# all-capital tokens ("VT.", "IND.", "WW."); in interview text those are words and acronyms that
# end sentences, so these exceptions are removed.
WORDS_NOT_ABBREVIATIONS = frozenset(
    {
        "al",
        "app",
        "bel",
        "best",
        "dat",
        "ex",
        "hand",
        "kon",
        "lat",
        "mand",
        "me",
        "os",
        "pan",
        "pas",
        "pers",
        "red",
        "top",
        "u",
        "ver",
        "vol",
    }
)
_CAPITALS_WITH_PERIOD = re.compile(r"[A-Z]{2,}\.")
_LETTERS_WITH_PERIOD = re.compile(r"[A-Za-z]+\.")
# Abbreviations that often end a sentence: a boundary when the next word is capitalised.
FINAL_ABBREVIATIONS = frozenset(
    {
        "etc.",
        "enz.",
        "e.d.",
        "e.a.",
        "e.o.",
        "e.v.",
        "o.i.d.",
        "e.e.a.",
        "jl.",
        "j.l.",
        "a.s.",
        "min.",
        "mnd.",
        "sec.",
        "pct.",
    }
)

TERMINAL_CHARS = frozenset(".!?…")
OPEN_QUOTES = frozenset("„“\"‘'«‹([")
CLOSERS = frozenset("”“\"’'»›)]")
QUOTE_CHARS = frozenset("„“”\"‘’'«»‹›")
SENTENCE_INITIAL_LOWER = frozenset({"'s", "’s", "'t", "’t", "'k", "’k"})
# A capitalised word after a closing quote that still belongs to the quote's sentence is rare;
# these attribution words keep „Dat klopt.” Aldus Jansen / Zei hij together.
ATTRIBUTION = frozenset(
    {
        "zei",
        "zegt",
        "zeggen",
        "zeiden",
        "aldus",
        "vroeg",
        "vraagt",
        "riep",
        "roept",
        "antwoordt",
        "antwoordde",
        "vertelt",
        "vertelde",
        "stelt",
        "stelde",
        "merkt",
        "merkte",
        "voegt",
        "voegde",
        "benadrukt",
        "benadrukte",
        "lacht",
        "lachte",
        "zucht",
        "zuchtte",
        "verzucht",
        "verzuchtte",
        "grapt",
        "grapte",
        "klinkt",
        "klonk",
    }
)

# --- negation and hedging -------------------------------------------------------------------

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


# Doc.user_data keys of the cues component: the flag lists (cue, negated, hedge) and the
# lowercased token texts, kept per Doc so that Token getters and callers read them cheaply.
FLAGS_KEY = "autocoder_flags"
LOWERS_KEY = "autocoder_lowers"


def register_extensions() -> None:
    """Token._.negation_cue / negated / hedge, read lazily from the Doc's flag lists."""
    for position, name in enumerate(("negation_cue", "negated", "hedge")):
        if not Token.has_extension(name):
            Token.set_extension(name, getter=_flag_getter(position))


def _flag_getter(position: int):
    def getter(token: Token) -> bool:
        flags = token.doc.user_data.get(FLAGS_KEY)
        return bool(flags[position][token.i]) if flags is not None else False

    return getter


def add_special_cases(nlp: Language) -> None:
    """Adjust the tokenizer exceptions of a Dutch pipeline (see the module docstring)."""
    rules = dict(nlp.tokenizer.rules or {})
    for key in list(rules):
        if _CAPITALS_WITH_PERIOD.fullmatch(key) or (
            _LETTERS_WITH_PERIOD.fullmatch(key) and key[:-1].lower() in WORDS_NOT_ABBREVIATIONS
        ):
            del rules[key]
    nlp.tokenizer.rules = rules
    for abbreviation in EXTRA_ABBREVIATIONS:
        for form in {abbreviation, abbreviation[0].upper() + abbreviation[1:]}:
            nlp.tokenizer.add_special_case(form, [{ORTH: form}])
    for month in MONTH_ABBREVIATIONS:
        nlp.tokenizer.add_special_case(month, [{ORTH: month}])


# --- sentence boundaries --------------------------------------------------------------------


def _is_terminal(text: str) -> bool:
    return text[-1] in TERMINAL_CHARS


def _is_abbreviation(text: str) -> bool:
    return len(text) > 1 and text[-1] == "." and text.strip(".…") != ""


def _starts_sentence(
    texts: Sequence[str], k: int, stop: int, after_abbreviation: bool, quoted: bool
) -> bool:
    """Does the text from token ``k`` (before token ``stop``) look like a new sentence?"""
    word = texts[k]
    if word.lower() in SENTENCE_INITIAL_LOWER:
        return True
    if word[0] in OPEN_QUOTES:
        # an opening quote/bracket: look at the word inside it
        if len(word) == 1:
            k += 1
            while k < stop and texts[k].isspace():
                k += 1
            if k >= stop:
                return False
            word = texts[k]
        else:
            word = word.lstrip("„“\"‘'«‹([")
            if not word:
                return False
        quoted = False
    first = word[0]
    if quoted and word.lower() in ATTRIBUTION:
        return False
    if first.isupper():
        return True
    return first.isdigit() and not after_abbreviation


class _TokenTexts(Sequence[str]):
    """Token texts sliced from the Doc text on demand (no Token objects are created)."""

    __slots__ = ("_ends", "_starts", "_text")

    def __init__(self, text: str, starts: list[int], ends: list[int]) -> None:
        self._text = text
        self._starts = starts
        self._ends = ends

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, index):  # type: ignore[override]
        return self._text[self._starts[index] : self._ends[index]]


def sentence_starts(
    texts: Sequence[str],
    spaces: Sequence[bool],
    candidates: Iterable[int] | None = None,
    first: int = 0,
    stop: int | None = None,
) -> list[int]:
    """Token indices that start a sentence in tokens ``first``..``stop`` (``first`` always).

    ``texts`` are token texts, ``spaces[i]`` whether token i is followed by whitespace, and
    ``candidates`` (ascending) the tokens that end in . ! ? or … (default: all tokens).
    A boundary follows . ! ? … (plus any attached closing quotes/brackets) when the next word
    starts with a capital, a digit, an opening quote/bracket before a capital, or 's/'t.
    Abbreviations (tokens that keep their period) are no boundary, except etc./enz./e.d. ...
    before a capital. A closing quote followed by an attribution word ("zei", "aldus") is no
    boundary. Colons and semicolons never are.
    """
    n = len(texts) if stop is None else stop
    starts = [first]
    resume = first
    for i in range(first, n) if candidates is None else candidates:
        if i < resume:
            continue
        text = texts[i]
        if not text or not _is_terminal(text):
            continue
        after_abbreviation = False
        if _is_abbreviation(text):
            if text.lower() not in FINAL_ABBREVIATIONS:
                continue
            after_abbreviation = True
        j = i + 1
        quoted = False
        # absorb directly attached punctuation: "?!", "!!", closing quotes and brackets
        while j < n and not spaces[j - 1]:
            following = texts[j]
            if all(ch in TERMINAL_CHARS for ch in following):
                j += 1
            elif all(ch in CLOSERS for ch in following):
                quoted = quoted or any(ch in QUOTE_CHARS for ch in following)
                j += 1
            else:
                break
        k = j
        while k < n and texts[k].isspace():
            k += 1
        if k < n and _starts_sentence(texts, k, n, after_abbreviation, quoted):
            starts.append(k)
        resume = j
    return starts


_TERMINAL_RE = re.compile("[.!?…]")
# Doc.user_data keys. The caller may give the Doc's text (Doc.text is slow: it joins tokens) and
# the regions (char offsets) to split; the component gives sentence start offsets per region.
TEXT_KEY = "autocoder_text"
REGIONS_KEY = "autocoder_regions"
SENTENCE_CHARS_KEY = "autocoder_sentence_chars"


@Language.component(SENTENCE_COMPONENT)
def autocoder_sentences(doc: Doc) -> Doc:
    """Set sentence starts inside each region (default: the whole Doc).

    Reads token offsets as arrays (no Token objects) and looks only at the tokens that end
    in . ! ? or …. A region always starts a sentence. Besides ``is_sent_start``, the start
    offsets go to ``doc.user_data[SENTENCE_CHARS_KEY]``: one list of char offsets per region.
    """
    text = doc.user_data.get(TEXT_KEY)
    if text is None:
        text = doc.text
    regions = doc.user_data.get(REGIONS_KEY) or [(0, len(text))]
    n = len(doc)
    if n == 0:
        doc.user_data[SENTENCE_CHARS_KEY] = [[start] for start, _ in regions]
        return doc
    offsets = doc.to_array([IDX, LENGTH, SPACY])
    token_starts = offsets[:, 0].tolist()
    token_ends = (offsets[:, 0] + offsets[:, 1]).tolist()
    spaces = offsets[:, 2].tolist()
    texts = _TokenTexts(text, token_starts, token_ends)
    terminal_ends = [match.end() for match in _TERMINAL_RE.finditer(text)]
    sentence_chars: list[list[int]] = []
    start_tokens: list[int] = []
    for region_start, region_end in regions:
        first = bisect_right(token_ends, region_start)  # first token ending after the start
        stop = bisect_left(token_starts, region_end)  # tokens starting before the end
        if first >= stop:
            sentence_chars.append([region_start])
            continue
        candidates: list[int] = []
        low = bisect_right(terminal_ends, region_start)
        high = bisect_right(terminal_ends, region_end)
        for end in terminal_ends[low:high]:
            index = bisect_left(token_ends, end)
            if (
                first <= index < stop
                and token_ends[index] == end
                and (not candidates or candidates[-1] < index)
            ):
                candidates.append(index)
        starts = sentence_starts(texts, spaces, candidates, first, stop) if candidates else [first]
        start_tokens.extend(starts)
        sentence_chars.append([region_start] + [token_starts[k] for k in starts[1:]])
    array = np.full((n, 1), -1, dtype=np.int64)
    array[start_tokens, 0] = 1
    array[0, 0] = 1
    doc.from_array([SENT_START], array.view(np.uint64))
    doc.user_data[SENTENCE_CHARS_KEY] = sentence_chars
    return doc


# --- negation and hedging -------------------------------------------------------------------


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


@Language.component(CUES_COMPONENT)
def autocoder_cues(doc: Doc) -> Doc:
    strings = doc.vocab.strings
    lowers = [strings[key] for key in doc.to_array(LOWER).tolist()]
    doc.user_data[LOWERS_KEY] = lowers
    doc.user_data[FLAGS_KEY] = cue_flags(lowers)
    return doc
