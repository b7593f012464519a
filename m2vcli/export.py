"""``m2v export --format onnx``: a static model or a classifier as one ONNX graph, with its tokenizer.

The graph takes what transformers-style runtimes give a model (and what model2vec's ONNX exports take):
``input_ids`` and ``attention_mask``, int64, (batch, sequence), padded. It gives ``embeddings`` (batch,
dim) float32 for a static model and ``probabilities`` (batch, classes) for a classifier, computed as
``StaticEmbedder.encode`` computes: unknown tokens and padding left out, the mean of the rest (token
weights and a vocabulary mapping applied), L2-normalized when the model normalizes; a text with no known
token gives zeros. The graph is built node by node with ``onnx`` (no torch, no tracing).

Beside ``model.onnx``: ``tokenizer.json`` (no special tokens added, truncation at the model's
``max_length``, padding on), ``tokenizer_config.json``, ``special_tokens_map.json``, ``config.json``
(``pad_token_id``; a classifier's ``id2label``) and a ``README.md``. The folder is written atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from m2vcli.errors import ConfigError, MissingValueError, OutputError
from m2vcli.model import StaticEmbedder

OPSET = 18
ONNX_FILE = "model.onnx"


class ExportFormat(str, Enum):
    onnx = "onnx"


@dataclass(frozen=True)
class ExportConfig:
    model: str | None = None
    output: str | None = None
    format: ExportFormat = ExportFormat.onnx
    force: bool = False

    def __post_init__(self) -> None:
        from m2vcli.config import coerce_enum

        coerce_enum(self, "format", ExportFormat)
        if not self.model:
            raise MissingValueError("no model given: pass --model/-m FOLDER", option="--model")
        if not self.output:
            raise MissingValueError("no output folder given: pass --output/-o FOLDER", option="--output")
        if str(self.output).lower().endswith(".onnx"):
            stem = str(self.output)[: -len(".onnx")] or "model"
            raise ConfigError(
                f"the export is a folder (model.onnx and the tokenizer files beside it); pass -o {stem}_onnx",
                key="output",
            )


@dataclass(frozen=True)
class ExportResult:
    output: str
    kind: str  # "static model" or "classifier"
    outputs: str  # the graph's output name
    bytes: int


def _graph(model: StaticEmbedder, head: Any | None) -> Any:
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(value, name))
        return name

    def node(op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    table = model.embeddings
    scale = float(model.config.get("embedding_scale", 1.0))
    const("table", np.ascontiguousarray(table))
    const("axis1", np.array([1], dtype=np.int64))
    const("axis2", np.array([2], dtype=np.int64))
    const("one", np.array(1.0, dtype=np.float32))
    const("tiny", np.array(np.finfo(np.float32).tiny, dtype=np.float32))
    mask = node("Cast", ["attention_mask"], "mask", to=TensorProto.FLOAT)
    if model.unk_id is not None:
        const("unk", np.array(model.unk_id, dtype=np.int64))
        is_unk = node("Equal", ["input_ids", "unk"], "is_unk")
        known = node("Cast", [node("Not", [is_unk], "not_unk")], "known", to=TensorProto.FLOAT)
        mask = node("Mul", [mask, known], "kept")
    rows = "input_ids"
    if model.mapping is not None:
        const("mapping", np.ascontiguousarray(model.mapping.astype(np.int64)))
        rows = node("Gather", ["mapping", "input_ids"], "rows")
    vectors = node("Gather", ["table", rows], "token_vectors")
    if table.dtype != np.float32:
        vectors = node("Cast", [vectors], "token_vectors_f32", to=TensorProto.FLOAT)
    if scale != 1.0:
        const("scale", np.array(scale, dtype=np.float32))
        vectors = node("Mul", [vectors, "scale"], "scaled")
    weighting = mask
    if model.weights is not None:
        const("weights", np.ascontiguousarray(model.weights.astype(np.float32)))
        weighting = node("Mul", [mask, node("Gather", ["weights", "input_ids"], "token_weights")], "weighted")
    spread = node("Unsqueeze", [weighting, "axis2"], "spread")
    summed = node("ReduceSum", [node("Mul", [vectors, spread], "masked"), "axis1"], "summed", keepdims=0)
    count = node("Max", [node("ReduceSum", [mask, "axis1"], "count", keepdims=1), "one"], "count_at_least_1")
    out = node("Div", [summed, count], "mean")
    if model.normalize:
        squares = node("ReduceSum", [node("Mul", [out, out], "squares"), "axis1"], "norm2", keepdims=1)
        norm = node("Max", [node("Sqrt", [squares], "norm"), "tiny"], "norm_safe")
        out = node("Div", [out, norm], "normalized")
    output_name = "embeddings"
    if head is not None:
        last = len(head.weights) - 1
        for i, (weight, bias) in enumerate(zip(head.weights, head.biases, strict=True)):
            w = const(f"head_{i}_weight_t", np.ascontiguousarray(weight.T.astype(np.float32)))
            b = const(f"head_{i}_bias", bias.astype(np.float32))
            out = node("Add", [node("MatMul", [out, w], f"head_{i}_matmul"), b], f"head_{i}")
            if i < last:
                out = node("Relu", [out], f"head_{i}_relu")
        activation = "Sigmoid" if head.activation.value == "sigmoid" else "Softmax"
        out = node(activation, [out], "probs", **({"axis": -1} if activation == "Softmax" else {}))
        output_name = "probabilities"
    nodes.append(helper.make_node("Identity", [out], [output_name], name=output_name))
    width = head.outputs if head is not None else model.dim
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch_size", "sequence_length"])
        for name in ("input_ids", "attention_mask")
    ]
    outputs = [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch_size", width])]
    graph = helper.make_graph(nodes, "m2v_static_model", inputs, outputs, initializer=inits)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="m2v")
    onnx_model.ir_version = 8  # what runtimes of the last years read
    return onnx_model, output_name


def _pad(model: StaticEmbedder) -> tuple[int, str]:
    tokenizer = model.tokenizer
    for token in ("[PAD]", "<pad>", "<|pad|>"):
        found = tokenizer.token_to_id(token)
        if found is not None:
            return found, token
    pad_id = model.unk_id if model.unk_id is not None else 0
    return pad_id, tokenizer.id_to_token(pad_id) or ""


def _tokenizer_files(folder: Path, model: StaticEmbedder, classes: list[Any] | None) -> None:
    from tokenizers import Tokenizer

    spec = json.loads(model.tokenizer_json)
    spec["post_processor"] = None  # the graph averages tokens: [CLS] and [SEP] would be two more
    tokenizer = Tokenizer.from_str(json.dumps(spec))
    pad_id, pad_token = _pad(model)
    limit = model.max_length
    if limit is not None:
        tokenizer.enable_truncation(limit)
    else:
        tokenizer.no_truncation()
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
    tokenizer.save(str(folder / "tokenizer.json"))
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": limit if limit is not None else 1_000_000,
        "pad_token": pad_token,
        "clean_up_tokenization_spaces": False,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n", encoding="utf-8")
    (folder / "special_tokens_map.json").write_text(json.dumps({"pad_token": pad_token}, indent=2) + "\n")
    config: dict[str, Any] = {"pad_token_id": pad_id, "hidden_size": model.dim, "normalize": model.normalize}
    if classes is not None:
        config["id2label"] = {str(i): c for i, c in enumerate(classes)}
        config["label2id"] = {str(c): i for i, c in enumerate(classes)}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _card(name: str, source: str, kind: str, output_name: str) -> str:
    return (
        f"---\nlibrary_name: onnx\ntags:\n- m2v\n- static-embeddings\n- onnx\n---\n\n# {name}\n\n"
        f"An ONNX export of the m2v {kind} `{source}`.\n\n"
        f"Inputs: `input_ids` and `attention_mask` (int64, batch x sequence) from `tokenizer.json`, which adds no "
        f"special tokens and truncates as the model does. Output: `{output_name}`.\n\n"
        "```python\nimport numpy as np, onnxruntime as ort\nfrom tokenizers import Tokenizer\n\n"
        f'tok = Tokenizer.from_file("{name}/tokenizer.json")\n'
        f'session = ort.InferenceSession("{name}/model.onnx")\n'
        'batch = tok.encode_batch(["It\'s dangerous to go alone!"])\n'
        "ids = np.array([e.ids for e in batch], dtype=np.int64)\n"
        "mask = np.array([e.attention_mask for e in batch], dtype=np.int64)\n"
        f'{output_name} = session.run(None, {{"input_ids": ids, "attention_mask": mask}})[0]\n```\n'
    )


def export_model(cfg: ExportConfig) -> ExportResult:
    """Write ``cfg.model`` (a static model or a classifier) as an ONNX folder at ``cfg.output``."""
    from m2vcli.classify.classifier import StaticClassifier
    from m2vcli.extras import require
    from m2vcli.files import atomic_folder, check_not_read, local_path
    from m2vcli.model.folder import is_classifier
    from m2vcli.model.persistence import resolve_model_folder

    require("onnx", "exporting to ONNX")
    assert cfg.model and cfg.output
    target = Path(cfg.output)
    check_not_read(target, [local_path(cfg.model)], "output folder")
    if target.exists():
        if not target.is_dir():
            raise OutputError(f"{target} exists and is a file, not a folder")
        if any(target.iterdir()) and not (target / ONNX_FILE).is_file() and not cfg.force:
            raise OutputError(f"{target} exists and is not an ONNX export; choose another path or pass --force")
    folder = resolve_model_folder(cfg.model)
    head = classes = None
    if is_classifier(folder):
        classifier = StaticClassifier.from_pretrained(folder)
        model, head, classes = classifier.embedder, classifier.head, classifier.classes
    else:
        model = StaticEmbedder.from_pretrained(folder)
    onnx_model, output_name = _graph(model, head)
    kind = "classifier" if head is not None else "static model"

    def fill(tmp: Path) -> None:
        import onnx

        onnx.save_model(onnx_model, str(tmp / ONNX_FILE))
        _tokenizer_files(tmp, model, classes)
        (tmp / "README.md").write_text(_card(target.name or "model", str(cfg.model), kind, output_name), "utf-8")

    atomic_folder(target, fill)
    return ExportResult(str(target), kind, output_name, (target / ONNX_FILE).stat().st_size)
