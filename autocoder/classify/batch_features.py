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

from autocoder.classify.clauses import Clauses, TokenRoles, clauses
from autocoder.classify.lexicon import LexiconIndex
from autocoder.classify.string_tables import PARITIES, SCOPES, StringTables
from autocoder.classify.token_index import TokenTable, WordIds
from autocoder.segment import TokenArrays
from autocoder.segment_arrays import ranges

SIGNS = ("NEG", "POS")
# The clause tokens scoped_words writes beyond the lemma ones: per sign, the polarity and its
# scoped and after-contrast forms, and per scope and sign the claim the fragment ends on.
POLARITY_TOKENS = {
    "ev": [f"POL_EV_{sign}" for sign in SIGNS],
    "scope_ev": [[f"{scope}POL_EV_{sign}" for sign in SIGNS] for scope in SCOPES],
    "after_ev": [f"AFTER_POL_EV_{sign}" for sign in SIGNS],
    "end": [[f"POL_END_{scope}{sign}" for sign in SIGNS] for scope in SCOPES],
}


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
        # cue classes of the lemma, else of the token ("zou" has the lemma "zullen")
        named = np.where(t["class_count"][lemma] > 0, lemma, a.lower[kept])
        classes = t["class_count"][named]
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
            out[first_class[has] + k] = class_ids[named[has]]
        out[ends[hedge_slot] - 1] = self._id("CUE_HEDGE")
        out_rows = np.repeat(rows[kept], counts)
        extra_rows, extra = self._clause_words(self._clauses(batch, t))
        n_rows = len(a.lengths)
        own = np.bincount(out_rows, minlength=n_rows).astype(np.int64)
        added = np.bincount(extra_rows, minlength=n_rows).astype(np.int64)
        lengths = own + added
        starts = np.zeros(n_rows, dtype=np.int64)
        starts[1:] = np.cumsum(lengths)[:-1]
        # each text's own tokens, then what its clauses add (both already in order)
        merged = np.empty(len(out) + len(extra), dtype=np.int64)
        own_starts = np.cumsum(own) - own
        merged[starts[out_rows] + np.arange(len(out)) - own_starts[out_rows]] = out
        added_starts = np.cumsum(added) - added
        at = starts[extra_rows] + own[extra_rows] + np.arange(len(extra)) - added_starts[extra_rows]
        merged[at] = extra
        return WordIds(merged, np.repeat(np.arange(n_rows), lengths), starts, lengths, {})

    def _id(self, token: str) -> int:
        return self.tokens.ids.get(token, 0)

    def _clause_words(self, found: Clauses) -> tuple[np.ndarray, np.ndarray]:
        """What ``words`` gets from the clauses, in order: per clause its parity and, when it
        has a polarity, its polarity tokens; per text the claim it ends on."""
        ids = self._id
        sign = found.positive.astype(np.int64)
        polar = found.polar
        slots = [
            (
                np.ones(len(sign), dtype=bool),
                np.array([ids(p) for p in PARITIES])[found.clause_parity],
            ),
            (polar, np.array([ids(x) for x in POLARITY_TOKENS["ev"]])[sign]),
            (
                polar & (found.clause_scope > 0),
                np.array([[ids(x) for x in row] for row in POLARITY_TOKENS["scope_ev"]])[
                    found.clause_scope, sign
                ],
            ),
            (
                polar & found.clause_after,
                np.array([ids(x) for x in POLARITY_TOKENS["after_ev"]])[sign],
            ),
        ]
        keys, rows, values = [], [], []
        for k, (mask, token_ids) in enumerate(slots):
            keys.append(found.clause_order[mask] * 5 + k)
            rows.append(found.clause_rows[mask])
            values.append(token_ids[mask])
        texts = np.flatnonzero(found.end >= 0)
        last = found.end[texts]
        ends = np.array([[ids(x) for x in row] for row in POLARITY_TOKENS["end"]])
        keys.append(found.last_clause[texts] * 5 + 4)
        rows.append(texts)
        values.append(ends[found.clause_scope[last], sign[last]])
        order = np.argsort(np.concatenate(keys), kind="stable")
        return np.concatenate(rows)[order], np.concatenate(values)[order].astype(np.int64)

    def _clauses(self, batch: BatchInput, t: dict) -> Clauses:
        """The batch's clauses (worked out once for ``words`` and ``scoped_counts``)."""
        cached = self.__dict__.get("_clauses_cache")
        if cached is not None and cached[0] is batch:
            return cached[1]
        a = batch.arrays
        breaks = a.punct | t["break"][a.lower]
        by_lemma, by_token = t["pol_lemma"][a.lemma], t["pol_token"][a.lower]
        opens_lemma = t["opens"][a.lemma]
        roles = TokenRoles(
            rows=a.rows,
            row_starts=a.starts,
            breaks=breaks,
            negation=~breaks & (a.cue | t["on_affix"][a.lower]),
            downtoner=t["downtoner"][a.lemma],
            restrictive=t["restrictive"][a.lower],
            contrast=t["contrast"][a.lower],
            polarity=np.where(by_lemma != 0, by_lemma, by_token),
            opens=np.where(opens_lemma > 0, opens_lemma, t["opens"][a.lower]),
        )
        found = clauses(roles)
        self.__dict__["_clauses_cache"] = (batch, found)
        return found

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
        found = self._clauses(batch, t)
        rows, lemma = a.rows, a.lemma
        words = found.words
        scoped = words[found.scope > 0]
        scope_columns = (t["wish"], t["past"], t["now"])
        kinds = found.scope[found.scope > 0] - 1
        after = words[found.after]
        by_parity = (t["pol_pos"], t["pol_neg"], t["pol_dneg"])
        sign = found.positive.astype(np.int64)
        polar = found.polar
        column = self._scoped_column
        scope_ev = np.array([[column(x) for x in row] for row in POLARITY_TOKENS["scope_ev"]])
        with_scope = polar & (found.clause_scope > 0)
        with_after = polar & found.clause_after
        texts = np.flatnonzero(found.end >= 0)
        last = found.end[texts]
        ends = np.array([[column(x) for x in row] for row in POLARITY_TOKENS["end"]])
        parts = [
            (rows[scoped], np.choose(kinds, [c[lemma[scoped]] for c in scope_columns])),
            (rows[after], t["after"][lemma[after]]),
            (found.clause_rows, t["parity_columns"][found.clause_parity]),
            (rows[words], np.choose(found.parity, [c[lemma[words]] for c in by_parity])),
            (found.clause_rows[polar], self._columns("ev")[sign[polar]]),
            (found.clause_rows[with_scope], scope_ev[found.clause_scope, sign][with_scope]),
            (found.clause_rows[with_after], self._columns("after_ev")[sign[with_after]]),
            (texts, ends[found.clause_scope[last], sign[last]]),
        ]
        return Occurrences(
            np.concatenate([r for r, _ in parts]),
            np.concatenate([np.asarray(c, dtype=np.int64) for _, c in parts]),
        )

    def _scoped_column(self, token: str) -> int:
        return self.scoped.get(token, -1)

    def _columns(self, name: str) -> np.ndarray:
        return np.array([self._scoped_column(x) for x in POLARITY_TOKENS[name]], dtype=np.int64)

    def _tables(self, batch: BatchInput) -> dict:
        strings = batch.arrays.strings
        with self.lock:  # the tables are shared by threads
            if self.generation != strings.generation or self.index is not batch.index:
                self.generation, self.index = strings.generation, batch.index
                self.tables = StringTables(self.tokens.ids, self.meta, self.scoped, batch.index)
            self.tables.grow(strings)
            return self.tables.arrays
