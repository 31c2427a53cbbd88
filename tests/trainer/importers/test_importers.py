"""Checkpoint importers (issue 29): a file with exactly a reference checkpoint's keys and shapes (listed in
fixtures/, written from the reference projects' code), random values, saved the way the reference saves
it, becomes a pack that validates and whose ONNX graph matches the PyTorch network within 1e-4; a wrong
key, a wrong shape and a pickled object are refused with one line."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from faceeditor.core.labels import ATTRIBUTES, PARSE_CLASSES
from faceeditor.engine.engine import Engine
from faceeditor.engine.manifest import Manifest
from faceeditor.engine.requests import EditAttributesRequest, ParseRequest
from faceeditor.engine.validate import validate_pack
from trainer.cli import main as train_cli
from trainer.export import run_onnx, sha256_file
from trainer.importers import IMPORTERS
from trainer.importers.base import CheckpointImportError, ImportOptions, expected_shapes

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FIXTURES = Path(__file__).parent / "fixtures"
# kind -> (fixture, network kwargs the fixture's variant implies)
VARIANTS = {
    "bisenet": ("bisenet", {}),
    "stargan": ("stargan", {}),
    "attgan": ("attgan_inject1", {}),
    "attgan_inject0": ("attgan_inject0", {"inject_layers": 0}),
    "stgan": ("stgan", {}),
}


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def random_state_dict(keys: dict[str, list[int]], seed: int = 0, fill: bool = True) -> dict[str, torch.Tensor]:
    """The fixture's keys with random values of a trained network's kind (positive variances, weights
    scaled by fan-in so activations stay in range); `fill=False` gives zeros (tests of structure only)."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for k, shape in keys.items():
        if k.endswith("num_batches_tracked"):
            sd[k] = torch.tensor(1000)
        elif not fill:
            sd[k] = torch.zeros(shape)
        elif k.endswith("running_var"):
            sd[k] = torch.rand(shape, generator=g) + 0.5
        elif len(shape) == 1:
            base = 1.0 if k.endswith("weight") else 0.0
            sd[k] = base + 0.1 * torch.randn(shape, generator=g)
        else:
            fan = int(np.prod(shape[1:]))
            sd[k] = torch.randn(shape, generator=g) / fan ** 0.5
    return sd


def save_as_reference(sd: dict, container: str, path: Path) -> Path:
    """torch.save the way the reference does: the bare state dict, or inside its checkpoint dict."""
    if container == "bare":
        obj = sd
    elif container == "G":          # AttGAN-PyTorch: G, D and both optimisers' states
        obj = {"G": sd, "D": {"conv.0.layers.0.weight": torch.zeros(1)},
               "optim_G": {"state": {}, "param_groups": [{"lr": 2e-4, "betas": (0.5, 0.999), "params": [0]}]},
               "optim_D": {"state": {}, "param_groups": []}}
    else:                           # STGAN-pytorch: {"state_dict", "optimizer"}, multi-GPU "module." keys
        obj = {"state_dict": {f"module.{k}": v for k, v in sd.items()},
               "optimizer": {"state": {}, "param_groups": [{"lr": 2e-4, "params": [0, 1]}]}}
    torch.save(obj, path)
    return path


def reference_file(tmp_path: Path, name: str, *, seed: int = 0, fill: bool = True) -> tuple[Path, dict]:
    fx = fixture(name)
    sd = random_state_dict(fx["keys"], seed, fill)
    return save_as_reference(sd, fx["container"], tmp_path / f"{name}.ckpt"), sd


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_network_has_exactly_the_reference_keys_and_shapes_in_order(variant):
    name, kwargs = VARIANTS[variant]
    kind = variant.split("_")[0]
    got = expected_shapes(IMPORTERS.get(kind)().build, **kwargs)
    want = fixture(name)["keys"]
    assert list(got) == list(want)
    assert {k: list(v) for k, v in got.items()} == want


