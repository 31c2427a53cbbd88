"""Qt-free inference: model-pack manifests, ONNX Runtime sessions, task requests.

Public entry points: `Engine` (ONNX Runtime), `FakeEngine` (UI tests), the request/result dataclasses of
`faceeditor.engine.requests`, `PackRegistry` (finding packs) and `validate_pack`. Submodules import
onnxruntime and cv2 lazily where they can, so importing this package stays cheap.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "Engine": "faceeditor.engine.engine",
    "BaseEngine": "faceeditor.engine.engine",
    "EngineError": "faceeditor.engine.engine",
    "Cancelled": "faceeditor.engine.engine",
    "LoadedModel": "faceeditor.engine.engine",
    "RequestError": "faceeditor.engine.processing",
    "FakeEngine": "faceeditor.engine.fake",
    "PackRegistry": "faceeditor.engine.registry",
    "PackInfo": "faceeditor.engine.registry",
    "PackError": "faceeditor.engine.validate",
    "validate_pack": "faceeditor.engine.validate",
    "Manifest": "faceeditor.engine.manifest",
    "ModelEntry": "faceeditor.engine.manifest",
    "TensorSpec": "faceeditor.engine.manifest",
    "ManifestError": "faceeditor.engine.manifest",
    "SessionCache": "faceeditor.engine.session",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'faceeditor.engine' has no attribute {name!r}")
