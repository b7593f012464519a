"""m2v export --format onnx: the graph, run by onnxruntime on the exported tokenizer's ids, gives what m2v's
numpy path gives (vectors within 1e-5, probabilities within 1e-4), on unknown tokens, empty texts and texts
past the max length, for every storage type; bad outputs are refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from m2vcli import StaticEmbedder, train_classifier
from tests.classify.test_classifier import topic_texts
from tests.helpers import run_m2v, tiny_model, tiny_tokenizer

ort = pytest.importorskip("onnxruntime")

ODD = [
    "hello world",
    "the cat sat on the mat",
    "",
    "zzzz qqqq xxxx",  # nothing known
    "the zzzz cat [UNK] [CLS] dog",
    " ".join(["dangerous"] * 30 + ["movie"] * 30),  # past max_length
    "unbelievable going ! ?",
]


def run_export(folder: Path) -> np.ndarray:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    batch = tokenizer.encode_batch(ODD)
    ids = np.array([e.ids for e in batch], dtype=np.int64)
    mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
    return session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


def quantized_vocabulary_model() -> StaticEmbedder:
    """Rows shared by several tokens (a mapping) and a weight per token, as vocabulary quantization writes."""
    tok = tiny_tokenizer()
    vocab = tok.get_vocab_size()
    rng = np.random.default_rng(2)
    mapping = rng.integers(0, 12, size=vocab)
    weights = rng.uniform(0.2, 2.0, size=vocab).astype(np.float32)
    table = rng.normal(size=(12, 8)).astype(np.float32)
    return StaticEmbedder(
        table, tok.to_str(), config={"normalize": True, "max_length": 40}, weights=weights, mapping=mapping
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: tiny_model(config={"max_length": 40}),
        lambda: tiny_model(config={"normalize": True, "max_length": 40}),
        lambda: tiny_model(config={"normalize": True, "max_length": 40}).quantize("float16"),
        lambda: tiny_model(config={"normalize": True, "max_length": 40}).quantize("int8"),
        quantized_vocabulary_model,
    ],
    ids=["float32", "normalized", "float16", "int8", "mapping-and-weights"],
)
def test_an_exported_model_gives_encodes_vectors(make: object, tmp_path: Path) -> None:
    model = make()  # type: ignore[operator]
    model.save_pretrained(tmp_path / "model")
    ran = run_m2v("export", "-m", str(tmp_path / "model"), "-o", str(tmp_path / "onnx"))
    assert ran.returncode == 0, ran.stderr
    assert b"Exported the static model" in ran.stderr and b"'embeddings'" in ran.stderr
    got = run_export(tmp_path / "onnx")
    expected = StaticEmbedder.from_pretrained(tmp_path / "model").encode(ODD)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-5
    assert not got[2].any() and not got[3].any()  # empty and all-unknown: zeros
    names = sorted(p.name for p in (tmp_path / "onnx").iterdir())
    assert names == [
        "README.md",
        "config.json",
        "model.onnx",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]


def test_an_exported_classifier_gives_its_probabilities(tmp_path: Path) -> None:
    texts, labels = topic_texts()
    clf = train_classifier(tiny_model(dim=16), texts, labels, hidden_dim=16, epochs=5, show_progress_bar=False)  # type: ignore[arg-type]
    clf.save_pretrained(tmp_path / "clf")
    ran = run_m2v("export", "-m", str(tmp_path / "clf"), "--format", "onnx", "-o", str(tmp_path / "onnx"))
    assert ran.returncode == 0, ran.stderr
    got = run_export(tmp_path / "onnx")
    assert np.abs(got - clf.predict_proba(ODD)).max() < 1e-4
    config = json.loads((tmp_path / "onnx" / "config.json").read_text())
    assert config["id2label"] == {"0": "animals", "1": "danger", "2": "films"}


def test_an_empty_batch_of_empty_texts_runs(tiny_model_dir: Path, tmp_path: Path) -> None:
    assert run_m2v("export", "-m", str(tiny_model_dir), "-o", str(tmp_path / "onnx")).returncode == 0
    session = ort.InferenceSession(str(tmp_path / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"])
    empty = np.zeros((2, 0), dtype=np.int64)
    assert not session.run(None, {"input_ids": empty, "attention_mask": empty})[0].any()


def test_bad_outputs_are_refused_and_an_export_can_be_replaced(tiny_model_dir: Path, tmp_path: Path) -> None:
    ran = run_m2v("export", "-m", str(tiny_model_dir), "-o", str(tmp_path / "model.onnx"))
    assert ran.returncode == 1 and b"the export is a folder" in ran.stderr and b"-o " in ran.stderr
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    ran = run_m2v("export", "-m", str(tiny_model_dir), "-o", str(tmp_path / "notes"))
    assert ran.returncode == 1 and b"is not an ONNX export" in ran.stderr
    assert (tmp_path / "notes" / "todo.txt").read_text() == "keep me"
    for _ in range(2):  # an export is replaced by the next
        assert run_m2v("export", "-m", str(tiny_model_dir), "-o", str(tmp_path / "onnx")).returncode == 0
    ran = run_m2v("export", "-m", str(tiny_model_dir), "-o", str(tiny_model_dir / "inside"))
    assert ran.returncode == 1 and not (tiny_model_dir / "inside").exists()
    ran = run_m2v("export", "-m", str(tmp_path / "absent"), "-o", str(tmp_path / "x"))
    assert ran.returncode == 1 and not (tmp_path / "x").exists()
