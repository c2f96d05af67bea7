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
from typing import NamedTuple

import numpy as np

from autocoder.classify.clauses import Clauses, TokenRoles, clauses
from autocoder.classify.lexicon import LexiconIndex
from autocoder.classify.string_tables import StringTables
from autocoder.classify.token_index import TokenTable, WordIds
from autocoder.segment import TokenArrays
from autocoder.segment_arrays import ranges


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


class Occurrences(NamedTuple):
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

    def first(self, rows: np.ndarray, codes: list[str]) -> list[str | None]:
        """For each row and code: the indicator of the row's first match of the code, in the
        order ``of`` gives them (None: no match)."""
        code_ids: dict[str, int] = {}
        code_of = [code_ids.setdefault(code, len(code_ids)) for code, _ in self.found]
        width = len(code_ids) + 1  # the last: a code without matches
        matched = self.rows * width + np.array(code_of, dtype=np.int64)[self.numbers]
        keys, first = np.unique(matched, return_index=True)
        if not len(keys):
            return [None] * len(codes)
        code_numbers = [code_ids.get(code, width - 1) for code in codes]
        wanted = rows * width + np.array(code_numbers, dtype=np.int64)
        at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        numbers = np.where(keys[at] == wanted, self.numbers[first[at]], -1).tolist()
        return [None if n < 0 else self.found[n][1] for n in numbers]


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
        """The ``words`` tokens of each text, in order, as TokenTable numbers: its own
        tokens, then what its clauses add."""
        t = self._tables(batch)
        rows, out = self._token_words(batch.arrays, t)
        keys, clause_rows, clause_words = _clause_tokens(self._clauses(batch, t), t, "word_")
        order = np.argsort(keys, kind="stable")  # in the order scoped_words writes them
        return _per_row(
            len(batch.arrays.lengths), (rows, out), (clause_rows[order], clause_words[order])
        )

    def _token_words(self, a: TokenArrays, t: dict) -> tuple[np.ndarray, np.ndarray]:
        """(row, number) of the tokens' words, in order: each word (``NEG_`` in a negation's
        scope; "CUE_NEG" before a cue), its cue classes, and "CUE_HEDGE" after a hedged
        text's last word."""
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
        return np.repeat(kept_rows, counts), out

    def _id(self, token: str) -> int:
        return self.tokens.ids.get(token, 0)

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
        _, clause_rows, clause_columns = _clause_tokens(found, t, "scoped_")
        parts = [
            (rows[scoped], np.choose(kinds, [c[lemma[scoped]] for c in scope_columns])),
            (rows[after], t["after"][lemma[after]]),
            (rows[words], np.choose(found.parity, [c[lemma[words]] for c in by_parity])),
            (clause_rows, clause_columns),
        ]
        return Occurrences(
            np.concatenate([r for r, _ in parts]),
            np.concatenate([np.asarray(c, dtype=np.int64) for _, c in parts]),
        )

    def _tables(self, batch: BatchInput) -> dict:
        strings = batch.arrays.strings
        with self.lock:  # the tables are shared by threads
            if self.generation != strings.generation or self.index is not batch.index:
                self.generation, self.index = strings.generation, batch.index
                self.tables = StringTables(self.tokens.ids, self.meta, self.scoped, batch.index)
            self.tables.grow(strings)
            return self.tables.arrays


def _clause_tokens(
    found: Clauses, t: dict, family: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tokens each clause with words adds (its parity and, when it has a polarity, the
    polarity tokens) and each text's claim, as (order key, row, number) with numbers from the
    ``family`` tables ("word_": TokenTable numbers, "scoped_": scoped columns). Sorted by key
    they come in the order ``features.scoped_words`` writes them."""
    sign = found.positive.astype(np.int64)
    polar = found.polar
    slots = [
        (np.ones(len(sign), dtype=bool), t[family + "parity"][found.clause_parity]),
        (polar, t[family + "ev"][sign]),
        (polar & (found.clause_scope > 0), t[family + "scope_ev"][found.clause_scope, sign]),
        (polar & found.clause_after, t[family + "after_ev"][sign]),
    ]
    keys, rows, values = [], [], []
    for k, (mask, numbers) in enumerate(slots):
        keys.append(found.clause_order[mask] * 5 + k)
        rows.append(found.clause_rows[mask])
        values.append(numbers[mask])
    texts = np.flatnonzero(found.end >= 0)
    last = found.end[texts]
    keys.append(found.last_clause[texts] * 5 + 4)
    rows.append(texts)
    values.append(t[family + "end"][found.clause_scope[last], sign[last]])
    return np.concatenate(keys), np.concatenate(rows), np.concatenate(values).astype(np.int64)


def _per_row(
    n_rows: int, first: tuple[np.ndarray, np.ndarray], then: tuple[np.ndarray, np.ndarray]
) -> WordIds:
    """Two sequences of (row, number), each in row order, as one: per row the first's
    numbers, then the second's."""
    (first_rows, first_ids), (then_rows, then_ids) = first, then
    own = np.bincount(first_rows, minlength=n_rows).astype(np.int64)
    added = np.bincount(then_rows, minlength=n_rows).astype(np.int64)
    lengths = own + added
    starts = np.cumsum(lengths) - lengths
    merged = np.empty(len(first_ids) + len(then_ids), dtype=np.int64)
    own_starts = np.cumsum(own) - own
    merged[starts[first_rows] + np.arange(len(first_ids)) - own_starts[first_rows]] = first_ids
    added_starts = np.cumsum(added) - added
    at = starts[then_rows] + own[then_rows] + np.arange(len(then_ids)) - added_starts[then_rows]
    merged[at] = then_ids
    return WordIds(merged, np.repeat(np.arange(n_rows), lengths), starts, lengths, {})
