"""One reader per model-folder fact: every command sees a folder the same way."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from m2vcli import StaticEmbedder
from m2vcli.errors import M2VError, ModelFormatError
from m2vcli.model.folder import ModelKind, model_kind, read_json, st_modules, teacher_of
from m2vcli.model.info import model_info
from m2vcli.model.modelcard import model_card
from m2vcli.teacher.loading import TeacherFolder, transformer_folder


def test_a_config_with_a_bom_and_no_modules_json_is_static_everywhere(tiny_model_dir: Path) -> None:
    (tiny_model_dir / "modules.json").unlink()
    config = tiny_model_dir / "config.json"
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())
    assert model_kind(tiny_model_dir) is ModelKind.STATIC
    assert model_info(str(tiny_model_dir)).kind is ModelKind.STATIC
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    model.save_pretrained(tiny_model_dir)  # saving over a static folder needs no --force


@pytest.mark.parametrize("kind", ["directory", "fifo", "loop"])
def test_a_config_that_is_not_a_regular_file_is_an_error_not_absent(tiny_model_dir: Path, kind: str) -> None:
    config = tiny_model_dir / "config.json"
    config.unlink()
    if kind == "directory":
        config.mkdir()
    elif kind == "fifo":
        os.mkfifo(config)
    else:
        config.symlink_to(config)
    expected = {"directory": "is a directory", "fifo": "is not a regular file", "loop": "cannot read"}[kind]
    for read in (StaticEmbedder.from_pretrained, model_info):
        with pytest.raises(M2VError, match=expected) as caught:
            read(str(tiny_model_dir))
        assert str(config) in str(caught.value) and "\n" not in str(caught.value)
    assert read_json(tiny_model_dir / "absent.json") is None


@pytest.mark.parametrize("path", ["../outside", "/etc", "a/../../b", "..\\up"])
def test_a_module_path_that_leaves_the_folder_is_refused_by_every_reader(tmp_path: Path, path: str) -> None:
    folder = tmp_path / "teacher"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    modules = [{"idx": 0, "name": "0", "path": path, "type": "sentence_transformers.models.Transformer"}]
    (folder / "modules.json").write_text(json.dumps(modules))
    for read in (
        lambda: st_modules(folder),
        lambda: transformer_folder(TeacherFolder("t", folder)),
        lambda: model_info(str(folder)),
    ):
        with pytest.raises(ModelFormatError, match="leaves the model folder"):
            read()


def test_the_teacher_of_a_model_is_read_with_one_precedence(tiny_model_dir: Path) -> None:
    from m2vcli.benchmark.settings import BenchConfig
    from m2vcli.benchmark.targets import resolve_targets

    config = json.loads((tiny_model_dir / "config.json").read_text())
    config.update(
        tokenizer_name="org/tokenizer", distillation={"teacher": "org/distilled"}, refinement={"teacher": "org/refined"}
    )
    (tiny_model_dir / "config.json").write_text(json.dumps(config))
    assert teacher_of(config) == "org/refined"
    info = model_info(str(tiny_model_dir))
    assert {f.key: f.value for f in info.facts}["teacher"] == "org/refined"
    assert 'base_model: "org/refined"' in model_card("m", config, rows=1, dim=1, vocab_size=1)
    said: list[str] = []
    resolve_targets(BenchConfig(models=(str(tiny_model_dir),)), said.append)
    assert any("org/refined" in line for line in said), said  # bench looks for that teacher
    assert teacher_of({"distillation": {"teacher": " "}, "tokenizer_name": "org/t"}) == "org/t"
