"""The transformer backend end to end, fully offline.

A tiny BERT and a WordPiece tokenizer are built here from our own Dutch text and saved as the
"base model"; it is fine-tuned for a few steps, saved, loaded and used to classify. Needs the
``transformer`` extra; without it these tests are skipped (the import checks still run).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from autocoder.codebook import load_codebook, parse_codebook
from autocoder.errors import CodebookMismatchError, ModelError
from autocoder.jsonl import write_records
from autocoder.records import Coding, Fragment, FragmentRecord, Presence

pytestmark = [pytest.mark.transformer, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "training_data" / "fragments.jsonl"
SEED = 7
STEPS = 20
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
EXTRA_MISSING = (
    "transformer extra not installed; install it with: "
    'pip install torch==2.13.0 && pip install "autocoder[transformer]"'
)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_importing_autocoder_imports_no_transformer_libraries() -> None:
    result = _run(
        """
        import sys
        import autocoder, autocoder.cli
        assert not {"torch", "transformers", "datasets"} & set(sys.modules), "package"
        import autocoder.classify.transformer, autocoder.modeldir, autocoder.pipeline
        import autocoder.transformer_dir
        # spaCy's thinc may import torch when it is installed; we import neither of these
        assert not {"transformers", "datasets"} & set(sys.modules), "modules"
        """
    )
    assert result.returncode == 0, result.stderr


def test_without_the_extra_the_error_says_how_to_install(tmp_path: Path) -> None:
    result = _run(
        f"""
        import sys

        class NotInstalled:  # as if torch, transformers and datasets were not installed
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in {{"torch", "transformers", "datasets"}}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

        sys.meta_path.insert(0, NotInstalled())
        from pathlib import Path
        from autocoder.classify.transformer import INSTALL_LINE
        from autocoder.transformer_dir import train_transformer_to_dir
        from autocoder.errors import OptionalDependencyError
        base = Path({str(tmp_path)!r})
        (base / "config.json").write_text("{{}}")
        (base / "model.safetensors").write_bytes(b"")
        try:
            train_transformer_to_dir([Path("x.jsonl")], base / "out", None, base)
        except OptionalDependencyError as exc:
            assert INSTALL_LINE in str(exc), exc
            print(exc)
        else:
            raise SystemExit("no OptionalDependencyError")
        """
    )
    assert result.returncode == 0, result.stderr
    assert 'pip install torch==2.13.0 && pip install "autocoder[transformer]"' in result.stdout


# --- fixtures: a tiny local base model and a small training set ------------------------------


@pytest.fixture(scope="module")
def libs():
    for name in ("torch", "transformers", "tokenizers", "datasets", "safetensors"):
        pytest.importorskip(name, reason=EXTRA_MISSING)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest and steadiest
    yield torch
    torch.set_num_threads(threads)


def _corpus_records() -> list[FragmentRecord]:
    """Coded fragments: up to 30 from each of 8 reports of our corpus, or written here."""
    codebook = load_codebook(None)
    if CORPUS.is_file():
        from autocoder.train import load_training_records

        by_report: dict[str, list[FragmentRecord]] = {}
        for record in load_training_records([CORPUS], codebook).records:
            by_report.setdefault(record.fragment.report, []).append(record)
        return [r for records in list(by_report.values())[:8] for r in records[:30]]
    records = []
    codes = codebook.codes[:4]
    for report in range(8):
        for i, code in enumerate(codes):
            for j, indicator in enumerate(code.indicators[:5]):
                present = (i + j + report) % 2 == 0
                text = (
                    f"Over {indicator} zegt de respondent dat het "
                    f"{'goed geregeld is' if present else 'helaas niet geregeld is'}."
                )
                coding = Coding(code.id, Presence.PRESENT if present else Presence.ABSENT)
                records.append(_record(f"r{report}", len(records), text, coding))
        for j, filler in enumerate(("werkt sinds 2015", "is jeugdarts", "komt uit Leiden")):
            text = f"De respondent {filler} en vertelt over haar loopbaan ({report}, {j})."
            records.append(_record(f"r{report}", len(records), text, Coding(None)))
    return records


def _record(report: str, n: int, text: str, coding: Coding) -> FragmentRecord:
    fragment = Fragment(f"{report}:{n}", report, 0, len(text), text)
    return FragmentRecord(fragment, coding)


@pytest.fixture(scope="module")
def records(libs) -> list[FragmentRecord]:
    return _corpus_records()


@pytest.fixture(scope="module")
def base_model(libs, records, tmp_path_factory) -> Path:
    """A tiny BERT and a WordPiece tokenizer trained on our Dutch text, saved locally."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    texts = [r.fragment.text for r in records[:200]]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=1000, special_tokens=SPECIALS)
    )
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    base = tmp_path_factory.mktemp("base") / "tiny-bert-nl"
    libs.manual_seed(0)
    BertModel(config).save_pretrained(base)
    wrapped.save_pretrained(base)
    return base


