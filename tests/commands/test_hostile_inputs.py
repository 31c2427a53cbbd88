"""Hostile files given to the commands (deeply nested JSON, named pipes) and how errors are reported:
a handled error is one line and exit 2 (its traceback only with --verbose), an unexpected one is the
traceback, a line saying how to report it, and exit 1."""
from __future__ import annotations

import os
import threading

import pytest

from faceeditor.cli import main
from trainer.cli import main as train_main

DEEP = "[" * 100_000 + "]" * 100_000
DEPTH_LINE = "nested too deeply (more than 64 levels of arrays and objects)"


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def run(capsys, entry, args: list[str]) -> tuple[int, str, str]:
    code = entry(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err[-3000:]
    assert "Traceback" not in err
    return lines[0]


def test_synth_with_deeply_nested_landmarks(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text('{"landmarks": ' + DEEP + "}")
    code, _, err = run(capsys, main, ["synth", "--landmarks", str(deep), "-o", str(tmp_path / "o.png")])
    assert code == 2
    assert one_line(err) == f"faceeditor-cli synth: error: cannot read landmarks {str(deep)!r}: {DEPTH_LINE}"


def test_interpolate_with_a_deeply_nested_keyframes_file(tmp_path, capsys):
    deep = tmp_path / "clip.json"
    deep.write_text('{"keyframes": ' + DEEP + "}")
    code, _, err = run(capsys, main, ["interpolate", str(deep), "-o", str(tmp_path / "o.gif")])
    assert code == 2
    assert one_line(err) == f"faceeditor-cli interpolate: error: keyframes file {str(deep)!r}: {DEPTH_LINE}"


def test_train_with_a_deeply_nested_config(tmp_path, capsys):
    deep = tmp_path / "config.json"
    deep.write_text('{"method": "stargan", "data": ' + DEEP + "}")
    code, _, err = run(capsys, train_main, ["train", "--config", str(deep), "--run-dir", str(tmp_path / "run")])
    assert code == 2
    assert one_line(err) == f"faceeditor-train train: error: {deep}: {DEPTH_LINE}"


def test_train_with_deeply_nested_json_in_an_override(tmp_path, capsys):
    code, _, err = run(capsys, train_main, ["train", "--method", "stargan", "--run-dir", str(tmp_path / "run"),
                                            "--set", "data=" + "[" * 5000 + "]" * 5000])
    assert code == 2 and "nested too deeply" in one_line(err)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("command", [
    ["interpolate", "{fifo}", "-o", "{tmp}/o.gif"],
    ["synth", "--landmarks", "{fifo}", "-o", "{tmp}/o.png"],
    ["synth", "{fifo}", "-o", "{tmp}/o.png"],                       # the mask argument
    ["parse", "{fifo}", "-o", "{tmp}/o.png"],                       # an image argument
    ["train", "--config", "{fifo}"],
    ["flips", "{fifo}", "-o", "{tmp}/o.png"],                       # an image argument
])
def test_a_named_pipe_given_as_a_file_is_refused_at_once(tmp_path, capsys, command):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    args = [a.format(fifo=fifo, tmp=tmp_path) for a in command]
    entry = train_main if args[0] == "train" else main
    result: list = []
    t = threading.Thread(target=lambda: result.append(entry(args)), daemon=True)
    t.start()
    t.join(60)
    if t.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"{' '.join(args)} blocked on the named pipe")
    err = capsys.readouterr().err
    assert result == [2]
    assert "named pipe" in one_line(err)


def test_verbose_adds_the_traceback_of_a_handled_error(tmp_path, capsys):
    missing = tmp_path / "missing.json"
    code, _, err = run(capsys, main, ["--verbose", "interpolate", str(missing), "-o", str(tmp_path / "o.gif")])
    assert code == 2
    assert "Traceback" in err
    assert err.rstrip().splitlines()[-1] == (f"faceeditor-cli interpolate: error: keyframes file "
                                             f"{str(missing)!r}: no such file")


def test_an_unexpected_error_prints_its_traceback_and_how_to_report_it(capsys, monkeypatch):
    import faceeditor.commands.models as models

    def boom(args):
        raise RuntimeError("something nobody planned for")

    monkeypatch.setattr(models, "run", boom)
    code, _, err = run(capsys, main, ["models"])
    assert code == 1
    assert "Traceback" in err and "RuntimeError: something nobody planned for" in err
    assert err.rstrip().splitlines()[-1] == (
        "faceeditor-cli models: unexpected error (RuntimeError: something nobody planned for). This is a bug in "
        "FaceEditor: please report it to the FaceEditor developers with the traceback above and the command "
        "that caused it")
