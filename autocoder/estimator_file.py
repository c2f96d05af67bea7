"""The linear model's estimator file: fitted scikit-learn objects in one ``.npz`` archive that
loads without running code.

The archive holds numpy arrays only: the objects' structure as a JSON tree (one uint8 array)
and every array of their fitted state next to it. ``np.load(allow_pickle=False)`` reads
it, so no pickle is ever unpickled. The tree names each object's class; a class outside
``ALLOWED_CLASSES`` is refused before anything is built, and an object is rebuilt the way
pickle would (``__new__`` and ``__setstate__``) without calling its constructor.

Why not skops: importing ``skops.io`` imports all of scikit-learn to list its estimators
(0.7 s), a quarter of ``code``'s start-up, for the five types a model holds.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.svm import LinearSVC

# By their public names, which stay put when scikit-learn moves a class between its modules.
ALLOWED_CLASSES: dict[str, type] = {
    "sklearn.compose.ColumnTransformer": ColumnTransformer,
    "sklearn.feature_extraction.text.CountVectorizer": CountVectorizer,
    "sklearn.feature_extraction.text.TfidfTransformer": TfidfTransformer,
    "sklearn.feature_extraction.text.TfidfVectorizer": TfidfVectorizer,
    "sklearn.svm.LinearSVC": LinearSVC,
}
_CLASS_NAMES = {cls: name for name, cls in ALLOWED_CLASSES.items()}
SCALAR_TYPES: dict[str, type] = {
    np.dtype(kind).name: kind for kind in (np.bool_, np.int32, np.int64, np.float32, np.float64)
}
_SCALAR_NAMES = {kind: name for name, kind in SCALAR_TYPES.items()}
TREE = "tree"  # the archive member with the JSON tree; the arrays are "0", "1", ...
# What reading a damaged archive or building objects from a doctored state may raise.
_DAMAGE = (KeyError, ValueError, TypeError, AttributeError, OSError, EOFError, RecursionError)


class EstimatorFileError(ValueError):
    """An estimator file that is not one this module wrote (damaged, foreign or tampered)."""


def dumps(state: Any) -> bytes:
    """The archive for ``state``: plain values, lists, tuples, dicts with string keys,
    slices, numpy arrays, scalars and scalar types, sparse CSR matrices and objects of the
    allowed classes."""
    arrays: list[np.ndarray] = []
    tree = json.dumps(_encode(state, arrays), ensure_ascii=False).encode("utf-8")
    members = {TREE: np.frombuffer(tree, dtype=np.uint8)}
    members.update({str(i): array for i, array in enumerate(arrays)})
    buffer = io.BytesIO()
    np.savez(buffer, **members)  # no object arrays: _encode refuses them
    return buffer.getvalue()


def loads(data: bytes, max_bytes: int) -> Any:
    """Rebuild what ``dumps`` stored; EstimatorFileError for anything else (an archive that
    unpacks to more than ``max_bytes`` included)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
        if sum(info.file_size for info in members) > max_bytes:
            raise EstimatorFileError("unpacks to more than any autocoder model")
        if any(not info.filename.endswith(".npy") for info in members):
            raise EstimatorFileError("refused: it holds files other than numpy arrays")
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        if not all(isinstance(array, np.ndarray) for array in arrays.values()):
            raise EstimatorFileError("refused: it holds files other than numpy arrays")
        tree = json.loads(arrays.pop(TREE).tobytes().decode("utf-8"))
        return _decode(tree, arrays)
    except EstimatorFileError:
        raise
    except (*_DAMAGE, zipfile.BadZipFile) as exc:
        raise EstimatorFileError(f"not an estimator archive ({type(exc).__name__})") from None


def _encode(value: Any, arrays: list[np.ndarray]) -> Any:
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, list | tuple):
        items = [_encode(item, arrays) for item in value]
        return items if type(value) is list else {"tuple": items}
    if type(value) is dict:
        if not all(isinstance(key, str) for key in value):
            raise TypeError("only dicts with string keys can be stored")
        return {"dict": {key: _encode(item, arrays) for key, item in value.items()}}
    if isinstance(value, slice):
        return {"slice": [value.start, value.stop, value.step]}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError("arrays of Python objects cannot be stored")
        arrays.append(value)
        return {"array": str(len(arrays) - 1)}
    if type(value) in _SCALAR_NAMES:
        return {"scalar": _SCALAR_NAMES[type(value)], "value": value.item()}
    if isinstance(value, type) and value in _SCALAR_NAMES:
        return {"type": _SCALAR_NAMES[value]}
    if isinstance(value, sparse.csr_matrix):
        parts = (value.data, value.indices, value.indptr)
        return {"csr": [_encode(part, arrays) for part in parts], "shape": list(value.shape)}
    name = _CLASS_NAMES.get(type(value))
    if name is None:
        raise TypeError(f"{type(value).__qualname__} is not a type a model may hold")
    state = value.__getstate__() if hasattr(value, "__getstate__") else vars(value)
    return {"object": name, "state": _encode(dict(state), arrays)}


def _decode(node: Any, arrays: dict[str, np.ndarray]) -> Any:
    if node is None or isinstance(node, bool | int | float | str):
        return node
    if isinstance(node, list):
        return [_decode(item, arrays) for item in node]
    if not isinstance(node, dict) or len(node) not in (1, 2):
        raise EstimatorFileError("unknown node in the tree")
    kind = next(iter(node))
    value = node[kind]
    if kind == "tuple" and isinstance(value, list):
        return tuple(_decode(item, arrays) for item in value)
    if kind == "dict" and isinstance(value, dict):
        return {key: _decode(item, arrays) for key, item in value.items()}
    if kind == "slice" and isinstance(value, list) and len(value) == 3:
        return slice(*(_plain_int(part) for part in value))
    if kind == "array" and value in arrays:
        return arrays[value]
    if kind == "scalar" and value in SCALAR_TYPES:
        return SCALAR_TYPES[value](node.get("value"))
    if kind == "type" and value in SCALAR_TYPES:
        return SCALAR_TYPES[value]
    if kind == "csr" and isinstance(value, list) and len(value) == 3:
        data, indices, indptr = (_decode(part, arrays) for part in value)
        shape = tuple(_plain_int(size) for size in node.get("shape", ()))
        return sparse.csr_matrix((data, indices, indptr), shape=shape)
    if kind == "object" and value in ALLOWED_CLASSES:
        return _rebuild(ALLOWED_CLASSES[value], _decode(node.get("state"), arrays))
    raise EstimatorFileError(f"refused: {kind} {str(value)[:80]!r} is not on the allow-list")


def _rebuild(cls: type, state: Any) -> Any:
    if not isinstance(state, dict):
        raise EstimatorFileError(f"the state of a {cls.__name__} is not a mapping")
    instance = cls.__new__(cls)
    if hasattr(instance, "__setstate__"):
        instance.__setstate__(state)
    else:
        instance.__dict__.update(state)
    return instance


def _plain_int(value: Any) -> int | None:
    if value is None or type(value) is int:
        return value
    raise EstimatorFileError("a slice or shape that is not made of integers")
