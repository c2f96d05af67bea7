"""The default suggestion model: sparse text features and two linear heads.

A small adapter in the scikit-learn style (``fit`` / ``predict_proba``), following the
estimator contract: constructor arguments are settings, fitted state ends in ``_``.
Both heads are linear support-vector machines (fast, strong on sparse text); their margins
become probabilities by temperature scaling fitted on grouped out-of-fold scores.
The presence head also sees factor-specific words ("verloop" says something else about
stability than about relations): at training time with the coded factor, at prediction time
with the suggested one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise, repeat
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import minimize_scalar
from scipy.special import expit, softmax
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.svm import LinearSVC

from autocoder.classify.features import FeatureDoc
from autocoder.records import NO_FACTOR_KEY

WORDS, CHARS, META, CONTEXT = 0, 1, 2, 3
TOP_CONTRIBUTIONS = 12
SCOPED, FACTOR_WORDS = 0, 1


@dataclass(frozen=True)
class ModelSettings:
    seed: int = 13
    factor_c: float = 0.5
    presence_c: float = 0.5
    char_ngrams: tuple[int, int] = (3, 5)
    max_char_features: int = 60000
    meta_weight: float = 0.3
    context_weight: float = 0.7
    class_weight: str | None = "balanced"


def make_features(settings: ModelSettings) -> ColumnTransformer:
    words = TfidfVectorizer(
        token_pattern=r"\S+", lowercase=False, ngram_range=(1, 2), min_df=2, sublinear_tf=True
    )
    chars = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=settings.char_ngrams,
        min_df=2,
        sublinear_tf=True,
        max_features=settings.max_char_features,
        dtype=np.float32,
    )
    meta = CountVectorizer(token_pattern=r"\S+", lowercase=False)
    context = _tokens_tfidf()
    return ColumnTransformer(
        [
            ("words", words, WORDS),
            ("chars", chars, CHARS),
            ("meta", meta, META),
            ("context", context, CONTEXT),
        ],
        transformer_weights={
            "words": 1.0,
            "chars": 1.0,
            "meta": settings.meta_weight,
            "context": settings.context_weight,
        },
        sparse_threshold=1.0,
    )


def make_presence_features() -> ColumnTransformer:
    return ColumnTransformer(
        [("scoped", _tokens_tfidf(), SCOPED), ("factor_words", _tokens_tfidf(), FACTOR_WORDS)],
        sparse_threshold=1.0,
    )


def _tokens_tfidf() -> TfidfVectorizer:
    return TfidfVectorizer(token_pattern=r"\S+", lowercase=False, min_df=2, sublinear_tf=True)


def as_matrix(docs: Sequence[FeatureDoc]) -> np.ndarray:
    table = np.empty((len(docs), 4), dtype=object)
    for i, doc in enumerate(docs):
        table[i] = (doc.words, doc.chars, doc.meta, doc.context)
    return table


def presence_table(docs: Sequence[FeatureDoc], factors: Sequence[str]) -> np.ndarray:
    table = np.empty((len(docs), 2), dtype=object)
    for i, (doc, factor) in enumerate(zip(docs, factors, strict=True)):
        table[i] = (doc.scoped, " ".join(f"{factor}|{word}" for word in doc.words.split()))
    return table


def fit_temperature(logits: np.ndarray, target: np.ndarray, binary: bool = False) -> float:
    """The temperature that minimises the negative log-likelihood of held-out scores."""
    if len(target) == 0:
        return 1.0

    def nll(log_t: float) -> float:
        t = float(np.exp(log_t))
        if binary:
            p = np.clip(expit(logits / t), 1e-12, 1 - 1e-12)
            return float(-np.mean(target * np.log(p) + (1 - target) * np.log(1 - p)))
        probs = softmax(logits / t, axis=1)
        return float(-np.mean(np.log(np.clip(probs[np.arange(len(target)), target], 1e-12, 1))))

    result = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


@dataclass
class Features:
    """A batch's factor matrix plus what the presence head needs (built lazily)."""

    factor: sparse.csr_matrix
    docs: Sequence[FeatureDoc]
    presence: sparse.csr_matrix | None = None
    words: _WordIds | None = None  # FastVectoriser's numbered words of ``docs``
    readable: sparse.csr_matrix | None = None  # ``factor`` without character n-grams
    presence_extra: sparse.csr_matrix | None = None  # the presence head's own columns


