"""Per string of the analysis: what it is to a fitted model (BatchFeaturiser's tables).

Every string the batch analysis numbers (a lowercased token or a lemma) is looked up once:
its TokenTable number as a word and as a negated word, its cue classes, its indicator matches
and definition overlap (the lexicon index), and what it is in a clause (break, contrast,
negation, downtoner, evaluative word, scope opener) with its ``scoped`` columns. The tables
are numpy columns indexed by string number, grown as the string table grows.
"""

from __future__ import annotations

import numpy as np

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
    SCOPE_OPENERS,
)
from autocoder.classify.lexicon import LexiconIndex
from autocoder.segment import StringTable
from autocoder.segment_pieces import GrowingColumn

SCOPES = ("", *SCOPE_OPENERS)  # scope kinds, numbered (0: none)
SIGNS = ("NEG", "POS")
# The clause tokens scoped_words writes beyond the lemma ones: the parity, per sign the
# polarity and its scoped and after-contrast forms, per scope and sign the claim it ends on.
CLAUSE_TOKENS = {
    "parity": list(PARITY),
    "ev": [f"POL_EV_{sign}" for sign in SIGNS],
    "scope_ev": [[f"{scope}POL_EV_{sign}" for sign in SIGNS] for scope in SCOPES],
    "after_ev": [f"AFTER_POL_EV_{sign}" for sign in SIGNS],
    "end": [[f"POL_END_{scope}{sign}" for sign in SIGNS] for scope in SCOPES],
}


class StringTables:
    """Per string number: what it is in the fitted vocabularies and the lexicon index
    (columns that grow as the string table does)."""

    def __init__(
        self,
        tokens: dict[str, int],
        meta: dict[str, int],
        scoped: dict[str, int],
        index: LexiconIndex,
    ) -> None:
        self.tokens, self.scoped, self.index, self.done = tokens, scoped, index, 0
        self.columns = {name: GrowingColumn(dtype) for name, dtype in _PER_STRING.items()}
        self.class_ids = [GrowingColumn(np.int64) for _ in range(WIDEST_CUE_NAMES)]
        self.hit_numbers = GrowingColumn(np.int64)
        self.shared_lexicons = GrowingColumn(np.int64)
        codes = [code for code, _ in index.found]
        self.fixed = {
            "cb": _columns(meta, [f"CB_{c}" for c in codes]),
            "cb_neg": _columns(meta, [f"CB_{c}_NEG" for c in codes]),
            "cbv": _columns(meta, [f"CBV_{c}" for c in index.codes]),
        }
        for name, terms in CLAUSE_TOKENS.items():  # as words and as scoped columns
            self.fixed["word_" + name] = _numbers(tokens, terms, 0)
            self.fixed["scoped_" + name] = _numbers(scoped, terms, -1)
        self.sequences = [
            (number, sequence) for items in index.sequences.values() for number, sequence in items
        ]
        self.sequence_words = {word for _, sequence in self.sequences for word in sequence}
        self.arrays: dict = {}

    def grow(self, strings: StringTable) -> None:
        texts = strings.texts
        if self.done == len(texts) and self.arrays:
            return
        if not self.arrays or not self.sequence_words.isdisjoint(texts[self.done :]):
            self.fixed.update(self._sequence_table(strings))
        rows, class_ids = self._rows(texts[self.done :])
        self.done = len(texts)
        for name, values in rows.items():
            self.columns[name].extend(values)
        for column, values in zip(self.class_ids, class_ids, strict=True):
            column.extend(values)
        arrays = {name: column.data[: column.size] for name, column in self.columns.items()}
        arrays["class_ids"] = [column.data[: column.size] for column in self.class_ids]
        arrays["hit_numbers"] = self.hit_numbers.data
        arrays["shared_lexicons"] = self.shared_lexicons.data
        self.arrays = {**arrays, **self.fixed}

    def _sequence_table(self, strings: StringTable) -> dict[str, np.ndarray]:
        """The multi-word indicators as string numbers (-3: a word not numbered yet), padded
        with -2, with their lengths and indicator numbers, in the order of their first word
        (``sequence_first``, sorted; ``sequence_order`` gives the row for each)."""
        known = strings.ids
        width = max((len(sequence) for _, sequence in self.sequences), default=1)
        lemmas = np.full((len(self.sequences), width), -2, dtype=np.int64)
        for row, (_, sequence) in enumerate(self.sequences):
            lemmas[row, : len(sequence)] = [known.get(word, -3) for word in sequence]
        order = np.argsort(lemmas[:, 0], kind="stable")
        return {
            "sequence_lemmas": lemmas,
            "sequence_length": np.array([len(q) for _, q in self.sequences], dtype=np.int64),
            "sequence_number": np.array([n for n, _ in self.sequences], dtype=np.int64),
            "sequence_first": lemmas[order, 0],
            "sequence_order": order,
        }

    def _rows(self, texts: list[str]) -> tuple[dict[str, list], list[list[int]]]:
        """The columns' values for new strings ``texts`` (a column at a time), and their cue
        classes' numbers (the k-th of each, 0 for none); adds their indicator matches and
        shared lexicons to ``hit_numbers`` and ``shared_lexicons``."""
        ids, scoped, index = self.tokens, self.scoped, self.index
        infos = [index.info(text) or ((), ()) for text in texts]
        hits = [hit for hit, _ in infos]
        shared = [lexicons for _, lexicons in infos]
        names = [CUE_NAMES.get(text, ()) for text in texts]
        row: dict[str, list] = {
            "word": [ids.get(text, 0) for text in texts],
            "neg": [ids.get("NEG_" + text, 0) for text in texts],
            "class_count": list(map(len, names)),
            "hit_start": _starts(self.hit_numbers.size, hits),
            "hit_length": list(map(len, hits)),
            "shared_start": _starts(self.shared_lexicons.size, shared),
            "shared_length": list(map(len, shared)),
            "starts_sequence": [text in index.sequences for text in texts],
            "break": [text in CLAUSE_BREAKS for text in texts],
            "contrast": [text in CONTRAST for text in texts],
            "on_affix": [
                text.startswith("on")
                and len(text) > 6
                and text.endswith(NEGATIVE_AFFIX)
                and not text.startswith(NOT_NEGATIVE_ON)
                for text in texts
            ],
            "pol_lemma": [POLARITY.get(text, 0) for text in texts],
            "pol_token": [POLARITY.get(text) or POLARITY.get(text[:-1], 0) for text in texts],
            "downtoner": [text in DOWNTONERS for text in texts],
            "restrictive": [text in RESTRICTIVE for text in texts],
            "opens": [SCOPES.index(SCOPE_OF[text]) if text in SCOPE_OF else 0 for text in texts],
        }
        for name, prefix in (
            ("after", "AFTER_"),
            ("wish", "WISH_"),
            ("past", "PAST_"),
            ("now", "NOW_"),
        ):
            row[name] = [scoped.get(prefix + text, -1) for text in texts]
        for name, parity in zip(("pol_pos", "pol_neg", "pol_dneg"), PARITY, strict=True):
            row[name] = [scoped.get(f"{parity}_{text}", -1) for text in texts]
        self.hit_numbers.extend([number for numbers in hits for number in numbers])
        self.shared_lexicons.extend([number for numbers in shared for number in numbers])
        class_ids = [
            [ids.get(classes[k], 0) if k < len(classes) else 0 for classes in names]
            for k in range(len(self.class_ids))
        ]
        return row, class_ids


