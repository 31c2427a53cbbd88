"""ONNX Runtime sessions: execution-provider choice, threads, graph optimisation, and a session cache.

Provider preferences: "auto" (CUDA when onnxruntime offers it, else CPU), "cuda" (asked for explicitly:
when it cannot be used the session falls back to CPU and the reason is logged as a warning and kept in
`SessionCache.notes`), "cpu". ONNX Runtime itself may drop CUDA silently when the CUDA libraries are
missing; the cache compares the providers a session really got with the ones asked for to catch that.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
PROVIDER_CHOICES = ("auto", "cuda", "cpu")


@dataclass(frozen=True)
class SessionSettings:
    """How sessions are built. Thread counts of 0 let ONNX Runtime choose."""

    provider: str = "auto"
    intra_op_threads: int = 0
    inter_op_threads: int = 0
    cuda_device: int = 0

    def __post_init__(self) -> None:
        if self.provider not in PROVIDER_CHOICES:
            raise ValueError(f"provider must be one of {PROVIDER_CHOICES}, got {self.provider!r}")
        if self.intra_op_threads < 0 or self.inter_op_threads < 0:
            raise ValueError("thread counts must be >= 0")


def available_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def choose_providers(preference: str, available: list[str] | None = None) -> tuple[list[str], str | None]:
    """The provider list to ask ONNX Runtime for, and why CUDA is not in it when it was wanted."""
    if preference not in PROVIDER_CHOICES:
        raise ValueError(f"provider must be one of {PROVIDER_CHOICES}, got {preference!r}")
    if preference == "cpu":
        return [CPU], None
    available = available_providers() if available is None else available
    if CUDA in available:
        return [CUDA, CPU], None
    reason = (f"CUDA was asked for but this onnxruntime build has no {CUDA} (available: "
              f"{', '.join(available) or 'none'}); install the onnxruntime-gpu wheel in place of onnxruntime")
    return [CPU], reason if preference == "cuda" else None


class SessionCache:
    """Builds sessions and keeps one per (model file, provider preference, thread counts).

    The key also holds the file's size and modification time, so a replaced file gets a new session.
    Thread-safe: the UI's worker threads share one cache.
    """

    def __init__(self) -> None:
        self._sessions: dict[tuple, object] = {}
        self._lock = threading.Lock()
        self.notes: dict[tuple, str] = {}    # key -> why CUDA was not used, for keys that asked for it
        self.builds = 0                      # sessions built so far (for tests and diagnostics)

    @staticmethod
    def key(path: str | os.PathLike, settings: SessionSettings) -> tuple:
        p = Path(path).resolve()
        st = p.stat()
        return (str(p), st.st_size, st.st_mtime_ns, settings.provider, settings.intra_op_threads,
                settings.inter_op_threads, settings.cuda_device)

    def get(self, path: str | os.PathLike, settings: SessionSettings = SessionSettings()):
        """The cached session for this file and settings, building it on first use."""
        key = self.key(path, settings)
        with self._lock:
            sess = self._sessions.get(key)
            if sess is None:
                sess, note = build_session(path, settings)
                self._sessions[key] = sess
                self.builds += 1
                if note:
                    self.notes[key] = note
            return sess

    def note_for(self, path: str | os.PathLike, settings: SessionSettings) -> str | None:
        return self.notes.get(self.key(path, settings))

    def discard_file(self, path: str | os.PathLike) -> int:
        """Drop every session of one model file (e.g. when its pack is unloaded); returns how many."""
        target = str(Path(path).resolve())
        with self._lock:
            keys = [k for k in self._sessions if k[0] == target]
            for k in keys:
                del self._sessions[k]
                self.notes.pop(k, None)
        return len(keys)

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()
            self.notes.clear()

    def __len__(self) -> int:
        return len(self._sessions)


def session_options(settings: SessionSettings):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = settings.intra_op_threads
    opts.inter_op_num_threads = settings.inter_op_threads
    opts.execution_mode = (ort.ExecutionMode.ORT_PARALLEL if settings.inter_op_threads > 1
                           else ort.ExecutionMode.ORT_SEQUENTIAL)
    opts.log_severity_level = 3  # errors only; the fallback reasons are logged by us
    return opts


def build_session(path: str | os.PathLike, settings: SessionSettings = SessionSettings()):
    """(session, note): note says why CUDA was wanted and not used, else None. Logs that reason:
    as a warning when CUDA was asked for explicitly, as info under "auto"."""
    import onnxruntime as ort

    providers, note = choose_providers(settings.provider)
    provider_args: list = [(CUDA, {"device_id": settings.cuda_device}) if p == CUDA else p for p in providers]
    opts = session_options(settings)
    try:
        sess = ort.InferenceSession(str(path), sess_options=opts, providers=provider_args)
    except Exception as exc:
        if CUDA not in providers:
            raise
        note = f"CUDA was asked for but the CUDA session could not be created ({_first_line(exc)})"
        sess = ort.InferenceSession(str(path), sess_options=session_options(settings), providers=[CPU])
    if CUDA in providers and CUDA not in sess.get_providers():
        note = ("CUDA was asked for but onnxruntime could not use it (CUDA/cuDNN libraries missing or no "
                "GPU); running on CPU")
    if note:
        if settings.provider == "cuda":
            log.warning("%s: %s", Path(path).name, note)
        else:
            log.info("%s: %s", Path(path).name, note)
    return sess, note


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
