"""The feature documents of a batch of texts as numbers, straight from the token arrays.

What ``features.feature_docs`` writes as strings, and ``FastVectoriser`` then looks up in the
fitted vocabularies, worked out here for a whole batch with array operations: the ``words``
tokens as TokenTable numbers (unigrams, bigrams and context follow in token_index), the
``meta`` and ``scoped`` tokens as vocabulary columns, and the indicator matches (for reasons).
Every string the analysis numbers is looked up once (per fitted model) in small tables.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from autocoder.classify.features import CLAUSE_BREAKS, CONTRAST, CUE_NAMES, NEGATIVE_AFFIX, SCOPE_OF
from autocoder.classify.lexicon import LexiconIndex
from autocoder.classify.token_index import TokenTable, WordIds
from autocoder.segment import StringTable, TokenArrays
from autocoder.segment_arrays import GrowingColumn, ranges

SCOPES = ("", "WISH_", "PAST_")  # scope kinds (0: none), as features.SCOPE_OPENERS names them
PARITIES = ("POL_POS", "POL_NEG", "POL_DNEG")


@dataclass(frozen=True)
class BatchInput:
    """A batch of texts with their analysis, question tokens and neighbours (row numbers,
    -1 for none), and the codebook's lexicon index."""

    texts: list[str]
    arrays: TokenArrays
    questions: list[str]
    before: np.ndarray
    after: np.ndarray
    index: LexiconIndex


@dataclass(frozen=True)
class Occurrences:
    """(row, column) pairs of a block's tokens (column -1: not in the vocabulary)."""

    rows: np.ndarray
    columns: np.ndarray


@dataclass
class Matches:
    """Indicator matches of a batch, sorted by row: (row, indicator number, negated)."""

    rows: np.ndarray
    numbers: np.ndarray
    negated: np.ndarray
    found: list[tuple[str, str]]  # indicator number -> (code, indicator)
    _lists: tuple[list[int], list[int], list[bool]] | None = None

    def of(self, row: int) -> tuple[tuple[str, str, bool], ...]:
        if self._lists is None:  # worked out on the first call, for all rows
            bounds = np.searchsorted(self.rows, np.arange(int(self.rows.max(initial=0)) + 2))
            self._lists = (bounds.tolist(), self.numbers.tolist(), self.negated.tolist())
        bounds, numbers, negated = self._lists
        if row + 1 >= len(bounds):
            return ()
        lo, hi = bounds[row], bounds[row + 1]
        found = self.found
        return tuple(
            (*found[n], neg) for n, neg in zip(numbers[lo:hi], negated[lo:hi], strict=True)
        )


