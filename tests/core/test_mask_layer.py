"""The mask layer's tools, driven with plain stroke points (as the canvas's mouse handlers do)."""
from __future__ import annotations

import numpy as np
import pytest

from faceeditor.core.labels import CLASS_INDEX, flip_class_lut
from faceeditor.core.mask_layer import TILE, MaskLayer, Rect

SKIN, HAIR = CLASS_INDEX["skin"], CLASS_INDEX["hair"]
L_EYE, R_EYE = CLASS_INDEX["l_eye"], CLASS_INDEX["r_eye"]


def _layer(h=100, w=120, **kw) -> MaskLayer:
    layer = MaskLayer((h, w), **kw)
    layer.label = SKIN
    return layer


def _disk_count(size: int) -> int:
    c = np.arange(size) - (size - 1) / 2
    return int(((c[None] ** 2 + c[:, None] ** 2) <= (size / 2) ** 2 + 1e-9).sum())


@pytest.mark.parametrize("size", [1, 2, 5, 8, 15])
def test_dab_is_a_round_disk_of_the_brush_size(size):
    layer = _layer()
    layer.set_brush_size(size)
    layer.stroke([(50, 40)])
    painted = layer.data == SKIN
    assert painted.sum() == _disk_count(size)
    ys, xs = np.nonzero(painted)
    assert xs.max() - xs.min() + 1 == size and ys.max() - ys.min() + 1 == size
    if size % 2:
        assert painted[40, 50] and xs.min() == 50 - size // 2   # odd sizes centre on the pixel


def test_stroke_paints_a_gapless_line_and_one_undo_restores_it():
    layer = _layer()
    before = layer.data.copy()
    layer.set_brush_size(3)
    step = layer.stroke([(5, 50), (60, 50), (110, 20)])
    assert step is not None and layer.can_undo
    row = layer.data[50, 5:61]
    assert (row == SKIN).all(), "a stroke must have no gaps between its points"
    assert layer.data[20, 110] == SKIN
    assert layer.undo() == step.name
    np.testing.assert_array_equal(layer.data, before)
    assert layer.redo() == step.name
    assert (layer.data[50, 5:61] == SKIN).all()


def test_each_stroke_is_one_undo_step():
    layer = _layer()
    layer.stroke([(10, 10), (30, 10)])
    after_first = layer.data.copy()
    layer.label = HAIR
    layer.stroke([(10, 30), (30, 30), (30, 60)])
    assert len(layer.history.undo_stack) == 2
    layer.undo()
    np.testing.assert_array_equal(layer.data, after_first)
    layer.undo()
    assert not layer.data.any() and not layer.can_undo and layer.undo() is None


def test_undo_step_is_bounding_box_diffs_not_snapshots():
    layer = _layer(1000, 1000)
    layer.set_brush_size(5)
    step = layer.stroke([(100, 100), (900, 100)])          # a long thin stroke
    stored = sum(a.old.size for a in step.atoms)
    assert stored < 800 * 5 * 1.5, f"stored {stored} pixels for a ~4000-pixel stroke"
    for atom in step.atoms:                                  # every atom is trimmed to what changed
        assert atom.old.shape[0] <= 5 and atom.old.shape[1] <= TILE
        assert (atom.old != atom.new).any(axis=0).all() or atom.old.shape[1] == 1


def test_new_edit_clears_redo():
    layer = _layer()
    layer.stroke([(10, 10)])
    layer.undo()
    assert layer.can_redo
    layer.stroke([(50, 50)])
    assert not layer.can_redo


def test_history_respects_its_byte_budget():
    layer = _layer(400, 400, history_bytes=60_000)
    layer.set_brush_size(40)
    for i in range(30):
        layer.stroke([(20 + i * 12, 200)])
        layer.label = SKIN if layer.label == HAIR else HAIR
    assert layer.history.nbytes <= 60_000
    assert 0 < len(layer.history.undo_stack) < 30 and layer.history.dropped > 0
    while layer.undo():
        pass
    assert layer.data.any(), "the oldest strokes were forgotten, so they cannot be undone"


def test_step_larger_than_budget_is_applied_but_not_undoable():
    layer = _layer(200, 200, history_bytes=1000)
    layer.replace(np.full((200, 200), HAIR, np.uint8))
    assert (layer.data == HAIR).all() and not layer.can_undo


def test_eraser_paints_background_or_the_chosen_class():
    layer = _layer()
    layer.data[:] = HAIR
    layer.set_brush_size(5)
    layer.stroke([(20, 20)], erase=True)
    assert layer.data[20, 20] == 0
    layer.eraser_label = SKIN
    layer.stroke([(60, 60)], erase=True)
    assert layer.data[60, 60] == SKIN


def test_lock_paints_only_over_the_locked_class():
    layer = _layer()
    layer.data[:, :60] = HAIR
    layer.label = SKIN
    layer.lock_label = HAIR
    layer.set_brush_size(21)
    layer.stroke([(60, 50)])
    assert (layer.data[50, 50:60] == SKIN).all()            # hair side painted
    assert (layer.data[50, 60:71] == 0).all()               # background side untouched