def _starts(first: int, lists: list[tuple[int, ...]]) -> list[int]:
    """Where each of ``lists`` starts when they are put one after another from ``first``."""
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    return (first + np.cumsum(lengths) - lengths).tolist()


def _numbers(vocabulary: dict[str, int], terms: list, missing: int) -> np.ndarray:
    """The vocabulary's numbers of a (nested) list of terms, in the same shape."""
    shaped = np.array(terms, dtype=object)
    found = [vocabulary.get(term, missing) for term in shaped.ravel().tolist()]
    return np.array(found, dtype=np.int64).reshape(shaped.shape)


def _columns(vocabulary: dict[str, int], terms: list[str]) -> np.ndarray:
    return np.array([vocabulary.get(term, -1) for term in terms] or [-1], dtype=np.int64)


WIDEST_CUE_NAMES = max(map(len, CUE_NAMES.values()))
_PER_STRING: dict[str, type] = {
    "word": np.int64,
    "neg": np.int64,
    "class_count": np.int64,
    "hit_start": np.int64,
    "hit_length": np.int64,
    "shared_start": np.int64,
    "shared_length": np.int64,
    "starts_sequence": bool,
    "break": bool,
    "contrast": bool,
    "on_affix": bool,
    "opens": np.int64,
    "after": np.int64,
    "wish": np.int64,
    "past": np.int64,
    "now": np.int64,
    "pol_lemma": np.int64,
    "pol_token": np.int64,
    "downtoner": bool,
    "restrictive": bool,
    "pol_pos": np.int64,
    "pol_neg": np.int64,
    "pol_dneg": np.int64,
}
