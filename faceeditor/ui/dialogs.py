"""File dialogs sized to their content: Qt's own dialog (used where the platform offers no native one)
opens small and truncates its columns; these open it at a size that shows a long file name and the size,
type and date columns whole, bounded by the screen. A native dialog sizes itself."""
from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QHeaderView, QTreeView, QWidget

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.ppm)"
DIALOG_SIZE = (1000, 640)             # px, at most 90 % of the screen's available area
NAME_SHARE = 0.55                     # of the detail view's width, for the file name
SAMPLES = ("999.9 KiB", "Folder   PNG File   ", "2026-12-31 23:59:59   ")   # size, type, date columns


def file_dialog(parent: QWidget | None, caption: str, directory: str = "", name_filter: str = "", *,
                save: bool = False, folder: bool = False) -> QFileDialog:
    """A QFileDialog to open a file (or a folder, or to save), sized to its content."""
    dialog = QFileDialog(parent, caption, directory, name_filter)
    if folder:
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    elif save:
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    else:
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setViewMode(QFileDialog.ViewMode.Detail)
    size_to_content(dialog)
    return dialog


def size_to_content(dialog: QFileDialog) -> None:
    """Resize Qt's own file dialog to DIALOG_SIZE (within the screen) and give its columns room."""
    parent = dialog.parentWidget()
    screen = parent.screen() if parent is not None else QGuiApplication.primaryScreen()
    available = screen.availableGeometry() if screen is not None else None
    width, height = DIALOG_SIZE
    if available is not None and available.width() > 0:
        width, height = min(width, int(0.9 * available.width())), min(height, int(0.9 * available.height()))
    dialog.resize(width, height)
    for view in dialog.findChildren(QTreeView):
        header = view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        metrics = view.fontMetrics()
        rest = [metrics.horizontalAdvance(s) + 24 for s in SAMPLES][: max(0, header.count() - 1)]
        for column, w in enumerate(rest, start=1):
            header.resizeSection(column, w)
        header.resizeSection(0, max(int(NAME_SHARE * width), width - 60 - sum(rest)))


def _run(dialog: QFileDialog) -> str:
    return dialog.selectedFiles()[0] if dialog.exec() and dialog.selectedFiles() else ""


def open_file_name(parent: QWidget | None, caption: str, directory: str = "", name_filter: str = "") -> str:
    """The path of an existing file the user chose ("" when cancelled)."""
    return _run(file_dialog(parent, caption, directory, name_filter))


def save_file_name(parent: QWidget | None, caption: str, directory: str = "", name_filter: str = "") -> str:
    """The path to save to ("" when cancelled); `directory` may end in a suggested file name."""
    return _run(file_dialog(parent, caption, directory, name_filter, save=True))


def folder_name(parent: QWidget | None, caption: str, directory: str = "") -> str:
    """An existing folder the user chose ("" when cancelled)."""
    return _run(file_dialog(parent, caption, directory, folder=True))


class ExportClipDialog:
    """Where and how to export the timeline's clip: the file (its extension picks H.264 MP4 or GIF; a name
    without one, a folder of PNG frames), the frames' size, the frames per second and the clip's length as a
    frame count or a duration (the two are tied by the fps: frames = duration x fps). Another length than
    the timeline's samples the clip's span evenly (faceeditor.core.timeline.sample_positions): the
    keyframes stay where they are, so the project does not change."""

    def __init__(self, fps: float, frames: int, parent: QWidget | None = None):
        from PySide6.QtWidgets import (
            QComboBox,
            QDialog,
            QDialogButtonBox,
            QDoubleSpinBox,
            QFormLayout,
            QHBoxLayout,
            QLineEdit,
            QPushButton,
            QSpinBox,
        )

        from faceeditor.core.timeline import MAX_EXPORT_FRAMES

        self.dialog = d = QDialog(parent)
        d.setWindowTitle("Export clip")
        self.timeline_frames = int(frames)
        self._duration_set = False          # the user typed a duration: a new fps keeps it (else the frames)
        self.path = QLineEdit("clip.mp4")
        browse = QPushButton("Browse\u2026")
        browse.clicked.connect(self._browse)
        self.kind = QComboBox()
        for label, ext in (("H.264 MP4", ".mp4"), ("GIF", ".gif"), ("PNG sequence (folder)", "")):
            self.kind.addItem(label, ext)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.size = QSpinBox()
        self.size.setRange(0, 4096)
        self.size.setSpecialValueText("as rendered")
        self.size.setSuffix(" px")
        self.fps = QDoubleSpinBox()
        self.fps.setRange(1, 240)
        self.fps.setValue(fps)
        self.frames = QSpinBox()
        self.frames.setRange(1, MAX_EXPORT_FRAMES)
        self.frames.setValue(self.timeline_frames)
        self.frames.setToolTip(f"The timeline has {self.timeline_frames} frames; another count samples the "
                               "clip from frame 0 to its last keyframe evenly (slower or faster motion)")
        self.duration = QDoubleSpinBox()
        self.duration.setDecimals(2)
        self.duration.setRange(0.01, 3600)
        self.duration.setSuffix(" s")
        self.duration.setToolTip("How long the file plays; sets the frame count (duration x fps)")
        self._sync_duration()
        self.frames.valueChanged.connect(self._frames_edited)
        self.duration.valueChanged.connect(self._duration_edited)
        self.fps.valueChanged.connect(self._fps_edited)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form = QFormLayout(d)
        form.addRow("File", row)
        form.addRow("Format", self.kind)
        form.addRow("Longer side", self.size)
        form.addRow("Frames per second", self.fps)
        form.addRow("Frame count", self.frames)
        form.addRow("Duration", self.duration)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(d.accept)
        buttons.rejected.connect(d.reject)
        form.addRow(buttons)

    # frames and duration follow each other through the fps, with the other's signals blocked
    def _sync_duration(self) -> None:
        self.duration.blockSignals(True)
        self.duration.setValue(self.frames.value() / self.fps.value())
        self.duration.blockSignals(False)

    def _sync_frames(self) -> None:
        from faceeditor.core.keyframes import KeyframeError
        from faceeditor.core.timeline import frames_for_duration

        try:
            frames = frames_for_duration(self.duration.value(), self.fps.value())
        except KeyframeError:               # under half a frame: the shortest file there is
            frames = 1
        self.frames.blockSignals(True)
        self.frames.setValue(frames)
        self.frames.blockSignals(False)

    def _frames_edited(self) -> None:
        self._duration_set = False
        self._sync_duration()

    def _duration_edited(self) -> None:
        self._duration_set = True
        self._sync_frames()

    def _fps_edited(self) -> None:
        if self._duration_set:
            self._sync_frames()
        else:
            self._sync_duration()

    def _kind_changed(self) -> None:
        from pathlib import Path

        p = Path(self.path.text() or "clip")
        self.path.setText(str(p.with_suffix(self.kind.currentData())))

    def _browse(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self.dialog, "Export clip", self.path.text())
        if name:
            self.path.setText(name)

    def exec(self) -> bool:
        return bool(self.dialog.exec())

    def choice(self) -> tuple[str, int | None, float, int | None]:
        """(path, longer side or None, fps, frame count or None for the timeline's own)."""
        frames = self.frames.value()
        return (self.path.text(), (self.size.value() or None), float(self.fps.value()),
                None if frames == self.timeline_frames else frames)
