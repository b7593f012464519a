"""``m2v encode`` end to end: real processes, exit codes, stdout/stderr split, every error path."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from m2vcli import StaticEmbedder
from m2vcli.cli import app
from m2vcli.encoding import EncodeConfig, InputErrors
from m2vcli.encoding.vector_io import OutputFormat
from tests.helpers import Ran, run_m2v


def m2v(*args: str, stdin: bytes = b"", cwd: Path | None = None, env: dict[str, str] | None = None) -> Ran:
    return run_m2v(*args, stdin=stdin, cwd=cwd, env=env)


def one_line_error(proc: Ran, code: int = 1) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert proc.stdout == b""
    return err


TEXTS = ["Hello world", "", "the cat sat on the mat", "☃"]


def test_stdin_to_stdout_npy_in_order(tiny_model_dir: Path) -> None:
    proc = m2v("encode", "--model", str(tiny_model_dir), stdin="\n".join(TEXTS).encode() + b"\n")
    assert proc.returncode == 0, proc.stderr.decode()
    vectors = np.load(io.BytesIO(proc.stdout))
    expected = StaticEmbedder.from_pretrained(tiny_model_dir).encode(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (4, 8)
    np.testing.assert_allclose(vectors, expected, rtol=1e-6)
    assert not vectors[1].any() and not vectors[3].any()


@pytest.mark.parametrize("suffix", [".npy", ".jsonl", ".safetensors"])
def test_output_file_format_from_extension(tiny_model_dir: Path, tmp_path: Path, suffix: str) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\r\n".join(TEXTS), encoding="utf-8")
    out = tmp_path / f"out{suffix}"
    proc = m2v("encode", str(source), "-m", str(tiny_model_dir), "-o", str(out))
    assert proc.returncode == 0 and proc.stdout == b""
    assert "Encoded 4 lines" in proc.stderr.decode()
    expected = StaticEmbedder.from_pretrained(tiny_model_dir).encode(TEXTS)
    if suffix == ".npy":
        got = np.load(out)
    elif suffix == ".jsonl":
        got = np.array([json.loads(line) for line in out.read_text().splitlines()], dtype=np.float32)
    else:
        from safetensors.numpy import load_file

        got = load_file(str(out))["embeddings"]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.txt", out.name, "tiny_model"])


def test_options_reach_the_vectors(tiny_model_dir: Path) -> None:
    text = b"the cat sat on the mat\n"
    base = np.load(io.BytesIO(m2v("encode", "-m", str(tiny_model_dir), stdin=text).stdout))
    unit = np.load(io.BytesIO(m2v("encode", "-m", str(tiny_model_dir), "--normalize", stdin=text).stdout))
    short = np.load(io.BytesIO(m2v("encode", "-m", str(tiny_model_dir), "--max-length", "2", stdin=text).stdout))
    assert np.isclose(np.linalg.norm(unit[0]), 1.0, atol=1e-6) and not np.isclose(np.linalg.norm(base[0]), 1.0)
    expected = StaticEmbedder.from_pretrained(tiny_model_dir).encode("the cat", max_length=None)
    np.testing.assert_allclose(short[0], expected, rtol=1e-6)


def test_empty_stdin_gives_an_empty_matrix(tiny_model_dir: Path) -> None:
    proc = m2v("encode", "-m", str(tiny_model_dir), stdin=b"")
    assert proc.returncode == 0
    assert np.load(io.BytesIO(proc.stdout)).shape == (0, 8)


def test_invalid_utf8_names_the_line_or_is_replaced(tiny_model_dir: Path) -> None:
    data = b"fine\nalso fine\nbad \xff byte\n"
    err = one_line_error(m2v("encode", "-m", str(tiny_model_dir), stdin=data))
    assert "line 3 is not valid UTF-8" in err and "--errors replace" in err
    proc = m2v("encode", "-m", str(tiny_model_dir), "--errors", "replace", stdin=data)
    assert proc.returncode == 0 and np.load(io.BytesIO(proc.stdout)).shape == (3, 8)


def test_bad_model_paths(tmp_path: Path, tiny_model_dir: Path) -> None:
    assert "does not exist" in one_line_error(m2v("encode", "-m", str(tmp_path / "missing"), stdin=b"x\n"))
    assert "not a model folder" in one_line_error(m2v("encode", "-m", str(tmp_path), stdin=b"x\n"))
    (tiny_model_dir / "model.safetensors").write_bytes(b"garbage")
    assert "corrupt" in one_line_error(m2v("encode", "-m", str(tiny_model_dir), stdin=b"x\n"))


def test_offline_hub_id_is_a_clear_error(tmp_path: Path) -> None:
    env = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "cache")}
    err = one_line_error(m2v("encode", "-m", "org/not-cached", stdin=b"x\n", cwd=tmp_path, env=env))
    assert "not in the Hugging Face cache" in err and "local model folder" in err


def test_bad_output_paths_write_nothing(tiny_model_dir: Path, tmp_path: Path) -> None:
    err = one_line_error(m2v("encode", "-m", str(tiny_model_dir), "-o", str(tmp_path / "no" / "x.npy"), stdin=b"a\n"))
    assert "does not exist" in err
    err = one_line_error(m2v("encode", "-m", str(tiny_model_dir), "-o", str(tmp_path), stdin=b"a\n"))
    assert "is a directory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny_model"]


def test_failed_run_keeps_the_previous_output(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "vectors.npy"
    out.write_bytes(b"previous")
    err = one_line_error(m2v("encode", "-m", str(tiny_model_dir), "-o", str(out), stdin=b"ok\n\xff\n"))
    assert "line 2" in err
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny_model", "vectors.npy"]


def test_usage_errors_exit_2(tiny_model_dir: Path) -> None:
    proc = m2v("encode", "-m", str(tiny_model_dir), "--batch-size", "0")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr.decode()
    proc = m2v("encode", "-m", str(tiny_model_dir), "--format", "xml")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr.decode()
    missing = m2v("encode", stdin=b"x\n")
    assert missing.returncode == 2 and "no model given" in missing.stderr.decode()  # like any usage error


def test_debug_env_raises_instead_of_one_line(tmp_path: Path) -> None:
    from m2vcli.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match="does not exist"):  # the console script then prints the traceback
        m2v("encode", "-m", str(tmp_path / "missing"), stdin=b"x\n", env={"M2V_DEBUG": "1"})


def test_config_file_and_flag_precedence(tiny_model_dir: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "encode.yaml"
    cfg.write_text(f"model: {tiny_model_dir}\nformat: jsonl\nnormalize: true\n")
    proc = m2v("encode", "--config", str(cfg), stdin=b"hello world\n")
    assert proc.returncode == 0
    row = json.loads(proc.stdout)
    assert np.isclose(np.linalg.norm(row), 1.0, atol=1e-6)
    proc = m2v("encode", "--config", str(cfg), "--no-normalize", stdin=b"hello world\n")
    assert not np.isclose(np.linalg.norm(json.loads(proc.stdout)), 1.0)
    cfg.write_text("modle: x\n")
    assert "unknown key 'modle'" in one_line_error(m2v("encode", "--config", str(cfg), stdin=b"x\n"))


def test_binary_to_a_terminal_is_refused(tiny_model_dir: Path) -> None:
    from m2vcli.encoding import encode_lines
    from m2vcli.errors import OutputError

    config = EncodeConfig(model=str(tiny_model_dir))
    with pytest.raises(OutputError, match="refusing to write binary npy to a terminal"):
        encode_lines(config, stdin=io.BytesIO(b"x\n"), stdout=io.BytesIO(), stdout_is_terminal=True)
    out = io.BytesIO()
    encode_lines(
        EncodeConfig(model=str(tiny_model_dir), format=OutputFormat.jsonl),
        stdin=io.BytesIO(b"x\n"),
        stdout=out,
        stdout_is_terminal=True,
    )
    assert len(json.loads(out.getvalue())) == 8


def test_command_translates_flags_into_the_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, EncodeConfig] = {}

    def fake(config: EncodeConfig, **kwargs: object) -> object:
        seen["config"] = config
        from m2vcli.encoding import EncodeResult

        return EncodeResult(rows=0, dim=8, format=OutputFormat.npy, output="-")

    monkeypatch.setattr("m2vcli.commands.encode.encode_lines", fake)
    args = ["encode", "in.txt", "-m", "my_model", "-o", "v.jsonl", "--batch-size", "7", "--max-length", "0"]
    result = CliRunner().invoke(app, [*args, "--errors", "replace", "--no-normalize"])
    assert result.exit_code == 0, result.output
    assert seen["config"] == EncodeConfig(
        model="my_model",
        input="in.txt",
        output="v.jsonl",
        batch_size=7,
        max_length=0,
        errors=InputErrors.REPLACE,
        normalize=False,
    )


def test_help_and_version_carry_examples() -> None:
    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0 and "m2v encode --model" in top.output
    sub = runner.invoke(app, ["encode", "--help"])
    assert sub.exit_code == 0 and "m2v encode --model my_model < sentences.txt > vectors.npy" in sub.output
    proc = m2v("--version")
    assert proc.returncode == 0 and proc.stdout.decode().startswith("m2v ")


def test_every_enum_member_is_accepted(tiny_model_dir: Path) -> None:
    for fmt in OutputFormat:
        assert m2v("encode", "-m", str(tiny_model_dir), "--format", fmt.value, stdin=b"a\n").returncode == 0
    for mode in InputErrors:
        assert (
            m2v("encode", "-m", str(tiny_model_dir), "--errors", mode.value, "-f", "jsonl", stdin=b"a\n").returncode
            == 0
        )


def test_vectors_are_streamed_batch_by_batch(tiny_model_dir: Path) -> None:
    from m2vcli.encoding import encode_lines

    class Recorder(io.BytesIO):
        def __init__(self) -> None:
            super().__init__()
            self.sizes: list[int] = []

        def write(self, data: bytes) -> int:  # type: ignore[override]
            self.sizes.append(len(data))
            return super().write(data)

    out = Recorder()
    lines = b"".join(f"the cat sat on mat {i}\n".encode() for i in range(1000))
    config = EncodeConfig(model=str(tiny_model_dir), batch_size=64)
    result = encode_lines(config, stdin=io.BytesIO(lines), stdout=out)
    assert result.rows == 1000
    assert max(out.sizes[1:]) == 64 * 8 * 4  # no write larger than one batch of vectors
    assert np.load(io.BytesIO(out.getvalue())).shape == (1000, 8)


def test_progress_reports_reach_the_total(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from m2vcli.encoding import encode_lines

    seen: list[tuple[int, int]] = []
    lines = b"".join(b"hello world\n" for _ in range(300))
    path = tmp_path / "lines.txt"
    path.write_bytes(lines)
    config = EncodeConfig(model=str(tiny_model_dir), batch_size=64, input=str(path))
    encode_lines(config, stdout=io.BytesIO(), on_progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 300) and seen[-1] == (300, 300)  # a file's lines are counted first
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    seen.clear()  # a pipe cannot be counted ahead: the total is 0 (not known), the count still grows
    config = EncodeConfig(model=str(tiny_model_dir), batch_size=64)
    encode_lines(config, stdin=io.BytesIO(lines), stdout=io.BytesIO(), on_progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 0) and seen[-1] == (300, 0) and len(seen) == 6
    model = StaticEmbedder.from_pretrained(tiny_model_dir)
    heard: list[tuple[int, int]] = []
    out = model.encode(["hello world"] * 10, batch_size=3, on_progress=lambda d, t: heard.append((d, t)))
    assert out.shape == (10, 8) and heard == [(3, 10), (6, 10), (9, 10), (10, 10)]
    assert capsys.readouterr().err == ""  # the core reports through the callback and prints nothing
