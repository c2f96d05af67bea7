"""Optional backend: fine-tune a local Hugging Face encoder (e.g. a Dutch BERT) on coded fragments.

Needs the ``transformer`` extra; torch, transformers and datasets are imported lazily, so
importing autocoder never imports them. There is no hub access: the offline switches are
forced before transformers is imported and every ``from_pretrained`` call is local-only,
refuses remote code and reads safetensors weights only.

One encoder with one classification layer of ``len(labels) + 1`` outputs: columns
``0..L-1`` are the factor head (codebook ids plus "none", softmax), column ``L`` is the
presence head (a logit, trained only on fragments that have a presence). A linear layer with
L+1 outputs is exactly two linear heads on the shared pooled output, and it saves and loads
as a stock ``AutoModelForSequenceClassification``, so the directory holds no custom code.
Temperatures are fitted on a held-out split grouped by report when the data allow it.

Reasons come from occlusion: each content word (and negation/cue word) is removed in turn
and the change in the suggested label's log-probability (or the presence logit) is its
contribution; set ``suggester.explain = False`` for speed (reasons then fall back to a
fixed line).

Training (the torch loop, calibration) is in ``classify.transformer_train``; model directories
(save, load, train to a directory) are in ``autocoder.transformer_dir``, after ``modeldir`` and
``train``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy.special import expit, log_softmax, softmax
from spacy.lang.nl.stop_words import STOP_WORDS

from autocoder.classify.cue_words import CUES
from autocoder.classify.features import FeatureDoc
from autocoder.classify.model import SuggestionModel
from autocoder.errors import ModelError, OptionalDependencyError
from autocoder.records import Fragment
from autocoder.segment_components import NEGATION_CUES

INSTALL_LINE = 'pip install torch==2.13.0 && pip install "autocoder[transformer]"'
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
BACKEND = "transformer"
FALLBACK_REASON = "transformer model; no word-level reasons"
MASKED_LOGIT = -1e4  # labels without training examples are never suggested
INFERENCE_BATCH = 64
MAX_EXPLAINED_WORDS = 16
MAX_CONTRIBUTIONS = 12
_WORD = re.compile(r"\w+")
_KEPT_SHORT_WORDS = NEGATION_CUES | frozenset().union(*CUES.values())


# --- optional dependencies -------------------------------------------------------------------


def require_libraries() -> SimpleNamespace:
    """Import torch, transformers and datasets in offline mode, or say how to install them."""
    os.environ.update(OFFLINE_ENV)
    try:
        import datasets
        import torch
        import transformers
    except ImportError as exc:
        missing = exc.name or "torch/transformers"
        raise OptionalDependencyError(
            f"the transformer backend needs torch, transformers and datasets ({missing} is "
            f"not installed); install them with: {INSTALL_LINE}"
        ) from None
    return SimpleNamespace(torch=torch, transformers=transformers, datasets=datasets)


@contextmanager
def quiet(libs: SimpleNamespace) -> Iterator[None]:
    """Silence expected library chatter (fresh head weights, progress bars) for a moment."""
    hf_logging, datasets = libs.transformers.utils.logging, libs.datasets
    verbosity = hf_logging.get_verbosity()
    hf_bars = hf_logging.is_progress_bar_enabled()
    ds_bars = not datasets.are_progress_bars_disabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if hf_bars:
            hf_logging.enable_progress_bar()
        if ds_bars:
            datasets.enable_progress_bars()


# --- the suggester ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextDoc:
    """This backend's document: the original text (case and all) for the encoder.

    It stands in for a FeatureDoc; ``chars`` and ``matches`` are what SuggestionModel may read.
    """

    text: str
    matches: tuple[tuple[str, str, bool], ...] = ()

    @property
    def chars(self) -> str:
        return self.text.lower()


@dataclass
class Encoded:
    """What ``transform`` returns: the texts and their raw scores (occlusions on demand)."""

    texts: list[str]
    factor_logits: np.ndarray
    presence_logits: np.ndarray | None
    occluded: list[tuple[list[str], np.ndarray, np.ndarray | None]] | None = None


class TransformerSuggester:
    """A fine-tuned sequence classifier: factor logits in ``labels`` order plus a presence logit."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        labels: Sequence[str],
        *,
        max_length: int = 128,
        presence_head: bool = True,
        never_suggested: Sequence[str] = (),
        factor_temperature: float = 1.0,
        presence_temperature: float = 1.0,
        explain: bool = True,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.labels = tuple(labels)
        self.max_length = max_length
        self.presence_head = presence_head
        self.never_suggested = tuple(never_suggested)
        self.factor_temperature_ = factor_temperature
        self.presence_temperature_ = presence_temperature
        self.explain = explain
        self._mask = np.array([label in self.never_suggested for label in self.labels])

    def transform(self, docs: Sequence[FeatureDoc]) -> Encoded:
        texts = [doc.text if isinstance(doc, TextDoc) else doc.chars for doc in docs]
        # (a FeatureDoc from elsewhere only has the lowercased text; cased models lose a bit)
        factor, presence = self.scores(texts)
        return Encoded(texts, factor, presence)

    def scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw factor logits (``labels`` order; unlearnt labels masked) and presence logits."""
        torch = require_libraries().torch
        n_labels = len(self.labels)
        out = np.zeros((len(texts), n_labels + 1), dtype=np.float64)
        self.model.eval()
        with torch.inference_mode():
            for start in range(0, len(texts), INFERENCE_BATCH):
                batch = list(texts[start : start + INFERENCE_BATCH])
                inputs = self.tokenizer(
                    batch,
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                logits = self.model(**inputs).logits
                out[start : start + len(batch)] = logits.double().numpy()
        factor = out[:, :n_labels]
        factor[:, self._mask] = MASKED_LOGIT
        return factor, (out[:, n_labels] if self.presence_head else None)

    def predict_proba(self, matrix: Encoded) -> tuple[np.ndarray, np.ndarray | None]:
        probs = softmax(matrix.factor_logits / self.factor_temperature_, axis=1)
        present = None
        if matrix.presence_logits is not None:
            present = expit(matrix.presence_logits / self.presence_temperature_)
        return probs, present

    def contributions(self, matrix: Encoded, row: int, label: str) -> list[tuple[str, float]]:
        """Words whose removal lowers the probability of ``label`` most, strongest first."""
        if not self.explain or label not in self.labels:
            return []
        words, factor, _ = self._occlusions(matrix)[row]
        if not words:
            return []
        column = self.labels.index(label)
        base = log_softmax(matrix.factor_logits[row])[column]
        deltas = base - log_softmax(factor, axis=1)[:, column]
        return _ranked(words, deltas)

    def presence_contributions(
        self, matrix: Encoded, row: int, present: bool
    ) -> list[tuple[str, float]]:
        if not self.explain or matrix.presence_logits is None:
            return []
        words, _, presence = self._occlusions(matrix)[row]
        if not words or presence is None:
            return []
        sign = 1.0 if present else -1.0
        return _ranked(words, sign * (matrix.presence_logits[row] - presence))

    def _occlusions(self, matrix: Encoded) -> list[tuple[list[str], np.ndarray, np.ndarray | None]]:
        """Scores of every text with each of its explained words removed (all rows at once)."""
        if matrix.occluded is None:
            per_row = [explained_words(text) for text in matrix.texts]
            variants = [
                without_word(text, word)
                for text, words in zip(matrix.texts, per_row, strict=True)
                for word in words
            ]
            factor, presence = self.scores(variants) if variants else (None, None)
            matrix.occluded = []
            start = 0
            for words in per_row:
                end = start + len(words)
                matrix.occluded.append(
                    (
                        words,
                        factor[start:end] if factor is not None else np.zeros((0, 0)),
                        presence[start:end] if presence is not None else None,
                    )
                )
                start = end
        return matrix.occluded


def explained_words(text: str, limit: int = MAX_EXPLAINED_WORDS) -> list[str]:
    """Distinct lowercased words worth occluding: content words, negations and cue words."""
    seen: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group().lower()
        if word in seen:
            continue
        content = len(word) >= 3 and word.isalpha() and word not in STOP_WORDS
        if content or word in _KEPT_SHORT_WORDS:
            seen.append(word)
            if len(seen) >= limit:
                break
    return seen


def without_word(text: str, word: str) -> str:
    pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
    return re.sub(r"\s{2,}", " ", pattern.sub("", text)).strip()


def _ranked(words: Sequence[str], deltas: np.ndarray) -> list[tuple[str, float]]:
    order = np.argsort(-deltas, kind="stable")
    return [(f"words__{words[i]}", float(deltas[i])) for i in order if deltas[i] > 0][
        :MAX_CONTRIBUTIONS
    ]


class TransformerSuggestionModel(SuggestionModel):
    """A SuggestionModel whose documents keep the original text (no spaCy analysis needed)."""

    fallback_reason = FALLBACK_REASON

    def docs(self, fragments: Sequence[Fragment]) -> list[TextDoc]:  # type: ignore[override]
        return [TextDoc(fragment.text) for fragment in fragments]


# --- local Hugging Face directories ---------------------------------------------------------


def load_saved(libs: SimpleNamespace, directory: Path) -> tuple[Any, Any]:
    transformers = libs.transformers
    try:
        with quiet(libs):
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                directory, local_files_only=True, trust_remote_code=False
            )
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                directory, local_files_only=True, use_safetensors=True, trust_remote_code=False
            )
    except Exception as exc:
        raise ModelError(
            f"{directory}: unreadable transformer model ({type(exc).__name__}: {first_line(exc)})"
        ) from None
    model.eval()
    return tokenizer, model


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else "no details"