def _train(records, base_model):
    from autocoder.train import training_set
    from autocoder.transformer_dir import train_transformer

    return train_transformer(
        training_set(records),
        load_codebook(None),
        base_model,
        seed=SEED,
        max_steps=STEPS,
        batch_size=8,
        max_length=64,
        model_id="tiny",
    )


@pytest.fixture(scope="module")
def trained(records, base_model, tmp_path_factory):
    from autocoder.pipeline import codebook_source
    from autocoder.transformer_dir import save_transformer

    model = _train(records, base_model)
    directory = tmp_path_factory.mktemp("models") / "tiny"
    save_transformer(model, directory, codebook_source(None))
    return model, directory


@pytest.fixture(scope="module")
def fragments(records) -> list[Fragment]:
    return [r.fragment for r in records[-20:]]


def _probs(model, fragments):
    docs = model.docs(fragments)
    return model.suggester.predict_proba(model.suggester.transform(docs))


# --- tests -------------------------------------------------------------------------------------


def test_saved_directory_holds_safetensors_and_no_pickles(trained) -> None:
    model, directory = trained
    names = {p.name for p in directory.iterdir()}
    assert {"meta.json", "codebook.yaml", "config.json", "model.safetensors"} <= names
    assert "tokenizer.json" in names
    assert not [p for p in directory.rglob("*") if p.suffix in {".bin", ".pt", ".pkl", ".pth"}]
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    assert meta["backend"] == "transformer"
    assert meta["model_id"] == model.model_id
    assert meta["codebook_hash"] == load_codebook(None).hash
    assert meta["settings"]["steps"] == STEPS
    assert meta["n_fragments"] == 240 or not CORPUS.is_file()
    assert meta["calibration_fragments"] > 0  # 8 reports: temperatures on held-out reports
    assert meta["temperatures"]["factor"] > 0
    assert {"torch", "transformers", "safetensors"} <= set(meta["versions"])
    assert "model.safetensors" in meta["weights_sha256"]


def test_classifies_through_suggestion_model(trained, fragments) -> None:
    from autocoder.classify.transformer import TransformerSuggester
    from autocoder.transformer_dir import load_any_model

    _, directory = trained
    model = load_any_model(directory)  # dispatches on meta["backend"]
    assert isinstance(model.suggester, TransformerSuggester)
    labels = model.suggester.labels
    suggestions = model.suggest(fragments)
    assert len(suggestions) == len(fragments)
    for s in suggestions:
        assert s.factor is None or s.factor in model.codebook.ids
        assert set(s.factor_probs) == set(labels)
        assert sum(s.factor_probs.values()) == pytest.approx(1.0, abs=2e-3)
        assert 0.0 <= s.confidence <= 1.0
        assert s.presence_prob is None or 0.0 <= s.presence_prob <= 1.0
        if s.factor is None:
            assert s.presence is None
        assert s.reasons and all(isinstance(r, str) and r for r in s.reasons)
        assert s.model == "tiny"
    never = set(model.meta["never_suggested"])
    assert all(s.factor_probs[label] == 0.0 for s in suggestions for label in never)


