"""Rule-based sentence boundaries in Dutch running text, and the abbreviations behind them.

``sentence_starts`` works on token texts alone (no spaCy objects); the ``autocoder_sentences``
component (autocoder.segment_components) runs it over a Doc's regions. The abbreviation lists
also shape the tokenizer (``add_special_cases`` there): which tokens keep their period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
