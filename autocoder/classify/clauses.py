"""The clause structure behind the presence features, for a batch of token arrays at once.

``features.scoped_words`` walks a fragment's tokens clause by clause (clauses end at
punctuation and at conjunctions such as "maar"): it counts each clause's negations, sums the
polarity of its evaluative words, follows the wish/past/now scope a word opens and whether a
contrast came before. ``clauses`` works out the same for every token and clause of a batch
with array operations (BatchFeaturiser turns them into feature columns).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TokenRoles:
    """Per token of a batch (texts one after another): what ``scoped_words`` reads."""

    rows: np.ndarray  # the text of each token
    row_starts: np.ndarray  # per text: its first token
    breaks: np.ndarray  # ends a clause (punctuation, "maar", "want", ...)
    negation: np.ndarray  # a negation cue or "on-" word (counted, not a clause word)
    downtoner: np.ndarray  # "minder", "weinig", "zelden": counted like a negation too
    restrictive: np.ndarray  # "alleen"/"enkel": a contrast when it opens a clause
    contrast: np.ndarray  # a word that makes what follows "after a contrast" ("maar")
    polarity: np.ndarray  # +1 / -1 for an evaluative word, else 0
    opens: np.ndarray  # the scope a word opens (1 wish, 2 past, 3 now; 0 none)


@dataclass(frozen=True)
class Clauses:
    """Per token, per clause that has words, and per text."""

    words: np.ndarray  # the clause words (tokens), in order
    scope: np.ndarray  # per clause word: the scope open before it (0: none)
    after: np.ndarray  # per clause word: a contrast came before it
    parity: np.ndarray  # per clause word: its clause's parity (0 POS, 1 NEG, 2 DNEG)
    clause_rows: np.ndarray  # per clause with words (in order): its text
    clause_parity: np.ndarray
    polar: np.ndarray  # the clause has a polarity
    positive: np.ndarray  # ... and it is positive
    clause_scope: np.ndarray  # the scope open at the clause's end
    clause_after: np.ndarray  # a contrast came before the clause's end
    clause_order: np.ndarray  # the clause's number (increasing with text and position)
    last_clause: np.ndarray  # per text: the number of its last clause (-1: no tokens)
    end: np.ndarray  # per text: index (into the clauses with words) of its last polar one


def clauses(roles: TokenRoles) -> Clauses:
    n = len(roles.rows)
    first = np.zeros(n, dtype=bool)
    first[roles.row_starts[roles.row_starts < n]] = True
    content = ~roles.breaks & ~roles.negation
    opens_clause = roles.breaks | first
    clause = np.cumsum(opens_clause) - 1
    starts = np.flatnonzero(opens_clause)
    ends = np.append(starts[1:], n)
    row_start = roles.row_starts[roles.rows]
    content_before = _exclusive(content)
    in_clause_before = content_before[:-1] - content_before[starts[clause]]
    restrictive = roles.restrictive & ~roles.breaks & (in_clause_before == 0)
    contrasts = _exclusive(roles.breaks & roles.contrast)
    restricted = _exclusive(restrictive)
    index = np.arange(n)
    after = (contrasts[index] - contrasts[row_start]) + (
        restricted[index + 1] - restricted[row_start]
    ) > 0
    opener = np.where(content & (roles.opens > 0), index, -1)
    last_opener = np.maximum.accumulate(opener) if n else opener
    before = np.full(n, -1, dtype=np.int64)
    before[1:] = last_opener[:-1]
    scope = np.where(before >= starts[clause], roles.opens[np.maximum(before, 0)], 0)
    n_clauses = len(starts)
    counted = roles.negation | (content & roles.downtoner)
    negations = np.bincount(clause[counted], minlength=n_clauses)
    evaluation = np.bincount(clause[content], roles.polarity[content], minlength=n_clauses)
    has_words = np.bincount(clause[content], minlength=n_clauses) > 0
    parity = np.where(negations % 2 == 1, 1, np.where(negations > 0, 2, 0))
    odd = negations % 2 == 1
    positive = np.where(evaluation != 0, (evaluation > 0) != odd, ~odd)
    polar = evaluation != 0
    polar |= negations > 0
    closing = last_opener[ends - 1] if n else np.zeros(0, dtype=np.int64)
    clause_scope = np.where(closing >= starts, roles.opens[np.maximum(closing, 0)], 0)
    clause_row_start = roles.row_starts[roles.rows[starts]] if n else starts
    clause_after = (contrasts[ends] - contrasts[clause_row_start]) + (
        restricted[ends] - restricted[clause_row_start]
    ) > 0
    kept = np.flatnonzero(has_words)
    words = np.flatnonzero(content)
    return Clauses(
        words=words,
        scope=scope[words],
        after=after[words],
        parity=parity[clause[words]],
        clause_rows=roles.rows[starts[kept]] if n else kept,
        clause_parity=parity[kept],
        polar=polar[kept],
        positive=positive[kept],
        clause_scope=clause_scope[kept],
        clause_after=clause_after[kept],
        clause_order=kept,
        last_clause=_last_clause(roles, clause),
        end=_last_polar(roles.rows[starts[kept]] if n else kept, polar[kept], roles),
    )


def _exclusive(flags: np.ndarray) -> np.ndarray:
    """Counts of ``flags`` before each position (length n + 1)."""
    counts = np.zeros(len(flags) + 1, dtype=np.int64)
    np.cumsum(flags, out=counts[1:])
    return counts


def _last_clause(roles: TokenRoles, clause: np.ndarray) -> np.ndarray:
    n_rows = len(roles.row_starts)
    lengths = np.bincount(roles.rows, minlength=n_rows)
    last = np.full(n_rows, -1, dtype=np.int64)
    has = lengths > 0
    last[has] = clause[roles.row_starts[has] + lengths[has] - 1]
    return last


def _last_polar(rows: np.ndarray, polar: np.ndarray, roles: TokenRoles) -> np.ndarray:
    end = np.full(len(roles.row_starts), -1, dtype=np.int64)
    found = np.flatnonzero(polar)
    np.maximum.at(end, rows[found], found)
    return end
