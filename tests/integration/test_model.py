"""Training, calibrated suggestions, safe model directories (real corpus records)."""

import io
import json
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autocoder.codebook import load_codebook, parse_codebook
from autocoder.errors import (
    CodebookMismatchError,
    FewExamplesWarning,
    ModelError,
    ModelFilesWarning,
)
from autocoder.jsonl import read_records
from autocoder.modeldir import ESTIMATOR, MANIFEST, file_manifest, load_model, save_model
from autocoder.pipeline import codebook_source
from autocoder.records import NO_FACTOR_KEY
from autocoder.train import train_model, training_set

CORPUS = Path(__file__).resolve().parents[2] / "training_data" / "fragments.jsonl"


@pytest.fixture(scope="module")
def corpus_records():
    records = read_records(CORPUS, load_codebook()).records
    reports = sorted({r.fragment.report for r in records})[:12]
    return [r for r in records if r.fragment.report in reports]


@pytest.fixture(scope="module")
def small_model(corpus_records):
    return train_model(training_set(corpus_records), load_codebook(), folds=3, model_id="small")


@pytest.fixture(scope="module")
def saved_dir(small_model, tmp_path_factory):
    directory = tmp_path_factory.mktemp("models") / "small"
    return save_model(small_model, directory, codebook_source(None))


def test_suggestions_are_well_formed_and_calibrated(small_model, corpus_records):
    suggestions = small_model.suggest([r.fragment for r in corpus_records[:60]])
    labels = {*load_codebook().ids, NO_FACTOR_KEY}
    for suggestion in suggestions:
        assert set(suggestion.factor_probs) == labels
        assert sum(suggestion.factor_probs.values()) == pytest.approx(1.0, abs=1e-3)
        assert 0.0 <= suggestion.confidence <= 1.0
        assert suggestion.reasons
        if suggestion.factor is None:
            assert suggestion.presence is None
    meta = small_model.meta
    assert meta["cv_metrics"]["factor"]["ece"] < 0.15
    assert meta["temperatures"]["factor"] > 0


def test_save_and_load_give_identical_probabilities(small_model, saved_dir, corpus_records):
    fragments = [r.fragment for r in corpus_records[:40]]
    loaded = load_model(saved_dir)
    before = small_model.suggest(fragments)
    after = loaded.suggest(fragments)
    assert [s.factor_probs for s in before] == [s.factor_probs for s in after]
    assert [s.presence_prob for s in before] == [s.presence_prob for s in after]
    meta = json.loads((saved_dir / "meta.json").read_text())
    for key in (
        "codebook_hash",
        "data_hash",
        "label_counts",
        "cv_metrics",
        "versions",
        "created_at",
    ):
        assert key in meta
    assert not list(saved_dir.glob("*.pkl")) and not list(saved_dir.glob("*.joblib"))


def test_training_is_deterministic(corpus_records):
    data = training_set(corpus_records[:600])
    first = train_model(data, load_codebook(), folds=0)
    second = train_model(data, load_codebook(), folds=0)
    fragments = [r.fragment for r in corpus_records[600:700]]
    assert [s.factor_probs for s in first.suggest(fragments)] == [
        s.factor_probs for s in second.suggest(fragments)
    ]


def test_codebook_mismatch_is_refused(saved_dir):
    other = parse_codebook(codebook_source(None).replace("elkaar nodig hebben", "iets anders"))
    with pytest.raises(CodebookMismatchError, match="retrain"):
        load_model(saved_dir, other)
    assert load_model(saved_dir, load_codebook()).model_id == "small"


def copy_model(saved_dir, tmp_path):
    target = tmp_path / "copy"
    target.mkdir(parents=True)
    for path in saved_dir.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


def reseal(target):
    """Rewrite the manifest, as someone editing the files on purpose would."""
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    meta[MANIFEST] = file_manifest(target)
    (target / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def test_foreign_type_in_estimator_is_refused(saved_dir, tmp_path):
    target = copy_model(saved_dir, tmp_path)
    tree = {"dict": {"features": {"object": "sklearn.tree.DecisionTreeClassifier", "state": {}}}}
    buffer = io.BytesIO()
    np.savez(buffer, tree=np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8))
    (target / ESTIMATOR).write_bytes(buffer.getvalue())
    with pytest.raises(ModelError, match="does not match its manifest"):
        load_model(target)
    reseal(target)
    with pytest.raises(ModelError, match="allow-list"):
        load_model(target)


def test_loading_a_model_imports_only_the_classes_it_holds(saved_dir):
    # A model format that lists every scikit-learn estimator on import (as skops does) costs
    # every command that loads a model most of a second: none of those modules may load.
    script = (
        "import sys; from autocoder.modeldir import load_model; "
        f"load_model(__import__('pathlib').Path({str(saved_dir)!r})); "
        "print(sorted(m for m in sys.modules if m.startswith(('sklearn.ensemble', 'skops'))))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_model_saved_by_an_older_autocoder_asks_to_be_trained_again(saved_dir, tmp_path):
    target = copy_model(saved_dir, tmp_path)
    (target / ESTIMATOR).rename(target / "estimator.skops")
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    del meta[MANIFEST]  # older versions wrote none
    (target / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with (
        pytest.warns(ModelFilesWarning),
        pytest.raises(ModelError, match=r"older autocoder .*train it again"),
    ):
        load_model(target)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / ESTIMATOR).write_bytes(b"not a zip"),
        lambda d: (d / ESTIMATOR).write_bytes((d / ESTIMATOR).read_bytes()[:2000]),
        lambda d: (d / ESTIMATOR).unlink(),
        lambda d: (d / "meta.json").write_text("{"),
        lambda d: (d / "codebook.yaml").write_text("id: [x"),
        lambda d: (d / "vocabulary.json").write_text('{"vocabularies": {}, "lexicons": []}'),
    ],
)
def test_damaged_model_fails_cleanly(saved_dir, tmp_path, damage):
    target = copy_model(saved_dir, tmp_path)
    damage(target)
    with pytest.raises(ModelError):
        load_model(target)


