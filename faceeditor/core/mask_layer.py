"""The editable semantic-mask layer: brush, eraser, flood fill, picker, class lock, mirror painting and a
bounded undo history — Qt-free, so every tool is driven and tested with plain stroke points.

The layer owns a uint8 (H, W) array of the 19 parse classes (faceeditor.core.labels). Tools take points
in mask pixel coordinates (x right, y down, a pixel's centre at its integer coordinate). Views subscribe
to two kinds of events:

- ``on_changed(rect)``: pixels inside ``rect`` changed (a dab, a fill, an undo); repaint only that.
- ``on_edited(step_name)``: an edit finished and became one undo step (end of a stroke, a fill, a
  replace, an undo or redo) — the moment to re-run a model that reads the mask or to autosave.

Undo keeps one step per stroke, in the undo history it is given (a document shares one across its
mask and its other changes, faceeditor.core.history). A step is a list of bounding-box diffs (old and new pixels of a small
rectangle): while a stroke runs, the layer backs up each 64x64 tile the first time a dab touches it; when
the stroke ends, each backed-up tile shrinks to the bounding box of the pixels that really changed. The
whole history (undo and redo) stays under a byte budget by forgetting the oldest steps.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from faceeditor.core.history import DEFAULT_HISTORY_BYTES, UndoHistory
from faceeditor.core.labels import NUM_CLASSES, class_label, flip_class_lut

TILE = 64
MAX_BRUSH = 1024
_FLIP = np.asarray(flip_class_lut(), np.uint8)


@dataclass(frozen=True)
class Rect:
    """A half-open pixel rectangle [x0, x1) x [y0, y1)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    def union(self, other: Rect | None) -> Rect:
        if other is None or other.empty:
            return self
        if self.empty:
            return other
        return Rect(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


class _Atom:
    """Old and new pixels of one rectangle: the unit of undo."""

    __slots__ = ("x0", "y0", "old", "new")

    def __init__(self, x0: int, y0: int, old: np.ndarray, new: np.ndarray):
        self.x0, self.y0, self.old, self.new = x0, y0, old, new

    @property
    def rect(self) -> Rect:
        h, w = self.old.shape
        return Rect(self.x0, self.y0, self.x0 + w, self.y0 + h)

    @property
    def nbytes(self) -> int:
        return self.old.nbytes + self.new.nbytes + 64


@dataclass
class Step:
    """One undoable edit (a stroke, a fill, a replace): a Command of the document's history."""

    name: str
    atoms: list[_Atom]
    layer: MaskLayer | None = None

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.atoms) + 128

    @property
    def rect(self) -> Rect:
        out = Rect(0, 0, 0, 0)
        for atom in self.atoms:
            out = out.union(atom.rect)
        return out

    def undo(self) -> None:
        layer = self.layer
        for atom in reversed(self.atoms):
            layer.data[atom.rect.slices] = atom.old
        layer._emit_changed(self.rect)
        layer._emit_edited(f"Undo {self.name}")

    def redo(self) -> None:
        layer = self.layer
        for atom in self.atoms:
            layer.data[atom.rect.slices] = atom.new
        layer._emit_changed(self.rect)
        layer._emit_edited(f"Redo {self.name}")