class BatchFeaturiser:
    """Per fitted model: tables from string numbers to its token numbers and columns."""

    def __init__(
        self, tokens: TokenTable, meta: dict[str, int], scoped: dict[str, int] | None
    ) -> None:
        self.tokens, self.meta, self.scoped = tokens, meta, scoped or {}
        self.generation = -1
        self.index: LexiconIndex | None = None
        self.lock = threading.Lock()

    def words(self, batch: BatchInput) -> WordIds:
        """The ``words`` tokens of each text, in order, as TokenTable numbers."""
        a = batch.arrays
        t = self._tables(batch)
        rows = a.rows
        kept = np.flatnonzero(~a.punct)
        lemma, cue = a.lemma[kept], a.cue[kept]
        classes = t["class_count"][lemma]
        counts = np.where(cue, 2, 1) + classes
        hedged = np.bincount(rows[a.hedge], minlength=len(a.lengths)) > 0
        kept_rows = rows[kept]
        change = np.ones(len(kept_rows), dtype=bool)
        change[:-1] = kept_rows[1:] != kept_rows[:-1]
        ends_of_rows = np.flatnonzero(change)
        last = np.full(len(a.lengths), -1, dtype=np.int64)
        last[kept_rows[ends_of_rows]] = ends_of_rows  # the last kept token of each text
        hedge_slot = last[hedged]
        counts[hedge_slot] += 1
        ends = np.cumsum(counts)
        at = ends - counts
        out = np.empty(int(ends[-1]) if len(ends) else 0, dtype=np.int64)
        word = t["word"][lemma]
        out[at] = np.where(
            cue, self._id("CUE_NEG"), np.where(a.negated[kept], t["neg"][lemma], word)
        )
        out[at[cue] + 1] = word[cue]
        first_class = at + np.where(cue, 2, 1)
        for k, class_ids in enumerate(t["class_ids"]):
            has = classes > k
            out[first_class[has] + k] = class_ids[lemma[has]]
        out[ends[hedge_slot] - 1] = self._id("CUE_HEDGE")
        out_rows = np.repeat(rows[kept], counts)
        lengths = np.bincount(out_rows, minlength=len(a.lengths)).astype(np.int64)
        starts = np.zeros(len(lengths), dtype=np.int64)
        starts[1:] = np.cumsum(lengths)[:-1]
        return WordIds(out, out_rows, starts, lengths, {})

    def _id(self, token: str) -> int:
        return self.tokens.ids.get(token, 0)

    def meta_counts(self, batch: BatchInput) -> tuple[Occurrences, Matches]:
        """The ``meta`` tokens (indicator matches, definition overlap, question) and the
        matches themselves."""
        a, index = batch.arrays, batch.index
        t = self._tables(batch)
        rows, lemma = a.rows, a.lemma
        with_hits = np.flatnonzero(t["hit_length"][lemma] > 0)
        lengths = t["hit_length"][lemma[with_hits]]
        token = np.repeat(with_hits, lengths)
        number = t["hit_numbers"][ranges(t["hit_start"][lemma[with_hits]], lengths)]
        token, number = self._with_sequences(batch, t, token, number)
        n_numbers = max(len(index.found), 1)
        key = rows[token] * n_numbers + number
        order = np.lexsort((token, key))
        keys, first = np.unique(key[order], return_index=True)
        first_token = token[order][first]
        match_rows, numbers = keys // n_numbers, keys % n_numbers
        negated = a.negated[first_token]
        columns = np.where(negated, t["cb_neg"][numbers], t["cb"][numbers])
        shared_rows, shared_columns = self._shared(rows, lemma, t)
        question_columns = [self.meta.get(q, -1) for q in batch.questions]
        occurrences = Occurrences(
            np.concatenate([match_rows, shared_rows, np.arange(len(a.lengths))]),
            np.concatenate([columns, shared_columns, np.array(question_columns, dtype=np.int64)]),
        )
        return occurrences, Matches(match_rows, numbers, negated, index.found)

    def _with_sequences(
        self, batch: BatchInput, t: dict, token: np.ndarray, number: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Add the multi-word indicators: each (token, indicator starting with its lemma)
        pair is checked word by word, for all pairs at once."""
        a = batch.arrays
        starts = np.flatnonzero(t["starts_sequence"][a.lemma])
        first, order = t["sequence_first"], t["sequence_order"]
        if not len(starts) or not len(first):
            return token, number
        low = np.searchsorted(first, a.lemma[starts], side="left")
        counts = np.searchsorted(first, a.lemma[starts], side="right") - low
        pair_token = np.repeat(starts, counts)
        pair = order[ranges(low, counts)]
        lengths = t["sequence_length"][pair]
        ok = pair_token + lengths <= (a.starts + a.lengths)[a.rows[pair_token]]
        for k in range(1, t["sequence_lemmas"].shape[1]):
            check = ok & (lengths > k)
            ok[check] = a.lemma[pair_token[check] + k] == t["sequence_lemmas"][pair[check], k]
        return (
            np.concatenate([token, pair_token[ok]]),
            np.concatenate([number, t["sequence_number"][pair[ok]]]),
        )

    def _shared(
        self, rows: np.ndarray, lemma: np.ndarray, t: dict
    ) -> tuple[np.ndarray, np.ndarray]:
        """CBV tokens: per row and code, the distinct lemmas shared with the code's
        description (at most 3)."""
        with_shared = np.flatnonzero(t["shared_length"][lemma] > 0)
        size = len(t["shared_length"])
        pairs = np.unique(rows[with_shared] * size + lemma[with_shared])
        pair_rows, pair_lemmas = pairs // size, pairs % size
        lengths = t["shared_length"][pair_lemmas]
        lexicon = t["shared_lexicons"][ranges(t["shared_start"][pair_lemmas], lengths)]
        n_codes = max(len(t["cbv"]), 1)
        keys, counts = np.unique(
            np.repeat(pair_rows, lengths) * n_codes + lexicon, return_counts=True
        )
        counts = np.minimum(counts, 3)
        return np.repeat(keys // n_codes, counts), np.repeat(t["cbv"][keys % n_codes], counts)

    def scoped_counts(self, batch: BatchInput) -> Occurrences:
        """The presence head's ``scoped`` tokens (as ``features.scoped_words`` writes them)."""
        a = batch.arrays
        t = self._tables(batch)
        n = len(a.lower)
        rows, lower, lemma = a.rows, a.lower, a.lemma
        first = np.zeros(n, dtype=bool)
        first[a.starts[a.lengths > 0]] = True
        brk = a.punct | t["break"][lower]
        negation = ~brk & (a.cue | t["on_affix"][lower])
        content = ~brk & ~negation
        contrast = brk & t["contrast"][lower]
        seen = np.cumsum(contrast)
        before_row = np.where(first, seen - contrast, 0)
        after = content & (seen - contrast - np.maximum.accumulate(before_row) > 0)
        clause = np.cumsum(brk | first)
        n_clauses = int(clause[-1]) + 1 if n else 0
        negations = np.bincount(clause[negation], minlength=n_clauses)
        parity = np.where(negations % 2 == 1, 1, np.where(negations > 0, 2, 0))
        opener = np.where(content & (t["opens"][lemma] > 0), np.arange(n), -1)
        previous = np.full(n, -1, dtype=np.int64)
        if n > 1:
            previous[1:] = np.maximum.accumulate(opener)[:-1]
        scoped = content & (previous >= 0)
        scoped[scoped] = clause[previous[scoped]] == clause[scoped]
        kind = np.zeros(n, dtype=np.int64)
        kind[scoped] = t["opens"][lemma[previous[scoped]]]
        clauses = np.unique(clause[content])
        clause_rows = np.zeros(n_clauses, dtype=np.int64)
        clause_rows[clause] = rows
        c = np.flatnonzero(content)
        s = np.flatnonzero(scoped)
        f = np.flatnonzero(after)
        parts_rows = [rows[s], rows[f], clause_rows[clauses], rows[c]]
        pol = (t["pol_pos"], t["pol_neg"], t["pol_dneg"])
        c_parity = parity[clause[c]]
        parts_columns = [
            np.where(kind[s] == 1, t["wish"][lemma[s]], t["past"][lemma[s]]),
            t["after"][lemma[f]],
            t["parity_columns"][parity[clauses]],
            np.choose(c_parity, [column[lemma[c]] for column in pol]),
        ]
        return Occurrences(np.concatenate(parts_rows), np.concatenate(parts_columns))

    def _tables(self, batch: BatchInput) -> dict:
        strings = batch.arrays.strings
        with self.lock:  # the tables are shared by threads
            if self.generation != strings.generation or self.index is not batch.index:
                self.generation, self.index = strings.generation, batch.index
                self.tables = _Tables(self, batch.index)
            self.tables.grow(strings)
            return self.tables.arrays


class _Tables:
    """Per string number: what it is in the fitted vocabularies and the lexicon index
    (columns that grow as the string table does)."""

    def __init__(self, owner: BatchFeaturiser, index: LexiconIndex) -> None:
        self.owner, self.index, self.done = owner, index, 0
        self.columns = {name: GrowingColumn(dtype) for name, dtype in _PER_STRING.items()}
        self.class_ids = [GrowingColumn(np.int64) for _ in range(WIDEST_CUE_NAMES)]
        self.hit_numbers = GrowingColumn(np.int64)
        self.shared_lexicons = GrowingColumn(np.int64)
        meta, scoped = owner.meta, owner.scoped
        codes = [code for code, _ in index.found]
        self.fixed = {
            "cb": _columns(meta, [f"CB_{c}" for c in codes]),
            "cb_neg": _columns(meta, [f"CB_{c}_NEG" for c in codes]),
            "cbv": _columns(meta, [f"CBV_{c}" for c in index.codes]),
            "parity_columns": _columns(scoped, list(PARITIES)),
        }
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
        rows: dict[str, list] = {name: [] for name in _PER_STRING}
        class_ids: list[list[int]] = [[] for _ in self.class_ids]
        for text in texts[self.done :]:
            self._add(text, rows, class_ids)
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

    def _add(self, text: str, row: dict[str, list], class_ids: list[list[int]]) -> None:
        ids, scoped = self.owner.tokens.ids, self.owner.scoped
        info = self.index.info(text)
        hits, shared = info if info is not None else ((), ())
        row["word"].append(ids.get(text, 0))
        row["neg"].append(ids.get("NEG_" + text, 0))
        names = CUE_NAMES.get(text, ())
        row["class_count"].append(len(names))
        for k, column in enumerate(class_ids):
            column.append(ids.get(names[k], 0) if k < len(names) else 0)
        row["hit_start"].append(self.hit_numbers.size)
        row["hit_length"].append(len(hits))
        self.hit_numbers.extend(list(hits))
        row["shared_start"].append(self.shared_lexicons.size)
        row["shared_length"].append(len(shared))
        self.shared_lexicons.extend(list(shared))
        row["starts_sequence"].append(text in self.index.sequences)
        row["break"].append(text in CLAUSE_BREAKS)
        row["contrast"].append(text in CONTRAST)
        row["on_affix"].append(
            text.startswith("on") and len(text) > 6 and text.endswith(NEGATIVE_AFFIX)
        )
        row["opens"].append(SCOPES.index(SCOPE_OF[text]) if text in SCOPE_OF else 0)
        for name, prefix in (("after", "AFTER_"), ("wish", "WISH_"), ("past", "PAST_")):
            row[name].append(scoped.get(prefix + text, -1))
        for name, parity in zip(("pol_pos", "pol_neg", "pol_dneg"), PARITIES, strict=True):
            row[name].append(scoped.get(f"{parity}_{text}", -1))


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
    "pol_pos": np.int64,
    "pol_neg": np.int64,
    "pol_dneg": np.int64,
}