def test_bisenet_classes_are_the_projects_parse_classes_in_the_references_numbering():
    from trainer.importers.bisenet import REFERENCE_CLASSES, BiSeNetParse
    from trainer.nets.bisenet import BiSeNet

    assert tuple(REFERENCE_CLASSES) == tuple(PARSE_CLASSES)
    assert BiSeNetParse(BiSeNet()).order is None                 # no reordering needed
    assert IMPORTERS.get("bisenet").default_resolution == 512    # the reference's test-time size
    from trainer.importers.attgan import DEFAULT_ATTRIBUTES
    assert DEFAULT_ATTRIBUTES == list(ATTRIBUTES)                # AttGAN's 13 are the project's 13


def _independent_parity(pack: Path, model: str, net_fn, inputs: dict[str, torch.Tensor]) -> float:
    """max |ONNX - PyTorch| on inputs the export never saw, the PyTorch side computed here."""
    entry = Manifest.load(pack).model(model)
    got = run_onnx(pack / entry.file, inputs, [entry.outputs[0].name])[0]
    with torch.no_grad():
        want = net_fn(**inputs).numpy()
    return float(np.abs(got - want).max())


def _check_manifest(pack: Path, ckpt: Path, kind: str) -> None:
    manifest = validate_pack(pack)                               # files, graphs, conventions and probes
    entry = manifest.model(kind)
    src = entry.extra["source"]
    assert src["source_file"] == ckpt.name and src["source_sha256"] == sha256_file(ckpt)
    assert src["licence"] == "MIT (as stated)" and src["reference"] == IMPORTERS.get(kind).reference
    assert entry.config["source_sha256"] == src["source_sha256"]
    assert json.loads((pack / f"{entry.name}.config.json").read_text())["kind"] == kind
    parity = entry.metrics["export_parity_max_abs_diff"]
    assert parity and all(d <= 1e-4 for out in parity.values() for d in out.values())
    assert entry.probes, "the pack proves what it does (probes recorded)"


# kind -> (fixture, resolution, attributes). The networks are fully convolutional: the same weights and the
# same graph at another input size, so the exports run at 64² (StarGAN) and 32² (AttGAN, STGAN, whose
# cost is then mostly their 170-300 MB of weights) instead of the reference's 128²; docs/importers.md has
# the timings and parity at 128², 384² and 512². The defaults are checked without an export below.
EDITORS = {
    "stargan": ("stargan", 64, ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]),
    "stgan": ("stgan", 32, ["Bangs", "Blond_Hair", "Brown_Hair", "Bushy_Eyebrows", "Eyeglasses", "Male",
                             "Mouth_Slightly_Open", "Mustache", "Pale_Skin", "Young"]),
    "attgan": ("attgan_inject1", 32, list(ATTRIBUTES)),
}

# What each reference generator is fed for the engine's y_diff: (offset, scale) of offset + scale * y_diff.
# StarGAN: target labels in {0, 1} -> the midpoint 0.5 +- 0.5; AttGAN: (0/1 * 2 - 1) * thres_int 0.5 ->
# +-0.5; STGAN: the difference vector itself (tested with +-1).
CONDITIONS = {"stargan": (0.5, 0.5), "attgan": (0.0, 0.5), "stgan": (0.0, 1.0)}


@pytest.fixture(scope="module")
def imported(tmp_path_factory, one_torch_thread):
    """Each editor kind imported once for the module: kind -> (checkpoint, pack, its state dict)."""
    made = {}

    def get(kind: str) -> tuple[Path, Path, dict]:
        if kind not in made:
            base = tmp_path_factory.mktemp(kind)
            ckpt, sd = reference_file(base, EDITORS[kind][0])
            opts = ImportOptions(licence="MIT (as stated)", resolution=EDITORS[kind][1])
            IMPORTERS.get(kind)().import_checkpoint(ckpt, base / "pack", opts, log=lambda *_: None)
            made[kind] = (ckpt, base / "pack", sd)
        return made[kind]

    return get


