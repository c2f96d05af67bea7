"""Transformer model directories: train, save and load the optional transformer backend.

A directory holds safetensors weights, the tokenizer files, ``codebook.yaml`` and ``meta.json``
(as ``modeldir`` defines them, with ``"backend": "transformer"``); nothing in it may hold a
pickle, and the weights must match the digests in ``meta.json``. ``load_any_model`` loads a
model directory of either backend. This module plays the roles of ``modeldir``, ``train`` and
``pipeline`` for this backend, and comes after all three.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from autocoder.classify.model import SuggestionModel
from autocoder.classify.transformer import (
    BACKEND,
    TransformerSuggester,
    TransformerSuggestionModel,
    load_saved,
    quiet,
    require_libraries,
)
from autocoder.classify.transformer_train import (
    CALIBRATION_FRACTION,
    DEFAULT_TUNE,
    TuneSettings,
    calibrate,
    calibration_split,
    check_base_model,
    fine_tune,
)
from autocoder.codebook import Codebook, load_codebook
from autocoder.errors import ModelError, TrainingError, collected_warnings
from autocoder.files import replaced_directory, sha256_file
from autocoder.model_versions import check_versions
from autocoder.modeldir import (
    META,
    PICKLE_SUFFIXES,
    check_files,
    check_labels,
    library_versions,
    load_model,
    own_codebook,
    read_meta,
    write_codebook_and_meta,
)
from autocoder.pipeline import TrainSummary, codebook_source
from autocoder.records import NO_FACTOR_KEY
from autocoder.train import (
    TrainingSet,
    check_label_counts,
    data_meta,
    load_training_records,
    training_set,
)

VERSIONED = (
    "autocoder",
    "torch",
    "transformers",
    "tokenizers",
    "safetensors",
    "datasets",
    "numpy",
)


def train_transformer(
    data: TrainingSet,
    codebook: Codebook,
    base_model: Path,
    *,
    seed: int = 13,
    epochs: int = DEFAULT_TUNE.epochs,
    batch_size: int = DEFAULT_TUNE.batch_size,
    max_length: int = DEFAULT_TUNE.max_length,
    learning_rate: float = DEFAULT_TUNE.learning_rate,
    max_steps: int | None = DEFAULT_TUNE.max_steps,
    calibration_fraction: float = CALIBRATION_FRACTION,
    model_id: str = "transformer",
) -> SuggestionModel:
    """Fine-tune ``base_model`` (a local HF directory); deterministic for a given seed.

    When the data span at least five reports, about ``calibration_fraction`` of them is held
    out (whole reports) to fit the temperatures and to measure the model; the rest trains it.
    """
    started = time.perf_counter()
    base = check_base_model(base_model)
    libs = require_libraries()
    labels = (*codebook.ids, NO_FACTOR_KEY)
    foreign = sorted(set(data.factors) - set(labels))
    if foreign:
        raise TrainingError(f"labels not in codebook {codebook.id!r}: {', '.join(foreign)}")
    missing = check_label_counts(data, codebook)
    split = calibration_split(data, seed, calibration_fraction)
    fit_data = data.subset(split.fit)
    unlearnt = [label for label in labels if label not in set(fit_data.factors)]
    presence_head = len({p for p in fit_data.presences if p is not None}) == 2
    tune = TuneSettings(epochs, batch_size, max_length, learning_rate, max_steps)
    tokenizer, model, steps = fine_tune(
        libs, base, fit_data, labels, tune, seed=seed, presence_head=presence_head
    )
    suggester = TransformerSuggester(
        model,
        tokenizer,
        labels,
        max_length=max_length,
        presence_head=presence_head,
        never_suggested=unlearnt,
    )
    holdout = calibrate(suggester, data.subset(split.calibration)) if split.calibration else None
    meta = {
        "model_id": model_id,
        "backend": BACKEND,
        **data_meta(data, codebook),
        "never_suggested": unlearnt,
        "codes_without_examples": missing,
        "presence_head": presence_head,
        "heads": {"factor": f"logits[0:{len(labels)}]", "presence": f"logits[{len(labels)}]"},
        "base_model": {"name": base.name, "model_type": str(model.config.model_type)},
        "settings": {
            "seed": seed,
            **asdict(tune),
            "steps": steps,
            "calibration_fraction": calibration_fraction,
        },
        "temperatures": {
            "factor": suggester.factor_temperature_,
            "presence": suggester.presence_temperature_,
        },
        "fit_fragments": len(split.fit),
        "calibration_fragments": len(split.calibration),
        "calibration_reports": len({data.groups[i] for i in split.calibration}),
        "holdout_metrics": holdout,
        "cv_folds": 0,
        "cv_metrics": None,
        "training_seconds": round(time.perf_counter() - started, 2),
    }
    return TransformerSuggestionModel(suggester, codebook, (), meta)


def save_transformer(model: SuggestionModel, directory: Path, codebook_text: str) -> Path:
    """Write weights (safetensors), tokenizer files, ``codebook.yaml`` and ``meta.json`` (last)
    into a temporary sibling that then replaces ``directory`` as a whole."""
    suggester = model.suggester
    if not isinstance(suggester, TransformerSuggester):
        raise ModelError(f"{directory}: save_transformer handles the transformer backend only")
    directory = Path(directory)
    with replaced_directory(directory) as staging:
        libs = require_libraries()
        with quiet(libs):
            suggester.model.save_pretrained(staging)
            suggester.tokenizer.save_pretrained(staging)
        weights = sorted(staging.glob("*.safetensors"))
        if not weights or any(p.suffix.lower() in PICKLE_SUFFIXES for p in staging.rglob("*")):
            raise ModelError(f"{directory}: the model did not save as safetensors only")
        folders = [p.name for p in staging.iterdir() if p.is_dir()]
        if folders:
            raise ModelError(f"{directory}: unexpected folder {folders[0]} in saved model")
        fields = {
            "backend": BACKEND,
            "labels": list(suggester.labels),
            "temperatures": {
                "factor": suggester.factor_temperature_,
                "presence": suggester.presence_temperature_,
            },
            "weights_sha256": {p.name: sha256_file(p) for p in weights},
        }
        versions = library_versions(VERSIONED)
        write_codebook_and_meta(model, staging, codebook_text, fields, versions)
    return directory


def load_transformer(directory: Path, codebook: Codebook | None = None) -> SuggestionModel:
    """Load a transformer model directory; refuse a codebook mismatch or pickle files."""
    directory = Path(directory)
    meta = read_meta(directory)
    if meta.get("backend") != BACKEND:
        raise ModelError(f"{directory}: not a transformer model (backend {meta.get('backend')!r})")
    check_versions(directory, meta.get("versions") or {}, library_versions(VERSIONED))
    check_files(directory, meta)
    own = own_codebook(directory, meta, codebook)
    labels = (*own.ids, NO_FACTOR_KEY)
    check_labels(directory, meta, labels)
    recorded = meta.get("weights_sha256") or {}
    if not recorded:
        raise ModelError(f"{directory}: {META} lists no weights")
    for name, digest in recorded.items():
        path = directory / Path(name).name
        if not path.is_file():
            raise ModelError(f"{path}: missing; the model directory is incomplete")
        if sha256_file(path) != digest:
            raise ModelError(f"{path}: weights do not match {META} (tampered?)")
    libs = require_libraries()
    tokenizer, model = load_saved(libs, directory)
    if int(model.config.num_labels) != len(labels) + 1:
        raise ModelError(f"{directory}: model heads do not match its codebook")
    settings = meta.get("settings") or {}
    temps = meta.get("temperatures") or {}
    suggester = TransformerSuggester(
        model,
        tokenizer,
        labels,
        max_length=int(settings.get("max_length", 128)),
        presence_head=bool(meta.get("presence_head", True)),
        never_suggested=[str(x) for x in meta.get("never_suggested", ())],
        factor_temperature=float(temps.get("factor", 1.0)),
        presence_temperature=float(temps.get("presence", 1.0)),
    )
    return TransformerSuggestionModel(suggester, own, (), meta)


def load_any_model(directory: Path, codebook: Codebook | None = None) -> SuggestionModel:
    """Load a model directory of either backend (``meta.json`` says which); refuse it when
    ``codebook`` is given and its hash differs."""
    directory = Path(directory)
    if read_meta(directory).get("backend") == BACKEND:
        return load_transformer(directory, codebook)
    return load_model(directory, codebook)


def train_transformer_to_dir(
    data_paths: Sequence[Path],
    out: Path,
    codebook_path: Path | None,
    base_model: Path | None,
    *,
    seed: int = 13,
    max_steps: int | None = DEFAULT_TUNE.max_steps,
    epochs: int = DEFAULT_TUNE.epochs,
    batch_size: int = DEFAULT_TUNE.batch_size,
    max_length: int = DEFAULT_TUNE.max_length,
    learning_rate: float = DEFAULT_TUNE.learning_rate,
    skip_invalid: bool = False,
) -> TrainSummary:
    """Fine-tune on coded fragment records and write the model directory (like train_to_dir)."""
    base = check_base_model(base_model)
    require_libraries()
    codebook = load_codebook(codebook_path)
    loaded = load_training_records(data_paths, codebook, skip_invalid=skip_invalid)
    data = training_set(loaded.records)
    with collected_warnings() as messages:
        model = train_transformer(
            data,
            codebook,
            base,
            seed=seed,
            epochs=epochs,
            batch_size=batch_size,
            max_length=max_length,
            learning_rate=learning_rate,
            max_steps=max_steps,
            model_id=Path(out).name,
        )
    save_transformer(model, Path(out), codebook_source(codebook_path))
    return TrainSummary(model, Path(out), loaded.skipped, loaded.uncoded, messages)
