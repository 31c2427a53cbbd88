"""The status bar: messages (errors in red, kept longer), the cursor's class, zoom, loaded packs, the
execution provider and the last inference time (or "working…" while a model runs)."""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

from faceeditor.core.labels import class_label
from faceeditor.engine.engine import BaseEngine
from faceeditor.ui.app_engine import missing_reason, provider_name


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.message_label = QLabel()
        self.message_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.addWidget(self.message_label, 1)
        self.cursor_label = QLabel()
        self.zoom_label = QLabel()
        self.pack_label = QLabel()
        self.provider_label = QLabel()
        self.time_label = QLabel("last inference \u2014")
        for w in (self.cursor_label, self.zoom_label, self.pack_label, self.provider_label, self.time_label):
            w.setContentsMargins(8, 0, 8, 0)
            self.addPermanentWidget(w)
        self.last_inference_ms: float | None = None
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.message_label.clear)

    def flash(self, text: str, error: bool = False) -> None:
        """A message (errors in red, kept longer)."""
        self.message_label.setText(text)
        self.message_label.setToolTip(text)
        self.message_label.setStyleSheet("color: #ff6b6b;" if error else "")
        self._message_timer.start(15000 if error else 6000)

    def show_timing(self, result) -> None:
        """An engine result arrived: its inference time, model and provider."""
        self.last_inference_ms = result.inference_ms
        self.time_label.setText(f"last inference {result.inference_ms:.0f} ms")
        self.time_label.setToolTip(f"{result.model} on {result.provider}")
        if result.provider:
            self.provider_label.setText(provider_name(result.provider))

    def show_busy(self, busy: bool) -> None:
        self.time_label.setText("working\u2026" if busy else (
            f"last inference {self.last_inference_ms:.0f} ms" if self.last_inference_ms is not None
            else "last inference \u2014"))

    def show_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f}%")

    def show_hover(self, info) -> None:
        if info is None or info[2] is None:
            self.cursor_label.setText("")
            return
        x, y, label = info
        self.cursor_label.setText(f"{x:.0f}, {y:.0f} \u00b7 {class_label(label)}")

    def show_engine(self, engine: BaseEngine) -> None:
        packs = engine.packs
        if packs:
            tasks = sorted({m.entry.task for m in engine.models()})
            self.pack_label.setText("Packs: " + ", ".join(packs))
            self.pack_label.setToolTip("Tasks: " + ", ".join(tasks))
        else:
            self.pack_label.setText("No model packs")
            self.pack_label.setToolTip(missing_reason("parse"))
        self.provider_label.setText(provider_name(engine.providers[0] if engine.providers else ""))
        self.provider_label.setToolTip("ONNX Runtime execution provider: " + ", ".join(engine.providers))