class LinearSuggester:
    """Factor head over codebook ids plus "no factor"; presence head over present/absent."""

    def __init__(self, codes: Sequence[str], settings: ModelSettings | None = None) -> None:
        self.codes = tuple(codes)
        self.settings = settings or ModelSettings()
        self.labels = (*self.codes, NO_FACTOR_KEY)

    def _svm(self, c: float) -> LinearSVC:
        return LinearSVC(
            C=c, class_weight=self.settings.class_weight, random_state=self.settings.seed
        )

    def fit(
        self,
        docs: Sequence[FeatureDoc],
        factors: Sequence[str],
        presences: Sequence[int | None],
        weights: Sequence[float] | None = None,
    ) -> LinearSuggester:
        """``factors`` use NO_FACTOR_KEY for no factor; ``presences`` are 1, 0 or None."""
        settings = self.settings
        self.features_ = make_features(settings)
        matrix = self.features_.fit_transform(as_matrix(docs)).tocsr()
        sample_weight = None if weights is None else np.asarray(weights, dtype=float)
        self.factor_ = self._svm(settings.factor_c).fit(
            matrix, np.asarray(factors), sample_weight=sample_weight
        )
        self.presence_features_ = None
        self.presence_ = None
        known = np.array([p is not None for p in presences])
        if known.any() and len({p for p in presences if p is not None}) == 2:
            index = np.flatnonzero(known)
            kept = [docs[i] for i in index]
            self.presence_features_ = make_presence_features()
            extra = self.presence_features_.fit_transform(
                presence_table(kept, [factors[i] for i in index])
            )
            target = np.array([presences[i] for i in index], dtype=int)
            pw = None if sample_weight is None else sample_weight[index]
            combined = sparse.hstack([matrix[index], extra]).tocsr()
            self.presence_ = self._svm(settings.presence_c).fit(combined, target, sample_weight=pw)
        self.factor_temperature_ = 1.0
        self.presence_temperature_ = 1.0
        for block in (self.features_, self.presence_features_):
            _drop_pruned_terms(block)
        self.__dict__.pop("_name_cache", None)
        self.__dict__.pop("_fast_cache", None)
        return self

    def _fast(self) -> FastVectoriser | None:
        """The fast vectoriser for the fitted blocks (None when they are not the usual ones)."""
        key = (id(self.features_), id(self.presence_features_))
        cached = self.__dict__.get("_fast_cache")
        if cached is None or cached[0] != key:
            built = FastVectoriser.build(self.features_, self.presence_features_, self.labels)
            cached = (key, built)
            self.__dict__["_fast_cache"] = cached
        return cached[1]

    def transform(self, docs: Sequence[FeatureDoc]) -> Features:
        fast = self._fast()
        if fast is None or not docs:
            return Features(self.features_.transform(as_matrix(docs)).tocsr(), docs)
        matrix, words, readable = fast.factor(docs)
        return Features(matrix, docs, words=words, readable=readable)

    def scores(self, features: Features) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw factor margins (columns in ``self.labels`` order) and presence margins."""
        matrix = features.factor
        logits = np.full((matrix.shape[0], len(self.labels)), -1e4)
        raw = self.factor_.decision_function(matrix)
        if raw.ndim == 1:  # two classes seen: sklearn returns one column
            raw = np.column_stack([-raw / 2, raw / 2])
        for column, label in enumerate(self.factor_.classes_):
            logits[:, self.labels.index(label)] = raw[:, column]
        if self.presence_ is None or self.presence_features_ is None:
            return logits, None
        suggested = [self.labels[i] for i in logits.argmax(axis=1)]
        fast = self._fast()
        if fast is None:
            extra = self.presence_features_.transform(presence_table(features.docs, suggested))
        else:
            words = features.words if features.words is not None else fast.factor(features.docs)[1]
            extra = fast.presence(features.docs, suggested, words)
        features.presence = sparse.hstack([matrix, extra]).tocsr()
        features.presence_extra = extra
        return logits, self.presence_.decision_function(features.presence)

    def predict_proba(self, features: Features) -> tuple[np.ndarray, np.ndarray | None]:
        """Calibrated factor probabilities and the probability that the factor is present."""
        logits, presence = self.scores(features)
        probs = softmax(logits / self.factor_temperature_, axis=1)
        present = None if presence is None else expit(presence / self.presence_temperature_)
        return probs, present

    def contributions(self, features: Features, row: int, label: str) -> list[tuple[str, float]]:
        """Features of one row that pushed towards ``label``, strongest first (at most
        TOP_CONTRIBUTIONS; character n-grams, which mean nothing to a reader, left out)."""
        classes = list(self.factor_.classes_)
        if label not in classes:
            return []
        coef = self.factor_.coef_
        weights = coef[classes.index(label)] if coef.shape[0] > 1 else coef[0]
        return _top(features.factor, row, weights, self._names("factor"), self._chars())

    def presence_contributions(
        self, features: Features, row: int, present: bool
    ) -> list[tuple[str, float]]:
        if self.presence_ is None or features.presence is None:
            return []
        weights = self.presence_.coef_[0] * (1 if present else -1)
        return _top(features.presence, row, weights, self._names("presence"), self._chars())

    def ranked_contributions(
        self, features: Features, labels: Sequence[str], k: int = TOP_CONTRIBUTIONS
    ) -> list[list[str]]:
        """For every row at once: the names ``contributions`` gives for its label (at most
        ``k``)."""
        classes = list(self.factor_.classes_)
        coef = self.factor_.coef_
        which = np.array(
            [
                (classes.index(label) if coef.shape[0] > 1 else 0) if label in classes else -1
                for label in labels
            ],
            dtype=np.int64,
        )
        matrix, skip = features.factor, self._chars()
        if features.readable is not None:
            matrix, skip = features.readable, None
        return self._ranked(matrix, coef, which, k, "factor", skip)

    def ranked_presence_contributions(
        self, features: Features, present: Sequence[bool | None], k: int = TOP_CONTRIBUTIONS
    ) -> list[list[str]]:
        """The names ``presence_contributions`` gives for each row (none where ``present`` is
        None)."""
        if self.presence_ is None or features.presence is None:
            return [[] for _ in present]
        coef = self.presence_.coef_[0]
        which = np.array([-1 if p is None else (0 if p else 1) for p in present], dtype=np.int64)
        matrix, skip = features.presence, self._chars()
        if features.readable is not None and features.presence_extra is not None:
            matrix = sparse.hstack([features.readable, features.presence_extra]).tocsr()
            skip = None
        return self._ranked(matrix, np.vstack([coef, -coef]), which, k, "presence", skip)

    def _chars(self) -> tuple[int, int] | None:
        """The column range of character n-grams in the factor matrix."""
        chars = self.features_.output_indices_.get("chars")
        return None if chars is None else (chars.start, chars.stop)

    def _ranked(
        self,
        matrix: sparse.csr_matrix,
        weights: np.ndarray,
        which: np.ndarray,
        k: int,
        head: str,
        skip: tuple[int, int] | None,
    ) -> list[list[str]]:
        offsets, columns = _top_per_row(matrix, weights, which, k, skip)
        names = self._name_list(head)
        found = [names[column] for column in columns.tolist()]
        return [found[start:end] for start, end in pairwise(offsets.tolist())]

    def _name_list(self, head: str) -> list[str]:
        cache = self.__dict__.setdefault("_name_cache", {})
        key = head + ":list"
        if key not in cache:
            cache[key] = [str(name) for name in self._names(head)]
        return cache[key]

    def _names(self, head: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_name_cache", {})
        if head not in cache:
            names = self.features_.get_feature_names_out()
            if head == "presence" and self.presence_features_ is not None:
                names = np.concatenate([names, self.presence_features_.get_feature_names_out()])
            cache[head] = names
        return cache[head]


class FastVectoriser:
    """What the fitted ColumnTransformers give, without running the vectorisers' analyzers.

    scikit-learn's vectorisers split and count every document in Python, one n-gram at a
    time (a few hundred character n-grams per fragment). Here the term counts come from the
    fitted vocabularies directly, for a whole batch at once:

    - the ``words`` tokens of each document are looked up once (as numbers); their unigram
      and bigram columns, their ``P_``/``N_`` columns in the neighbours' context, and their
      ``factor|word`` columns for the presence head follow by array lookups;
    - character n-grams per distinct word, worked out once and kept, so that a batch's
      counts are (documents x words) @ (words x n-grams);
    - ``meta`` and ``scoped`` tokens by dictionary lookups.

    The counts then go through each vectoriser's own tf-idf step and the same weights and
    stacking, so the matrices are exactly those ``ColumnTransformer.transform`` returns.
    """

    MAX_WORDS = 200_000  # kept character n-gram rows; the table starts afresh beyond this

    def __init__(
        self,
        blocks: dict[str, tuple[Any, float | None]],
        presence_blocks: dict[str, tuple[Any, float | None]],
        labels: Sequence[str],
    ) -> None:
        self.blocks = blocks
        self.presence_blocks = presence_blocks
        self.labels = {label: i for i, label in enumerate(labels)}
        self.tokens = _TokenTable(
            blocks["words"][0],
            blocks["context"][0],
            presence_blocks["factor_words"][0] if presence_blocks else None,
            labels,
        )
        self.word_ids: dict[str, int] = {}
        self.word_table = _GrowingRows(blocks["chars"][0].dtype)
        self.word_matrix: sparse.csr_matrix | None = None
        self.lock = threading.Lock()

    @classmethod
    def build(
        cls, features: ColumnTransformer, presence: ColumnTransformer | None, labels: Sequence[str]
    ) -> FastVectoriser | None:
        blocks = cls._blocks(
            features,
            {
                "words": ("word", (1, 2)),
                "chars": ("char_wb", None),
                "meta": ("word", (1, 1)),
                "context": ("word", (1, 1)),
            },
        )
        presence_blocks: dict[str, tuple[Any, float | None]] | None = {}
        if presence is not None:
            presence_blocks = cls._blocks(
                presence, {"scoped": ("word", (1, 1)), "factor_words": ("word", (1, 1))}
            )
        if blocks is None or presence_blocks is None:
            return None
        return cls(blocks, presence_blocks, labels)

    @staticmethod
    def _blocks(
        transformer: ColumnTransformer, expected: dict[str, tuple[str, tuple[int, int] | None]]
    ) -> dict[str, tuple[Any, float | None]] | None:
        fitted = [item for item in transformer.transformers_ if item[0] != "remainder"]
        if (
            [name for name, _, _ in fitted] != list(expected)
            or transformer.remainder != "drop"
            or not getattr(transformer, "sparse_output_", False)
        ):
            return None
        weights = transformer.transformer_weights or {}
        blocks = {}
        for name, vectoriser, _ in fitted:
            analyzer, ngrams = expected[name]
            if not _plain_vectoriser(vectoriser, analyzer, ngrams):
                return None
            blocks[name] = (vectoriser, weights.get(name))
        return blocks

    def factor(
        self, docs: Sequence[FeatureDoc]
    ) -> tuple[sparse.csr_matrix, _WordIds, sparse.csr_matrix]:
        """The factor block's matrix, the documents' word numbers (for ``presence``), and the
        matrix without its character n-grams (for ranking contributions)."""
        n = len(docs)
        words = _WordIds.of(docs, self.tokens)
        table = self.tokens
        counts = {
            "words": _counts(words.pairs(table), n, self.blocks["words"][0]),
            "chars": self._char_counts([doc.chars for doc in docs], self.blocks["chars"][0]),
            "meta": _token_counts([doc.meta for doc in docs], self.blocks["meta"][0]),
            "context": _counts(words.context(docs, table), n, self.blocks["context"][0]),
        }
        parts = self._parts(self.blocks, counts)
        matrix = sparse.hstack(parts).tocsr()
        chars = list(self.blocks).index("chars")
        parts[chars] = sparse.csr_matrix(parts[chars].shape, dtype=parts[chars].dtype)
        return matrix, words, sparse.hstack(parts).tocsr()

    def presence(
        self, docs: Sequence[FeatureDoc], factors: Sequence[str], words: _WordIds
    ) -> sparse.csr_matrix:
        """The presence block's extra matrix for documents suggested ``factors``."""
        label = np.array([self.labels.get(factor, -1) for factor in factors], dtype=np.int64)
        counts = {
            "scoped": _token_counts(
                [doc.scoped for doc in docs], self.presence_blocks["scoped"][0]
            ),
            "factor_words": _counts(
                words.factor_words(label, self.tokens),
                len(docs),
                self.presence_blocks["factor_words"][0],
            ),
        }
        return sparse.hstack(self._parts(self.presence_blocks, counts)).tocsr()

    @staticmethod
    def _parts(
        blocks: dict[str, tuple[Any, float | None]], counts: dict[str, sparse.csr_matrix]
    ) -> list[Any]:
        """Each block's counts through its vectoriser's tf-idf step and its weight."""
        parts = []
        for name, (vectoriser, weight) in blocks.items():
            matrix = counts[name]
            if isinstance(vectoriser, TfidfVectorizer):
                matrix = vectoriser._tfidf.transform(matrix, copy=False)
            parts.append(matrix if weight is None else matrix * weight)
        return parts

    def _char_counts(self, texts: list[str], vectoriser: Any) -> sparse.csr_matrix:
        # The analyzer lowercases a text and splits it at whitespace; lowercasing each word
        # instead (when its n-grams are first worked out) gives the same words.
        per_doc = [text.split() for text in texts]
        words = [word for split in per_doc for word in split]
        with self.lock:  # the word table is shared by threads
            flat, table = self._word_numbers(words, vectoriser)
        lengths = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(per_doc))
        indptr = np.zeros(len(per_doc) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum(lengths)
        documents = sparse.csr_matrix(
            (np.ones(len(flat), dtype=vectoriser.dtype), flat, indptr),
            shape=(len(texts), table.shape[0]),
        )
        # A product has no duplicate entries; transposing there and back sorts each row's
        # columns (cheaper than sorting them).
        return (documents @ table).tocsc().tocsr()

    def _word_numbers(
        self, words: list[str], vectoriser: Any
    ) -> tuple[np.ndarray, sparse.csr_matrix]:
        """The row of each word in the table of n-gram counts (added when new), and the table."""
        ids = self.word_ids
        new = set(words) - ids.keys()
        if len(ids) + len(new) > self.MAX_WORDS:
            ids.clear()
            self.word_table = _GrowingRows(vectoriser.dtype)
            new = set(words)
        if new or self.word_matrix is None:
            self._add_words(sorted(new), vectoriser)
        flat = np.fromiter(map(ids.__getitem__, words), dtype=np.int64, count=len(words))
        assert self.word_matrix is not None
        return flat, self.word_matrix

    def _add_words(self, words: list[str], vectoriser: Any) -> None:
        vocabulary = vectoriser.vocabulary_
        preprocess = vectoriser.build_preprocessor()
        table = self.word_table
        for word in words:
            self.word_ids[word] = table.rows
            found: dict[int, int] = {}
            for gram in vectoriser._char_wb_ngrams(preprocess(word)):
                column = vocabulary.get(gram)
                if column is not None:
                    found[column] = found.get(column, 0) + 1
            table.append(list(found), list(found.values()))
        self.word_matrix = table.matrix(len(vocabulary))


class _GrowingRows:
    """Rows of a sparse matrix, appended one by one into arrays that double when full."""

    def __init__(self, dtype: Any) -> None:
        self.rows = 0
        # int32 as scipy keeps them for matrices this size (int64 ones would be copied)
        self.indptr = np.zeros(1024, dtype=np.int32)
        self.indices = np.zeros(16384, dtype=np.int32)
        self.data = np.zeros(16384, dtype=dtype)

    def append(self, columns: list[int], values: list[int]) -> None:
        start = int(self.indptr[self.rows])
        end = start + len(columns)
        if self.rows + 2 > len(self.indptr):
            self.indptr = np.concatenate([self.indptr, np.zeros_like(self.indptr)])
        if end > len(self.indices):
            size = max(end, 2 * len(self.indices))
            self.indices = np.concatenate([self.indices, np.zeros(size, dtype=np.int32)])
            self.data = np.concatenate([self.data, np.zeros(size, dtype=self.data.dtype)])
        self.indices[start:end] = columns
        self.data[start:end] = values
        self.rows += 1
        self.indptr[self.rows] = end

    def matrix(self, width: int) -> sparse.csr_matrix:
        """The rows so far (the matrix shares the arrays)."""
        nnz = int(self.indptr[self.rows])
        return sparse.csr_matrix(
            (self.data[:nnz], self.indices[:nnz], self.indptr[: self.rows + 1]),
            shape=(self.rows, width),
        )


class _TokenTable:
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
class _WordIds:
    """The ``words`` tokens of a batch of documents as token numbers, documents one after
    another (``starts``/``lengths`` per document; ``rows`` per token)."""

    ids: np.ndarray
    rows: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    index: dict[str, int]  # a document's words -> the first document with those words

    @classmethod
    def of(cls, docs: Sequence[FeatureDoc], table: _TokenTable) -> _WordIds:
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

    def pairs(self, table: _TokenTable) -> tuple[np.ndarray, np.ndarray]:
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
        self, docs: Sequence[FeatureDoc], table: _TokenTable
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
            found_columns.append(table.context[prefix][ids[_ranges(starts, lengths)]])
        return np.concatenate(found_rows), np.concatenate(found_columns)

    def factor_words(self, label: np.ndarray, table: _TokenTable) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of each token's ``factor|word`` term for its row's factor."""
        row_label = label[self.rows]
        columns = table.factor_words[np.maximum(row_label, 0), self.ids]
        return self.rows, np.where(row_label >= 0, columns, -1)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of ``range(start, start + length)`` for each pair."""
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.arange(total) + np.repeat(starts - (ends - lengths), lengths)


def _plain_vectoriser(vectoriser: Any, analyzer: str, ngrams: tuple[int, int] | None) -> bool:
    """Is this a fitted vectoriser whose counting FastVectoriser reproduces exactly?"""
    if not isinstance(vectoriser, CountVectorizer) or not hasattr(vectoriser, "vocabulary_"):
        return False
    params = vectoriser.get_params()
    plain = (
        params["analyzer"] == analyzer
        and params["input"] == "content"
        and params["preprocessor"] is None
        and params["tokenizer"] is None
        and params["stop_words"] is None
        and params["strip_accents"] is None
        and not params["binary"]
    )
    if analyzer == "word":
        plain = plain and (
            params["token_pattern"] == r"\S+"
            and not params["lowercase"]
            and tuple(params["ngram_range"]) == ngrams
        )
    if isinstance(vectoriser, TfidfVectorizer):
        plain = plain and hasattr(vectoriser, "_tfidf")
    return plain


def _token_counts(texts: list[str], vectoriser: Any) -> sparse.csr_matrix:
    """Counts of the whitespace-separated tokens of each text (unigram vectorisers)."""
    per_doc = [text.split() for text in texts]
    lengths = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(per_doc))
    flat = [token for tokens in per_doc for token in tokens]
    get = vectoriser.vocabulary_.get
    columns = np.fromiter(map(get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
    return _counts((np.repeat(np.arange(len(texts)), lengths), columns), len(texts), vectoriser)


def _counts(
    found: tuple[np.ndarray, np.ndarray], n_rows: int, vectoriser: Any
) -> sparse.csr_matrix:
    """A count matrix, as the vectoriser builds it, from (row, column) occurrences."""
    rows, columns = found
    keep = columns >= 0
    counts = sparse.coo_matrix(
        (np.ones(int(keep.sum()), dtype=vectoriser.dtype), (rows[keep], columns[keep])),
        shape=(n_rows, len(vectoriser.vocabulary_)),
    ).tocsr()
    counts.sum_duplicates()
    return counts


def _drop_pruned_terms(block: ColumnTransformer | None) -> None:
    # Vectorisers keep every term they pruned (``stop_words_``) only for introspection; it
    # would make up most of a saved model and its load time.
    for _, vectoriser, _ in block.transformers_ if block is not None else ():
        if hasattr(vectoriser, "stop_words_"):
            del vectoriser.stop_words_


def _top(
    matrix: sparse.csr_matrix,
    row: int,
    weights: np.ndarray,
    names: np.ndarray,
    skip: tuple[int, int] | None = None,
) -> list[tuple[str, float]]:
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    columns, data = matrix.indices[start:end], matrix.data[start:end]
    if skip is not None:
        shown = (columns < skip[0]) | (columns >= skip[1])
        columns, data = columns[shown], data[shown]
    values = data * weights[columns]
    order = np.argsort(-values, kind="stable")
    return [
        (str(names[columns[i]]), float(values[i]))
        for i in order[:TOP_CONTRIBUTIONS]
        if values[i] > 0
    ]


def _top_per_row(
    matrix: sparse.csr_matrix,
    weights: np.ndarray,
    which: np.ndarray,
    k: int,
    skip: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the columns of its ``k`` largest positive contributions, largest first.

    A contribution is ``matrix[row, column] * weights[which[row], column]``; rows whose
    ``which`` is -1 get none, and so do columns in the ``skip`` range. Ties go to the lower
    column (as a stable sort of each row). Returns offsets (row i's columns are
    ``columns[offsets[i]:offsets[i + 1]]``) and the columns.
    """
    n_rows = matrix.shape[0]
    rows = np.repeat(np.arange(n_rows), np.diff(matrix.indptr))
    columns = matrix.indices
    label = which[rows]
    values = matrix.data * weights[label, columns]
    keep = (label >= 0) & (values > 0)
    if skip is not None:
        keep &= (columns < skip[0]) | (columns >= skip[1])
    offsets, top_columns, _ = _top_k(rows[keep], columns[keep], values[keep], n_rows, k)
    return offsets, top_columns


def _top_k(
    rows: np.ndarray, columns: np.ndarray, values: np.ndarray, n_rows: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` largest values of each row, largest first, from entries sorted by row (and
    column within a row): offsets per row, their columns and values. Rows are ranked in
    groups of similar length, each as a dense grid sorted along its rows."""
    counts = np.bincount(rows, minlength=n_rows)
    starts = np.zeros(n_rows + 1, dtype=np.int64)
    starts[1:] = np.cumsum(counts)
    position = np.arange(len(rows)) - starts[rows]
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.minimum(counts, k))
    out_columns = np.empty(offsets[-1], dtype=np.int64)
    out_values = np.empty(offsets[-1])
    low, high = 0, max(k, 1)
    largest = int(counts.max()) if n_rows else 0
    while low < largest:
        group = np.flatnonzero((counts > low) & (counts <= high))
        if len(group):
            local = np.full(n_rows, -1, dtype=np.int64)
            local[group] = np.arange(len(group))
            member = local[rows] >= 0
            at = (local[rows[member]], position[member])
            grid = np.full((len(group), high), -np.inf)
            grid_columns = np.zeros((len(group), high), dtype=np.int64)
            grid[at] = values[member]
            grid_columns[at] = columns[member]
            order = np.argsort(-grid, axis=1, kind="stable")[:, :k]
            best = np.take_along_axis(grid, order, axis=1)
            taken = best > -np.inf
            slot = (offsets[group][:, None] + np.arange(order.shape[1]))[taken]
            out_values[slot] = best[taken]
            out_columns[slot] = np.take_along_axis(grid_columns, order, axis=1)[taken]
        low, high = high, high * 2
    return offsets, out_columns, out_values
