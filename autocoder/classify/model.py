"""SuggestionModel: calibrated probabilities -> Suggestion records with reasons in plain words."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from autocoder.classify.batch_features import BatchInput, Matches
from autocoder.classify.descriptions import DescriptionTable, about, describe_name, label_rows
from autocoder.classify.features import (
    FeatureDoc,
    feature_docs,
    neighbours,
    question_token,
)
from autocoder.classify.lexicon import CodeLexicon, lexicon_index
from autocoder.codebook import Codebook
from autocoder.errors import CodebookError
from autocoder.records import NO_FACTOR_KEY, Fragment, Presence, Suggestion
from autocoder.segment import analyse_arrays

MAX_REASONS = 4
PUSHES_SCANNED = 6  # the strongest pushes towards the presence looked at for one to show
# Said when only spelling patterns or function words drove a suggestion, so that a reader
# always sees why (and that it is a weak why).
NO_SINGLE_WORD = "no single word stands out: judged on the wording as a whole"


class HasMatches(Protocol):
    """What reasons read of a fragment's features: its indicator matches."""

    @property
    def matches(self) -> tuple[tuple[str, str, bool], ...]: ...


@dataclass(frozen=True, slots=True)
class _BatchRow:
    """A batch row's indicator matches, looked up only when a reason needs them."""

    source: Matches
    row: int

    @property
    def matches(self) -> tuple[tuple[str, str, bool], ...]:
        return self.source.of(self.row)


class _BatchRows(Sequence[HasMatches]):
    """The rows of a batch, for reasons (indicator matches looked up for many at once)."""

    def __init__(self, source: Matches, n: int) -> None:
        self.source, self.n = source, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> HasMatches:  # type: ignore[override]
        if not -self.n <= index < self.n:
            raise IndexError(index)
        return _BatchRow(self.source, index % self.n)


class Suggester(Protocol):
    """What a backend provides: labels, a transform and calibrated probabilities."""

    labels: tuple[str, ...]

    def transform(self, docs: Sequence[FeatureDoc]) -> Any: ...

    def predict_proba(self, matrix: Any) -> tuple[np.ndarray, np.ndarray | None]: ...

    def contributions(self, matrix: Any, row: int, label: str) -> list[tuple[str, float]]: ...

    def presence_contributions(
        self, matrix: Any, row: int, present: bool
    ) -> list[tuple[str, float]]: ...


