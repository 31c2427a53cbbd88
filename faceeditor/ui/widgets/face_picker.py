"""The face picker: the faces detected in a picture as thumbnails with their detector scores, to choose
which one is edited (Face ▸ Choose face…). Faint detections (score under crop_policy.OFFER_MIN_SCORE)
are listed only when asked; the face edited now is always listed. Numbers are the --face numbering of
`faceeditor-cli edit`. The dialog only reports the choice (`chosen()`); the caller applies it."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from faceeditor.core.crop_policy import OFFER_MIN_SCORE
from faceeditor.ui.qt_image import rgb_to_qimage

THUMB_SIDE = 112
# The thumbnail shows the face's box enlarged by this much on each side, so a face reads as one.
THUMB_MARGIN = 0.3


def face_label(index: int, score: float) -> str:
    """'Face 1 · score 1.14' (a box given rather than detected has no score)."""
    return f"Face {index} \u00b7 " + ("no score" if score != score else f"score {score:.2f}")


def face_thumbnail(photo: np.ndarray, box: tuple[float, float, float, float], side: int = THUMB_SIDE) -> QPixmap:
    """The face's box (with a margin, clipped to the photo) scaled to fit a side x side square."""
    h, w = photo.shape[:2]
    left, top, right, bottom = box
    pad = THUMB_MARGIN * max(right - left, bottom - top)
    x0, y0 = max(0, int(left - pad)), max(0, int(top - pad))
    x1, y1 = min(w, int(right + pad) + 1), min(h, int(bottom + pad) + 1)
    if x1 <= x0 or y1 <= y0:
        x0, y0, x1, y1 = 0, 0, w, h
    pixmap = QPixmap.fromImage(rgb_to_qimage(photo[y0:y1, x0:x1]))
    return pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


class FacePickerDialog(QDialog):
    """See the module docstring. `faces` are face_detect.Face values (box, score), `current` the index
    edited now (preselected), `offered(faint)` the indices to list (crop_policy.offered_faces)."""

    def __init__(self, photo: np.ndarray, faces, current: int | None, offered, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Choose the face to edit")
        self._photo, self._faces, self._current, self._offered = photo, list(faces), current, offered
        faint = len(faces) - len(offered(False))
        sure = len(faces) - faint
        found = f"{sure} face{'s' if sure != 1 else ''}" + (
            f" and {faint} faint detection{'s' if faint != 1 else ''}" if faint else "")
        intro = QLabel(f"Found in this picture: {found}. The chosen face is edited in its aligned crop "
                       "(one undo step; saved with the project).")
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setWordWrap(True)
        self.list.setGridSize(QSize(THUMB_SIDE + 48, THUMB_SIDE + 64))
        self.list.setMinimumSize(min(4, max(2, len(faces))) * (THUMB_SIDE + 48) + 24, THUMB_SIDE + 76)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.faint = QCheckBox(f"Show faint detections (score under {OFFER_MIN_SCORE:g}: {faint})")
        self.faint.setToolTip("Detections the detector is unsure of: often not a face (a badge, a pattern), "
                              "sometimes a face in profile or in shadow")
        self.faint.setEnabled(faint > 0)
        self.faint.toggled.connect(self._fill)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Edit this face")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.list.currentItemChanged.connect(
            lambda item, _old: buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(item is not None))
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.faint)
        layout.addWidget(buttons)
        self._fill()

    def _fill(self) -> None:
        selected = self.chosen()
        self.list.clear()
        for index in self._offered(self.faint.isChecked()):
            face = self._faces[index]
            text = face_label(index, face.score).replace(" \u00b7 ", "\n") + (
                "\n(edited now)" if index == self._current else "")
            item = QListWidgetItem(QIcon(face_thumbnail(self._photo, face.box)), text)
            item.setData(Qt.ItemDataRole.UserRole, index)
            item.setToolTip(f"box {', '.join(f'{v:.0f}' for v in face.box)} px in the photo")
            self.list.addItem(item)
            if index == (self._current if selected is None else selected):
                self.list.setCurrentItem(item)

    def indices(self) -> list[int]:
        """The face indices listed now, in order."""
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def select(self, index: int) -> None:
        """Select face `index` (when listed)."""
        for row, listed in enumerate(self.indices()):
            if listed == index:
                self.list.setCurrentRow(row)

    def chosen(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)
