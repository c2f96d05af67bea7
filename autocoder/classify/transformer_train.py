"""Fine-tuning the transformer backend: a plain torch loop, seeded, and temperature scaling on
held-out reports. Torch and transformers come from ``require_libraries`` (lazy, offline).

The public entry point, ``train_transformer``, is in ``autocoder.transformer_dir``: it checks
the training set's labels (``autocoder.train``) and records what was trained in ``meta``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np

from autocoder.classify.blocks import fit_temperature
from autocoder.classify.transformer import (
    Encoded,
    TransformerSuggester,
    first_line,
    quiet,
)
from autocoder.errors import ModelError, TrainingError
from autocoder.metrics import suggestion_metrics

PRESENCE_LABEL = "__presence__"
MIN_CALIBRATION_REPORTS = 5
MIN_CALIBRATION_FRAGMENTS = 20
CALIBRATION_FRACTION = 0.2


class LabelledTexts(Protocol):
    """What training reads from a training set (``autocoder.train.TrainingSet`` is one)."""

    @property
    def texts(self) -> Sequence[str]: ...
    @property
    def factors(self) -> Sequence[str]: ...
    @property
    def presences(self) -> Sequence[int | None]: ...
    @property
    def groups(self) -> Sequence[str]: ...
    @property
    def weights(self) -> Sequence[float]: ...
    def __len__(self) -> int: ...


@dataclass(frozen=True)
class TuneSettings:
    """How the transformer is fine-tuned (``max_steps``, when given, overrides ``epochs``)."""

    epochs: int = 3
    batch_size: int = 16
    max_length: int = 128
    learning_rate: float = 5e-5
    max_steps: int | None = None


DEFAULT_TUNE = TuneSettings()


@contextmanager
def seeded(torch: Any, seed: int) -> Iterator[Any]:
    """Seed torch (restoring the caller's RNG state afterwards) and prefer deterministic ops."""
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            yield torch.Generator().manual_seed(seed)
        finally:
            torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


@dataclass
class Split:
    """Indices of the fragments that train the model and of those that calibrate it."""

    fit: list[int]
    calibration: list[int] = field(default_factory=list)


def calibration_split(data: LabelledTexts, seed: int, fraction: float) -> Split:
    """Hold out whole reports for temperature scaling when there are enough of them."""
    groups = sorted(set(data.groups))
    everything = list(range(len(data)))
    if fraction <= 0 or len(groups) < MIN_CALIBRATION_REPORTS:
        return Split(everything)
    rng = np.random.default_rng(seed)
    order = [groups[i] for i in rng.permutation(len(groups))]
    held: set[str] = set()
    target = fraction * len(data)
    sizes = Counter(data.groups)
    for group in order:
        if sum(sizes[g] for g in held) >= target or len(held) >= len(groups) - 1:
            break
        held.add(group)
    calibration = [i for i in everything if data.groups[i] in held]
    fit = [i for i in everything if data.groups[i] not in held]
    if len(calibration) < MIN_CALIBRATION_FRAGMENTS or len({data.factors[i] for i in fit}) < 2:
        return Split(everything)
    return Split(fit, calibration)


def check_base_model(base_model: Path | None) -> Path:
    """A local Hugging Face model directory with a config and safetensors weights."""
    if base_model is None:
        raise ModelError(
            "the transformer backend needs --base-model DIR: a local Hugging Face model "
            "directory (config.json, tokenizer files, *.safetensors)"
        )
    base = Path(base_model)
    if not base.is_dir():
        raise ModelError(f"{base}: base model directory not found")
    if not (base / "config.json").is_file():
        raise ModelError(f"{base}: not a Hugging Face model directory (no config.json)")
    if not any(base.glob("*.safetensors")):
        raise ModelError(
            f"{base}: no *.safetensors weights; autocoder does not load pickle-based weights "
            "(.bin/.pt); convert the model once with save_pretrained() in a recent transformers"
        )
    return base


def _load_base(libs: SimpleNamespace, base: Path, labels: Sequence[str]) -> tuple[Any, Any]:
    transformers = libs.transformers
    heads = [*labels, PRESENCE_LABEL]
    try:
        with quiet(libs):
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                base, local_files_only=True, trust_remote_code=False
            )
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                base,
                num_labels=len(heads),
                id2label=dict(enumerate(heads)),
                label2id={label: i for i, label in enumerate(heads)},
                local_files_only=True,
                use_safetensors=True,
                trust_remote_code=False,
                ignore_mismatched_sizes=True,
            )
    except Exception as exc:
        raise ModelError(
            f"{base}: not a usable Hugging Face model directory ({type(exc).__name__}: "
            f"{first_line(exc)})"
        ) from None
    if tokenizer.pad_token is None:
        raise ModelError(f"{base}: the tokenizer has no padding token; use an encoder (BERT-like)")
    return tokenizer, model


