"""faceeditor-train recipe end to end on a small SynthFaces set in the CelebAMask-HQ layout with tiny
settings: every stage runs, a run killed in the middle of a stage resumes at that stage's checkpoint
without redoing the finished stages, and the pack it exports opens in the app's engine."""
from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest

from trainer.cli import main
from trainer.recipe import (
    MIN_SECONDS_PER_ITER,
    STATE_NAME,
    Interrupted,
    RecipeError,
    RecipeSettings,
    estimate,
    iteration_flops,
    plan,
    probe_labels,
    run_recipe,
    stage_config,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = [
    "parser.width=8", "parser.context_channels=16", "parser.batch_size=4", "parser.sample_every=0",
    "attributes.width=8", "attributes.feature_dim=32", "attributes.stages=3", "attributes.batch_size=4",
    "attributes.sample_every=0",
    "editor.g_width=8", "editor.d_width=8", "editor.d_layers=3", "editor.g_layers=3", "editor.g_max_width=32",
    "editor.fc_width=16", "editor.shortcut_layers=2", "editor.inject_layers=1", "editor.batch_size=4",
    "editor.n_critic=2", "editor.sample_every=0", "editor.eval_limit=4",
    "scgan.width=0.125", "scgan.nz=16", "scgan.batch_size=4", "scgan.sample_every=0", "scgan.eval_z_samples=1",
    "scgan.eval_same_mask=2", "scgan.eval_limit=4",
]


@pytest.fixture(scope="module")
def hq_root(tmp_path_factory) -> Path:
    """30 SynthFaces faces in the CelebAMask-HQ layout (images 64², masks 32²): 24 / 3 / 3 split."""
    from trainer.data.synthfaces.formats import write_celebamask_hq

    return write_celebamask_hq(tmp_path_factory.mktemp("hq") / "CelebAMask-HQ", count=30, size=32, seed=5,
                               workers=1, progress=False)


def _settings(root: Path, tmp_path: Path, **kw) -> RecipeSettings:
    base = dict(dataset="celebamask_hq", root=str(root), out=str(tmp_path / "pack"), resolution=32, iters=2,
                device="cpu", workers=0, overrides=list(TINY))
    base.update(kw)
    return RecipeSettings(**base)


def _events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()
            if '"event"' in line]


def test_plan_follows_the_labels(hq_root, tmp_path):
    s = _settings(hq_root, tmp_path)
    labels = probe_labels(s)
    assert (labels.masks, labels.attributes, labels.expressions) == (True, True, False)
    assert plan(labels) == ["prepare", "parser", "attributes", "editor", "scgan", "export"]
    editor = stage_config("editor", s, plan(labels))
    assert editor.method == "maggan", "the bundled pack's editor by default"
    assert editor.parser == str(Path(s.work) / "parser") and editor.evaluator == str(Path(s.work) / "attributes")
    assert editor.iters == 2 and editor.g_width == 8 and editor.data.resolution == 32
    scgan = stage_config("scgan", s, plan(labels))
    assert scgan.spatial_judge == str(Path(s.work) / "parser")


def test_recipe_runs_resumes_after_a_kill_and_the_pack_opens(hq_root, tmp_path):
    # the attribute stage trains longer, checkpointing every 4 steps, and is killed (SIGTERM) mid-stage
    s = _settings(hq_root, tmp_path, overrides=[*TINY, "attributes.iters=12", "attributes.ckpt_every=4"])
    work = Path(s.work)
    lines: list[str] = []

    def kill_when_checkpointed() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if list((work / "attributes").glob("ckpt-*.pt")):
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_when_checkpointed, daemon=True)
    killer.start()
    with pytest.raises(Interrupted) as stopped:
        run_recipe(s, say=lines.append)
    killer.join()
    assert stopped.value.code == 128 + signal.SIGTERM
    state = json.loads((work / STATE_NAME).read_text())["stages"]
    assert state["prepare"]["status"] == state["parser"]["status"] == "done"
    assert state["attributes"]["status"] == "running"
    assert not Path(s.out).exists()
    killed_at = max(int(p.stem.split("-")[1]) for p in (work / "attributes").glob("ckpt-*.pt"))
    assert 4 <= killed_at < 12
    parser_events = _events(work / "parser")

    lines.clear()
    pack = run_recipe(s, say=lines.append)                    # the same command again
    text = "\n".join(lines)
    assert "[1/6] prepare: done already" in text and "[2/6] parser: done already" in text
    shares = [float(x) for x in re.findall(r"the chain is (\d+)% done", text)]
    assert shares == sorted(shares) and 0 < shares[0] < 100 and shares[-1] == 100, "progress of the whole chain"
    assert _events(work / "parser") == parser_events, "a finished stage is not touched again"
    resumed = [e for e in _events(work / "attributes") if e["event"] == "resume"]
    assert resumed and resumed[0]["step"] == killed_at, "the killed stage resumes at its checkpoint"
    state = json.loads((work / STATE_NAME).read_text())["stages"]
    assert all(state[st]["status"] == "done" for st in ("attributes", "editor", "scgan", "export"))
    assert "metrics" in state["parser"] and state["parser"]["metrics"], "each stage is judged"

    # the pack opens in the app's engine (the same code the app starts with), one model per task
    from faceeditor.engine.registry import PackRegistry
    from faceeditor.ui.app_engine import build_engine

    info = PackRegistry([pack], include_defaults=False).scan()[0]
    assert info.valid, info.reason
    assert {m.task for m in info.manifest.models} >= {"parse", "classify_attributes", "edit_attributes", "synthesize"}
    # SynthFaces in CelebAMask-HQ's layout stands in for the real set here, and its marker says so: the pack
    # is labelled as trained on renders (a real CelebAMask-HQ folder has no marker and gives "celebamask_hq")
    assert all(m.data_domain == "synthfaces" for m in info.manifest.models)
    assert all(m.config["data"]["name"] == "celebamask_hq" for m in info.manifest.models if m.config.get("data"))
    assert all(m.metrics for m in info.manifest.models if not m.preview_of)
    setup = build_engine([pack], provider="cpu")
    loaded = {m.entry.task: m.key for m in setup.engine.models() if m.pack == "pack"}
    assert set(loaded) >= {"parse", "edit_attributes", "synthesize"}

    assert run_recipe(s, say=lines.append) == pack, "a finished recipe reruns as a no-op"