def test_flood_fill_fills_only_the_connected_region():
    layer = _layer()
    layer.data[:, 50] = HAIR                                 # a wall splits the background
    layer.label = SKIN
    step = layer.fill(10, 10)
    assert step is not None
    assert (layer.data[:, :50] == SKIN).all() and (layer.data[:, 51:] == 0).all()
    assert step.rect == Rect(0, 0, 50, 100)
    layer.undo()
    assert (layer.data[:, :50] == 0).all()


def test_flood_fill_is_4_connected():
    layer = _layer(10, 10)
    layer.data[:] = HAIR
    layer.data[np.arange(10), np.arange(10)] = 0             # a diagonal line of background
    layer.fill(0, 0)
    assert layer.data[0, 0] == SKIN and layer.data[1, 1] == 0


def test_fill_with_lock_and_no_op_cases():
    layer = _layer()
    layer.lock_label = HAIR
    assert layer.fill(10, 10) is None                        # background is not the locked class
    layer.lock_label = None
    layer.data[:] = SKIN
    assert layer.fill(10, 10) is None                        # already that class
    assert layer.fill(-5, 10) is None                        # outside
    assert not layer.can_undo


def test_pick_returns_the_class_under_the_point():
    layer = _layer()
    layer.data[30, 40] = HAIR
    assert layer.pick(40, 30) == HAIR and layer.pick(40.3, 29.8) == HAIR
    assert layer.pick(0, 0) == 0 and layer.pick(500, 0) is None


def test_mirror_paints_the_mirror_image_with_swapped_classes():
    layer = _layer(64, 100)
    layer.mirror = True
    layer.label = L_EYE
    layer.set_brush_size(5)
    layer.stroke([(20, 30), (30, 30)])
    left = layer.data == L_EYE
    right = layer.data == R_EYE
    assert left.any() and right.any()
    np.testing.assert_array_equal(left[:, ::-1], right)       # exact mirror about the centre line
    layer.undo()
    assert not layer.data.any(), "the mirrored dabs belong to the same undo step"


def test_mirror_fill_and_lock_swap_classes_too():
    layer = _layer(20, 20)
    layer.data[:, :5] = L_EYE
    layer.data[:, 15:] = R_EYE
    layer.mirror = True
    layer.lock_label = L_EYE
    layer.label = CLASS_INDEX["l_brow"]
    step = layer.fill(1, 1)
    assert (layer.data[:, :5] == CLASS_INDEX["l_brow"]).all()
    assert (layer.data[:, 15:] == CLASS_INDEX["r_brow"]).all()
    assert len(step.atoms) == 2
    lut = flip_class_lut()
    assert lut[CLASS_INDEX["l_brow"]] == CLASS_INDEX["r_brow"]


def test_changed_events_cover_exactly_the_dirty_rectangles():
    layer = _layer()
    rects: list[Rect] = []
    edited: list[str] = []
    layer.on_changed(rects.append)
    layer.on_edited(edited.append)
    layer.set_brush_size(5)
    before = layer.data.copy()
    layer.begin_stroke(30, 30)
    assert rects == [Rect(28, 28, 33, 33)] and edited == []   # repaint, but no step yet
    layer.stroke_to(40, 30)
    layer.end_stroke()
    assert len(edited) == 1
    changed = np.argwhere(layer.data != before)
    union = rects[0]
    for r in rects[1:]:
        union = union.union(r)
    assert union.y0 <= changed[:, 0].min() and changed[:, 0].max() < union.y1
    assert union.x0 <= changed[:, 1].min() and changed[:, 1].max() < union.x1
    assert union.width * union.height < layer.data.size / 20   # never the whole mask
    rects.clear()
    layer.undo()
    assert rects and rects[0].width <= 20 and edited[-1].startswith("Undo")


def test_replace_is_one_step_and_validates():
    layer = _layer(32, 32)
    new = np.random.default_rng(0).integers(0, 19, (32, 32)).astype(np.uint8)
    layer.replace(new, "Parser mask")
    np.testing.assert_array_equal(layer.data, new)
    assert layer.history.undo_stack[-1].name == "Parser mask"
    layer.undo()
    assert not layer.data.any()
    with pytest.raises(ValueError, match="outside 0..18"):
        layer.replace(np.full((32, 32), 19, np.uint8))
    with pytest.raises(ValueError, match="32x32"):
        layer.replace(np.zeros((16, 32), np.uint8))


def test_strokes_off_the_edge_are_clipped():
    layer = _layer(20, 20)
    layer.set_brush_size(9)
    layer.stroke([(-3, -3), (25, 25)])
    assert layer.data[0, 0] == SKIN and layer.data[19, 19] == SKIN
    assert layer.stroke([(-50, -50)]) is None                 # wholly outside: nothing, no step


def test_bad_settings_are_refused_with_a_clear_message():
    layer = _layer()
    layer.label = 42
    with pytest.raises(ValueError, match="0..18"):
        layer.begin_stroke(1, 1)
    layer.set_brush_size(0)
    assert layer.brush_size == 1