def _class_weights(factors: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """'Balanced' weights like scikit-learn's: n / (k * count); zero for unseen labels."""
    counts = Counter(factors)
    seen = [label for label in labels if counts[label]]
    return np.array(
        [len(factors) / (len(seen) * counts[label]) if counts[label] else 0.0 for label in labels]
    )


def _fit(
    libs: SimpleNamespace,
    model: Any,
    tokenizer: Any,
    data: LabelledTexts,
    labels: Sequence[str],
    generator: Any,
    tune: TuneSettings,
    *,
    presence_head: bool,
) -> int:
    """Fine-tune in place with a plain torch loop; returns the number of optimiser steps."""
    torch, transformers = libs.torch, libs.transformers
    n_labels = len(labels)
    factor_ids = [labels.index(f) for f in data.factors]
    table = libs.datasets.Dataset.from_dict(
        {
            "text": list(data.texts),
            "factor": factor_ids,
            "presence": [float(p or 0) for p in data.presences],
            "has_presence": [float(p is not None and presence_head) for p in data.presences],
            "weight": [float(w) for w in data.weights],
        }
    )
    table = table.map(
        lambda rows: tokenizer(rows["text"], truncation=True, max_length=tune.max_length),
        batched=True,
        remove_columns=["text"],
    )
    targets = ("factor", "presence", "has_presence", "weight")
    text_keys = [k for k in table.column_names if k not in targets]

    def collate(rows: list[dict[str, Any]]) -> dict[str, Any]:
        batch = tokenizer.pad([{k: r[k] for k in text_keys} for r in rows], return_tensors="pt")
        for key, dtype in (
            ("factor", torch.long),
            ("presence", torch.float32),
            ("has_presence", torch.float32),
            ("weight", torch.float32),
        ):
            batch[key] = torch.tensor([r[key] for r in rows], dtype=dtype)
        return batch

    loader = torch.utils.data.DataLoader(
        table, batch_size=tune.batch_size, shuffle=True, generator=generator, collate_fn=collate
    )
    total = tune.max_steps if tune.max_steps is not None else tune.epochs * len(loader)
    if total < 1:
        raise TrainingError("transformer training needs at least one step (max_steps >= 1)")
    optimizer = torch.optim.AdamW(model.parameters(), lr=tune.learning_rate, weight_decay=0.01)
    schedule = transformers.get_linear_schedule_with_warmup(optimizer, int(0.1 * total), total)
    class_weights = torch.tensor(_class_weights(data.factors, labels), dtype=torch.float32)
    present = [p for p in data.presences if p is not None]
    positives = sum(present)
    pos_weight = torch.tensor(
        (len(present) - positives) / positives if positives and presence_head else 1.0
    )
    factor_loss = torch.nn.CrossEntropyLoss(weight=class_weights, reduction="none")
    presence_loss = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
    model.train()
    step = 0
    while step < total:
        for batch in loader:
            gold = {k: batch.pop(k) for k in targets}
            logits = model(**batch).logits
            weight = gold["weight"]
            per_row = factor_loss(logits[:, :n_labels], gold["factor"]) * weight
            denominator = (class_weights[gold["factor"]] * weight).sum().clamp(min=1e-8)
            loss = per_row.sum() / denominator
            known = gold["has_presence"] * weight
            if known.sum() > 0:
                rows = presence_loss(logits[:, n_labels], gold["presence"])
                loss = loss + (rows * known).sum() / known.sum()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step >= total:
                break
    model.eval()
    return step


def fine_tune(
    libs: SimpleNamespace,
    base: Path,
    data: LabelledTexts,
    labels: Sequence[str],
    tune: TuneSettings,
    *,
    seed: int,
    presence_head: bool,
) -> tuple[Any, Any, int]:
    """Load ``base`` with fresh heads for ``labels`` and fine-tune it on ``data``, seeded;
    returns the tokenizer, the model and the number of optimiser steps."""
    with seeded(libs.torch, seed) as generator, quiet(libs):
        tokenizer, model = _load_base(libs, base, labels)
        steps = _fit(
            libs, model, tokenizer, data, labels, generator, tune, presence_head=presence_head
        )
    return tokenizer, model, steps


def calibrate(suggester: TransformerSuggester, held: LabelledTexts) -> dict[str, Any]:
    """Fit temperatures on held-out reports; returns metrics on them (calibrated)."""
    labels = suggester.labels
    factor_logits, presence_logits = suggester.scores(held.texts)
    target = np.array([labels.index(f) for f in held.factors])
    suggester.factor_temperature_ = fit_temperature(factor_logits, target)
    known = np.array([p is not None for p in held.presences])
    if presence_logits is not None and known.any():
        presence_target = np.array([p for p in held.presences if p is not None], dtype=float)
        suggester.presence_temperature_ = fit_temperature(
            presence_logits[known], presence_target, binary=True
        )
    probs, present = suggester.predict_proba(
        Encoded(list(held.texts), factor_logits, presence_logits)
    )
    return suggestion_metrics(held.factors, held.presences, probs, present, labels)