def test_pickle_inside_the_archive_is_not_executed(saved_dir, tmp_path):
    marker = tmp_path / "pwned"
    payload = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    for name in ("evil.pkl", "evil.npy"):
        target = copy_model(saved_dir, tmp_path / name)
        with zipfile.ZipFile(target / ESTIMATOR, "a") as archive:
            archive.writestr(name, payload)
        with pytest.raises(ModelError):
            load_model(target)
        reseal(target)
        with pytest.raises(ModelError, match=r"allow-list|not allowed|pickle"):
            load_model(target)
    assert not marker.exists()


def test_missing_and_rare_codes_warn_and_are_never_suggested(corpus_records):
    codebook = load_codebook()
    kept = [r for r in corpus_records if r.coding.factor != "continuiteit"]
    rare = [r for r in corpus_records if r.coding.factor == "externe_druk"][:3]
    kept = [r for r in kept if r.coding.factor != "externe_druk"] + rare
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = train_model(training_set(kept), codebook, folds=0)
    messages = " ".join(str(w.message) for w in caught if w.category is FewExamplesWarning)
    assert "'externe_druk' has only 3" in messages
    assert "never suggest" in messages and "continuiteit" in messages
    suggestions = model.suggest([r.fragment for r in corpus_records[:200]])
    assert all(s.factor != "continuiteit" for s in suggestions)
    assert all(s.factor_probs["continuiteit"] < 1e-6 for s in suggestions)
    assert model.meta["never_suggested"] == ["continuiteit"]


def test_training_without_presence_still_trains_factor_head(corpus_records):
    data = training_set(corpus_records[:400])
    stripped = data.__class__(
        data.texts,
        data.questions,
        data.factors,
        (None,) * len(data),
        data.groups,
        data.starts,
        data.weights,
    )
    model = train_model(stripped, load_codebook(), folds=0)
    (suggestion,) = model.suggest([corpus_records[500].fragment])
    assert suggestion.presence is None and suggestion.presence_prob is None
    assert np.isclose(sum(suggestion.factor_probs.values()), 1.0, atol=1e-3)


def test_batch_features_equal_the_feature_document_path(small_model, corpus_records):
    """The array path (used by suggest) gives the matrices and suggestions of the feature
    document path, on real fragments plus edge cases."""
    import dataclasses

    fragments = [r.fragment for r in corpus_records]
    edge = ["niet helemaal niet", "Het is :( jammer", "   .", "geen gebrek aan regie, maar wel"]
    fragments += [
        dataclasses.replace(fragments[0], text=text, id=f"edge{i}", start=10**6 + i)
        for i, text in enumerate(edge)
    ]
    suggester = small_model.suggester
    from_docs = suggester.transform(small_model.docs(fragments))
    from_batch = suggester.transform_batch(small_model.batch_input(fragments))
    assert from_batch is not None
    for name in ("factor", "readable"):
        assert abs(getattr(from_docs, name) - getattr(from_batch, name)).max() == 0
    probs_docs, present_docs = suggester.predict_proba(from_docs)
    probs_batch, present_batch = suggester.predict_proba(from_batch)
    assert abs(from_docs.presence - from_batch.presence).max() == 0
    np.testing.assert_array_equal(probs_docs, probs_batch)
    np.testing.assert_array_equal(present_docs, present_batch)
    matches = [small_model.docs([f])[0].matches for f in fragments[:200]]
    assert [from_batch.matches.of(i) for i in range(200)] == matches
    assert any(matches)


def test_reasons_from_the_description_tables_equal_describing_each_name(
    small_model, corpus_records
):
    """suggest describes a batch's ranked columns by table lookups; describing each ranked
    feature name on its own (``_reasons_from``) gives the same reasons, for the token-array
    rows and for feature documents."""
    from itertools import pairwise

    from autocoder.classify.model import MAX_REASONS, PUSHES_SCANNED
    from autocoder.records import Presence

    model, suggester = small_model, small_model.suggester
    fragments = [r.fragment for r in corpus_records][:600]
    suggestions = model.suggest(fragments)
    labels = [s.factor or NO_FACTOR_KEY for s in suggestions]
    presences = [s.presence for s in suggestions]
    present = [None if p is None else p is Presence.PRESENT for p in presences]

    def named(head, offsets, columns):
        names = suggester.feature_names(head)[columns].tolist()
        return [names[start:end] for start, end in pairwise(offsets.tolist())]

    docs = model.docs(fragments)
    for matrix, rows in (model.features(fragments), (suggester.transform(docs), docs)):
        suggester.predict_proba(matrix)  # builds the presence head's features, as suggest does
        shown = model._shown
        factor = named(
            "factor", *suggester.ranked_columns(matrix, labels, MAX_REASONS + 4, shown("factor"))
        )
        pushes = named(
            "presence",
            *suggester.ranked_presence_columns(matrix, present, PUSHES_SCANNED, shown("presence")),
        )
        expected = [
            model._reasons_from(factor[i], pushes[i], rows[i], labels[i], presences[i])
            for i in range(len(fragments))
        ]
        assert model._all_reasons(matrix, rows, labels, presences) == expected
    assert [list(s.reasons) for s in suggestions] == expected
    reasons = [r for s in suggestions for r in s.reasons]
    assert any(r.startswith("indicator") for r in reasons)
    assert any(r.startswith(("present: ", "absent: ")) for r in reasons)