@pytest.mark.parametrize("kind", sorted(EDITORS))
def test_editor_checkpoint_becomes_a_pack_matching_pytorch(imported, kind):
    name, res, attrs = EDITORS[kind]
    ckpt, pack, sd = imported(kind)
    _check_manifest(pack, ckpt, kind)
    (entry,) = Manifest.load(pack).models
    assert entry.task == "edit_attributes" and entry.attributes == attrs and entry.resolution == res
    net = IMPORTERS.get(kind)().build()                 # the network in the reference layout, given the
    net.load_state_dict(sd)                             # weights strictly, without the importer
    net.eval()
    off, scale = CONDITIONS[kind]
    g = torch.Generator().manual_seed(5)
    inputs = {"image": torch.rand(2, 3, res, res, generator=g) * 2 - 1,
              "y_diff": torch.randn(2, len(attrs), generator=g)}
    diff = _independent_parity(pack, kind, lambda image, y_diff: net(image, off + scale * y_diff), inputs)
    assert diff <= 1e-4


def test_stargan_pack_serves_five_sliders_in_the_engine(imported):
    _, pack, _ = imported("stargan")
    engine = Engine([pack], provider="cpu")
    (model,) = engine.models("edit_attributes")
    assert model.entry.attributes == EDITORS["stargan"][2]
    img = (np.random.default_rng(0).random((100, 90, 3)) * 255).astype(np.uint8)
    male = engine.run(EditAttributesRequest([img], {"Male": 1.0})).images[0]
    young = engine.run(EditAttributesRequest([img], {"Young": -1.0})).images[0]
    assert male.shape == img.shape and male.dtype == np.uint8
    assert np.abs(male.astype(int) - young.astype(int)).max() > 0   # the condition reaches the generator


def test_bisenet_checkpoint_becomes_a_parse_model_matching_pytorch_next_to_an_editor(tmp_path, imported):
    # The reference's 512² at test time is what the importer defaults to; the test exports at 64² (same
    # weights and graph, 1/64 of the pixels) to stay fast. --append puts it in a copy of the StarGAN pack,
    # so that pack's edits can keep the rest of the face with it.
    ckpt, _ = reference_file(tmp_path, "bisenet")
    pack = tmp_path / "pack"
    shutil.copytree(imported("stargan")[1], pack)
    importer = IMPORTERS.get("bisenet")()
    opts = ImportOptions(licence="MIT (as stated)", resolution=64, append=True)
    manifest = importer.import_checkpoint(ckpt, pack, opts, log=lambda *_: None)
    assert [m.name for m in manifest.models] == ["stargan", "bisenet"]
    _check_manifest(pack, ckpt, "bisenet")
    entry = manifest.model("bisenet")
    assert entry.task == "parse" and entry.classes == list(PARSE_CLASSES) and entry.data_domain == "celebamask_hq"
    assert entry.config["preprocessing"]["normalization"]["mean"] == [0.485, 0.456, 0.406]
    net, _ = importer.load(ckpt, opts)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    image = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(9)) * 2 - 1
    diff = _independent_parity(pack, "bisenet", lambda image: torch.softmax(net(((image + 1) / 2 - mean) / std), 1),
                               {"image": image})
    assert diff <= 1e-4
    engine = Engine([pack], provider="cpu")
    img = (np.random.default_rng(1).random((80, 80, 3)) * 255).astype(np.uint8)
    assert engine.run(ParseRequest([img])).masks[0].shape == (80, 80)
    kept = engine.run(EditAttributesRequest([img], {"Male": 1.0}, keep_outside=True))
    assert kept.images[0].shape == img.shape and kept.regions is not None


def test_released_files_without_batch_counters_and_attgan_variants_load(tmp_path):
    """The StarGAN and AttGAN releases were saved by PyTorch < 0.4.1 (the pre-zip file format, no
    num_batches_tracked); AttGAN's injection variant is read from the shapes; the resolution is the user's
    (384² for the HQ models)."""
    fx = fixture("stargan")
    sd = {k: v for k, v in random_state_dict(fx["keys"]).items() if not k.endswith("num_batches_tracked")}
    torch.save(sd, tmp_path / "200000-G.ckpt", _use_new_zipfile_serialization=False)
    net, cfg = IMPORTERS.get("stargan")().load(tmp_path / "200000-G.ckpt", ImportOptions(licence="x"))
    assert cfg.resolution == 128 and cfg.data_domain == "celeba"       # the reference's size by default
    assert torch.equal(net.state_dict()["main.0.weight"], sd["main.0.weight"])

    ckpt, sd = reference_file(tmp_path, "attgan_inject0", fill=False)
    net, cfg = IMPORTERS.get("attgan")().load(ckpt, ImportOptions(licence="x", resolution=384))
    assert cfg.network == {"n_attrs": 13, "inject_layers": 0} and cfg.data_domain == "celeba_hq"
    with torch.no_grad():
        out = net(torch.zeros(1, 3, 384, 384), torch.zeros(1, 13))
    assert out.shape == (1, 3, 384, 384)


