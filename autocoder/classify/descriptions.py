"""Reasons in plain words: what each feature column of a linear head says to a reader.

The words of a lemma feature ("the word ..."), of cue classes ("a negation"), and which
codebook features may explain a label; for a whole head, a table from (label, column) to
description, so that a batch's ranked columns are described by one lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np
from spacy.lang.nl.stop_words import STOP_WORDS

from autocoder.classify.cue_words import CUES

SCOPE_PREFIXES = ("POL_POS_", "POL_NEG_", "POL_DNEG_", "AFTER_", "WISH_", "PAST_", "NOW_")
CUE_WORDS = {
    "CUE_NEG": "a negation",
    "CUE_HEDGE": "hedging",
    "WISH": "a wish or need",
    "CONTRAST": "a contrast (maar, toch)",
    "PAST": "a reference to the past",
    "NOW": "a reference to now",
    "LACK": "a shortage word",
    "PRAISE": "a positive judgement",
}
assert set(CUES) <= set(CUE_WORDS)


@dataclass(frozen=True)
class DescriptionTable:
    """What ``SuggestionModel._describe`` says of each column of a head for each label, as
    numbers into ``texts`` (0: nothing to show); a negative number is a codebook indicator,
    described from the row's matches (``indicators[-1 - number]``)."""

    numbers: np.ndarray  # labels (in the suggester's order) x columns
    texts: np.ndarray  # object array: None, then the distinct descriptions in their order
    indicators: list[str]

    @classmethod
    def build(
        cls,
        names: list[str],
        labels: Sequence[str],
        describe_meta: Callable[[str, str], str | None],
    ) -> DescriptionTable:
        number: dict[str | None, int] = {None: 0}

        def numbered(text: str | None) -> int:
            return number.setdefault(text, len(number))

        static = [0 if n.startswith("meta__") else numbered(describe_name(n)) for n in names]
        numbers = np.tile(np.array(static, dtype=np.int32), (len(labels), 1))
        indicators: list[str] = []
        for column, name in enumerate(names):
            if not name.startswith("meta__"):
                continue
            feature = name[6:]
            for row, label in enumerate(labels):
                if not feature.startswith("CB_"):
                    numbers[row, column] = numbered(describe_meta(feature, label))
                elif about(feature, label):
                    numbers[row, column] = -1 - len(indicators)
                    indicators.append(feature)
        return cls(numbers, np.array(list(number), dtype=object), indicators)

    def describe(
        self,
        offsets: np.ndarray,
        columns: np.ndarray,
        label_rows: np.ndarray,
        indicator_texts: Callable[[list[str], np.ndarray], list[str | None]],
    ) -> list[list[str | None]]:
        """The description of each row's ranked columns (row i's are
        ``columns[offsets[i]:offsets[i + 1]]``; ``label_rows``: each row's label as a row of
        the table). ``indicator_texts`` describes codebook indicators from the rows' matches,
        given the features and their rows."""
        rows = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
        numbers = self.numbers[label_rows[rows], columns]
        found = self.texts[np.maximum(numbers, 0)].tolist()
        at = np.flatnonzero(numbers < 0)
        features = [self.indicators[i] for i in (-1 - numbers[at]).tolist()]
        for position, text in zip(at.tolist(), indicator_texts(features, rows[at]), strict=True):
            found[position] = text
        return [found[start:end] for start, end in pairwise(offsets.tolist())]


def label_rows(order: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Each label's row in ``order``."""
    row = {label: i for i, label in enumerate(order)}
    return np.array([row[label] for label in labels], dtype=np.int64)


def about(feature: str, label: str) -> bool:
    """Is this codebook feature (a ``meta`` token) one that can explain ``label``?

    Another code's indicator can push towards a label statistically, but naming it as a
    reason would confuse a reader; only the code's own evidence is shown (and a priority
    question, which says something about any code)."""
    if feature.startswith("CB_"):
        return feature[3:].removesuffix("_NEG") == label
    if feature.startswith("CBV_"):
        return feature[4:] == label
    return feature == "Q_priority" or (feature.startswith("Q_") and feature[2:] == label)


@lru_cache(maxsize=1 << 17)
def describe_name(name: str) -> str | None:
    """Plain words for a feature that is not a codebook feature (None: nothing to show)."""
    block, _, feature = name.partition("__")
    if block in ("words", "scoped", "factor_words"):
        return describe_words(feature)
    return None  # character n-grams are not meaningful to a reader


def describe_words(feature: str) -> str | None:
    """Plain words for a lemma feature; None for function words that explain nothing."""
    feature = feature.rsplit("|", 1)[-1]
    if feature in ("POL_NEG", "POL_DNEG"):
        return "a negation" if feature == "POL_NEG" else "a double negation"
    for prefix in SCOPE_PREFIXES:
        feature = feature.removeprefix(prefix)
    if feature in CUE_WORDS:
        return CUE_WORDS[feature]
    parts = feature.split()
    if any(part in CUE_WORDS or part.startswith("POL_") for part in parts):
        return None
    negated = any(part.startswith("NEG_") for part in parts)
    words = [part.removeprefix("NEG_") for part in parts]
    if all(word in STOP_WORDS or len(word) < 3 for word in words):
        return None
    quoted = " ".join(words)
    if negated:
        return f'"{quoted}" under a negation'
    return f'the words "{quoted}"' if len(words) > 1 else f'the word "{quoted}"'
