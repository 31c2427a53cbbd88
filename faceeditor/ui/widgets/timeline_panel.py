"""The timeline dock: one pyqtgraph track per channel (seed, landmarks, attributes, expression) with the
keyframes as draggable handles, a playhead to scrub, play/loop, per-track interpolation, the clip's target
and fps, presets, and Export.

The panel is bound to the session's ``keyframes`` value (a faceeditor.core.keyframes.KeyframeFile): it draws
whatever the session holds and writes each finished gesture back as one new timeline (one undo step), using
faceeditor.core.timeline for the track edits. What a keyframe records (the current seed, sliders, ...) and
the preview are the timeline controller's.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from faceeditor.core import timeline as T
from faceeditor.core.keyframes import MODES, TARGETS, TRACKS
from faceeditor.core.session import KEYFRAMES, Session

TRACK_LABELS = {"seed": "Seed (z)", "landmarks": "Landmarks", "attributes": "Attributes",
                "expression": "Expression"}
TARGET_LABELS = {"synthesis": "Synthesised face", "attributes": "Photo: attribute sliders",
                 "expression": "Photo: expression"}
PRESET_LABELS = {"left2right": "Left2Right (head turn)", "nosmile2smile": "NoSmile2Smile"}


class KeyHandle(pg.TargetItem):
    """One keyframe of one track; dragged along time only."""

    def __init__(self, track: str, time: float, row: int):
        self.track, self.time, self.row = track, time, row
        super().__init__(pos=(time, row), size=12, symbol="d", movable=True,
                         pen=pg.mkPen(230, 230, 230), brush=pg.mkBrush(240, 170, 60))

    on_click = None         # set by the panel: called with the handle when it is clicked

    def mouseClickEvent(self, ev) -> None:   # noqa: N802 (Qt naming)
        if ev.button() == Qt.MouseButton.LeftButton and self.on_click is not None:
            ev.accept()
            self.on_click(self)

    def setPos(self, *args):            # noqa: N802 (Qt naming): keep the handle on its row
        pos = pg.Point(*args) if len(args) != 1 else pg.Point(args[0])
        if not hasattr(self, "row"):
            return super().setPos(pos)
        super().setPos(pg.Point(max(0.0, pos.x()), self.row))


class TimelinePanel(QWidget):
    """See the module docstring."""

    scrubbed = Signal(int)               # the playhead moved to this frame
    add_requested = Signal(str)          # add a keyframe on this track at the playhead, from the current state
    play_toggled = Signal(bool)
    export_requested = Signal()
    preset_requested = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.handles: list[KeyHandle] = []
        self.selected: KeyHandle | None = None
        self.plot = pg.PlotWidget()
        self.plot.setBackground((30, 30, 34))
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setYRange(-0.6, len(TRACKS) - 0.4, padding=0)
        axis = self.plot.getAxis("left")
        axis.setTicks([[(i, TRACK_LABELS[t]) for i, t in enumerate(TRACKS)]])
        self.plot.getAxis("bottom").setLabel("seconds")
        self.playhead = pg.InfiniteLine(pos=0.0, angle=90, movable=True, pen=pg.mkPen(90, 200, 255, width=2))
        self.playhead.sigPositionChanged.connect(self._playhead_moved)
        self.plot.addItem(self.playhead)

        self.track_box = QComboBox()
        for t in TRACKS:
            self.track_box.addItem(TRACK_LABELS[t], t)
        self.add_button = QPushButton("Add key")
        self.add_button.setToolTip("Add a keyframe on the chosen track at the playhead, from the current state")
        self.add_button.clicked.connect(lambda: self.add_requested.emit(self.track_box.currentData()))
        self.delete_button = QPushButton("Delete key")
        self.delete_button.clicked.connect(self.delete_selected)
        self.mode_box = QComboBox()
        for m in MODES:
            self.mode_box.addItem(m, m)
        self.mode_box.setToolTip("How the chosen track moves between its keyframes")
        self.mode_box.activated.connect(self._mode_chosen)
        self.track_box.currentIndexChanged.connect(self._show)
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._play_toggled)
        self.loop_button = QPushButton("Loop")
        self.loop_button.setCheckable(True)
        self.target_box = QComboBox()
        for t in TARGETS:
            self.target_box.addItem(TARGET_LABELS[t], t)
        self.target_box.activated.connect(self._target_chosen)
        self.fps_box = QDoubleSpinBox()
        self.fps_box.setRange(1, 240)
        self.fps_box.setSuffix(" fps")
        self.fps_box.editingFinished.connect(self._fps_chosen)
        self.preset_box = QComboBox()
        self.preset_box.addItem("Preset\u2026", None)
        for key, label in PRESET_LABELS.items():
            self.preset_box.addItem(label, key)
        self.preset_box.activated.connect(self._preset_chosen)
        self.export_button = QPushButton("Export\u2026")
        self.export_button.clicked.connect(self.export_requested)
        self.frame_label = QLabel()

        row1 = QHBoxLayout()
        for w in (self.track_box, self.add_button, self.delete_button, self.mode_box, self.preset_box):
            row1.addWidget(w)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        for w in (self.play_button, self.loop_button, self.frame_label, self.target_box, self.fps_box,
                  self.export_button):
            row2.addWidget(w)
        row2.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)                # the dock stays short enough for a 1280x720 window
        layout.addLayout(row1)
        layout.addWidget(self.plot, 1)
        layout.addLayout(row2)
        session.subscribe(KEYFRAMES, self._show, on_load=True)
        self._show()

    # --- the session's timeline ------------------------------------------------------------------------
    @property
    def timeline(self):
        return self.session[KEYFRAMES]

    def _commit(self, timeline, name: str) -> None:
        self.session.set(KEYFRAMES, timeline, name=name)

    def _show(self) -> None:
        tl = self.timeline
        for h in self.handles:
            self.plot.removeItem(h)
        self.handles = []
        self.selected = None
        for row, track in enumerate(TRACKS):
            for t in T.key_times(tl, track):
                h = KeyHandle(track, t, row)
                h.sigPositionChangeFinished.connect(self._handle_dropped)
                h.on_click = self._handle_clicked
                self.plot.addItem(h)
                self.handles.append(h)
        track = self.track_box.currentData()
        self.mode_box.setCurrentIndex(MODES.index(T.mode_of(tl, track)))
        self.target_box.setCurrentIndex(TARGETS.index(tl.target))
        self.fps_box.blockSignals(True)
        self.fps_box.setValue(tl.fps)
        self.fps_box.blockSignals(False)
        self.plot.setXRange(0, max(1.0, T.duration(tl)) * 1.05, padding=0)
        self._update_label()

    # --- keyframe gestures ------------------------------------------------------------------------------
    def _handle_dropped(self, handle: KeyHandle) -> None:
        """A handle was dragged to a new time: move (retime) that track's keyframe; one undo step."""
        to = T.snap(self.timeline, handle.pos().x())
        moved = T.moved_key(self.timeline, handle.track, handle.time, to)
        if moved != self.timeline:
            self._commit(moved, f"Move {TRACK_LABELS[handle.track]} key")
        else:
            handle.setPos(handle.time, handle.row)

    def _handle_clicked(self, handle: KeyHandle) -> None:
        self.select(handle)

    def select(self, handle: KeyHandle | None) -> None:
        if self.selected is not None:
            self.selected.setBrush(pg.mkBrush(240, 170, 60))
        self.selected = handle
        if handle is not None:
            handle.setBrush(pg.mkBrush(90, 200, 255))
            self.track_box.setCurrentIndex(TRACKS.index(handle.track))
            self.set_frame(T.frame_of(self.timeline, handle.time))

    def delete_selected(self) -> None:
        h = self.selected
        if h is not None:
            self._commit(T.without_key(self.timeline, h.track, h.time), f"Delete {TRACK_LABELS[h.track]} key")

    def keyPressEvent(self, event) -> None:     # noqa: N802 (Qt naming)
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.selected is not None:
            self.delete_selected()
            return
        super().keyPressEvent(event)

    def handles_of(self, track: str) -> list[KeyHandle]:
        return [h for h in self.handles if h.track == track]

    def _mode_chosen(self) -> None:
        track, mode = self.track_box.currentData(), self.mode_box.currentData()
        if mode != T.mode_of(self.timeline, track):
            self._commit(T.with_mode(self.timeline, track, mode), f"{TRACK_LABELS[track]}: {mode}")

    def _target_chosen(self) -> None:
        target = self.target_box.currentData()
        if target != self.timeline.target:
            self._commit(T.with_target(self.timeline, target), "Clip target")

    def _fps_chosen(self) -> None:
        import dataclasses

        fps = float(self.fps_box.value())
        if fps != self.timeline.fps:
            self._commit(dataclasses.replace(self.timeline, fps=fps), "Clip fps")

    def _preset_chosen(self) -> None:
        preset = self.preset_box.currentData()
        self.preset_box.setCurrentIndex(0)
        if preset:
            self.preset_requested.emit(preset)

    # --- the playhead -----------------------------------------------------------------------------------
    @property
    def frame(self) -> int:
        return T.frame_of(self.timeline, self.playhead.value())

    def set_frame(self, frame: int) -> None:
        """Put the playhead on ``frame`` (scrubbing: the preview follows)."""
        self.playhead.setValue(max(0, int(frame)) / self.timeline.fps)

    def _playhead_moved(self) -> None:
        snapped = T.snap(self.timeline, self.playhead.value())
        if abs(snapped - self.playhead.value()) > 1e-9:
            self.playhead.setValue(snapped)          # comes back here once, on the grid
            return
        self._update_label()
        self.scrubbed.emit(self.frame)

    def _update_label(self) -> None:
        self.frame_label.setText(f"frame {self.frame + 1} / {T.frame_count(self.timeline)}")

    def _play_toggled(self, on: bool) -> None:
        self.play_button.setText("Pause" if on else "Play")
        self.play_toggled.emit(on)
