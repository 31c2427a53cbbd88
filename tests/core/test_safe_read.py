"""faceeditor.core.safe_read: regular files only (a FIFO never blocks), size limits, and JSON depth checked
before decoding. Calls that could block run in a thread with a deadline, so a regression fails instead of
hanging the suite."""
from __future__ import annotations

import os
import sys
import threading

import pytest

from faceeditor.core import safe_read
from faceeditor.core.safe_read import (
    JSONReadError,
    ReadError,
    file_problem,
    json_depth,
    load_json_file,
    loads_json,
    open_regular_file,
    read_regular_file,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")


def finishes(fn, timeout_s: float = 5.0) -> BaseException | object:
    """Run fn in a daemon thread; its exception or result. Fails the test if it is still blocked."""
    out: list = []

    def target():
        try:
            out.append(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out.append(exc)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout_s)
    if t.is_alive():
        pytest.fail("the reader blocked (it opened a named pipe)")
    return out[0]


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "manifest.json"
    os.mkfifo(path)
    yield path
    # a reader left blocked by a regression is released by a writer that opens and closes at once
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    except OSError:
        pass


def test_a_named_pipe_is_refused_without_blocking(fifo):
    result = finishes(lambda: read_regular_file(fifo, 1 << 20, "manifest"))
    assert isinstance(result, ReadError)
    assert result.reason == "it is a named pipe, not a regular file"
    assert str(result) == f"cannot read manifest {str(fifo)!r}: it is a named pipe, not a regular file"


def test_a_pipe_swapped_in_after_the_stat_is_refused_on_the_open_descriptor(fifo, tmp_path, monkeypatch):
    """The name may change between stat and open: the open is non-blocking and fstat checks again."""
    regular = tmp_path / "regular.json"
    regular.write_text("{}")
    real_stat = os.stat
    monkeypatch.setattr(safe_read.os, "stat", lambda p, *a, **k: real_stat(regular) if str(p) == str(fifo)
                        else real_stat(p, *a, **k))
    result = finishes(lambda: read_regular_file(fifo, 1 << 20))
    assert isinstance(result, ReadError) and "named pipe" in result.reason


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_devices_folders_missing_and_oversized_files(tmp_path):
    with pytest.raises(ReadError, match="it is a device, not a regular file"):
        read_regular_file("/dev/zero", 10)                    # would otherwise read forever
    with pytest.raises(ReadError, match="it is a folder, not a file"):
        read_regular_file(tmp_path, 10)
    with pytest.raises(ReadError, match="no such file"):
        read_regular_file(tmp_path / "nope.json", 10)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 11)
    with pytest.raises(ReadError, match="11 bytes, larger than the limit of 10 bytes"):
        read_regular_file(big, 10)
    assert read_regular_file(big, 11) == b" " * 11


def test_a_socket_is_refused(tmp_path):
    import socket

    path = tmp_path / "s.sock"
    if len(str(path)) > 100:
        pytest.skip("socket path too long for AF_UNIX")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        with pytest.raises(ReadError, match="socket"):
            read_regular_file(path, 10)


def test_open_regular_file_returns_a_blocking_binary_file(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc")
    with open_regular_file(path, 10) as fh:
        assert fh.read() == b"abc"
        assert os.get_blocking(fh.fileno())


def test_json_depth_counts_nesting_outside_strings_only():
    assert json_depth(b'1') == 0
    assert json_depth(b'[[{"a": "[[[[\\"[{"}]]') == 3
    assert json_depth(b"[" * 200_000) == 200_000


def test_loads_json_refuses_too_deep_before_decoding(monkeypatch):
    import json as json_module

    deep = "[" * 65 + "]" * 65
    assert loads_json("[" * 64 + "]" * 64, "x") is not None       # exactly the limit is fine
    monkeypatch.setattr(json_module, "loads", lambda *a, **k: pytest.fail("decoded before the depth check"))
    with pytest.raises(JSONReadError, match=r"^x: nested too deeply \(more than 64 levels"):
        loads_json(deep, "x")
    with pytest.raises(JSONReadError, match="nested too deeply"):
        loads_json(b"[" * 1_000_000 + b"]" * 1_000_000, "x", max_bytes=4 << 20)


class OwnError(ValueError):
    pass


@pytest.mark.parametrize(("raw", "message"), [
    (b"{", "x: not valid JSON (line 1: "),
    (b"\xff\xfe", "x: not UTF-8 text"),
    (b"1" * 5000, "x: not valid JSON (Exceeds the limit"),      # int() digit limit, a ValueError
    (b" " * 101, "x: larger than the limit of 100 bytes"),
])
def test_loads_json_raises_the_callers_type_with_one_line(raw, message):
    with pytest.raises(OwnError) as info:
        loads_json(raw, "x", OwnError, max_bytes=100 if len(raw) == 101 else 1 << 20)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_load_json_file_names_the_file(tmp_path, fifo):
    path = tmp_path / "c.json"
    path.write_text('{"a": [1, 2]}')
    assert load_json_file(path) == {"a": [1, 2]}
    result = finishes(lambda: load_json_file(fifo, "config 'f'", OwnError))
    assert isinstance(result, OwnError) and str(result) == "config 'f': it is a named pipe, not a regular file"


def test_the_depth_limit_is_far_below_the_recursion_limit():
    assert safe_read.MAX_JSON_DEPTH * 4 < sys.getrecursionlimit()


def test_file_problem_says_why_without_opening(tmp_path, fifo):
    ok = tmp_path / "ok.png"
    ok.write_bytes(b"x")
    assert file_problem(ok) is None
    assert file_problem(tmp_path / "missing.png") == "no such file"
    assert file_problem(tmp_path) == "it is a folder, not a file"
    assert finishes(lambda: file_problem(fifo)) == "it is a named pipe, not a regular file"
