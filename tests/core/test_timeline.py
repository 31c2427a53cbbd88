"""Track edits over the keyframes format, and the anti-aliased masks that keep clips from stepping."""
from __future__ import annotations

import numpy as np
import pytest

from faceeditor.core import timeline as T
from faceeditor.core.keyframes import KeyframeError, KeyframeFile, decode_keyframes, encode_keyframes
from faceeditor.engine.processing import masks_to_onehot


def test_tracks_share_keyframes_but_edit_only_their_channel():
    tl = T.with_key(KeyframeFile(fps=10), "seed", 0.0, 3)
    tl = T.with_key(tl, "attributes", 0.0, {"Male": 1.0})
    tl = T.with_key(tl, "expression", 1.04, ("happy", 0.5))        # snapped to frame 10
    assert len(tl.keyframes) == 2 and T.key_times(tl, "expression") == [1.0]
    moved = T.moved_key(tl, "seed", 0.0, 0.5)
    assert T.key_times(moved, "seed") == [0.5] and T.key_times(moved, "attributes") == [0.0]
    gone = T.without_key(T.without_key(tl, "seed", 0.0), "attributes", 0.0)
    assert [k.time for k in gone.keyframes] == [1.0]                # an empty keyframe is dropped
    tl = T.with_mode(T.with_target(tl, "expression"), "seed", "hold")
    assert decode_keyframes(encode_keyframes(tl)) == tl and T.frame_count(tl) == 11


def test_antialiased_masks_move_by_fractions():
    a = np.zeros((32, 32), np.uint8)
    a[:, :13] = 1                                                   # a boundary at 13/4 model pixels
    hard = masks_to_onehot([a], 8, np.arange(19), 19)
    soft = masks_to_onehot([a], 8, np.arange(19), 19, antialias=True)
    assert set(np.unique(hard)) == {0.0, 1.0}
    assert np.isclose(soft[0, 1, 0, 3], 0.25) and np.allclose(soft[0].sum(axis=0), 1.0)


def test_durations_are_frame_counts_at_the_files_fps():
    tl = T.with_key(KeyframeFile(fps=25), "seed", 1.0, 1)
    assert T.frame_count(tl) == 26 and list(T.sample_positions(tl)) == list(range(26))
    assert T.frames_for_duration(2.0, 12) == 24 and T.frames_for_duration(0.05, 25) == 1
    assert list(T.sample_positions(tl, 1)) == [0.0]
    for bad in ((0, 25), (1.0, 0), (0.01, 10), (float("nan"), 25)):
        with pytest.raises(KeyframeError):
            T.frames_for_duration(*bad)
