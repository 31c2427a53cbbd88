"""OnnxEditor runs a pack's exported editor: (image, y_diff) graphs, and (image, y_diff, masks) graphs fed
with the same pack's parser."""
import numpy as np
import pytest
import torch

from tests.helpers.packs import make_test_pack
from trainer.pack_editor import open_pack_editor
from trainer.pack_parser import PackParser

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_two_input_editor_runs_without_a_parser(tmp_path):
    pack = make_test_pack(tmp_path, "e", tasks=("edit_attributes",), resolution=16)
    editor = open_pack_editor(pack.path)
    assert editor.parser is None
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    y = torch.zeros(2, 13)
    with torch.no_grad():
        assert torch.allclose(editor.edit(x, y), pack.modules["G"](x, y), atol=1e-4)


def test_a_masks_input_is_fed_the_packs_parser(tmp_path):
    pack = make_test_pack(tmp_path, "m", tasks=("parse", "edit_attributes"), resolution=16, edit_mask_input=True)
    editor = open_pack_editor(pack.path)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    y = torch.zeros(2, 13)
    y[:, 0] = 1
    probs = PackParser(pack.path)(x)
    with torch.no_grad():
        want = pack.modules["G"](x, y, probs)
    assert torch.allclose(editor.edit(x, y), want, atol=1e-4)
    assert editor.masks(x) is editor.masks(x)                # parsed once per image batch
    np.testing.assert_allclose(editor.masks(x), probs.numpy(), atol=1e-6)


def test_a_masks_editor_without_a_parser_is_refused(tmp_path):
    pack = make_test_pack(tmp_path, "n", tasks=("edit_attributes",), resolution=16, edit_mask_input=True)
    with pytest.raises(ValueError, match="reads parse masks, and .*no parse model"):
        open_pack_editor(pack.path)


def test_the_parser_reads_any_size(tmp_path):
    pack = make_test_pack(tmp_path, "p", tasks=("parse",), resolution=16)
    probs = PackParser(pack.path)(torch.rand(1, 3, 32, 32) * 2 - 1)
    assert probs.shape == (1, 19, 32, 32)
    assert torch.allclose(probs.sum(1), torch.ones(1, 32, 32), atol=1e-5)


def test_a_flip_model_edits_with_the_head_y_diff_asks_for(tmp_path):
    """SG-GAN's flip_attributes graph as an AttributeEditor: y_diff > 0 picks the 'present' head of the
    attribute it changes, < 0 the 'absent' one, no change returns the input; one graph run per batch."""
    from tests.helpers.packs import flip_colours
    from trainer.pack_editor import OnnxFlipEditor

    pack = make_test_pack(tmp_path, "f", tasks=("flip_attributes",), resolution=16)
    editor = open_pack_editor(pack.path, "G_flip")
    assert isinstance(editor, OnnxFlipEditor) and editor.attributes == list(pack.manifest.models[0].attributes)
    calls = []
    run = editor.session.run
    editor.session.run = lambda *a, **k: calls.append(1) or run(*a, **k)
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    y = torch.zeros(3, 13)
    y[0, 2], y[1, 5] = 1.0, -1.0                   # face 2: nothing asked
    out = editor.edit(x, y)
    colours = flip_colours(13)
    assert torch.allclose(out[0], 0.5 * x[0] + colours[2, 1][:, None, None], atol=1e-5)
    assert torch.allclose(out[1], 0.5 * x[1] + colours[5, 0][:, None, None], atol=1e-5)
    assert torch.equal(out[2], x[2])
    editor.edit(x, -y)
    assert len(calls) == 1
    with pytest.raises(ValueError, match="G_flip"):
        open_pack_editor(pack.path)                # no edit_attributes model: the message names the flip one
