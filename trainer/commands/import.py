"""faceeditor-train import: turn a reference project's published checkpoint into a model pack.

    faceeditor-train import stargan 200000-G.ckpt --out packs/stargan-celeba --licence "MIT (yunjey/stargan)"
    faceeditor-train import attgan weights.199.pth --resolution 384 --out packs/attgan-384 --licence MIT
    faceeditor-train import bisenet 79999_iter.pth --out packs/stargan-celeba --append --licence MIT

The file is read with torch.load(weights_only=True) and must hold exactly the reference network's keys
and shapes; the network is exported to ONNX, checked against PyTorch (max |diff| <= 1e-4) and probed, and
the manifest records the file, its sha256, the reference project and the licence you state
(docs/importers.md).
"""
from __future__ import annotations

import argparse

from faceeditor.cli import CLIError
from trainer.importers import IMPORTERS  # the registry only; each kind's module loads when it is used

HELP = "import a reference project's checkpoint (bisenet, stargan, attgan, stgan) as a model pack"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    kinds = IMPORTERS.names()
    parser.add_argument("kind", choices=kinds, metavar="KIND", help=f"the checkpoint's kind: {', '.join(kinds)}")
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="the reference project's weights file")
    parser.add_argument("--out", required=True, metavar="PACK_DIR", help="the model-pack folder to write")
    parser.add_argument("--licence", "--license", dest="licence", required=True, metavar="TEXT",
                        help="the licence of the weights as you know it (recorded in the manifest)")
    parser.add_argument("--resolution", type=int, metavar="PX",
                        help="input size of the exported model (default: the reference's: bisenet 512, others "
                             "128; AttGAN's 384² generators need --resolution 384)")
    parser.add_argument("--attributes", nargs="+", metavar="NAME",
                        help="the checkpoint's attribute names in its training order (default: the reference's)")
    parser.add_argument("--data-domain", metavar="NAME",
                        help="what the weights were trained on (default: celeba, celeba_hq or celebamask_hq)")
    parser.add_argument("--name", metavar="PACKNAME", help="pack name in the manifest (default: folder name)")
    parser.add_argument("--append", action="store_true", help="add the model to an existing pack")


def run(args: argparse.Namespace) -> int:
    from trainer.export import ExportError
    from trainer.importers.base import ImportOptions

    if not args.licence.strip():
        raise CLIError("--licence: state the licence of the weights (e.g. \"MIT\", \"unknown\")")
    opts = ImportOptions(licence=args.licence.strip(), resolution=args.resolution, attributes=args.attributes,
                         data_domain=args.data_domain, name=args.name, append=args.append)
    try:
        manifest = IMPORTERS.get(args.kind)().import_checkpoint(args.checkpoint, args.out, opts)
    except ExportError as exc:
        raise CLIError(str(exc)) from None
    model = manifest.model(args.kind)
    what = model.attributes or model.classes
    print(f"wrote pack {manifest.name!r} to {args.out}: {model.name} ({model.task}, {model.resolution}², "
          f"{len(what)} {'attributes' if model.attributes else 'classes'})")
    return 0