def test_reasons_fall_back_when_explanations_are_off(trained, fragments) -> None:
    from autocoder.classify.transformer import FALLBACK_REASON

    model, _ = trained
    model.suggester.explain = False
    try:
        suggestions = model.suggest(fragments[:3])
    finally:
        model.suggester.explain = True
    assert all(s.reasons == (FALLBACK_REASON,) for s in suggestions)


def test_same_seed_same_model_and_saved_equals_in_memory(
    trained, records, base_model, fragments
) -> None:
    from autocoder.transformer_dir import load_any_model

    model, directory = trained
    probs, present = _probs(model, fragments)
    again, again_present = _probs(_train(records, base_model), fragments)
    np.testing.assert_array_equal(probs, again)
    np.testing.assert_array_equal(present, again_present)
    loaded, loaded_present = _probs(load_any_model(directory), fragments)
    np.testing.assert_allclose(probs, loaded, rtol=0, atol=1e-6)
    np.testing.assert_allclose(present, loaded_present, rtol=0, atol=1e-6)


def test_codebook_mismatch_is_refused(trained) -> None:
    from autocoder.transformer_dir import load_any_model

    _, directory = trained
    text = (directory / "codebook.yaml").read_text(encoding="utf-8")
    other = parse_codebook(text.replace("name: Concretisering", "name: Concreet", 1))
    assert other.hash != load_codebook(None).hash
    with pytest.raises(CodebookMismatchError, match="retrain"):
        load_any_model(directory, other)
    assert load_any_model(directory, load_codebook(None)).model_id == "tiny"


@pytest.mark.parametrize("name", ["pytorch_model.bin", "extra.pkl", "training_args.pt"])
def test_pickle_capable_files_are_refused(trained, tmp_path: Path, name: str) -> None:
    from autocoder.transformer_dir import load_any_model

    _, directory = trained
    copy = shutil.copytree(directory, tmp_path / "copy")
    (copy / name).write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ModelError, match="pickle"):
        load_any_model(copy)


def test_tampered_weights_are_refused(trained, tmp_path: Path) -> None:
    from autocoder.transformer_dir import load_any_model

    _, directory = trained
    copy = shutil.copytree(directory, tmp_path / "copy")
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"model\.safetensors does not match its manifest"):
        load_any_model(copy)


def test_base_model_that_is_missing_or_not_hf_is_a_clear_error(
    libs, records, tmp_path: Path
) -> None:
    from autocoder.train import training_set
    from autocoder.transformer_dir import train_transformer

    data = training_set(records[:40])
    codebook = load_codebook(None)
    with pytest.raises(ModelError, match="not found"):
        train_transformer(data, codebook, tmp_path / "nope", max_steps=1)
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("not a model")
    with pytest.raises(ModelError, match=r"no config\.json"):
        train_transformer(data, codebook, tmp_path / "plain", max_steps=1)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "bert"}')
    (broken / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="not a usable Hugging Face model"):
        train_transformer(data, codebook, broken, max_steps=1)


def test_cli_train_and_classify(base_model, records, fragments, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from autocoder.cli import app

    data = tmp_path / "train.jsonl"
    subset = records[::3]  # 80 fragments from our corpus: 3 epochs of 5 steps
    write_records(data, subset)
    inputs = tmp_path / "in.jsonl"
    write_records(inputs, [FragmentRecord(f) for f in fragments[:5]])
    out_dir, out = tmp_path / "cli-model", tmp_path / "out.jsonl"
    runner = CliRunner()
    train = ["train", "--data", str(data), "--out", str(out_dir), "--backend", "transformer"]
    result = runner.invoke(
        app, [*train, "--backend", "transformer", "--base-model", str(base_model)]
    )
    assert result.exit_code == 0, result.output
    assert f"trained 'cli-model' on {len(subset)} fragments" in result.output
    result = runner.invoke(
        app, ["classify", str(inputs), "--model", str(out_dir), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 5
    assert all(line["suggestion"]["model"] == "cli-model" for line in lines)
    assert all(line["suggestion"]["reasons"] for line in lines)
