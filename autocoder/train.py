"""Training sets from files, fitting with grouped cross-validation, and model directories.

Out-of-fold scores from a cross-validation grouped by report (no report in both train and
test) give both the metrics stored with the model and the calibration temperatures.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold

from autocoder.classify.blocks import ModelSettings, fit_temperature
from autocoder.classify.features import FeatureDoc, feature_docs
from autocoder.classify.fold_features import CountedFeatures
from autocoder.classify.lexicon import CodeLexicon, build_lexicons
from autocoder.classify.linear import LinearSuggester
from autocoder.classify.model import SuggestionModel
from autocoder.codebook import Codebook
from autocoder.errors import FewExamplesWarning, InputError, RecordError, TrainingError
from autocoder.jsonl import iter_records
from autocoder.metrics import suggestion_metrics
from autocoder.records import NO_FACTOR_KEY, FragmentRecord, Presence

MIN_EXAMPLES = 5
CORPUS_FILE = "fragments.jsonl"


@dataclass(frozen=True)
class TrainingSet:
    """Coded fragments as parallel tuples; ``groups`` are report ids for grouped splits and,
    with ``starts``, place each fragment among its neighbours."""

    texts: tuple[str, ...]
    questions: tuple[int | None, ...]
    factors: tuple[str, ...]
    presences: tuple[int | None, ...]
    groups: tuple[str, ...]
    starts: tuple[int, ...]
    weights: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: Sequence[int]) -> TrainingSet:
        return TrainingSet(*(tuple(column[i] for i in index) for column in self._columns()))

    def _columns(self) -> tuple[tuple, ...]:
        return (
            self.texts,
            self.questions,
            self.factors,
            self.presences,
            self.groups,
            self.starts,
            self.weights,
        )

    def data_hash(self) -> str:
        digest = hashlib.sha256()
        for row in zip(*self._columns(), strict=True):
            digest.update(json.dumps(row, ensure_ascii=False).encode("utf-8"))
        return digest.hexdigest()


@dataclass
class LoadedData:
    records: list[FragmentRecord] = field(default_factory=list)
    skipped: list[RecordError] = field(default_factory=list)
    uncoded: int = 0


def resolve_data_path(path: Path) -> Path:
    """A training_data folder means its fragments.jsonl; a file is taken as is."""
    if path.is_dir():
        candidate = path / CORPUS_FILE
        if not candidate.is_file():
            raise InputError(str(path), f"folder has no {CORPUS_FILE}; pass a JSONL file instead")
        return candidate
    if not path.is_file():
        raise InputError(str(path), "no such file or folder")
    return path


def load_training_records(
    paths: Iterable[Path], codebook: Codebook, *, skip_invalid: bool = False
) -> LoadedData:
    """Coded fragment records from JSONL files or training_data folders."""
    loaded = LoadedData()
    for path in paths:
        for item in iter_records(resolve_data_path(path), codebook, skip_invalid=skip_invalid):
            if isinstance(item, RecordError):
                loaded.skipped.append(item)
            elif item.coding is None:
                loaded.uncoded += 1
            else:
                loaded.records.append(item)
    return loaded


def training_set(records: Iterable[FragmentRecord], weight: float = 1.0) -> TrainingSet:
    rows = []
    for record in records:
        coding = record.coding
        if coding is None:
            continue
        presence = None
        if coding.factor is not None and coding.presence is not None:
            presence = 1 if coding.presence is Presence.PRESENT else 0
        fragment = record.fragment
        rows.append(
            (
                fragment.text,
                fragment.question,
                coding.factor or NO_FACTOR_KEY,
                presence,
                fragment.report,
                fragment.start,
                weight,
            )
        )
    if not rows:
        raise TrainingError("no coded fragments to train on (records need a 'factor' field)")
    return TrainingSet(*(tuple(column) for column in zip(*rows, strict=True)))


def check_label_counts(data: TrainingSet, codebook: Codebook) -> list[str]:
    """Warn about codes with few examples; returns the codes with none (never suggested)."""
    counts = Counter(data.factors)
    missing = [code for code in codebook.ids if counts[code] == 0]
    for code in codebook.ids:
        if 0 < counts[code] < MIN_EXAMPLES:
            warnings.warn(
                FewExamplesWarning(
                    f"code {code!r} has only {counts[code]} training examples "
                    f"(fewer than {MIN_EXAMPLES}); its suggestions will be unreliable"
                ),
                stacklevel=2,
            )
    if missing:
        warnings.warn(
            FewExamplesWarning(
                f"no training examples for {', '.join(missing)}: the model will never "
                "suggest these codes"
            ),
            stacklevel=2,
        )
    if len(set(data.factors)) < 2:
        raise TrainingError("training needs at least two different labels (codes or no factor)")
    return missing


@dataclass
class OutOfFold:
    """Grouped cross-validated scores for every training fragment."""

    factor_logits: np.ndarray
    presence_logits: np.ndarray
    folds: np.ndarray


def featurise(
    data: TrainingSet, codebook: Codebook, lexicons: Sequence[CodeLexicon]
) -> list[FeatureDoc]:
    positions = list(zip(data.groups, data.starts, strict=True))
    return feature_docs(data.texts, data.questions, codebook, lexicons, positions)


def out_of_fold(
    data: TrainingSet,
    docs: Sequence[FeatureDoc],
    codebook: Codebook,
    settings: ModelSettings,
    folds: int,
) -> OutOfFold:
    n_groups = len(set(data.groups))
    if n_groups < 2:
        raise TrainingError("cross-validation needs fragments from at least two reports")
    splitter = GroupKFold(n_splits=min(folds, n_groups))
    labels = (*codebook.ids, NO_FACTOR_KEY)
    factor_logits = np.zeros((len(data), len(labels)))
    presence_logits = np.full(len(data), np.nan)
    fold_of = np.zeros(len(data), dtype=int)
    groups = np.asarray(data.groups)
    counted = CountedFeatures(docs, data.factors, settings)
    for fold, (train, test) in enumerate(splitter.split(np.zeros(len(data)), groups=groups)):
        logits, presence = fold_scores(data, docs, codebook, settings, counted, train, test)
        factor_logits[test] = logits
        if presence is not None:
            presence_logits[test] = presence
        fold_of[test] = fold
    return OutOfFold(factor_logits, presence_logits, fold_of)


def fold_scores(
    data: TrainingSet,
    docs: Sequence[FeatureDoc],
    codebook: Codebook,
    settings: ModelSettings,
    counted: CountedFeatures,
    train: np.ndarray,
    test: np.ndarray,
) -> tuple[np.ndarray, np.ndarray | None]:
    """A fold model's raw scores for the ``test`` rows: its features derived from ``counted``
    (the same matrices a fit on the fold gives), or, where that cannot be done (a vocabulary
    pruned to nothing), fitted on the fold's documents."""
    try:
        model = LinearSuggester(codebook.ids, settings)
        return counted.fold_scores(model, train, test, data.factors, data.presences, data.weights)
    except ValueError:
        model = fit_suggester(data.subset(train), [docs[i] for i in train], codebook, settings)
        return model.scores(model.transform([docs[i] for i in test]))


