"""Token-level analysis of fragment texts for the classifier, piece by piece with a cache.

spaCy's tokenizer splits a text at whitespace first and tokenises each piece on its own, and
the lookup lemmatizer reads one token at a time; so each whitespace-separated piece goes
through the pipeline once and is remembered, and a text's analysis is the concatenation of
its pieces' (texts where a tokenizer special case may span pieces, and very long texts, go
through the whole pipeline). ``analyse_texts`` in autocoder.segment is the public entry.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

from spacy.attrs import IS_PUNCT, IS_SPACE, LOWER, ORTH
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

from autocoder.segment_blocks import MAX_BLOCK_CHARS, Block, split_long
from autocoder.segment_components import (
    CUES_COMPONENT,
    FLAGS_KEY,
    LOWERS_KEY,
    SENTENCE_COMPONENT,
    lemma_lookup,
    lemma_of,
)
from autocoder.segment_cues import (
    HEDGE_CUES,
    HEDGE_PHRASES,
    NEGATION_CUES,
    NEGATION_PHRASES,
    cue_flags,
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


def _pieces(text: str) -> list[str]:
    if len(text) <= MAX_BLOCK_CHARS:
        return [text]
    block = Block(0, len(text), False, None, None, 0, 0)
    return [text[piece.start : piece.end] for piece in split_long(text, block)]


# A whitespace-free piece of text (or a run of whitespace) -> its tokens as (lowercased text,
# lemma, is punctuation, is space), and its first token as the pipeline and as a tokenizer
# without special cases split it; bounded (cleared when full). _SPECIAL_ENDS and
# _SPECIAL_STARTS: pieces whose last (first) tokens may be part of a split special case.
_Token = tuple[str, str, bool, bool]
_PIECES: dict[str, tuple[tuple[_Token, ...], tuple[str, str]]] = {}
_SPECIAL_ENDS: dict[str, tuple[str, str]] = {}
_SPECIAL_STARTS: set[str] = set()
_PIECES_LOCK = threading.Lock()
MAX_CACHED_PIECES = 200_000
_RUNS = re.compile(r"\s+|\S+")
_CUE_WORDS = NEGATION_CUES | HEDGE_CUES
_CUE_PHRASES = tuple(frozenset(phrase) for phrase in (*NEGATION_PHRASES, *HEDGE_PHRASES))


def _split_pieces(text: str) -> list[str] | None:
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


def analyse_batch(nlp: Language, texts: list[str]) -> list[TextAnalysis]:
    """The analyses of a batch of texts (``nlp``: the pipeline of autocoder.segment)."""
    with _PIECES_LOCK:  # the caches are shared by threads
        return list(_analyse_cached(nlp, texts))


def _analyse_cached(nlp: Language, texts: list[str]) -> Iterator[TextAnalysis]:
    split = [_split_pieces(text) for text in texts]
    cache = _PIECES
    seen: set[str] = set()
    for pieces in split:
        if pieces:
            seen.update(pieces)
    missing = seen - cache.keys()
    if len(cache) + len(missing) > MAX_CACHED_PIECES:
        cache.clear()
        _SPECIAL_ENDS.clear()
        _SPECIAL_STARTS.clear()
        missing = seen
    if missing:
        _analyse_pieces(nlp, sorted(missing))
    ends, starts = _SPECIAL_ENDS.keys(), _SPECIAL_STARTS
    for text, pieces in zip(texts, split, strict=True):
        if pieces is None or (
            not ends.isdisjoint(pieces)
            and not starts.isdisjoint(pieces)
            and _special_across(nlp, pieces)
        ):
            yield _analyse_whole(nlp, text)
            continue
        records: list[_Token] = []
        for piece in pieces:
            records += cache[piece][0]
        yield _join(records)


def _analyse_pieces(nlp: Language, pieces: list[str]) -> None:
    strings, table = nlp.vocab.strings, lemma_lookup()
    bare, firsts, seconds, _ = _special_pairs(nlp)
    disabled = [SENTENCE_COMPONENT, CUES_COMPONENT]
    for piece, doc in zip(pieces, nlp.pipe(pieces, batch_size=1000, disable=disabled), strict=True):
        array = doc.to_array([LOWER, IS_PUNCT, IS_SPACE, ORTH]).tolist()
        split = bare(piece)
        first = (strings[array[0][3]], split[0].text)
        _PIECES[piece] = (
            tuple(
                (strings[lower], lemma_of(strings[orth], table), bool(punct), bool(space))
                for lower, punct, space, orth in array
            ),
            first,
        )
        last = (strings[array[-1][3]], split[-1].text)
        if not firsts.isdisjoint(last):
            _SPECIAL_ENDS[piece] = last
        if not seconds.isdisjoint(first):
            _SPECIAL_STARTS.add(piece)


@cache
def _special_pairs(
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


def _special_across(nlp: Language, pieces: list[str]) -> bool:
    pairs = _special_pairs(nlp)[3]
    for before, after in pairwise(pieces):
        ends = _SPECIAL_ENDS.get(before)
        if ends and any((end, start) in pairs for end in ends for start in _PIECES[after][1]):
            return True
    return False


def _join(records: list[_Token]) -> TextAnalysis:
    if not records:
        return TextAnalysis((), (), (), (), (), ())
    lowers, lemmas, punct, space = zip(*records, strict=True)
    words = set(lowers)
    if words.isdisjoint(_CUE_WORDS) and not any(phrase <= words for phrase in _CUE_PHRASES):
        negated = cue = hedge = (False,) * len(lowers)  # cue_flags would mark nothing
    else:
        flags = cue_flags(list(lowers))
        cue, negated, hedge = (tuple(column) for column in flags)
    if True in space:
        keep = [i for i, is_space in enumerate(space) if not is_space]
        columns = (lowers, lemmas, negated, cue, hedge, punct)
        return TextAnalysis(*(tuple(column[i] for i in keep) for column in columns))
    return TextAnalysis(lowers, lemmas, negated, cue, hedge, punct)


def _analyse_whole(nlp: Language, text: str) -> TextAnalysis:
    """A long text through the full pipeline, in pieces (cues are marked per piece)."""
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