def _refusals(tmp_path: Path, name: str) -> dict[str, tuple[Path, list[str]]]:
    """A file with one key renamed and another tensor reshaped (the big checkpoints are written once for
    both), and a pickled object; each with what its message must name."""
    fx = fixture(name)
    sd = random_state_dict(fx["keys"], fill=False)
    keys = [k for k in sd if not k.endswith("num_batches_tracked")]
    renamed, reshaped = keys[len(keys) // 2], keys[-1]
    bad = {(k + "_renamed" if k == renamed else k): v for k, v in sd.items()}
    bad[reshaped] = torch.zeros(*sd[reshaped].shape[:-1], sd[reshaped].shape[-1] + 1)
    pickled = tmp_path / "pickled.ckpt"
    torch.save({"G": torch.nn.Linear(2, 2)}, pickled)              # a whole module: a pickled object
    return {
        "key and shape": (save_as_reference(bad, fx["container"], tmp_path / "bad.ckpt"),
                          [f"missing key(s): {renamed}", f"unexpected key(s): {renamed}_renamed",
                           f"shape mismatch(es): {reshaped} ("]),
        "pickled": (pickled, ["pickled Python objects (torch.nn.modules.linear.Linear)"]),
    }


@pytest.mark.parametrize("kind", ["bisenet", "stargan", "attgan", "stgan"])
def test_wrong_key_wrong_shape_and_pickled_objects_are_refused_naming_them(tmp_path, kind):
    name = {"attgan": "attgan_inject1"}.get(kind, kind)
    for what, (path, named) in _refusals(tmp_path, name).items():
        with pytest.raises(CheckpointImportError) as info:
            IMPORTERS.get(kind)().import_checkpoint(path, tmp_path / "pack", ImportOptions(licence="x"))
        msg = str(info.value)
        assert "\n" not in msg and str(path) in msg and all(n in msg for n in named), (what, msg)
        assert not (tmp_path / "pack").exists()


def test_cli_refusals_are_one_line_without_traceback(tmp_path, capsys):
    cases = _refusals(tmp_path, "stargan")
    cases["not a checkpoint"] = (tmp_path / "text.ckpt", "not a PyTorch checkpoint")
    (tmp_path / "text.ckpt").write_text("hello")
    cases["text the unpickler reads"] = (tmp_path / "notes.ckpt", "not a PyTorch checkpoint")
    (tmp_path / "notes.ckpt").write_text("vgg weights, see README\n")   # 'v' is a pickle opcode: not "pickled objects"
    cases["missing"] = (tmp_path / "nope.ckpt", "no such checkpoint file")
    for what, (path, names) in cases.items():
        named = names[0] if isinstance(names, list) else names
        rc = train_cli(["import", "stargan", str(path), "--out", str(tmp_path / "p"), "--licence", "MIT"])
        err = capsys.readouterr().err
        assert rc == 2, (what, err)
        assert "Traceback" not in err and err.count("\n") == 1 and named in err, (what, err)
    good, _ = reference_file(tmp_path, "stargan", fill=False)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("")
    for args, named in ((["--resolution", "30"], "--resolution 30: the stargan network needs a positive multiple of 4"),
                        (["--out", str(tmp_path / "taken")], "already exists"),
                        (["--licence", " "], "--licence: state the licence")):
        rc = train_cli(["import", "stargan", str(good), "--out", str(tmp_path / "p"), "--licence", "MIT", *args])
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and named in err, (args, err)
    assert not (tmp_path / "p").exists()
    path, _ = reference_file(tmp_path, "stgan", fill=False)
    rc = train_cli(["import", "stgan", str(path), "--out", str(tmp_path / "p"), "--licence", "MIT",
                    "--attributes", "Male", "Young"])
    err = capsys.readouterr().err
    assert rc == 2 and "conditions on 10 attributes but --attributes names 2" in err