def test_stop_after_and_changed_settings(hq_root, tmp_path, capsys):
    s = _settings(hq_root, tmp_path)
    run_recipe(s, stop_after="prepare", say=lambda _t: None)
    state = json.loads((Path(s.work) / STATE_NAME).read_text())["stages"]
    assert list(state) == ["prepare"]
    with pytest.raises(RecipeError, match="started with resolution = 32"):
        run_recipe(_settings(hq_root, tmp_path, resolution=64), say=lambda _t: None)
    args = ["recipe", "--dataset", "celebamask_hq", "--root", str(hq_root), "--out", s.out, "--resolution", "64",
            "--device", "cpu"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "started with resolution = 32" in err[0]
    assert main([*args[:-4], "--resolution", "32", "--set", "nostage.x=1"]) == 2
    assert "expected STAGE.KEY=VALUE" in capsys.readouterr().err
    other = ["recipe", "--dataset", "celebamask_hq", "--root", str(hq_root), "--out", str(tmp_path / "p2")]
    assert main([*other, "--editor", "nosuch"]) == 2               # refused before anything is trained
    assert "--editor 'nosuch'" in capsys.readouterr().err and not (tmp_path / "p2.work").exists()
    assert main([*other, "--editor", "parser"]) == 2
    assert "not an attribute editor method" in capsys.readouterr().err
    assert main([*other, "--set", "editor.g_width=big"]) == 2
    assert "editor.g_width=big" in capsys.readouterr().err


def test_estimates_scale_with_pixels_and_iterations(hq_root, tmp_path):
    s = _settings(hq_root, tmp_path, iters=100)
    stages = ["prepare", "parser", "attributes", "export"]
    cfg = stage_config("attributes", s, stages)
    f32 = iteration_flops(cfg)
    cfg.data.resolution = 64
    f64 = iteration_flops(cfg)
    assert f32 > 0 and f64 == pytest.approx(4 * f32, rel=0.02)
    est = {e.stage: e for e in estimate(stages, s, gpu_its=2.0, ref_flops=1e3)}
    assert set(est) == {"parser", "attributes"}
    assert est["attributes"].seconds == pytest.approx(100 * f32 / 2e3)
    fast = {e.stage: e for e in estimate(stages, s, gpu_its=2.0, ref_flops=1e15)}
    assert fast["attributes"].seconds == pytest.approx(100 * MIN_SECONDS_PER_ITER), "a floor per iteration"


def test_dry_run_prints_the_stages_with_gpu_time(hq_root, tmp_path, capsys, monkeypatch):
    from trainer import recipe

    monkeypatch.setattr(recipe, "reference_flops", lambda: recipe.STARGAN_REFERENCE_FLOPS)   # counted once, offline
    args = ["recipe", "--dataset", "celebamask_hq", "--root", str(hq_root), "--out", str(tmp_path / "pack"),
            "--resolution", "32", "--dry-run", "--gpu-its", "5"]
    for item in TINY:
        args += ["--set", item]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "(masks, attributes)" in out and "at 5 it/s" in out and "ASSUMED" not in out
    stage_lines = [line.split()[1] for line in out.splitlines() if re.match(r"\s+\d\. ", line)]
    assert stage_lines == ["prepare", "parser", "attributes", "editor", "scgan", "export"]
    assert re.search(r"editor +maggan, 200000 it x batch 4 at 32²: [\d.e-]+ TFLOP/it, [\d.]+ (h|min)", out)
    assert "total training:" in out
    assert not (tmp_path / "pack.work").exists(), "a dry run writes nothing"