@dataclass
class SuggestionModel:
    """A fitted backend with the codebook it was trained for and its metadata."""

    fallback_reason: ClassVar[str] = NO_SINGLE_WORD

    suggester: Suggester
    codebook: Codebook
    lexicons: tuple[CodeLexicon, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        return str(self.meta.get("model_id", "unsaved"))

    def docs(self, fragments: Sequence[Fragment]) -> list[FeatureDoc]:
        return feature_docs(
            [f.text for f in fragments],
            [f.question for f in fragments],
            self.codebook,
            self.lexicons,
            [(f.report, f.start) for f in fragments],
        )

    def batch_input(self, fragments: Sequence[Fragment]) -> BatchInput:
        """The fragments' texts with their token arrays, question tokens and neighbours."""
        question_codes = self.codebook.question_codes()
        priority = set(self.codebook.priority_questions)
        tokens: dict[int | None, str] = {}
        for question in {f.question for f in fragments}:
            tokens[question] = question_token(question, question_codes, priority)
        texts = [f.text for f in fragments]
        before, after = neighbours([(f.report, f.start) for f in fragments])
        return BatchInput(
            texts,
            analyse_arrays(texts),
            [tokens[f.question] for f in fragments],
            np.array(before, dtype=np.int64),
            np.array(after, dtype=np.int64),
            lexicon_index(tuple(self.lexicons)),
        )

    def features(self, fragments: Sequence[Fragment]) -> tuple[Any, Sequence[HasMatches]]:
        """The backend's features of the fragments, and what reasons read of each."""
        transform_batch = getattr(self.suggester, "transform_batch", None)
        if transform_batch is not None:
            matrix = transform_batch(self.batch_input(fragments))
            if matrix is not None:
                return matrix, _BatchRows(matrix.matches, len(fragments))
        docs = self.docs(fragments)
        return self.suggester.transform(docs), docs

    def suggest(self, fragments: Sequence[Fragment]) -> list[Suggestion]:
        """Suggestions in input order; pass a report's fragments together (neighbours count)."""
        if not fragments:
            return []
        matrix, docs = self.features(fragments)
        probs, present = self.suggester.predict_proba(matrix)
        labels = self.suggester.labels
        best = probs.argmax(axis=1)
        chosen = [labels[i] for i in best.tolist()]
        presences: list[Presence | None] = [None] * len(fragments)
        if present is not None:
            presences = [
                None
                if label == NO_FACTOR_KEY
                else (Presence.PRESENT if p >= 0.5 else Presence.ABSENT)
                for label, p in zip(chosen, present.tolist(), strict=True)
            ]
        reasons = self._all_reasons(matrix, docs, chosen, presences)
        confidence = probs[np.arange(len(fragments)), best]
        p_present: list[float | None] = [None] * len(fragments)
        if present is not None:
            has_presence = np.array([p is not None for p in presences], dtype=bool)
            confidence = confidence * np.where(has_presence, np.maximum(present, 1 - present), 1)
            p_present = np.round(present, 4).tolist()
        model = self.model_id
        suggestions = []
        for label, presence, p, value, values, why in zip(
            chosen,
            presences,
            p_present,
            np.round(confidence, 4).tolist(),
            np.round(probs, 4).tolist(),
            reasons,
            strict=True,
        ):
            suggestions.append(
                Suggestion(
                    None if label == NO_FACTOR_KEY else label,
                    presence,
                    value,
                    dict(zip(labels, values, strict=True)),
                    p,
                    tuple(why),
                    model,
                )
            )
        return suggestions

    def _all_reasons(
        self,
        matrix: Any,
        docs: Sequence[HasMatches],
        labels: Sequence[str],
        presences: Sequence[Presence | None],
    ) -> list[list[str]]:
        """Reasons of every row: for all rows at once when the backend ranks columns in one go
        and the describing methods are this class's, else row by row."""
        if self._ranks_columns():
            return self._reasons_by_columns(matrix, docs, labels, presences)
        return [
            self._reasons(matrix, row, docs[row], labels[row], presences[row])
            for row in range(len(docs))
        ]

    def _ranks_columns(self) -> bool:
        """Can reasons come from ranked columns and the description tables (the backend ranks
        columns, and none of the describing methods is overridden)?"""
        suggester = self.suggester
        if not all(
            hasattr(suggester, name)
            for name in ("ranked_columns", "ranked_presence_columns", "feature_names")
        ):
            return False
        own = type(self)
        return all(
            getattr(own, name) is getattr(SuggestionModel, name)
            for name in ("_reasons", "_reasons_from", "_describe", "_describe_meta")
        )

    def _reasons_by_columns(
        self,
        matrix: Any,
        docs: Sequence[HasMatches],
        labels: Sequence[str],
        presences: Sequence[Presence | None],
    ) -> list[list[str]]:
        """``_all_reasons`` with the ranked columns described by table lookups."""
        suggester = self.suggester
        ranked = suggester.ranked_columns(
            matrix, labels, k=MAX_REASONS + 4, shown=self._shown("factor")
        )
        ranked_pushes = suggester.ranked_presence_columns(
            matrix,
            [None if p is None else p is Presence.PRESENT for p in presences],
            k=PUSHES_SCANNED,
            shown=self._shown("presence"),
        )
        rows = label_rows(suggester.labels, labels)

        def indicators(features: list[str], feature_rows: np.ndarray) -> list[str | None]:
            return self._indicator_texts(features, feature_rows, docs)

        texts = self._descriptions("factor").describe(*ranked, rows, indicators)
        push_texts = self._descriptions("presence").describe(*ranked_pushes, rows, indicators)
        return [
            self._chosen(texts[row], push_texts[row][:PUSHES_SCANNED], presences[row])
            for row in range(len(docs))
        ]

    def _indicator_texts(
        self, features: list[str], rows: np.ndarray, docs: Sequence[HasMatches]
    ) -> list[str | None]:
        """What ``_describe_meta`` says of each row's indicator feature (``CB_`` tokens about
        the row's label)."""
        codes = [feature[3:].removesuffix("_NEG") for feature in features]
        if isinstance(docs, _BatchRows):
            first = docs.source.first(rows, codes)
        else:
            first = [
                next((ind for c, ind, _ in docs[row].matches if c == code), None)
                for row, code in zip(rows.tolist(), codes, strict=True)
            ]
        return [
            None if indicator is None else self._indicator_text(feature, indicator)
            for feature, indicator in zip(features, first, strict=True)
        ]

    def _descriptions(self, head: str) -> DescriptionTable:
        """The description table of a head's columns (built once per suggester)."""
        cache = self.__dict__.setdefault("_descriptions_cache", {})
        key = (id(self.suggester), head)
        if key not in cache:
            cache[key] = DescriptionTable.build(
                self.suggester.feature_names(head).tolist(),
                self.suggester.labels,
                self._describe_label_meta,
            )
        return cache[key]

    def _shown(self, head: str) -> np.ndarray | None:
        """Which columns of a head could be described: per column for the presence head,
        per label (rows in the suggester's label order) and column for the factor head.
        Ranking only these puts no feature that explains nothing in the way of one that
        does. Codebook features are shown for their own code only (see _describe_meta)."""
        names = getattr(self.suggester, "feature_names", None)
        if names is None:
            return None
        cache = self.__dict__.setdefault("_shown_cache", {})
        key = (id(self.suggester), head)
        if key not in cache:
            listed = names(head).tolist()
            static = np.array(
                [not n.startswith("meta__") and describe_name(n) is not None for n in listed]
            )
            meta = [n[6:] if n.startswith("meta__") else None for n in listed]
            if head == "presence":
                cache[key] = static | np.array([m is not None for m in meta])
            else:
                cache[key] = np.array(
                    [
                        static | np.array([m is not None and about(m, label) for m in meta])
                        for label in self.suggester.labels
                    ]
                )
        return cache[key]

    def _reasons(
        self, matrix: Any, row: int, doc: HasMatches, label: str, presence: Presence | None
    ) -> list[str]:
        names = [name for name, _ in self.suggester.contributions(matrix, row, label)]
        pushes: list[str] = []
        if presence is not None:
            pushes = [
                name
                for name, _ in self.suggester.presence_contributions(
                    matrix, row, presence is Presence.PRESENT
                )
            ]
        return self._reasons_from(names, pushes, doc, label, presence)

    def _reasons_from(
        self,
        names: Sequence[str],
        pushes: Sequence[str],
        doc: HasMatches,
        label: str,
        presence: Presence | None,
    ) -> list[str]:
        """Up to MAX_REASONS descriptions of the strongest features for ``label`` (names in
        order), plus the first describable push towards the presence."""

        def describe(name: str) -> str | None:
            return self._describe(name, doc, label)

        return self._chosen(map(describe, names), map(describe, pushes[:PUSHES_SCANNED]), presence)

    def _chosen(
        self,
        texts: Iterable[str | None],
        pushes: Iterable[str | None],
        presence: Presence | None,
    ) -> list[str]:
        """The reasons from the descriptions of the ranked features (None: nothing to show)
        and of the pushes towards the presence, both in order."""
        reasons: list[str] = []
        for text in texts:
            if text and text not in reasons:
                reasons.append(text)
                if len(reasons) >= MAX_REASONS:
                    break
        if not reasons:
            reasons.append(self.fallback_reason)
        if presence is not None:
            for text in pushes:
                if text and text not in reasons:
                    reasons.append(f"{presence.value}: {text}")
                    break
        return reasons

    def _describe(self, name: str, doc: HasMatches, label: str) -> str | None:
        if name.startswith("meta__"):
            return self._describe_meta(name[6:], doc, label)
        return describe_name(name)

    def _describe_meta(self, feature: str, doc: HasMatches, label: str) -> str | None:
        if not feature.startswith("CB_"):  # the rest depend on the feature and label only
            cache = self.__dict__.setdefault("_meta_cache", {})
            key = (feature, label)
            if key not in cache:
                cache[key] = self._describe_label_meta(feature, label)
            return cache[key]
        if not about(feature, label):
            return None
        code = feature[3:].removesuffix("_NEG")
        found = [ind for c, ind, _ in doc.matches if c == code]
        return self._indicator_text(feature, found[0]) if found else None

    def _indicator_text(self, feature: str, indicator: str) -> str:
        """The reason for a codebook indicator feature (``CB_code`` or ``CB_code_NEG``)."""
        cache = self.__dict__.setdefault("_indicator_cache", {})
        key = (feature, indicator)
        if key not in cache:
            code = feature[3:].removesuffix("_NEG")
            negated = " (negated)" if feature.endswith("_NEG") else ""
            cache[key] = f'indicator "{indicator}" of {self._name(code)}{negated}'
        return cache[key]

    def _describe_label_meta(self, feature: str, label: str) -> str | None:
        if not about(feature, label):
            return None
        if feature.startswith("CBV_"):
            return f"words from the definition of {self._name(feature[4:])}"
        if feature == "Q_priority":
            return "answers a priority question"
        return f"answers a question from the {self._name(feature[2:])} block"

    def _name(self, code: str) -> str:
        try:
            return self.codebook.code(code).name
        except CodebookError:
            return code
