"""The ``words`` tokens that the fitted vocabularies know, as numbers (for FastVectoriser).

``TokenTable`` numbers every token some vocabulary of the fitted blocks knows and keeps its
columns (unigram, bigrams, ``P_``/``N_`` context terms, ``factor|word`` terms); ``WordIds``
are a batch of documents' tokens as those numbers, from which each block's (row, column)
occurrences follow by array lookups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

from autocoder.classify.features import FeatureDoc
from autocoder.segment_arrays import ranges


class TokenTable:
    """Every ``words`` token some vocabulary knows, numbered (0: any other token), with its
    columns: as a unigram, in bigrams, as a ``P_``/``N_`` context term and per factor."""

    def __init__(
        self, words: Any, context: Any, factor_words: Any | None, labels: Sequence[str]
    ) -> None:
        ids: dict[str, int] = {}

        def number(token: str) -> int:
            return ids.setdefault(token, len(ids) + 1)

        unigrams: list[tuple[int, int]] = []
        bigrams: list[tuple[int, int, int]] = []
        for term, column in words.vocabulary_.items():
            parts = term.split(" ")
            if len(parts) == 1:
                unigrams.append((number(term), column))
            else:
                bigrams.append((number(parts[0]), number(parts[1]), column))
        context_terms = [
            (term[:2], number(term[2:]), column)
            for term, column in context.vocabulary_.items()
            if term[:2] in ("P_", "N_")
        ]
        factor_terms = []
        for row, label in enumerate(labels):
            prefix = label + "|"
            for term, column in (factor_words.vocabulary_ if factor_words else {}).items():
                if term.startswith(prefix):
                    factor_terms.append((row, number(term[len(prefix) :]), column))
        size = len(ids) + 1
        self.ids = ids
        self.size = size
        self.unigram = np.full(size, -1, dtype=np.int64)
        for token, column in unigrams:
            self.unigram[token] = column
        codes = np.array([first * size + second for first, second, _ in bigrams], dtype=np.int64)
        order = np.argsort(codes)
        self.pair_codes = codes[order]
        self.pair_columns = np.array([c for _, _, c in bigrams], dtype=np.int64)[order]
        self.context = {"P_": np.full(size, -1, dtype=np.int64)}
        self.context["N_"] = np.full(size, -1, dtype=np.int64)
        for prefix, token, column in context_terms:
            self.context[prefix][token] = column
        self.factor_words = np.full((max(len(labels), 1), size), -1, dtype=np.int64)
        for row, token, column in factor_terms:
            self.factor_words[row, token] = column


@dataclass
class WordIds:
    """The ``words`` tokens of a batch of documents as token numbers, documents one after
    another (``starts``/``lengths`` per document; ``rows`` per token)."""

    ids: np.ndarray
    rows: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    index: dict[str, int]  # a document's words -> the first document with those words

    @classmethod
    def of(cls, docs: Sequence[FeatureDoc], table: TokenTable) -> WordIds:
        per_doc = [doc.words.split() for doc in docs]
        lengths = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(per_doc))
        starts = np.zeros(len(per_doc), dtype=np.int64)
        starts[1:] = np.cumsum(lengths)[:-1]
        flat = [token for tokens in per_doc for token in tokens]
        ids = np.fromiter(map(table.ids.get, flat, repeat(0)), dtype=np.int64, count=len(flat))
        rows = np.repeat(np.arange(len(docs)), lengths)
        index: dict[str, int] = {}
        for i, doc in enumerate(docs):
            index.setdefault(doc.words, i)
        return cls(ids, rows, starts, lengths, index)

    def pairs(self, table: TokenTable) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every unigram and bigram occurrence (column -1: not a term)."""
        ids, rows = self.ids, self.rows
        columns = table.unigram[ids]
        if len(ids) < 2 or not len(table.pair_codes):
            return rows, columns
        codes = ids[:-1] * table.size + ids[1:]
        at = np.minimum(np.searchsorted(table.pair_codes, codes), len(table.pair_codes) - 1)
        found = (table.pair_codes[at] == codes) & (rows[:-1] == rows[1:])
        pair_columns = np.where(found, table.pair_columns[at], -1)
        return np.concatenate([rows, rows[:-1]]), np.concatenate([columns, pair_columns])

    def context(
        self, docs: Sequence[FeatureDoc], table: TokenTable
    ) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of the ``P_`` terms of each document's previous neighbour's words and
        the ``N_`` terms of its next neighbour's."""
        n = len(docs)
        extra: list[int] = []  # token numbers of neighbours that are not in this batch
        offset = len(self.ids)
        found_rows, found_columns = [], []
        for prefix, attribute in (("P_", "before"), ("N_", "after")):
            starts = np.zeros(n, dtype=np.int64)
            lengths = np.zeros(n, dtype=np.int64)
            for i, doc in enumerate(docs):
                words = getattr(doc, attribute)
                if not words:
                    continue
                j = self.index.get(words)
                if j is not None:
                    starts[i], lengths[i] = self.starts[j], self.lengths[j]
                else:
                    tokens = words.split()
                    starts[i], lengths[i] = offset + len(extra), len(tokens)
                    extra += map(table.ids.get, tokens, repeat(0))
            ids = np.concatenate([self.ids, np.array(extra, dtype=np.int64)])
            found_rows.append(np.repeat(np.arange(n), lengths))
            found_columns.append(table.context[prefix][ids[ranges(starts, lengths)]])
        return np.concatenate(found_rows), np.concatenate(found_columns)

    def neighbour_context(
        self, before: np.ndarray, after: np.ndarray, table: TokenTable
    ) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of the ``P_`` terms of the words of each row's previous neighbour (a
        row number, -1 for none) and the ``N_`` terms of its next neighbour's."""
        found_rows, found_columns = [], []
        for prefix, neighbour in (("P_", before), ("N_", after)):
            rows = np.flatnonzero(neighbour >= 0)
            source = neighbour[rows]
            lengths = self.lengths[source]
            ids = self.ids[ranges(self.starts[source], lengths)]
            found_rows.append(np.repeat(rows, lengths))
            found_columns.append(table.context[prefix][ids])
        return np.concatenate(found_rows), np.concatenate(found_columns)

    def factor_words(self, label: np.ndarray, table: TokenTable) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of each token's ``factor|word`` term for its row's factor."""
        row_label = label[self.rows]
        columns = table.factor_words[np.maximum(row_label, 0), self.ids]
        return self.rows, np.where(row_label >= 0, columns, -1)
