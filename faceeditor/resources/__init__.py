"""The files FaceEditor ships inside its package: the demo model pack, the sample pictures, the icon.

They live in the package (not beside it in the repository) so that a wheel, `pip install .`, `pipx` and the
frozen build carry them. Everything finds them through these functions, which ask `importlib.resources`,
so a source checkout, an installed copy and a PyInstaller folder all answer the same way.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DEMO_PACK_NAME = "synthfaces-demo"


def _folder(*parts: str) -> Path:
    # The package is always unpacked on disk (setuptools installs it so, PyInstaller collects it as data),
    # so the traversable is a real folder.
    return Path(str(files(__name__).joinpath(*parts)))


def bundled_models_dir() -> Path:
    """The folder of bundled model packs (each subfolder is one pack)."""
    return _folder("models")


def demo_pack_dir() -> Path:
    """The bundled demo model pack (trained on SynthFaces)."""
    return bundled_models_dir() / DEMO_PACK_NAME


def samples_dir() -> Path | None:
    """The folder of bundled sample pictures and SCGAN sample inputs; None when an incomplete
    installation lacks it."""
    folder = _folder("samples")
    return folder if folder.is_dir() else None


def icon_path(extension: str = "svg") -> Path:
    """The application icon (``svg``, or ``png`` at 256 px)."""
    return _folder("icons", f"faceeditor.{extension}")
