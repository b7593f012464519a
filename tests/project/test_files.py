from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from m2vcli.encoding import EncodeConfig, InputErrors, encode_lines
from m2vcli.encoding.job import split_lines
from m2vcli.errors import ConfigError, InputError
from m2vcli.files import atomic_file, decode_utf8, read_bytes, read_text, umask_mode


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_atomic_file_gets_the_mode_the_umask_gives(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        with atomic_file(tmp_path / "out.bin") as handle:
            handle.write(b"data")
        assert umask_mode(0o666) == 0o666 & ~umask
        assert os.umask(umask) == umask  # reading the umask left it as it was
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.bin").stat().st_mode) == 0o666 & ~umask
    assert (tmp_path / "out.bin").read_bytes() == b"data"


def test_decode_utf8_drops_a_bom_and_names_the_line_and_byte() -> None:
    assert decode_utf8(b"\xef\xbb\xbfone\ntwo", "input") == "one\ntwo"
    assert decode_utf8(b"\xef\xbb\xbfa\xffb", "input", errors="replace") == "a\ufffdb"
    with pytest.raises(InputError, match=r"^input line 3 is not valid UTF-8 \(byte 0xff\); a hint$") as caught:
        decode_utf8(b"\xef\xbb\xbfone\ntwo\nthr\xffee", "input", hint="a hint")
    assert isinstance(caught.value.__cause__, UnicodeDecodeError)


def test_read_text_and_split_lines_share_the_decoder(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_bytes(b"\xef\xbb\xbfok\n\xfe\n")
    with pytest.raises(InputError, match=rf"^word list {path} line 2 is not valid UTF-8 \(byte 0xfe\)$"):
        read_text(path, "word list")
    with pytest.raises(InputError, match=r"^input line 2 is not valid UTF-8 \(byte 0xfe\); .*--errors replace$"):
        split_lines(path.read_bytes())
    assert split_lines(path.read_bytes(), InputErrors.REPLACE) == ["ok", "\ufffd"]
    path.write_bytes(b"\xef\xbb\xbfone\r\ntwo\n")
    assert read_text(path, "word list") == "one\r\ntwo\n"
    assert split_lines(path.read_bytes()) == ["one", "two"]
    path.write_bytes(b"a\x00b")
    with pytest.raises(InputError, match="is binary, not text"):
        read_text(path, "word list")


def test_read_errors_keep_their_cause(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as caught:
        read_bytes(tmp_path / "missing.txt", "input file")
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_encode_lines_without_a_model_is_a_config_error() -> None:
    config = EncodeConfig(model="some-model")
    object.__setattr__(config, "model", None)  # a config that skipped validation
    with pytest.raises(ConfigError, match="no model given"):
        encode_lines(config, stdin=io.BytesIO(b"hi\n"))
