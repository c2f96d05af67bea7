"""What the two token analyses of the classifier share: the record and the spaCy side.

``TextAnalysis`` is one text's tokens, lemmas and negation/hedge cues. spaCy's tokenizer
splits a text at whitespace first and tokenises each piece on its own, so the analysis is
done piece by piece with a cache (autocoder.segment_pieces, autocoder.segment_arrays);
``split_pieces`` gives those pieces, ``special_pairs`` the tokenizer special cases that can
span pieces, and ``analyse_whole`` runs the full pipeline over a text (for very long texts,
for texts where such a special case may occur, and as the reference the tests compare with).
``analyse_texts`` and ``analyse_arrays`` in autocoder.segment are the public entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

from spacy.attrs import IS_PUNCT, IS_SPACE, ORTH
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

from autocoder.segment_blocks import MAX_BLOCK_CHARS, Block, split_long
from autocoder.segment_components import (
    FLAGS_KEY,
    LOWERS_KEY,
    SENTENCE_COMPONENT,
    lemma_lookup,
    lemma_of,
)


@dataclass(frozen=True, slots=True)
class TextAnalysis:
    """Token-level view of one text for the classifier (whitespace tokens left out)."""

    tokens: tuple[str, ...]  # lowercased
    lemmas: tuple[str, ...]
    negated: tuple[bool, ...]
    cue: tuple[bool, ...]
    hedge: tuple[bool, ...]
    is_punct: tuple[bool, ...]


_ANALYSE_DISABLED = [SENTENCE_COMPONENT]
_RUNS = re.compile(r"\s+|\S+")


def _pieces(text: str) -> list[str]:
    if len(text) <= MAX_BLOCK_CHARS:
        return [text]
    block = Block(0, len(text), False, None, None, 0, 0)
    return [text[piece.start : piece.end] for piece in split_long(text, block)]


def split_pieces(text: str) -> list[str] | None:
    """The pieces spaCy's tokenizer sees, in order (None: a text for the full pipeline).

    Whitespace separates pieces; a single space after a token belongs to it, any other run
    of whitespace (after dropping that space) is a piece of its own (space tokens)."""
    if len(text) > MAX_BLOCK_CHARS:
        return None
    words = text.split()
    if " ".join(words) == text:
        return words
    pieces = []
    for match in _RUNS.finditer(text):
        run = match.group()
        if run[0].isspace() and match.start() > 0 and run[0] == " ":
            run = run[1:]
        if run:
            pieces.append(run)
    return pieces


@cache
def special_pairs(
    nlp: Language,
) -> tuple[Tokenizer, frozenset[str], frozenset[str], frozenset[tuple[str, str]]]:
    """Tokenizer special cases that the affix rules split into several tokens (":(" -> ":"
    "("): a tokenizer without special cases, the first and the second tokens of adjacent
    token pairs in those splits, and the pairs. The tokenizer merges such a sequence back into
    one token; a sequence across whitespace can keep it from doing so inside a piece, so texts
    where one may occur (judged by the first and last tokens of their pieces, with and without
    special cases) take the full pipeline."""
    tokenizer = nlp.tokenizer
    bare = Tokenizer(
        nlp.vocab,
        prefix_search=tokenizer.prefix_search,
        suffix_search=tokenizer.suffix_search,
        infix_finditer=tokenizer.infix_finditer,
        token_match=tokenizer.token_match,
        url_match=tokenizer.url_match,
    )
    pairs = set()
    for rule in tokenizer.rules or {}:
        orths = [token.text for token in bare(rule)]
        pairs.update(pairwise(orths))
    firsts = frozenset(first for first, _ in pairs)
    return bare, firsts, frozenset(second for _, second in pairs), frozenset(pairs)


def analyse_whole(nlp: Language, text: str) -> TextAnalysis:
    """A text through the full pipeline (a very long one in pieces, each with its own cues)."""
    columns: list[list] = [[], [], [], [], [], []]
    for doc in nlp.pipe(_pieces(text), disable=_ANALYSE_DISABLED):
        _collect(doc, columns)
    return TextAnalysis(*(tuple(column) for column in columns))


def _collect(doc: Doc, columns: list[list]) -> None:
    """Append the Doc's non-space tokens to the six TextAnalysis columns (array reads only)."""
    tokens, lemmas, negated, cue, hedge, is_punct = columns
    cue_flags, negated_flags, hedge_flags = doc.user_data[FLAGS_KEY]
    lowers = doc.user_data[LOWERS_KEY]
    if not lowers:
        return
    array = doc.to_array([ORTH, IS_PUNCT, IS_SPACE])
    strings, table = doc.vocab.strings, lemma_lookup()
    space = array[:, 2].tolist()
    keep = [i for i, is_space in enumerate(space) if not is_space]
    orths = array[:, 0].tolist()
    punct = array[:, 1].tolist()
    tokens.extend([lowers[i] for i in keep])
    lemmas.extend([lemma_of(strings[orths[i]], table) for i in keep])
    negated.extend([negated_flags[i] for i in keep])
    cue.extend([cue_flags[i] for i in keep])
    hedge.extend([hedge_flags[i] for i in keep])
    is_punct.extend([bool(punct[i]) for i in keep])
