"""The estimator file: what it stores comes back the same, and nothing else gets built."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from autocoder.estimator_file import EstimatorFileError, dumps, loads

LIMIT = 10 * 1024 * 1024


def archive(tree: object, **arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    members = {"tree": np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8), **arrays}
    np.savez(buffer, **members)
    return buffer.getvalue()


def test_plain_values_and_containers_come_back_with_their_types() -> None:
    state = {
        "none": None,
        "flags": [True, False],
        "numbers": (1, 2.5, -0.0, float("inf")),
        "text": "één ✓",
        "slice": slice(3, 9, None),
        "nested": {"a": [(1, "x")], "b": {}},
        "scalars": [np.float32(0.25), np.int64(7), np.bool_(True)],
        "dtype": np.float64,
        "array": np.arange(6, dtype=np.int32).reshape(2, 3),
        "matrix": sparse.csr_matrix(np.array([[0.0, 1.5], [2.0, 0.0]])),
    }
    back = loads(dumps(state), LIMIT)
    assert back.keys() == state.keys()
    assert back["numbers"] == (1, 2.5, -0.0, float("inf"))
    assert type(back["numbers"]) is tuple and type(back["numbers"][0]) is int
    assert back["nested"] == {"a": [(1, "x")], "b": {}} and back["text"] == "één ✓"
    assert back["slice"] == slice(3, 9, None) and back["dtype"] is np.float64
    assert [type(x) for x in back["scalars"]] == [np.float32, np.int64, np.bool_]
    assert back["array"].dtype == np.int32 and back["array"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert (back["matrix"] != state["matrix"]).nnz == 0


def test_fitted_estimators_predict_the_same_after_the_round_trip() -> None:
    texts = ["de samenwerking loopt goed", "geen overleg meer", "goed overleg", "loopt niet"]
    vectoriser = TfidfVectorizer(ngram_range=(1, 2), dtype=np.float32).fit(texts)
    svm = LinearSVC(random_state=0).fit(vectoriser.transform(texts), [1, 0, 1, 0])
    back_vectoriser, back_svm = loads(dumps([vectoriser, svm]), LIMIT)
    matrix = back_vectoriser.transform(["samenwerking zonder overleg"])
    assert (matrix != vectoriser.transform(["samenwerking zonder overleg"])).nnz == 0
    assert back_svm.decision_function(matrix).tolist() == svm.decision_function(matrix).tolist()
    assert back_vectoriser.get_params() == vectoriser.get_params()


def test_types_outside_the_allow_list_are_not_stored_or_built() -> None:
    with pytest.raises(TypeError, match="not a type a model may hold"):
        dumps({"model": DecisionTreeClassifier()})
    with pytest.raises(TypeError, match="objects"):
        dumps(np.array([object()]))
    foreign = {"object": "sklearn.tree.DecisionTreeClassifier", "state": {"dict": {}}}
    with pytest.raises(EstimatorFileError, match="allow-list"):
        loads(archive(foreign), LIMIT)
    with pytest.raises(EstimatorFileError, match="allow-list"):
        loads(archive({"object": "os.system", "state": {"dict": {}}}), LIMIT)


def test_damaged_or_doctored_archives_are_refused() -> None:
    good = dumps({"coef": np.ones(3)})
    doctored = [
        b"not a zip",
        good[: len(good) // 2],
        archive({"array": "7"}),  # an array that is not there
        archive({"slice": ["0", 1, None]}),
        archive(
            {"csr": [{"array": "0"}, {"array": "0"}, {"array": "0"}], "shape": [1, 1]},
            **{"0": np.ones(2)},
        ),
        archive({"object": "sklearn.svm.LinearSVC", "state": [1, 2]}),
        archive({"mystery": 1}),
    ]
    for data in doctored:
        with pytest.raises(EstimatorFileError):
            loads(data, LIMIT)
    with pytest.raises(EstimatorFileError, match="unpacks to more"):
        loads(dumps({"big": np.zeros(1000)}), max_bytes=1000)


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def test_object_arrays_and_other_members_are_never_unpickled(tmp_path) -> None:
    marker = tmp_path / "ran"
    tree = npy(np.frombuffer(json.dumps({"array": "0"}).encode(), dtype=np.uint8))
    payload = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()  # a pickle that runs a command
    with pytest.raises(EstimatorFileError, match="other than numpy arrays"):
        loads(zipped({"tree.npy": tree, "0.npy": npy(np.ones(2)), "extra.pkl": payload}), LIMIT)
    with pytest.raises(EstimatorFileError):  # an object array needs unpickling: refused
        loads(zipped({"tree.npy": tree, "0.npy": npy(np.array([{"a": 1}], dtype=object))}), LIMIT)
    with pytest.raises(EstimatorFileError):
        loads(zipped({"tree.npy": tree, "0.npy": payload}), LIMIT)
    assert not marker.exists()
