"""Model directories: ``estimator.npz``, ``vocabulary.json``, ``meta.json``, ``codebook.yaml``.

Nothing in a model directory runs code on load: the estimator is an archive of numpy arrays
read without pickle, whose objects must be of an allow-listed scikit-learn class (anything
else, as in a tampered or foreign file, is refused before it is built; see
``estimator_file``); the vectorisers' vocabularies are plain JSON term lists.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from autocoder import estimator_file
from autocoder.classify.blocks import ModelSettings
from autocoder.classify.lexicon import CodeLexicon
from autocoder.classify.linear import LinearSuggester
from autocoder.classify.model import SuggestionModel
from autocoder.codebook import Codebook, parse_codebook
from autocoder.errors import CodebookError, CodebookMismatchError, ModelError, ModelFilesWarning
from autocoder.estimator_file import EstimatorFileError
from autocoder.files import (
    atomic_write_bytes,
    atomic_write_text,
    recover_directory,
    replaced_directory,
    sha256_file,
)
from autocoder.model_versions import check_versions, library_versions

ESTIMATOR = "estimator.npz"
OLD_ESTIMATOR = "estimator.skops"  # what earlier autocoder versions wrote
VOCABULARY = "vocabulary.json"
META = "meta.json"
CODEBOOK = "codebook.yaml"
FORMAT_VERSION = 1
MAX_ESTIMATOR_BYTES = 200 * 1024 * 1024
MANIFEST = "files"  # meta.json's key for the sha256 of every other file
# Files that may hold pickles (code that runs on load); a model directory with any is refused.
PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib"})


def save_model(model: SuggestionModel, directory: Path, codebook_text: str) -> Path:
    """Write the model directory as a whole (``files.replaced_directory``)."""
    suggester = model.suggester
    if not isinstance(suggester, LinearSuggester):
        raise ModelError(f"{directory}: save_model handles the linear backend only")
    vocabularies = _take_vocabularies(suggester)
    state = {
        "features": suggester.features_,
        "factor": suggester.factor_,
        "presence_features": suggester.presence_features_,
        "presence": suggester.presence_,
    }
    try:
        estimator = estimator_file.dumps(state)
    finally:
        _put_vocabularies(suggester, vocabularies)
    payload = {
        "vocabularies": {name: terms for name, terms in vocabularies.items()},
        "lexicons": [
            {**asdict(lexicon), "vocabulary": sorted(lexicon.vocabulary)}
            for lexicon in model.lexicons
        ],
    }
    with replaced_directory(directory) as staging:
        atomic_write_text(staging / VOCABULARY, json.dumps(payload, ensure_ascii=False))
        atomic_write_bytes(staging / ESTIMATOR, estimator)
        fields = {"labels": list(suggester.labels)}
        write_codebook_and_meta(model, staging, codebook_text, fields, library_versions())
    return directory


def write_codebook_and_meta(
    model: SuggestionModel,
    directory: Path,
    codebook_text: str,
    fields: dict[str, Any],
    versions: dict[str, str],
) -> None:
    """The last files of a model directory (either backend): ``codebook.yaml``, then
    ``meta.json``: the model's meta with the format version, the backend's ``fields``, the
    library ``versions``, the creation time and the manifest (the sha256 of every other file).
    ``model.meta`` becomes what was written."""
    atomic_write_text(directory / CODEBOOK, codebook_text)
    meta = dict(model.meta)
    meta.update(
        {
            "format_version": FORMAT_VERSION,
            **fields,
            "versions": versions,
            "created_at": meta.get("created_at")
            or datetime.now(UTC).replace(microsecond=0).isoformat(),
            MANIFEST: file_manifest(directory),
        }
    )
    write_meta(directory, meta)
    model.meta = meta


def write_meta(directory: Path, meta: dict[str, Any]) -> None:
    atomic_write_text(directory / META, json.dumps(meta, indent=1, ensure_ascii=False) + "\n")


def file_manifest(directory: Path) -> dict[str, str]:
    """The sha256 of every file in ``directory`` but ``meta.json``, by relative path."""
    return {
        path.relative_to(directory).as_posix(): sha256_file(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.relative_to(directory).as_posix() != META
    }


def check_files(directory: Path, meta: dict[str, Any]) -> None:
    """Refuse pickle-capable files and files that differ from ``meta``'s manifest; a model
    saved before manifests existed loads with a warning."""
    pickles = sorted(p for p in directory.rglob("*") if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        names = ", ".join(p.relative_to(directory).as_posix() for p in pickles[:3])
        raise ModelError(
            f"model directory {directory}: refused to load; it contains pickle-capable files "
            f"({names}), which autocoder never writes; remove them or train the model again"
        )
    recorded = meta.get(MANIFEST)
    if recorded is None:
        warnings.warn(
            f"model directory {directory}: saved without a file manifest (an older autocoder), "
            "so its files cannot be checked; train it again to add one",
            ModelFilesWarning,
            stacklevel=2,
        )
        return
    if not isinstance(recorded, dict) or not recorded:
        raise ModelError(f"{directory / META}: the file manifest is not a list of files")
    for name, digest in sorted(recorded.items()):
        path = directory / str(name)
        if (
            PurePosixPath(str(name)).is_absolute()
            or ".." in PurePosixPath(str(name)).parts
            or not path.is_file()
            or sha256_file(path) != digest
        ):
            raise ModelError(
                f"model directory {directory}: file {name} does not match its manifest; "
                "train it again or restore it"
            )


def read_meta(directory: Path) -> dict[str, Any]:
    path = directory / META
    recover_directory(directory)  # a replacement that crashed before the new one was in
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{directory}: not a model directory (no {META})") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable model metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{path}: unknown model format; retrain with this autocoder version")
    return meta


def load_model(directory: Path, codebook: Codebook | None = None) -> SuggestionModel:
    """Load a linear model; refuse it when ``codebook`` is given and its hash differs.

    ``autocoder.transformer_dir.load_any_model`` loads a directory of either backend."""
    directory = Path(directory)
    meta = read_meta(directory)
    if meta.get("backend") == "transformer":
        raise ModelError(
            f"{directory}: a transformer model; load it with "
            "autocoder.transformer_dir.load_any_model"
        )
    check_versions(directory, meta.get("versions") or {}, library_versions())
    check_files(directory, meta)
    own = own_codebook(directory, meta, codebook)
    state = _load_estimator(directory / ESTIMATOR)
    payload = _load_vocabulary(directory / VOCABULARY)
    suggester = LinearSuggester(own.ids, ModelSettings(**_settings(meta)))
    suggester.features_ = state["features"]
    suggester.factor_ = state["factor"]
    suggester.presence_features_ = state["presence_features"]
    suggester.presence_ = state["presence"]
    temps = meta.get("temperatures") or {}
    suggester.factor_temperature_ = float(temps.get("factor", 1.0))
    suggester.presence_temperature_ = float(temps.get("presence", 1.0))
    check_labels(directory, meta, suggester.labels)
    try:
        _put_vocabularies(suggester, payload["vocabularies"])
        lexicons = tuple(_lexicon(item) for item in payload["lexicons"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{directory / VOCABULARY}: does not fit the estimator") from exc
    return SuggestionModel(suggester, own, lexicons, meta)


def _vectorisers(suggester: LinearSuggester) -> dict[str, Any]:
    found = {}
    for prefix, block in (("", suggester.features_), ("presence.", suggester.presence_features_)):
        for name, vectoriser, _ in block.transformers_ if block is not None else ():
            if hasattr(vectoriser, "vocabulary_"):
                found[prefix + name] = vectoriser
    return found


def _take_vocabularies(suggester: LinearSuggester) -> dict[str, list[str]]:
    """Term lists in column order; the vectorisers are left without a vocabulary."""
    taken = {}
    for name, vectoriser in _vectorisers(suggester).items():
        terms = [""] * len(vectoriser.vocabulary_)
        for term, column in vectoriser.vocabulary_.items():
            terms[column] = term
        taken[name] = terms
        vectoriser.vocabulary_ = {}
    return taken


def _put_vocabularies(suggester: LinearSuggester, vocabularies: dict[str, list[str]]) -> None:
    vectorisers = _vectorisers(suggester)
    if set(vectorisers) != set(vocabularies):
        raise ValueError("vocabulary blocks differ from the estimator's")
    for name, vectoriser in vectorisers.items():
        vectoriser.vocabulary_ = {term: column for column, term in enumerate(vocabularies[name])}


def _lexicon(item: dict[str, Any]) -> CodeLexicon:
    return CodeLexicon(
        code=str(item["code"]),
        indicators=tuple(tuple(str(w) for w in seq) for seq in item["indicators"]),
        indicator_text=tuple(str(t) for t in item["indicator_text"]),
        vocabulary=frozenset(str(w) for w in item["vocabulary"]),
    )


def _load_vocabulary(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: missing; the model directory is incomplete") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or not {"vocabularies", "lexicons"} <= set(payload):
        raise ModelError(f"{path}: not an autocoder vocabulary file")
    return payload


def _settings(meta: dict[str, Any]) -> dict[str, Any]:
    settings = dict(meta.get("settings") or {})
    if "char_ngrams" in settings:
        settings["char_ngrams"] = tuple(settings["char_ngrams"])
    return settings


def own_codebook(directory: Path, meta: dict[str, Any], codebook: Codebook | None) -> Codebook:
    """The model's ``codebook.yaml`` (either backend), checked against ``meta``'s hash; refused
    when ``codebook`` is given and differs from it."""
    try:
        text = (directory / CODEBOOK).read_text(encoding="utf-8")
        own = parse_codebook(text, str(directory / CODEBOOK))
    except (OSError, CodebookError) as exc:
        raise ModelError(f"{directory}: the model's codebook.yaml is missing or invalid") from exc
    if own.hash != meta.get("codebook_hash"):
        raise ModelError(f"{directory}: codebook.yaml does not match {META} (tampered?)")
    if codebook is not None and codebook.hash != own.hash:
        raise CodebookMismatchError(
            f"{directory}: model was trained for codebook {own.id!r} "
            f"(hash {own.hash[:12]}), not {codebook.id!r} "
            f"(hash {codebook.hash[:12]}); retrain it with this codebook"
        )
    return own


def check_labels(directory: Path, meta: dict[str, Any], labels: Sequence[str]) -> None:
    """``meta``'s labels must be the model's (its codebook's codes and "no factor")."""
    if tuple(meta.get("labels", ())) != tuple(labels):
        raise ModelError(f"{directory}: labels in {META} do not match its codebook")


def _load_estimator(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_ESTIMATOR_BYTES:
            raise ModelError(f"{path}: estimator file is larger than any autocoder model")
        state = estimator_file.loads(path.read_bytes(), MAX_ESTIMATOR_BYTES)
    except FileNotFoundError:
        if (path.parent / OLD_ESTIMATOR).is_file():
            raise ModelError(
                f"{path.parent}: saved by an older autocoder ({OLD_ESTIMATOR}); train it again "
                "with this version (autocoder train)"
            ) from None
        raise ModelError(f"{path}: missing; the model directory is incomplete") from None
    except OSError as exc:
        raise ModelError(f"{path}: not a readable model file ({type(exc).__name__})") from None
    except EstimatorFileError as exc:
        raise ModelError(f"{path}: {exc}") from None
    if not isinstance(state, dict) or not {
        "features",
        "factor",
        "presence_features",
        "presence",
    } <= set(state):
        raise ModelError(f"{path}: not an autocoder model")
    return state