class _StrokeBackup:
    """Tiles of the mask as they were before the current stroke touched them."""

    def __init__(self, shape: tuple[int, int], name: str):
        h, w = shape
        self.name = name
        self.saved = np.zeros(((h + TILE - 1) // TILE, (w + TILE - 1) // TILE), bool)
        self.tiles: dict[tuple[int, int], np.ndarray] = {}

    def protect(self, data: np.ndarray, rect: Rect) -> None:
        ty0, ty1 = rect.y0 // TILE, (rect.y1 - 1) // TILE + 1
        tx0, tx1 = rect.x0 // TILE, (rect.x1 - 1) // TILE + 1
        block = self.saved[ty0:ty1, tx0:tx1]
        if block.all():
            return
        for ty, tx in np.argwhere(~block):
            ty, tx = int(ty + ty0), int(tx + tx0)
            self.tiles[(ty, tx)] = data[ty * TILE:(ty + 1) * TILE, tx * TILE:(tx + 1) * TILE].copy()
        block[:] = True

    def atoms(self, data: np.ndarray) -> list[_Atom]:
        out = []
        for (ty, tx), old in self.tiles.items():
            y0, x0 = ty * TILE, tx * TILE
            new = data[y0:y0 + old.shape[0], x0:x0 + old.shape[1]]
            atom = _diff_atom(old, new, x0, y0)
            if atom is not None:
                out.append(atom)
        return out


def _diff_atom(old: np.ndarray, new: np.ndarray, x0: int, y0: int) -> _Atom | None:
    """The bounding box of the pixels that differ between two same-shaped blocks, as an atom."""
    changed = old != new
    rows = np.flatnonzero(changed.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(changed[rows[0]:rows[-1] + 1].any(axis=0))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return _Atom(x0 + c0, y0 + r0, old[r0:r1, c0:c1].copy(), np.array(new[r0:r1, c0:c1]))


class MaskLayer:
    """A class-index mask with painting tools and undo. See the module docstring.

    Tool settings are plain attributes: ``label`` (class painted by the brush and fill), ``brush_size``
    (diameter in mask pixels), ``eraser_label`` (what the eraser paints, background by default),
    ``lock_label`` (None, or the only class that painting may overwrite), ``mirror`` (also paint the
    mirror image about the vertical centre line, with l_/r_ classes swapped).
    """

    def __init__(self, data: np.ndarray | tuple[int, int], *, history_bytes: int = DEFAULT_HISTORY_BYTES,
                 history: UndoHistory | None = None):
        if isinstance(data, tuple):
            h, w = data
            data = np.zeros((int(h), int(w)), np.uint8)
        self.data = _checked_mask(data).copy()
        self.history = history if history is not None else UndoHistory(history_bytes)
        self.label = 1
        self.eraser_label = 0
        self.brush_size = 9
        self.lock_label: int | None = None
        self.mirror = False
        self._stroke: _StrokeBackup | None = None
        self._stroke_label = 0
        self._last: tuple[float, float] | None = None
        self._disks: dict[int, np.ndarray] = {}
        self._changed: list[Callable[[Rect], None]] = []
        self._edited: list[Callable[[str], None]] = []

    # --- events -------------------------------------------------------------------------------
    def on_changed(self, callback: Callable[[Rect], None]) -> None:
        """Call ``callback(rect)`` whenever pixels inside ``rect`` change."""
        self._changed.append(callback)

    def on_edited(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(step_name)`` when an edit completes (stroke end, fill, replace, undo, redo)."""
        self._edited.append(callback)

    def remove_callback(self, callback: Callable) -> None:
        """Unsubscribe a callback given to on_changed or on_edited (a view that is going away)."""
        for callbacks in (self._changed, self._edited):
            while callback in callbacks:
                callbacks.remove(callback)

    def _emit_changed(self, rect: Rect | None) -> None:
        if rect is not None and not rect.empty:
            for cb in list(self._changed):
                cb(rect)

    def _emit_edited(self, name: str) -> None:
        for cb in list(self._edited):
            cb(name)

    # --- geometry -----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape  # type: ignore[return-value]

    @property
    def full_rect(self) -> Rect:
        return Rect(0, 0, self.data.shape[1], self.data.shape[0])

    def contains(self, x: float, y: float) -> bool:
        h, w = self.data.shape
        return -0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5

    def mirror_point(self, x: float, y: float) -> tuple[float, float]:
        """The point's mirror image about the vertical centre line (the aligned face's axis)."""
        return self.data.shape[1] - 1 - x, y

    def pick(self, x: float, y: float) -> int | None:
        """The class under a point, or None outside the mask."""
        if not self.contains(x, y):
            return None
        return int(self.data[int(round(y)), int(round(x))])

    # --- settings -----------------------------------------------------------------------------
    def set_brush_size(self, size: float) -> None:
        self.brush_size = int(min(MAX_BRUSH, max(1, round(size))))

    def _check_label(self, label: int, what: str = "class") -> int:
        label = int(label)
        if not 0 <= label < NUM_CLASSES:
            raise ValueError(f"{what} must be a class index in 0..{NUM_CLASSES - 1}, got {label}")
        return label

    # --- brush --------------------------------------------------------------------------------
    def _disk(self, size: int) -> np.ndarray:
        """Pixels of a size x size box whose centres lie within size/2 of the box centre."""
        disk = self._disks.get(size)
        if disk is None:
            r = size / 2.0
            c = np.arange(size) - (size - 1) / 2.0
            disk = (c[None, :] ** 2 + c[:, None] ** 2) <= r * r + 1e-9
            self._disks[size] = disk
        return disk

    def _dab(self, x: float, y: float, label: int, lock: int | None) -> Rect | None:
        """Paint one round dab centred on (x, y); returns the rectangle it covered (or None)."""
        size = self.brush_size
        h, w = self.data.shape
        # odd sizes centre on a pixel, even sizes on a pixel corner
        x0 = int(np.floor(x + 0.5)) - (size - 1) // 2 if size % 2 else int(np.floor(x)) - size // 2 + 1
        y0 = int(np.floor(y + 0.5)) - (size - 1) // 2 if size % 2 else int(np.floor(y)) - size // 2 + 1
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + size, w), min(y0 + size, h)
        if cx1 <= cx0 or cy1 <= cy0:
            return None
        rect = Rect(cx0, cy0, cx1, cy1)
        if self._stroke is not None:
            self._stroke.protect(self.data, rect)
        region = self.data[cy0:cy1, cx0:cx1]
        sel = self._disk(size)[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
        if lock is not None:
            sel = sel & (region == lock)
        region[sel] = label
        return rect

    def _dabs(self, points: Iterable[tuple[float, float]], label: int) -> None:
        lock = self.lock_label
        rect = None
        mrect = None
        for x, y in points:
            r = self._dab(x, y, label, lock)
            rect = r.union(rect) if r is not None else rect
            if self.mirror:
                mx, my = self.mirror_point(x, y)
                r = self._dab(mx, my, int(_FLIP[label]), None if lock is None else int(_FLIP[lock]))
                mrect = r.union(mrect) if r is not None else mrect
        self._emit_changed(rect)
        self._emit_changed(mrect)

    def begin_stroke(self, x: float, y: float, *, erase: bool = False) -> None:
        """Start a stroke (brush, or eraser when ``erase``) with a dab at (x, y)."""
        if self._stroke is not None:
            self.end_stroke()
        label = self._check_label(self.eraser_label if erase else self.label)
        if self.lock_label is not None:
            self._check_label(self.lock_label, "lock class")
        self._stroke = _StrokeBackup(self.data.shape, "Erase" if erase else f"Paint {class_label(label)}")
        self._stroke_label = label
        self._last = (float(x), float(y))
        self._dabs([self._last], label)

    def stroke_to(self, x: float, y: float) -> None:
        """Continue the stroke to (x, y): dabs a quarter of the brush size apart, so no gaps appear."""
        if self._stroke is None or self._last is None:
            self.begin_stroke(x, y)
            return
        x0, y0 = self._last
        x, y = float(x), float(y)
        dist = float(np.hypot(x - x0, y - y0))
        spacing = max(1.0, self.brush_size / 4.0)
        n = int(np.ceil(dist / spacing))
        if n == 0:
            return
        t = np.arange(1, n + 1) / n
        self._dabs(zip((x0 + (x - x0) * t).tolist(), (y0 + (y - y0) * t).tolist(), strict=True),
                   self._stroke_label)
        self._last = (x, y)

    def end_stroke(self) -> Step | None:
        """Finish the stroke: it becomes one undo step (None when it changed nothing)."""
        stroke, self._stroke, self._last = self._stroke, None, None
        if stroke is None:
            return None
        atoms = stroke.atoms(self.data)
        if not atoms:
            return None
        step = Step(stroke.name, atoms, self)
        self.history.push(step)
        self._emit_edited(step.name)
        return step

    @property
    def stroking(self) -> bool:
        return self._stroke is not None

    def stroke(self, points: Iterable[tuple[float, float]], *, erase: bool = False) -> Step | None:
        """A whole stroke through ``points`` (what a mouse press, moves and release produce)."""
        pts = list(points)
        if not pts:
            return None
        self.begin_stroke(*pts[0], erase=erase)
        for p in pts[1:]:
            self.stroke_to(*p)
        return self.end_stroke()

    # --- fill ---------------------------------------------------------------------------------
    def _fill_one(self, x: float, y: float, label: int, lock: int | None) -> _Atom | None:
        if not self.contains(x, y):
            return None
        ix, iy = int(round(x)), int(round(y))
        seed_class = int(self.data[iy, ix])
        if seed_class == label or (lock is not None and seed_class != lock):
            return None
        h, w = self.data.shape
        region = np.zeros((h + 2, w + 2), np.uint8)
        flags = 4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
        _, _, _, (rx, ry, rw, rh) = cv2.floodFill(self.data, region, (ix, iy), 0, 0, 0, flags)
        sel = region[ry + 1:ry + 1 + rh, rx + 1:rx + 1 + rw].view(bool)
        block = self.data[ry:ry + rh, rx:rx + rw]
        old = block.copy()
        block[sel] = label
        return _Atom(rx, ry, old, block.copy())

    def fill(self, x: float, y: float, *, erase: bool = False) -> Step | None:
        """Flood-fill the 4-connected region of the class under (x, y) with the brush (or eraser) class.

        With a lock, only a region of the locked class is filled; with mirror, the mirrored region too.
        One undo step; None when nothing changed.
        """
        if self._stroke is not None:
            self.end_stroke()
        label = self._check_label(self.eraser_label if erase else self.label)
        lock = self.lock_label
        atoms = []
        atom = self._fill_one(x, y, label, lock)
        if atom is not None:
            atoms.append(atom)
            self._emit_changed(atom.rect)
        if self.mirror:
            mx, my = self.mirror_point(x, y)
            atom = self._fill_one(mx, my, int(_FLIP[label]), None if lock is None else int(_FLIP[lock]))
            if atom is not None:
                atoms.append(atom)
                self._emit_changed(atom.rect)
        if not atoms:
            return None
        step = Step(f"Fill {class_label(label)}", atoms, self)
        self.history.push(step)
        self._emit_edited(step.name)
        return step

    # --- whole-mask edits ---------------------------------------------------------------------
    def replace(self, mask: np.ndarray, name: str = "Replace mask") -> Step | None:
        """Set the whole mask (e.g. from the face parser or an imported file) as one undo step."""
        if self._stroke is not None:
            self.end_stroke()
        mask = _checked_mask(mask)
        if mask.shape != self.data.shape:
            raise ValueError(f"mask is {mask.shape[1]}x{mask.shape[0]}, the layer is "
                             f"{self.data.shape[1]}x{self.data.shape[0]}")
        atom = _diff_atom(self.data, mask, 0, 0)
        if atom is None:
            return None
        self.data[...] = mask
        step = Step(name, [atom], self)
        self.history.push(step)
        self._emit_changed(atom.rect)
        self._emit_edited(name)
        return step

    # --- undo ---------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return self.history.can_undo

    @property
    def can_redo(self) -> bool:
        return self.history.can_redo

    def undo(self) -> str | None:
        """Undo the history's last step; returns its name (None when there is nothing to undo). With a
        document's shared history that step may be another kind of change than a mask edit."""
        if self._stroke is not None:
            self.end_stroke()
        return self.history.undo()

    def redo(self) -> str | None:
        """Redo the history's last undone step; returns its name (None when there is nothing to redo)."""
        if self._stroke is not None:
            self.end_stroke()
        return self.history.redo()


def _checked_mask(mask: np.ndarray) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"a mask must be a non-empty 2-D array of class indices, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if arr.dtype.kind not in "iu":
            raise ValueError(f"a mask must hold integer class indices, got {arr.dtype}")
        if arr.min() < 0 or arr.max() > 255:
            raise ValueError("mask values must lie in 0..255")
        arr = arr.astype(np.uint8)
    if int(arr.max()) >= NUM_CLASSES:
        raise ValueError(f"mask holds class index {int(arr.max())}, outside 0..{NUM_CLASSES - 1}")
    return np.ascontiguousarray(arr)
