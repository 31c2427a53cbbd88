"""faceeditor-cli selfcheck: can this installation run? One line per check, OK / WARN / FAIL.

Checks: ONNX Runtime runs a graph on every provider it offers (CUDA, when listed, must really run it);
the model packs found (an invalid bundled pack fails, an invalid user pack only warns); dlib and the
face_recognition_models files (detector, 68-point predictor, identity descriptor) load; the Qt, OpenCV and
PyAV modules import. Exit code 1 when any check FAILs.
"""
from __future__ import annotations

import argparse
import base64
import importlib
import importlib.util
import json
import time
from collections.abc import Callable
from pathlib import Path

HELP = "check onnxruntime and its providers, the model packs, dlib and its model files; OK/FAIL table"

OK, WARN, FAIL = "OK", "WARN", "FAIL"

# y = x * x on a float[2]: the smallest ONNX graph (opset 17) that makes onnxruntime compute something.
_SQUARE_ONNX = base64.b64decode(
    "CAgSCmZhY2VlZGl0b3I6PQoOCgF4CgF4EgF5IgNNdWwSCXNlbGZjaGVja1oPCgF4EgoKCAgBEgQKAggCYg8KAXkSCgoICAES"
    "BAoCCAJCBAoAEBE="
)
FACE_MODEL_FILES = {
    "face detector (CNN)": "mmod_human_face_detector.dat",
    "68-point predictor": "shape_predictor_68_face_landmarks.dat",
    "identity descriptor": "dlib_face_recognition_resnet_model_v1.dat",
}

Check = tuple[str, str, str]  # (name, status, detail)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", dest="dirs", action="append", default=[], metavar="PATH",
                        help="also check the packs in this folder; repeatable")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def check_onnxruntime() -> list[Check]:
    import numpy as np
    import onnxruntime as ort

    out: list[Check] = []
    providers = ort.get_available_providers()
    out.append(("onnxruntime", OK, f"{ort.__version__}; providers: {', '.join(providers)}"))
    x = np.array([2.0, -3.0], dtype=np.float32)
    for provider in [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in providers]:
        name = f"  runs a graph on {provider.removesuffix('ExecutionProvider')}"
        try:
            sess = ort.InferenceSession(_SQUARE_ONNX, providers=[provider])
            got = sess.get_providers()
            if provider not in got:
                out.append((name, FAIL if provider.startswith("CPU") else WARN,
                            f"onnxruntime fell back to {got[0]} (CUDA/cuDNN libraries missing?)"))
                continue
            y = sess.run(None, {"x": x})[0]
            ok = np.allclose(y, x * x)
            out.append((name, OK if ok else FAIL, "y = x*x correct" if ok else f"wrong result {y}"))
        except Exception as exc:  # report, never crash the self-check
            out.append((name, FAIL, _short(exc)))
    if "CPUExecutionProvider" not in providers:
        out.append(("  CPU provider", FAIL, "onnxruntime lists no CPUExecutionProvider"))
    return out


def check_packs(extra_dirs: list[str]) -> list[Check]:
    from faceeditor.engine.registry import PackRegistry

    packs = PackRegistry(extra_dirs).scan()
    if not packs:
        return [("model packs", WARN, "none found (bundled faceeditor/resources/models, user data folder)")]
    n_valid = sum(p.valid for p in packs)
    out: list[Check] = [("model packs", OK if n_valid else WARN, f"{n_valid} valid of {len(packs)}")]
    for p in packs:
        if p.valid:
            out.append((f"  {p.name}", OK, f"{len(p.manifest.models)} model(s) [{p.source}]"))
        else:
            out.append((f"  {p.name}", FAIL if p.source == "bundled" else WARN, f"[{p.source}] {p.reason}"))
    return out


def face_models_dir() -> Path | None:
    """The face_recognition_models data folder, found without importing the package (its __init__ needs
    pkg_resources, which recent setuptools no longer ships)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def check_dlib() -> list[Check]:
    try:
        import dlib
    except Exception as exc:
        return [("dlib", FAIL, f"cannot import ({_short(exc)}); install dlib-bin")]
    out: list[Check] = [("dlib", OK, getattr(dlib, "__version__", "?"))]
    models = face_models_dir()
    if models is None or not models.is_dir():
        return out + [("face_recognition_models", FAIL, "not installed; install face-recognition-models")]
    loaders: dict[str, Callable[[str], object]] = {
        "mmod_human_face_detector.dat": dlib.cnn_face_detection_model_v1,
        "shape_predictor_68_face_landmarks.dat": dlib.shape_predictor,
        "dlib_face_recognition_resnet_model_v1.dat": dlib.face_recognition_model_v1,
    }
    try:
        dlib.get_frontal_face_detector()
        out.append(("  HOG face detector", OK, "built in"))
    except Exception as exc:
        out.append(("  HOG face detector", FAIL, _short(exc)))
    for label, filename in FACE_MODEL_FILES.items():
        path = models / filename
        if not path.is_file():
            out.append((f"  {label}", FAIL, f"{path} is missing"))
            continue
        try:
            t0 = time.perf_counter()
            loaders[filename](str(path))
            out.append((f"  {label}", OK, f"{filename} loaded in {time.perf_counter() - t0:.1f} s"))
        except Exception as exc:
            out.append((f"  {label}", FAIL, f"{filename}: {_short(exc)}"))
    return out


def check_modules() -> list[Check]:
    out: list[Check] = []
    for label, module, hint in (("OpenCV", "cv2", "opencv-python-headless"), ("PyAV", "av", "av"),
                                ("Qt (PySide6)", "PySide6.QtWidgets", "PySide6-Essentials")):
        try:
            mod = importlib.import_module(module)
            root = importlib.import_module(module.split(".")[0])
            out.append((label, OK, str(getattr(root, "__version__", getattr(mod, "__version__", "")))))
        except Exception as exc:
            out.append((label, FAIL, f"cannot import {module} ({_short(exc)}); install {hint}"))
    return out


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def _guarded(section: str, fn: Callable[[], list[Check]]) -> list[Check]:
    try:
        return fn()
    except Exception as exc:
        return [(section, FAIL, _short(exc))]


def run(args: argparse.Namespace) -> int:
    checks = (_guarded("onnxruntime", check_onnxruntime) + _guarded("model packs", lambda: check_packs(args.dirs))
              + _guarded("dlib", check_dlib) + _guarded("modules", check_modules))
    failed = any(status == FAIL for _, status, _ in checks)
    if args.json:
        print(json.dumps({"ok": not failed,
                          "checks": [{"check": c.strip(), "status": s, "detail": d} for c, s, d in checks]},
                         indent=2))
    else:
        width = max(len(c) for c, _, _ in checks)
        for name, status, detail in checks:
            print(f"{name:<{width}}  {status:<4}  {detail}")
        print("selfcheck: " + ("FAILED" if failed else "all checks passed"))
    return 1 if failed else 0
