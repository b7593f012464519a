"""A classifier's head: dense layers with ReLU between them, then softmax (one class per text) or sigmoid
(multi-label), run with numpy.

On disk it is model2vec's: ``head.safetensors`` holds ``head.{i}.weight`` (out x in) and ``head.{i}.bias``
for each layer, and ``config.json``'s ``head_config`` holds ``n_layers``, ``activation`` and ``classes``,
so ``model2vec.inference.StaticModelPipeline.from_pretrained`` loads an m2v classifier and predicts the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from m2vcli.config import clip
from m2vcli.errors import ModelFormatError

HEAD_FILE = "head.safetensors"
MAX_HEAD_BYTES = 4 * 1024**3


class Activation(str, Enum):
    SOFTMAX = "softmax"
    SIGMOID = "sigmoid"


@dataclass
class Head:
    """``weights[i]`` (out x in, float32) and ``biases[i]``: ReLU after every layer but the last."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    activation: Activation

    @property
    def dim(self) -> int:
        return int(self.weights[0].shape[1])

    @property
    def outputs(self) -> int:
        return int(self.weights[-1].shape[0])

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        out = np.asarray(vectors, dtype=np.float32)
        last = len(self.weights) - 1
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            out = out @ weight.T + bias
            if i < last:
                np.maximum(out, 0.0, out=out)
        return out

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = self.logits(vectors)
        if self.activation is Activation.SIGMOID:
            # 1 / (1 + e^-x), written so that no exponent overflows
            e = np.exp(-np.abs(logits))
            return np.where(logits >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.float32)
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        return logits

    def tensors(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            out[f"head.{i}.weight"] = np.ascontiguousarray(weight, dtype=np.float32)
            out[f"head.{i}.bias"] = np.ascontiguousarray(bias, dtype=np.float32)
        return out


def head_config(head: Head, classes: list[Any]) -> dict[str, Any]:
    return {"n_layers": len(head.weights), "activation": head.activation.value, "classes": list(classes)}


def read_head(folder: Path, config: dict[str, Any], dim: int) -> tuple[Head, list[Any]]:
    """The head and classes of a classifier folder, every shape checked against the next layer's, the
    model's dimension and the number of classes."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    from m2vcli.files import read_limited

    source = folder / "config.json"
    spec = config.get("head_config")
    if not isinstance(spec, dict):
        raise ModelFormatError(f"{source} has no head_config object; {folder} is not a classifier")
    n_layers, activation, classes = spec.get("n_layers"), spec.get("activation"), spec.get("classes")
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or not 1 <= n_layers <= 64:
        raise ModelFormatError(
            f"{source}: head_config n_layers must be a whole number from 1 to 64, got {clip(n_layers)}"
        )
    if activation not in {a.value for a in Activation}:
        raise ModelFormatError(f"{source}: head_config activation must be softmax or sigmoid, got {clip(activation)}")
    if (
        not isinstance(classes, list)
        or not classes
        or not (all(isinstance(c, str) for c in classes) or all(type(c) is int for c in classes))
        or len(set(classes)) != len(classes)
    ):
        raise ModelFormatError(
            f"{source}: head_config classes must be a list of distinct labels, all text or all numbers"
        )
    path = folder / HEAD_FILE
    try:
        tensors = load(read_limited(path, "head file", MAX_HEAD_BYTES, ModelFormatError))
    except SafetensorError as exc:
        raise ModelFormatError(f"{path} is not a valid safetensors file: {exc}") from exc
    weights, biases = [], []
    width = dim
    for i in range(n_layers):
        weight, bias = tensors.get(f"head.{i}.weight"), tensors.get(f"head.{i}.bias")
        if weight is None or bias is None:
            raise ModelFormatError(
                f"{path} lacks head.{i}.weight or head.{i}.bias (head_config says {n_layers} layers)"
            )
        if weight.ndim != 2 or bias.shape != (weight.shape[0],) or weight.shape[1] != width:
            raise ModelFormatError(
                f"{path}: layer {i} has shape {list(weight.shape)} with bias {list(bias.shape)}, but its input is "
                f"{width} wide"
            )
        if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
            raise ModelFormatError(f"{path}: layer {i} holds NaN or infinite values")
        weights.append(weight.astype(np.float32))
        biases.append(bias.astype(np.float32))
        width = weight.shape[0]
    if width != len(classes):
        raise ModelFormatError(f"{path}: the head gives {width} outputs for {len(classes)} classes")
    return Head(weights, biases, Activation(activation)), classes
