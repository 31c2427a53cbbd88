import os
import stat

import pytest

from faceeditor.core.atomic_io import atomic_write, default_file_mode, write_bytes_atomic, write_text_atomic


def test_write_replaces_whole_file_with_plain_permissions(tmp_path):
    p = tmp_path / "a.txt"
    write_text_atomic(p, "old")
    write_text_atomic(p, "new")
    assert p.read_text() == "new"
    assert stat.S_IMODE(p.stat().st_mode) == default_file_mode()
    assert [f.name for f in tmp_path.iterdir()] == ["a.txt"]


def test_failure_keeps_old_content_and_leaves_no_temp_file(tmp_path):
    p = tmp_path / "a.bin"
    write_bytes_atomic(p, b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(p) as fh:
            fh.write(b"half")
            raise RuntimeError("crash mid-write")
    assert p.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_explicit_mode(tmp_path):
    p = tmp_path / "m.json"
    with atomic_write(p, text=True, mode=0o644) as fh:
        fh.write("{}")
    assert stat.S_IMODE(p.stat().st_mode) == 0o644
