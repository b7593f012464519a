"""m2v push and StaticEmbedder.push_to_hub, through huggingface_hub's own upload API, against a local HTTP
endpoint that answers the hub's upload calls and records them (HF_ENDPOINT points huggingface_hub there)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from m2vcli import StaticEmbedder
from tests.helpers import run_m2v


class FakeHub:
    """Answers create-repo, create-branch, validate-yaml, preupload and commit; records every request."""

    def __init__(self, refuse: int | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.refuse = refuse
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hub.calls.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                if hub.refuse:
                    return self._reply(hub.refuse, {"error": "refused"})
                if self.path == "/api/repos/create":
                    payload = json.loads(body)
                    return self._reply(200, {"url": f"{hub.url}/{payload['organization']}/{payload['name']}"})
                if self.path == "/api/validate-yaml":
                    return self._reply(200, {"errors": [], "warnings": []})
                if "/preupload/" in self.path:
                    files = json.loads(body)["files"]
                    return self._reply(200, {"files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files
                    ]})  # fmt: skip
                if "/commit/" in self.path:
                    return self._reply(200, {"commitUrl": f"{hub.url}/org/name/commit/abc123", "commitOid": "abc123",
                                             "pullRequestUrl": None})  # fmt: skip
                if "/branch/" in self.path:
                    return self._reply(200, {})
                return self._reply(404, {"error": f"no route {self.path}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def committed(self) -> dict[str, bytes]:
        """The files of the last commit, by path."""
        commit = next(c for c in reversed(self.calls) if "/commit/" in c["path"])
        files = {}
        for line in commit["body"].decode().splitlines():
            item = json.loads(line)
            if item.get("key") == "file":
                files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
        return files


def _online(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub switched on, for m2v (the environment) and for huggingface_hub (which read it at import)."""
    import huggingface_hub.constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    server = FakeHub()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    _online(monkeypatch)
    yield server
    server.server.shutdown()


def _results(tmp_path: Path, model: str, damaged: bool = False) -> Path:
    folder = tmp_path / "results" / "m"
    folder.mkdir(parents=True)
    for task, category, score in (
        ("STSBenchmark", "STS", 0.8123),
        ("SimLex999", "WordSim", 0.4),
        ("SICK-R", "STS", 0.7),
    ):
        block = {"model": model, "category": category, "main_score": score}
        (folder / f"{task}.json").write_text(json.dumps({"task_name": task, "m2v": block}))
    if damaged:
        (folder / "broken.json").write_text("{not json")
    return tmp_path / "results"


def test_push_uploads_the_model_with_a_card_of_its_scores(hub: FakeHub, tiny_model_dir: Path, tmp_path: Path) -> None:
    results = _results(tmp_path, str(tiny_model_dir), damaged=True)
    proc = run_m2v("push", str(tiny_model_dir), "org/name", "--results", str(results))
    assert proc.returncode == 0, proc.stderr
    paths = [c["path"] for c in hub.calls]
    assert paths[0] == "/api/repos/create" and json.loads(hub.calls[0]["body"])["organization"] == "org"
    assert any(p.startswith("/api/models/org/name/preupload/main") for p in paths)
    assert all(c["auth"] == "Bearer hf_test_token" for c in hub.calls)
    files = hub.committed()
    assert {"model.safetensors", "tokenizer.json", "config.json", "README.md"} <= set(files)
    assert files["model.safetensors"] == (tiny_model_dir / "model.safetensors").read_bytes()
    card = files["README.md"].decode()
    assert "model-index:" in card and 'name: "STSBenchmark"' in card and "value: 81.23" in card
    assert "| STS | STSBenchmark | 81.23 |" in card and "| STS | mean of 2 | 75.62 |" in card
    assert b"broken.json" in proc.stderr and b"3 scores on the card" in proc.stderr
    loaded = StaticEmbedder.from_pretrained(tiny_model_dir)
    assert loaded.card is None or "model-index" not in loaded.card  # the local folder is left as it was


def test_push_to_hub_from_python_with_a_branch(hub: FakeHub, tmp_path: Path) -> None:
    from tests.helpers import tiny_model

    url = tiny_model().push_to_hub("org/name", revision="v2", private=True, scores={"STS": {"STSBenchmark": 80.0}})
    assert url.endswith("/commit/abc123")
    assert json.loads(hub.calls[0]["body"]).get("visibility") == "private"
    assert any(c["path"].startswith("/api/models/org/name/branch/v2") for c in hub.calls)
    assert any(c["path"].startswith("/api/models/org/name/commit/v2") for c in hub.calls)
    assert "| STS | STSBenchmark | 80.00 |" in hub.committed()["README.md"].decode()


@pytest.mark.parametrize(
    "args, env, message",
    [
        (["bad name!"], {}, "is not a valid hub repository name"),
        (["a/b/c"], {}, "is not a valid hub repository name"),
        (["org/na--me"], {}, "is not a valid hub repository name"),
        (["org/name"], {"HF_TOKEN": ""}, "no Hugging Face token"),
        (["org/name", "--token", " "], {}, "the token is empty"),
        (["org/name"], {"HF_HUB_OFFLINE": "1"}, "cannot push: HF_HUB_OFFLINE is set"),
        (["org/name", "--revision", "a..b"], {}, "revision must be a branch name"),
    ],
)
def test_bad_pushes_are_one_line_and_send_nothing(
    hub: FakeHub, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    args: list[str], env: dict[str, str], message: str,
) -> None:  # fmt: skip
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # no token saved by hf auth login either
    proc = run_m2v("push", str(tiny_model_dir), *args, env=env)
    assert proc.returncode == 1 and proc.stderr.count(b"\n") == 1 and message.encode() in proc.stderr, proc.stderr
    assert hub.calls == []


def test_a_folder_that_is_not_a_static_model_is_refused(hub: FakeHub, tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    proc = run_m2v("push", str(tmp_path / "notes"), "org/name")
    assert proc.returncode == 1 and b"is not a static model folder" in proc.stderr and hub.calls == []


def test_a_refused_or_unreachable_hub_is_one_line(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refusing = FakeHub(refuse=403)
    _online(monkeypatch)
    monkeypatch.setenv("HF_ENDPOINT", refusing.url)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    proc = run_m2v("push", str(tiny_model_dir), "org/name")
    last = proc.stderr.decode().splitlines()[-1]
    assert proc.returncode == 1 and proc.stderr.count(b"Error") == 1 and "the token cannot write there" in last
    refusing.server.shutdown()
    refusing.server.server_close()
    monkeypatch.setenv("HF_ENDPOINT", refusing.url)  # nothing listens there now
    proc = run_m2v("push", str(tiny_model_dir), "org/name")
    last = proc.stderr.decode().splitlines()[-1]
    assert (
        proc.returncode == 1 and proc.stderr.count(b"Error") == 1 and last.startswith("Error: cannot push to org/name")
    )


def test_damaged_scores_leave_a_card_without_scores(hub: FakeHub, tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "x.json").write_bytes(b"\xff\xfe not json")
    proc = run_m2v("push", str(tiny_model_dir), "org/name", "--results", str(folder))
    assert proc.returncode == 0, proc.stderr
    assert b"no scores found" in proc.stderr and b"x.json" in proc.stderr
    assert "model-index" not in hub.committed()["README.md"].decode()
