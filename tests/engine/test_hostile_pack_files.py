"""Pack folders holding hostile manifests: a named pipe called manifest.json (in the user's models folder or
under --dir) and a manifest nested thousands of levels deep. The commands run as subprocesses with a
deadline, so a reader that blocks on the pipe fails the test instead of hanging the suite."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from faceeditor.engine.registry import PackRegistry, inspect_pack
from faceeditor.resources import samples_dir

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")


def fifo_pack(root: Path, name: str = "piped") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    os.mkfifo(folder / "manifest.json")
    return folder


def cli(args: list[str], tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_DATA_HOME=str(tmp_path / "xdg-data"),
               XDG_CONFIG_HOME=str(tmp_path / "xdg-config"), XDG_STATE_HOME=str(tmp_path / "xdg-state"))
    try:
        return subprocess.run([sys.executable, "-m", "faceeditor.cli", *args], env=env, capture_output=True,
                              text=True, timeout=timeout, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"faceeditor-cli {' '.join(args)} hung (it opened the named pipe)")


def user_models(tmp_path: Path) -> Path:
    return tmp_path / "xdg-data" / "faceeditor" / "models"


def test_models_lists_a_pipe_manifest_under_dir_as_invalid(tmp_path):
    packs = tmp_path / "packs"
    fifo_pack(packs)
    proc = cli(["models", "--no-defaults", "--dir", str(packs)], tmp_path)
    assert "INVALID piped" in proc.stdout
    assert "! manifest.json: cannot read (it is a named pipe, not a regular file)" in proc.stdout
    assert "Traceback" not in proc.stderr
    # --dir naming the pack folder itself
    proc = cli(["models", "--no-defaults", "--dir", str(packs / "piped")], tmp_path)
    assert "named pipe" in proc.stdout


def test_models_and_parse_finish_with_a_pipe_manifest_in_the_user_folder(tmp_path):
    fifo_pack(user_models(tmp_path))
    proc = cli(["models"], tmp_path)
    assert "INVALID piped  [user]" in proc.stdout and "named pipe" in proc.stdout
    fifo_pack(tmp_path / "packs")
    sample = next(p for p in sorted(samples_dir().glob("*.png")) if "_mask" not in p.name)
    proc = cli(["parse", str(sample), "-o", str(tmp_path / "parsed.png"), "--dir", str(tmp_path / "packs")],
               tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "parsed.png").is_file()      # the bundled parser, past both broken packs


def test_the_registry_scan_returns(tmp_path, monkeypatch):
    """In-process, as the app's start scans: the scan ends and lists the pack with its reason."""
    import threading

    fifo_pack(tmp_path / "packs")
    registry = PackRegistry([tmp_path / "packs"], include_defaults=False)
    done = threading.Event()
    t = threading.Thread(target=lambda: (registry.scan(), done.set()), daemon=True)
    t.start()
    if not done.wait(10):
        fd = os.open(tmp_path / "packs" / "piped" / "manifest.json", os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("PackRegistry.scan blocked on the named pipe")
    (info,) = registry.packs
    assert not info.valid and "named pipe" in info.reason


def test_a_deeply_nested_manifest_is_refused_without_a_traceback(tmp_path, caplog):
    pack = tmp_path / "deep"
    pack.mkdir()
    (pack / "manifest.json").write_text('{"name": "deep", "models": ' + "[" * 50_000 + "]" * 50_000 + "}")
    with caplog.at_level(logging.DEBUG):
        info = inspect_pack(pack)
    assert not info.valid
    assert info.errors == ["manifest.json: nested too deeply (more than 64 levels of arrays and objects)"]
    assert not [r for r in caplog.records if r.exc_info], "a refused manifest is not an unexpected error"
    assert "Traceback" not in caplog.text


def test_a_manifest_just_within_the_depth_limit_is_read_and_checked(tmp_path):
    pack = tmp_path / "ok"
    pack.mkdir()
    nested: object = 1
    for _ in range(60):
        nested = {"k": nested}
    (pack / "manifest.json").write_text(json.dumps({"schema_version": 1, "name": "ok", "models": [],
                                                    "description": "", "extra": nested}))
    info = inspect_pack(pack)
    assert "nested too deeply" not in info.reason and info.errors   # refused for its fields instead
