"""faceeditor-train add-probes: give an existing pack its probes (packs exported before probes existed).

    faceeditor-train add-probes faceeditor/resources/models/synthfaces-demo

Renders the probe faces into `probes.npz`, runs every model of the pack from its ONNX file (CPU, through
the engine), records each model's key metric and output fingerprint in manifest.json and checks at once
that the engine reproduces them. The pack must be valid first: probes record what its graphs do, they do
not bless a broken pack.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from faceeditor.cli import CLIError

HELP = "render probe faces into a pack and record what each of its models gives on them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pack", metavar="PACK_DIR", help="a model-pack folder")


def run(args: argparse.Namespace) -> int:
    from faceeditor.engine.probes import METRIC_LABEL, verify_pack
    from faceeditor.engine.validate import check_pack
    from trainer.probes import attach_probes

    pack = Path(args.pack)
    manifest, errors = check_pack(pack, probes=False)
    if manifest is None or errors:
        raise CLIError(f"{pack} is not a valid pack: " + "; ".join(errors))
    attach_probes(pack, manifest)
    manifest.save(pack)
    verdict = verify_pack(pack, manifest, use_cache=False)
    if verdict.status != "verified":
        raise CLIError("the engine does not reproduce the recorded probe figures: " + "; ".join(verdict.errors))
    for name, fig in verdict.figures.items():
        print(f"{name}: {METRIC_LABEL[fig['metric']]} {fig['recorded']:.4g} (tolerance {fig['tolerance']:g})")
    print(f"wrote {pack / 'probes.npz'} and the probe figures into {pack / 'manifest.json'}; "
          f"verified in {verdict.seconds:.2f} s")
    return 0