def fit_suggester(
    data: TrainingSet, docs: Sequence[FeatureDoc], codebook: Codebook, settings: ModelSettings
) -> LinearSuggester:
    return LinearSuggester(codebook.ids, settings).fit(
        docs, data.factors, data.presences, data.weights
    )


def temperatures(data: TrainingSet, oof: OutOfFold, labels: Sequence[str]) -> tuple[float, float]:
    target = np.array([labels.index(f) for f in data.factors])
    factor_t = fit_temperature(oof.factor_logits, target)
    known = np.array([p is not None for p in data.presences]) & ~np.isnan(oof.presence_logits)
    presence_target = np.array([p for p in np.asarray(data.presences, dtype=object)[known]])
    presence_t = fit_temperature(
        oof.presence_logits[known], presence_target.astype(float), binary=True
    )
    return factor_t, presence_t


def cross_fitted_probabilities(
    data: TrainingSet, oof: OutOfFold, labels: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrate each fold's scores with temperatures fitted on the other folds only."""
    from scipy.special import expit, softmax

    probs = np.zeros_like(oof.factor_logits)
    present = np.full(len(data), 0.5)
    for fold in np.unique(oof.folds):
        test = np.flatnonzero(oof.folds == fold)
        rest = np.flatnonzero(oof.folds != fold)
        others = OutOfFold(oof.factor_logits[rest], oof.presence_logits[rest], oof.folds[rest])
        factor_t, presence_t = temperatures(data.subset(rest), others, labels)
        probs[test] = softmax(oof.factor_logits[test] / factor_t, axis=1)
        scores = np.nan_to_num(oof.presence_logits[test])
        present[test] = expit(scores / presence_t)
    return probs, present


def cv_metrics(data: TrainingSet, oof: OutOfFold, labels: Sequence[str]) -> dict:
    probs, present = cross_fitted_probabilities(data, oof, labels)
    return suggestion_metrics(data.factors, data.presences, probs, present, labels)


def cross_validate(
    data: TrainingSet,
    codebook: Codebook,
    folds: int = 5,
    settings: ModelSettings | None = None,
) -> dict:
    """Grouped k-fold metrics (no report in both train and test)."""
    settings = settings or ModelSettings()
    check_label_counts(data, codebook)
    docs = featurise(data, codebook, build_lexicons(codebook))
    oof = out_of_fold(data, docs, codebook, settings, folds)
    return cv_metrics(data, oof, (*codebook.ids, NO_FACTOR_KEY))


def data_meta(data: TrainingSet, codebook: Codebook) -> dict[str, Any]:
    """What a model (either backend) was trained on, for its ``meta.json``: the codebook,
    the data's hash and its counts."""
    return {
        "codebook_id": codebook.id,
        "codebook_hash": codebook.hash,
        "data_hash": data.data_hash(),
        "n_fragments": len(data),
        "n_reports": len(set(data.groups)),
        "label_counts": dict(sorted(Counter(data.factors).items())),
        "presence_counts": {
            "present": sum(1 for p in data.presences if p == 1),
            "absent": sum(1 for p in data.presences if p == 0),
        },
    }


def train_model(
    data: TrainingSet,
    codebook: Codebook,
    *,
    folds: int = 5,
    settings: ModelSettings | None = None,
    model_id: str = "model",
) -> SuggestionModel:
    """Fit on everything; calibrate and report metrics from grouped out-of-fold scores."""
    settings = settings or ModelSettings()
    started = time.perf_counter()
    missing = check_label_counts(data, codebook)
    lexicons = build_lexicons(codebook)
    docs = featurise(data, codebook, lexicons)
    labels = (*codebook.ids, NO_FACTOR_KEY)
    metrics = None
    suggester = fit_suggester(data, docs, codebook, settings)
    if folds >= 2 and len(set(data.groups)) >= 2:
        oof = out_of_fold(data, docs, codebook, settings, folds)
        metrics = cv_metrics(data, oof, labels)
        suggester.factor_temperature_, suggester.presence_temperature_ = temperatures(
            data, oof, labels
        )
    meta = {
        "model_id": model_id,
        "backend": "linear",
        **data_meta(data, codebook),
        "never_suggested": missing,
        "settings": asdict(settings),
        "temperatures": {
            "factor": suggester.factor_temperature_,
            "presence": suggester.presence_temperature_,
        },
        "cv_folds": folds if metrics else 0,
        "cv_metrics": metrics,
        "training_seconds": round(time.perf_counter() - started, 2),
    }
    return SuggestionModel(suggester, codebook, lexicons, meta)
