"""The custom spaCy components of autocoder's Dutch pipeline (internal to autocoder.segment).

- ``autocoder_sentences``: rule-based sentence boundaries in running text (the line structure
  of a report is handled in autocoder.segment_blocks, whose blocks come in as Doc regions);
  the rules are in autocoder.segment_sentences.
- ``autocoder_cues``: Dutch negation and hedging cues (autocoder.segment_cues) as Token
  extensions ``token._.negation_cue``, ``token._.negated`` and ``token._.hedge``.

Also the tokenizer changes: extra Dutch abbreviations as special cases, and spaCy exceptions
removed that glue the period to real words ("dat.", "u.") or to acronyms ("VT.").

Nothing here is public API; autocoder.segment turns spaCy objects into plain records.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
from spacy.attrs import IDX, LENGTH, LOWER, SENT_START, SPACY
from spacy.lang.nl import Dutch
from spacy.language import Language
from spacy.symbols import ORTH
from spacy.tokens import Doc, Token

# NEGATION_CUES is re-exported: autocoder.classify.transformer imports it from here.
from autocoder.segment_cues import NEGATION_CUES as NEGATION_CUES
from autocoder.segment_cues import cue_flags
from autocoder.segment_sentences import (
    EXTRA_ABBREVIATIONS,
    MONTH_ABBREVIATIONS,
    WORDS_NOT_ABBREVIATIONS,
    sentence_starts,
)

SENTENCE_COMPONENT = "autocoder_sentences"
CUES_COMPONENT = "autocoder_cues"

_CAPITALS_WITH_PERIOD = re.compile(r"[A-Z]{2,}\.")
_LETTERS_WITH_PERIOD = re.compile(r"[A-Za-z]+\.")

# Doc.user_data keys of the cues component: the flag lists (cue, negated, hedge) and the
# lowercased token texts, kept per Doc so that Token getters and callers read them cheaply.
FLAGS_KEY = "autocoder_flags"
LOWERS_KEY = "autocoder_lowers"


def register_extensions() -> None:
    """Token._.negation_cue / negated / hedge, read lazily from the Doc's flag lists."""
    for position, name in enumerate(("negation_cue", "negated", "hedge")):
        if not Token.has_extension(name):
            Token.set_extension(name, getter=_flag_getter(position))


def _flag_getter(position: int) -> Callable[[Token], bool]:
    def getter(token: Token) -> bool:
        flags = token.doc.user_data.get(FLAGS_KEY)
        return bool(flags[position][token.i]) if flags is not None else False

    return getter


def dutch_pipeline() -> Language:
    """A blank Dutch pipeline whose tokenizer has the adjusted exceptions from the start
    (changing them on a built tokenizer would load its thousands of special cases twice)."""
    rules = dutch_exceptions(Dutch.Defaults.tokenizer_exceptions)

    class AdjustedDefaults(Dutch.Defaults):
        tokenizer_exceptions = rules

    class AdjustedDutch(Dutch):
        Defaults = AdjustedDefaults

    return AdjustedDutch()


def _glues_period(key: str) -> bool:
    """An exception that glues the period to an acronym or to a word that is no abbreviation."""
    if _CAPITALS_WITH_PERIOD.fullmatch(key):
        return True
    return bool(_LETTERS_WITH_PERIOD.fullmatch(key)) and key[:-1].lower() in WORDS_NOT_ABBREVIATIONS


def dutch_exceptions(rules: dict[str, list[dict[int, str]]]) -> dict[str, list[dict[int, str]]]:
    """spaCy's Dutch tokenizer exceptions adjusted (see the module docstring)."""
    adjusted = {key: value for key, value in rules.items() if not _glues_period(key)}
    for abbreviation in EXTRA_ABBREVIATIONS:
        for form in {abbreviation, abbreviation[0].upper() + abbreviation[1:]}:
            adjusted[form] = [{ORTH: form}]
    for month in MONTH_ABBREVIATIONS:
        adjusted[month] = [{ORTH: month}]
    return adjusted


# --- sentence boundaries -------------------------------------------------------------------


class _TokenTexts(Sequence[str]):
    """Token texts sliced from the Doc text on demand (no Token objects are created)."""

    __slots__ = ("_ends", "_starts", "_text")

    def __init__(self, text: str, starts: list[int], ends: list[int]) -> None:
        self._text = text
        self._starts = starts
        self._ends = ends

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self._text[self._starts[index] : self._ends[index]]


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


@Language.component(CUES_COMPONENT)
def autocoder_cues(doc: Doc) -> Doc:
    strings = doc.vocab.strings
    lowers = [strings[key] for key in doc.to_array(LOWER).tolist()]
    doc.user_data[LOWERS_KEY] = lowers
    doc.user_data[FLAGS_KEY] = cue_flags(lowers)
    return doc


@cache
def lemma_lookup() -> dict[str, str]:
    """spacy-lookups-data's Dutch lemma table as a plain dict (token text -> lemma).

    What spaCy's Dutch lookup lemmatizer does per token (the table's lemma of the lowercased
    text, else that text), without building its hashed table (four times slower to load).
    Raises ValueError, KeyError or OSError when the data package or its table is missing."""
    from spacy.util import load_language_data, registry

    return dict(load_language_data(registry.lookups.get("nl")["lemma_lookup"]))


def lemma_of(text: str, table: dict[str, str]) -> str:
    """The lowercased lookup lemma of a token text."""
    lower = text.lower()
    return table.get(lower, lower).lower()
