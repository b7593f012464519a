"""The README.md model card written next to every saved model."""

from __future__ import annotations

import json
from typing import Any

from m2vcli.model.folder import teacher_of

_SKIP = {"model_type", "architectures"}


Scores = dict[str, dict[str, float]]  # category -> task -> main score (x100)


def model_card(
    name: str, config: dict[str, Any], *, rows: int, dim: int, vocab_size: int, scores: Scores | None = None
) -> str:
    """A model card: hub metadata, usage with m2v, model2vec and sentence-transformers, settings, and the
    ``m2v evaluate`` scores when given (as the hub's model-index metadata and as a table)."""
    base = teacher_of(config)
    lines = ["---"]
    if base:
        lines.append(f"base_model: {json.dumps(str(base))}")
    if scores:
        lines += _model_index(name, scores)
    lines += [
        "library_name: model2vec",
        "license: mit",
        "tags:",
        "- embeddings",
        "- static-embeddings",
        "- sentence-transformers",
        "- m2v",
        "---",
        "",
        f"# {name}",
        "",
        "A static embedding model made with m2v: one vector per token, and a text's vector is the mean of",
        "its tokens' vectors. It encodes text hundreds of times faster than the Sentence Transformer it was",
        "distilled from.",
        "",
        f"- vocabulary: {vocab_size:,} tokens; embedding table: {rows:,} x {dim}",
        f"- teacher: {base or 'unknown'}",
        "",
        "## Usage",
        "",
        "```bash",
        f"echo 'It is dangerous to go alone!' | m2v encode --model {name} --format jsonl",
        "```",
        "",
        "```python",
        "from m2vcli import StaticEmbedder",
        "",
        f'model = StaticEmbedder.from_pretrained("{name}")',
        'vectors = model.encode(["It is dangerous to go alone!", "It is a secret to everyone."])',
        "```",
        "",
        "The folder also loads in `model2vec.StaticModel.from_pretrained` and in",
        "`sentence_transformers.SentenceTransformer`.",
        "",
        "## Settings",
        "",
        "| setting | value |",
        "|---|---|",
    ]
    refinement = config.get("refinement")
    if isinstance(refinement, dict):
        lines[lines.index("## Usage") : lines.index("## Usage")] = _refinement_lines(refinement)
    if scores:
        lines[lines.index("## Usage") : lines.index("## Usage")] = _score_lines(scores)
    for key, value in config.items():
        if key in _SKIP or key == "refinement":
            continue
        text = json.dumps(value) if isinstance(value, dict | list) else str(value)
        lines.append(f"| {key} | {text.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def _refinement_lines(record: dict[str, Any]) -> list[str]:
    """The card's account of a refinement (``m2v refine``): what the model was trained on, and how."""
    found, timed = record.get("corpus"), record.get("seconds")
    corpus: dict[str, Any] = found if isinstance(found, dict) else {}
    seconds: dict[str, Any] = timed if isinstance(timed, dict) else {}
    rows = [
        ("corpus", corpus.get("name")),
        ("texts", corpus.get("texts")),
        ("corpus sha256", corpus.get("sha256")),
        ("teacher", record.get("teacher")),
        ("epochs / steps (best)", f"{record.get('epochs')} / {record.get('steps')} ({record.get('best_step')})"),
        ("held-out loss", f"{record.get('initial_validation_loss')} -> {record.get('validation_loss')}"),
        (
            "loss / learning rate / batch",
            f"{record.get('loss')} / {record.get('learning_rate')} / {record.get('batch_size')}",
        ),
        ("seconds", ", ".join(f"{k} {v}" for k, v in seconds.items())),
    ]
    lines = [
        "## Refinement",
        "",
        "After distillation, the token table was trained so that the model reproduces the teacher's vector",
        "of each text of an unlabeled corpus (`m2v refine`).",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {key} | {str(value).replace('|', '/')} |" for key, value in rows]
    return [*lines, ""]


def _model_index(name: str, scores: Scores) -> list[str]:
    """The hub's ``model-index`` front matter: one result per task, its main score as the metric."""
    lines = ["model-index:", f"- name: {json.dumps(name)}", "  results:"]
    for category in sorted(scores):
        for task in sorted(scores[category]):
            lines += [
                "  - task:",
                f"      type: {json.dumps(category)}",
                "    dataset:",
                f"      name: {json.dumps(task)}",
                f"      type: {json.dumps(task)}",
                "    metrics:",
                "    - type: main_score",
                f"      value: {round(float(scores[category][task]), 2)}",
            ]
    return lines


def _score_lines(scores: Scores) -> list[str]:
    """The card's table of ``m2v evaluate`` scores, by category and task, with each category's mean."""
    lines = ["## Evaluation", "", "Scores from `m2v evaluate` (main score x 100).", "", "| category | task | score |"]
    lines.append("|---|---|---|")
    for category in sorted(scores):
        tasks = scores[category]
        for task in sorted(tasks):
            lines.append(f"| {category} | {task.replace('|', '/')} | {tasks[task]:.2f} |")
        if len(tasks) > 1:
            lines.append(f"| {category} | mean of {len(tasks)} | {sum(tasks.values()) / len(tasks):.2f} |")
    return [*lines, ""]
