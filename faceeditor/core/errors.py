"""Which exceptions are *handled*: the user gave a wrong or damaged input, and the message says what.

A handled error is reported as its one line (a traceback only with ``--verbose`` or a debug log); any
other exception is a bug, reported with its traceback and a request to report it. faceeditor-cli,
faceeditor-train and the app's worker channels all ask :func:`is_handled`, so the three agree.

The list names the project's own error classes by their qualified names instead of importing them: core
stays below the engine, the commands and the trainer, and checking an exception never imports anything
(a class whose module was never imported has no instances to check).
"""
from __future__ import annotations

import sys

HANDLED_ERRORS: tuple[str, ...] = (
    "faceeditor.cli.CLIError",
    "faceeditor.core.safe_read.ReadError",
    "faceeditor.core.safe_read.JSONReadError",
    "faceeditor.core.project.ProjectError",
    "faceeditor.core.image_io.ImageLoadError",
    "faceeditor.core.image_io.ImageSaveError",
    "faceeditor.core.keyframes.KeyframeError",
    "faceeditor.core.mask_io.MaskError",
    "faceeditor.core.face_geometry.LandmarkError",
    "faceeditor.core.crop_policy.CropPolicyError",
    "faceeditor.core.document.DocumentError",
    "faceeditor.core.labels.LabelError",
    "faceeditor.core.video_writer.VideoWriteError",
    "faceeditor.core.face_detect.NoFaceError",
    "faceeditor.core.face_detect.FaceModelsUnavailable",
    "faceeditor.engine.manifest.ManifestError",
    "faceeditor.engine.validate.PackError",
    "faceeditor.engine.registry.NoPackError",
    "faceeditor.engine.pack_manager.PackInstallError",
    "faceeditor.engine.processing.RequestError",
    "faceeditor.engine.engine.EngineError",
    "faceeditor.engine.engine.Cancelled",          # not bad input, but an expected end: never a bug
    "trainer.config.ConfigError",
    "trainer.registry.RegistryError",
    "trainer.data.errors.DatasetError",
    "trainer.checkpoint.CheckpointError",
    "trainer.export.ExportError",
    "trainer.loop.TrainingError",
    "trainer.recipe.RecipeError",
)

def handled_types() -> tuple[type[BaseException], ...]:
    """The handled classes whose modules are imported now."""
    found: list[type[BaseException]] = []
    for qualified in HANDLED_ERRORS:
        module, _, name = qualified.rpartition(".")
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


def is_handled(exc: BaseException) -> bool:
    """Whether ``exc`` is one of the project's own errors about bad input (one line, no traceback)."""
    return isinstance(exc, handled_types())


def unexpected_message(prog: str, exc: BaseException) -> str:
    """The line printed under the traceback of an unexpected error: what happened and how to report it."""
    text = str(exc)
    text = text if len(text) <= 300 else f"{text[:297]}..."
    return (f"{prog}: unexpected error ({type(exc).__name__}: {text}). This is a bug in FaceEditor: please "
            "report it to the FaceEditor developers with the traceback above and the command that caused it")
