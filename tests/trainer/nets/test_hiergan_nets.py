"""The hierarchical expression GAN's networks: shapes, the part boxes, crop and paste by resampling
(gradients reach the segmenter through it; an unchanged crop pastes back as the input exactly; a change
lands inside its box only) and the export wrapper's intensity."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from faceeditor.core.labels import CLASS_INDEX, NUM_CLASSES
from trainer.nets.hiergan import (
    PARTS,
    ExpressionEditExport,
    FusionNetwork,
    HierarchicalGenerator,
    HierGANShape,
    crop_box,
    discriminators,
    one_hot_expression,
    parse_parts,
    part_boxes,
    paste_box,
)
from trainer.nets.parser import ParserNetConfig, build_parser_net

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _shape(**kw) -> HierGANShape:
    base = dict(resolution=32, g_width=4, n_res=1, local_width=4, local_n_res=1, fusion_width=4, crop=16)
    base.update(kw)
    return HierGANShape(**base)


def _generator(**kw) -> HierarchicalGenerator:
    torch.manual_seed(0)
    seg = build_parser_net(ParserNetConfig(width=4, context_channels=8)).eval()
    return HierarchicalGenerator(seg, _shape(**kw))


def test_parse_parts_orders_and_refuses_unknown():
    assert parse_parts("mouth, left_eye") == ("left_eye", "mouth")
    assert parse_parts("") == ()
    with pytest.raises(ValueError, match="known: left_eye"):
        parse_parts("left_eye,ears")


def test_boxes_follow_the_masks_and_fall_back_when_empty():
    masks = torch.zeros(1, 2, 32, 32)
    masks[0, 0, 4:12, 20:28] = 1.0           # an 8x8 square: rows 4..11, columns 20..27
    boxes = part_boxes(masks, ("left_eye", "mouth"), margin=0.0, min_box=0.0)
    cx, cy, half = boxes[0, 0].tolist()
    assert cx == pytest.approx(48 / 32 - 1) and cy == pytest.approx(16 / 32 - 1) and half == pytest.approx(0.25)
    assert boxes[0, 1].tolist() == pytest.approx([0.0, 0.5, 0.3])     # empty mouth mask: its usual place


def test_crop_box_is_affine_grid_of_the_box():
    x = torch.randn(2, 3, 32, 32)
    box = torch.tensor([[0.2, -0.3, 0.4], [-0.5, 0.1, 0.25]])
    theta = torch.zeros(2, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = box[:, 2]
    theta[:, 0, 2], theta[:, 1, 2] = box[:, 0], box[:, 1]
    ref = F.grid_sample(x, F.affine_grid(theta, (2, 3, 16, 16), align_corners=False), align_corners=False)
    assert torch.allclose(crop_box(x, box, 16), ref, atol=1e-4)


def test_crop_then_paste_of_a_one_to_one_box_is_lossless_inside():
    x = torch.randn(1, 3, 32, 32)
    box = torch.tensor([[0.0, 0.0, 0.5]])          # the central 16x16 pixels at a 16² crop: pixel for pixel
    back = paste_box(crop_box(x, box, 16), box, 32)
    assert torch.allclose(back[..., 8:24, 8:24], x[..., 8:24, 8:24], atol=1e-6)
    assert back[..., :7, :].abs().max() == 0 and back[..., 25:, :].abs().max() == 0


def test_identity_edit_is_lossless_and_a_change_stays_in_its_box():
    g = _generator(parts=("mouth",))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    boxes = torch.tensor([[[0.25, 0.25, 0.25]], [[-0.5, 0.0, 0.3]]])
    crops = crop_box(x, boxes[:, 0], 16)
    assert torch.equal(g.stitch(x, boxes, {"mouth": crops - crops}), x)       # exactly the input
    out = g.stitch(x, boxes, {"mouth": torch.full_like(crops, 0.5)})
    diff = (out - x).abs().amax(dim=1)
    # image 0's box spans pixels 16..23 (rows and columns): the change is 0.5 well inside and 0 outside
    assert torch.allclose(diff[0, 17:23, 17:23], torch.full((6, 6), 0.5), atol=1e-5)
    inside = torch.zeros(32, 32, dtype=torch.bool)
    inside[15:25, 15:25] = True
    assert diff[0][~inside].max() == 0


def test_pipeline_shapes_and_gradients_reach_the_segmenter_through_the_crops():
    g = _generator()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    f = g.run(x, one_hot_expression(torch.tensor([4, 0])))
    assert f.masks.shape == (2, 4, 32, 32) and f.boxes.shape == (2, 4, 3)
    assert all(f.crops[p].shape == (2, 3, 16, 16) == f.local_out[p].shape for p in PARTS)
    assert f.x_global.shape == f.x_local.shape == f.x_out.shape == (2, 3, 32, 32)
    # a loss on the local outputs alone (not the global path) reaches S only through the resampled crops
    sum(o.square().mean() for o in f.local_out.values()).backward()
    grads = [p.grad for p in g.segmenter.parameters() if p.grad is not None]
    assert grads and sum(float(gr.abs().sum()) for gr in grads) > 0
    assert all(p.grad is None for p in g.g_global.parameters())


def test_without_end_to_end_the_segmenter_gets_no_gradient():
    g = _generator()
    g.end_to_end = False
    f = g.run(torch.rand(1, 3, 32, 32), one_hot_expression(torch.tensor([1])))
    f.x_out.mean().backward()
    assert all(p.grad is None for p in g.segmenter.parameters())


def test_part_masks_gather_the_papers_classes():
    g = _generator()
    logits = torch.full((1, NUM_CLASSES, 4, 4), -10.0)
    logits[0, CLASS_INDEX["u_lip"]] = 10.0                 # every pixel upper lip

    class Fixed(torch.nn.Module):                           # a stand-in parser
        def forward(self, x):
            return logits

    g.segmenter = Fixed()
    masks = g.part_masks(torch.zeros(1, 3, 4, 4))
    assert masks[0, list(PARTS).index("mouth")].min() > 0.99
    assert masks[0, list(PARTS).index("nose")].max() < 1e-3


def test_fusion_discriminators_and_global_only():
    assert FusionNetwork(8)(torch.zeros(2, 3, 16, 16), torch.zeros(2, 3, 16, 16)).shape == (2, 3, 16, 16)
    ds = discriminators(_shape(), 4, 3, 2)
    assert set(ds) == {"global", "fusion", *PARTS}
    adv, cls = ds["mouth"](torch.zeros(2, 3, 16, 16))
    assert cls.shape == (2, 8) and adv.shape[0] == 2
    g = _generator(parts=())
    f = g.run(torch.zeros(1, 3, 32, 32), one_hot_expression(torch.tensor([2])))
    assert f.masks.shape[1] == 0 and torch.equal(f.x_local, torch.zeros(1, 3, 32, 32))


def test_export_intensity_zero_is_the_input_and_one_the_edit():
    g = _generator().eval()
    ex = ExpressionEditExport(g)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    y = one_hot_expression(torch.tensor([4]))
    with torch.no_grad():
        assert torch.equal(ex(x, y * 0.0), x)
        full = g(x, y)
        assert torch.allclose(ex(x, y), full, atol=1e-6)
        assert torch.allclose(ex(x, y * 0.5), x + 0.5 * (full - x), atol=1e-6)


def test_a_residual_fusion_starts_as_the_stitched_local_image_and_learns_a_change():
    """fusion_residual (not in the paper): untrained, the result is x_local exactly (the input with the
    local generators' changes pasted in); a gradient step moves it."""
    g = _generator(fusion_residual=True)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    f = g.run(x, one_hot_expression(torch.tensor([3, 5])))
    assert torch.equal(f.x_out, f.x_local)
    assert not torch.equal(FusionNetwork(4)(f.x_global, f.x_local), f.x_local)      # the paper's redraws
    opt = torch.optim.SGD(g.fusion.parameters(), lr=0.1)
    (f.x_out - torch.ones_like(x)).abs().mean().backward()
    opt.step()
    assert not torch.equal(g.run(x, one_hot_expression(torch.tensor([3, 5]))).x_out, f.x_local)


def test_box_input_reads_the_whole_box_and_the_mask_and_keeps_the_segmenter_on_the_gradient_path():
    """local_input "box" (not in the paper): G_p reads its box of the image unmasked plus the part's mask
    crop as a fourth channel; a loss on the local outputs alone still reaches S (through that channel)."""
    g = _generator(local_input="box")
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    f = g.run(x, one_hot_expression(torch.tensor([4, 0])))
    for j, p in enumerate(PARTS):
        assert torch.equal(f.crops[p], crop_box(x, f.boxes[:, j], 16))
        assert f.hints[p].shape == (2, 1, 16, 16)
        assert torch.allclose(f.hints[p], crop_box(f.masks[:, j:j + 1], f.boxes[:, j], 16))
        assert g.g_local[p].main[0].in_channels == 4 + 8          # crop, mask and the 8 expressions
    sum(o.square().mean() for o in f.local_out.values()).backward()
    grads = [q.grad for q in g.segmenter.parameters() if q.grad is not None]
    assert grads and sum(float(gr.abs().sum()) for gr in grads) > 0
    assert _generator().run(x, one_hot_expression(torch.tensor([4, 0]))).hints == {}
    with pytest.raises(ValueError, match="local_input"):
        _generator(local_input="ring")


@pytest.mark.parametrize("local_input", ["masked", "box"])
def test_residual_local_generators_start_by_changing_nothing(local_input):
    """local_residual (not in the paper): an untrained G_p returns its crop, so the stitched image is the
    input exactly and the residual fusion's result too; one gradient step toward a changed picture moves
    the parts' outputs and only inside their boxes."""
    g = _generator(local_input=local_input, local_residual=True, fusion_residual=True, refined_residual=True)
    x = torch.rand(2, 3, 32, 32) * 1.6 - 0.8
    y = one_hot_expression(torch.tensor([3, 5]))
    f = g.run(x, y)
    for p in PARTS:
        assert torch.equal(f.local_out[p], f.crops[p])
    assert torch.equal(f.x_local, x) and torch.equal(f.x_out, x)
    opt = torch.optim.SGD(g.g_local.parameters(), lr=0.5)
    (f.x_local - torch.zeros_like(x)).abs().mean().backward()
    opt.step()
    f2 = g.run(x, y)
    changed = (f2.x_local - x).abs().amax(dim=1) > 0
    assert changed.any()
    inside = sum((paste_box(torch.ones(2, 1, 16, 16), f2.boxes[:, j], 32) > 0).float() for j in range(len(PARTS)))
    assert not (changed & (inside[:, 0] == 0)).any()
