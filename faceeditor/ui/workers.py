"""Work off the UI thread, "latest wins".

A `Channel` serves one view (attribute preview, synthesis, parser, file loading, autosave). It runs at
most one job at a time in a thread pool and keeps at most one waiting: a newer submission replaces the
waiting one, and when a job finishes after a newer one was submitted its result is stale and dropped.
So dragging a slider against a slow model never queues work, and the view only ever shows the answer to
the latest question. Results and errors arrive on the UI thread as signals; a failing job never raises
there.
"""
from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QRunnable, QThreadPool, Signal

from faceeditor.core.errors import is_handled

log = logging.getLogger(__name__)


@dataclass
class Job:
    generation: int
    fn: Callable[[], Any]
    tag: Any = None
    result: Any = None
    error: BaseException | None = None
    trace: str = ""
    submitted: float = field(default_factory=time.perf_counter)
    elapsed_s: float = 0.0


class _Relay(QObject):
    """Lives in the UI thread; its signal, emitted from a worker, is delivered there (queued)."""

    done = Signal(object)


class _Runnable(QRunnable):
    def __init__(self, job: Job, relay: _Relay):
        super().__init__()
        self.job, self.relay = job, relay
        self.setAutoDelete(True)

    def run(self) -> None:  # worker thread
        t0 = time.perf_counter()
        try:
            self.job.result = self.job.fn()
        except BaseException as exc:  # noqa: BLE001 - every failure is reported, none escapes
            self.job.error = exc
            self.job.trace = traceback.format_exc()
        self.job.elapsed_s = time.perf_counter() - t0
        self.relay.done.emit(self.job)


class Channel(QObject):
    """One view's work queue of length one. See the module docstring."""

    finished = Signal(object, object)       # (tag, result) of the latest job
    failed = Signal(object, object)         # (tag, exception) of the latest job
    busy_changed = Signal(bool)

    def __init__(self, name: str, pool: QThreadPool, parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self.pool = pool
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_done)
        self._generation = 0
        self._running: Job | None = None
        self._pending: Job | None = None
        self.submitted = 0
        self.superseded = 0     # replaced while waiting, never run
        self.dropped = 0        # ran, but a newer job existed when it finished
        self.delivered = 0

    @property
    def busy(self) -> bool:
        return self._running is not None or self._pending is not None

    def submit(self, fn: Callable[[], Any], tag: Any = None) -> int:
        """Queue `fn` (run in a worker thread); returns its generation number."""
        self._generation += 1
        self.submitted += 1
        job = Job(self._generation, fn, tag)
        was_busy = self.busy
        if self._running is None:
            self._start(job)
        else:
            if self._pending is not None:
                self.superseded += 1
            self._pending = job
        if not was_busy:
            self.busy_changed.emit(True)
        return job.generation

    def invalidate(self) -> None:
        """Forget the waiting job and make the running one stale (e.g. the document changed)."""
        self._generation += 1
        if self._pending is not None:
            self.superseded += 1
            self._pending = None
        if not self.busy:
            self.busy_changed.emit(False)

    def _start(self, job: Job) -> None:
        self._running = job
        self.pool.start(_Runnable(job, self._relay))

    def _on_done(self, job: Job) -> None:  # UI thread
        self._running = None
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._start(pending)
        if job.generation != self._generation:
            self.dropped += 1
        elif job.error is not None:
            self._log_failure(job)
            self.failed.emit(job.tag, job.error)
        else:
            self.delivered += 1
            self.finished.emit(job.tag, job.result)
        if not self.busy:
            self.busy_changed.emit(False)


    def _log_failure(self, job: Job) -> None:
        """A handled error (a refused file, a bad request: faceeditor.core.errors) is one WARNING line, its
        traceback only in the debug log; anything else is a bug and keeps its traceback at ERROR."""
        if is_handled(job.error):
            log.warning("%s job failed: %s", self.name, job.error)
            log.debug("%s job's traceback:\n%s", self.name, job.trace)
        else:
            log.error("%s job failed unexpectedly: %s: %s\n%s", self.name, type(job.error).__name__, job.error,
                      job.trace)


class Workers(QObject):
    """The app's thread pool and its channels."""

    def __init__(self, parent: QObject | None = None, threads: int = 3):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self.channels: dict[str, Channel] = {}

    def channel(self, name: str) -> Channel:
        if name not in self.channels:
            self.channels[name] = Channel(name, self.pool, self)
        return self.channels[name]

    @property
    def busy(self) -> bool:
        return any(c.busy for c in self.channels.values())

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Process events until no channel is busy (for headless runs and tests); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self.busy:
            if time.monotonic() > deadline:
                return False
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)
        QCoreApplication.processEvents()
        return True

    def shutdown(self, timeout_s: float = 5.0) -> None:
        for channel in self.channels.values():
            channel.invalidate()
        self.pool.clear()
        self.pool.waitForDone(int(timeout_s * 1000))
