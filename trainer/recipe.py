"""The training recipe: one command trains the whole chain of models for a dataset and exports one pack.

    faceeditor-train recipe --dataset celebamask_hq --root DIR --out PACK [--editor maggan] [--dry-run]

Stages, each the project's own command doing its usual job (nothing here trains or exports by itself):

1. ``prepare``    the uint8 caches of the train/val/test splits (as `faceeditor-train prepare`);
2. ``parser``     the face parser (only when the dataset has masks);
3. ``attributes`` the attribute evaluator classifier (when it has attribute labels);
4. ``expression`` the expression evaluator (when it has expression labels: RaFD, AffectNet, SynthFaces);
5. ``editor``     the attribute editor (`--editor`, by default the method of the bundled pack's editor),
                  reading the parser of stage 2 when it needs one and judged by the evaluator of stage 3;
6. ``scgan``      SCGAN mask-to-face synthesis (when the dataset has masks and attributes), judged by
                  stages 2 and 3;
7. ``export``     every run into one pack (ONNX + parity check + probes), written under a temporary
                  name and renamed into place only when complete.

Each training stage is a run folder under the work folder (`--work`, default ``<PACK>.work``), trained by
trainer.loop.train and judged on the test split (metrics.json, copied into the pack's manifest). The work
folder's ``recipe.json`` records the settings and which stages are done. Running the same command again
skips finished stages and resumes the stage in progress from its newest checkpoint (the loop's own exact
resume), so a killed run (Ctrl-C, SIGTERM, kill -9, a lost machine) continues where it was.

Estimated GPU time (`--dry-run`): for each stage, the floating-point work of one training iteration is
counted by running one real step of the stage's method on the CPU at a small size (FLOPs scale with the
pixel count and the batch), and turned into seconds with the throughput benchmark's figure for a StarGAN
128² batch-16 iteration (`benchmarks/train_throughput.py`, its "trainer" it/s), counted the same way.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from faceeditor.core.atomic_io import atomic_write
from trainer.config import ConfigError, TrainConfig, config_from_data, load_json, set_value

STATE_NAME = "recipe.json"
STATE_VERSION = 1
TRAIN_STAGES = ("parser", "attributes", "expression", "editor", "scgan")
ALL_STAGES = ("prepare", *TRAIN_STAGES, "export")
# iterations of each stage for a GPU run (the methods' own defaults are sized for quick CPU runs for the
# parser and the classifiers; the editors and SCGAN keep their papers' defaults)
RECIPE_ITERS = {"parser": 20000, "attributes": 10000, "expression": 10000}
# StarGAN 128², batch 16: the trainer's it/s on one GPU that the estimates assume when no measured figure is
# given (`--gpu-its`). NOT MEASURED in this project (no GPU was lent); measure yours with
# `python benchmarks/train_throughput.py` and pass its "trainer" figure.
ASSUMED_STARGAN_ITS = 10.0
# A training step of a small network on a GPU is bound by kernel launches and Python, not by FLOPs: the
# estimates assume at least this many seconds per iteration (an assumption too, of the same order as the
# step time of the project's small parser and classifiers).
MIN_SECONDS_PER_ITER = 0.02
# reference_flops() as counted on 2026-12-07 (StarGAN 128², batch 16, the trainer's step): the progress
# weights use it rather than spend ~10 s of CPU recounting it; the dry run counts it afresh.
STARGAN_REFERENCE_FLOPS = 9.945e11
COUNT_RES = 64          # resolution at which a stage's FLOPs are counted (then scaled by the pixel count)


class RecipeError(ValueError):
    """A recipe that cannot run as asked (bad settings, another recipe's work folder); one line."""


@dataclass
class RecipeSettings:
    """What the command line asks for. The fields in `SAME_ON_RESUME` must match a resumed work folder."""

    dataset: str
    root: str
    out: str
    work: str = ""                     # default: <out>.work
    editor: str = ""                   # default: the bundled pack's editor method
    resolution: int = 128
    iters: int = 0                     # > 0: every training stage runs this many iterations
    device: str = "auto"
    workers: int = 2                   # data loader / cache-building processes
    overrides: list[str] = field(default_factory=list)    # "stage.key=value"
    name: str = ""                     # pack name (default: the out folder's name)

    def __post_init__(self) -> None:
        if not self.work:
            self.work = str(Path(self.out).with_name(Path(self.out).name + ".work"))
        if not self.editor:
            self.editor = bundled_editor()
        if not self.name:
            self.name = Path(self.out).name
        for item in self.overrides:
            target, _, rest = item.partition(".")
            key, eq, _value = rest.partition("=")
            if target not in TRAIN_STAGES or not eq or not key.strip():
                raise RecipeError(f"--set {item!r}: expected STAGE.KEY=VALUE with STAGE one of "
                                  f"{', '.join(TRAIN_STAGES)}")


SAME_ON_RESUME = ("dataset", "root", "resolution", "editor", "iters", "overrides", "out")


def bundled_editor() -> str:
    """The method of the bundled pack's default attribute editor (its first edit_attributes model)."""
    from faceeditor.engine.manifest import Manifest, ManifestError
    from faceeditor.engine.registry import bundled_models_dirs

    for folder in bundled_models_dirs():
        for pack in sorted(folder.iterdir()) if folder.is_dir() else []:
            try:
                models = Manifest.load(pack).models_for("edit_attributes")
            except ManifestError:
                continue
            if models and models[0].method:
                return models[0].method
    return "maggan"


# --- what the dataset has, and the plan ---------------------------------------------------------------


@dataclass
class Labels:
    """Which labels the dataset's samples carry (decides the stages)."""

    masks: bool
    attributes: bool
    expressions: bool
    known: bool = True                 # False: the dataset could not be read (dry run): assumed

    def describe(self) -> str:
        have = [n for n, ok in (("masks", self.masks), ("attributes", self.attributes),
                                ("expressions", self.expressions)) if ok]
        return (", ".join(have) or "no labels") + ("" if self.known else " (assumed: the dataset was not read)")


def probe_labels(s: RecipeSettings, *, assume: bool = False) -> Labels:
    """Read one training sample to see its labels. With `assume`, an unreadable dataset is taken to have
    masks and attributes (what a dry run shows); otherwise it is a RecipeError."""
    from trainer.data.errors import DatasetError
    from trainer.data.registry import DataConfig, dataset_class

    try:
        ds = dataset_class(s.dataset)(DataConfig(name=s.dataset, root=s.root, resolution=s.resolution,
                                                 cache=False, num_workers=0), "train")
        if len(ds) == 0:
            raise DatasetError(f"{s.root}: the training split is empty")
        sample = ds[0]
    except (DatasetError, OSError, ValueError) as exc:
        if assume:
            return Labels(True, True, False, known=False)
        raise RecipeError(f"cannot read the {s.dataset} dataset at {s.root}: {exc}") from None
    return Labels("mask" in sample, "attrs" in sample, "expression" in sample)


def plan(labels: Labels) -> list[str]:
    """The stages this dataset's labels allow, in order."""
    wanted = {"parser": labels.masks, "attributes": labels.attributes, "expression": labels.expressions,
              "editor": labels.attributes, "scgan": labels.masks and labels.attributes}
    if not any(wanted.values()):
        raise RecipeError("the dataset has no masks, attributes or expressions: nothing to train")
    return ["prepare", *(s for s in TRAIN_STAGES if wanted[s]), "export"]


def stage_config(stage: str, s: RecipeSettings, stages: list[str]) -> TrainConfig:
    """The training config of one stage: the method's paper defaults, the recipe's data, iterations and
    links between stages (the editor reads the stage-2 parser, the judges are stages 2 and 3), then the
    user's `stage.key=value` overrides."""
    work = Path(s.work)
    method, extra = {
        "parser": ("parser", {}),
        "attributes": ("classifier", {"task": "attributes"}),
        "expression": ("classifier", {"task": "expression"}),
        "editor": (s.editor, {}),
        "scgan": ("scgan", {}),
    }[stage]
    data = {"name": s.dataset, "root": s.root, "resolution": s.resolution, "num_workers": s.workers}
    try:
        cfg = config_from_data({"method": method, "run_dir": str(work / stage), "device": s.device,
                                "data": data, **extra}, where=f"recipe stage {stage}")
    except ConfigError as exc:
        raise RecipeError(f"--editor {s.editor!r}: {exc}" if stage == "editor" else str(exc)) from None
    if stage == "editor":
        from trainer.methods.editing import EditorConfig

        if not isinstance(cfg, EditorConfig):
            raise RecipeError(f"--editor {s.editor!r} is not an attribute editor method (e.g. maggan, stgan, "
                              "attgan, stargan, secgan)")
    if stage in RECIPE_ITERS:
        cfg.iters = RECIPE_ITERS[stage]
    if s.iters:
        cfg.iters = s.iters
    parser = str(work / "parser") if "parser" in stages else ""
    evaluator = str(work / "attributes") if "attributes" in stages else ""
    if stage == "editor":
        if parser and getattr(cfg, "needs_parser", False):
            cfg.parser = parser
        if evaluator:
            cfg.evaluator = evaluator
    elif stage == "scgan":
        cfg.evaluator, cfg.spatial_judge = evaluator, parser
    for item in s.overrides:
        target, _, rest = item.partition(".")
        key, _, value = rest.partition("=")
        if target == stage:
            try:
                set_value(cfg, key.strip(), value)
            except ConfigError as exc:
                raise RecipeError(f"--set {item}: {exc}") from None
    try:
        cfg.check()
    except ConfigError as exc:
        raise RecipeError(f"stage {stage}: {exc}") from None
    return cfg


# --- the state file -----------------------------------------------------------------------------------


class State:
    """`recipe.json` in the work folder: the settings, and per stage its status and figures."""

    def __init__(self, settings: RecipeSettings, write: bool = True):
        self.settings = settings
        self.write = write                          # False on the torchrun processes other than 0
        self.path = Path(settings.work) / STATE_NAME
        self.stages: dict[str, dict[str, Any]] = {}
        self.estimates: dict[str, float] = {}     # stage -> estimated GPU seconds (progress weights)
        if self.path.exists():
            try:
                data = load_json(self.path)
            except ConfigError as exc:
                raise RecipeError(f"{self.path}: {exc}") from None
            saved = data.get("settings") if isinstance(data, dict) else None
            if not isinstance(saved, dict) or data.get("version") != STATE_VERSION:
                raise RecipeError(f"{self.path} is not a recipe state file of this version; use another --work")
            now = asdict(settings)
            diff = [k for k in SAME_ON_RESUME if saved.get(k) != now[k]]
            if diff:
                first = diff[0]
                raise RecipeError(f"{settings.work} holds a recipe started with {first} = {saved.get(first)!r} "
                                  f"(now {now[first]!r}); run it with the same settings to resume, or give "
                                  "another --work folder")
            stages, estimates = data.get("stages"), data.get("estimates")
            self.stages = stages if isinstance(stages, dict) else {}
            if isinstance(estimates, dict):
                self.estimates = {k: float(v) for k, v in estimates.items() if isinstance(v, int | float)}

    def weights(self, stages: list[str]) -> dict[str, float]:
        """Each stage's share of the chain's work, for progress: the estimated GPU seconds of the training
        stages (counted once, kept in the state file), 5 % of the training's for preparing and exporting."""
        if set(self.estimates) != set(stages):
            seconds = {e.stage: e.seconds or 0.0
                       for e in estimate(stages, self.settings, ref_flops=STARGAN_REFERENCE_FLOPS)}
            train = sum(seconds.values()) or 1.0
            self.estimates = {st: seconds.get(st, 0.05 * train) for st in stages}
            self.save()
        return dict(self.estimates)

    def progress(self, weights: dict[str, float]) -> float:
        """The share of the weights of the stages done (0 without weights)."""
        total = sum(weights.values()) or 1.0
        return sum(w for st, w in weights.items() if self.done(st)) / total

    def done(self, stage: str) -> bool:
        return self.stages.get(stage, {}).get("status") == "done"

    def mark(self, stage: str, status: str, **info: Any) -> None:
        self.stages[stage] = {**self.stages.get(stage, {}), "status": status, **info}
        self.save()

    def save(self) -> None:
        if not self.write:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path, text=True) as fh:
            json.dump({"version": STATE_VERSION, "settings": asdict(self.settings), "stages": self.stages,
                       "estimates": self.estimates}, fh, indent=1)


# --- estimates ----------------------------------------------------------------------------------------


def _synthetic_batch(n: int, res: int) -> dict[str, Any]:
    import torch

    from faceeditor.core.labels import EVALUATOR_ATTRIBUTES, EXPRESSIONS, NUM_CLASSES

    g = torch.Generator().manual_seed(0)
    na = len(EVALUATOR_ATTRIBUTES)
    return {"image": torch.rand(n, 3, res, res, generator=g) * 2 - 1,
            "mask": torch.randint(0, NUM_CLASSES, (n, res, res), generator=g),
            "attrs": torch.randint(0, 2, (n, na), generator=g).float(),
            "attrs_known": torch.ones(n, na, dtype=torch.bool),
            "expression": torch.randint(0, len(EXPRESSIONS), (n,), generator=g),
            "index": torch.arange(n)}


def iteration_flops(cfg: TrainConfig, count_res: int = COUNT_RES) -> float:
    """FLOPs of one training iteration of cfg's method at cfg's resolution and batch, averaged over its
    update schedule (a critic-only step and a critic + generator step for n_critic methods). Counted on the
    CPU with one real step at `count_res` and batch 2, scaled by pixels and batch. Frozen helpers (a pack
    parser) are not counted: they run in ONNX Runtime outside torch."""
    import copy

    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    from trainer.loop import place_networks
    from trainer.methods.base import method_class

    class Counter(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.flops = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 - torch's protocol
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            count = flop_registry.get(func._overloadpacket)
            if count is not None:
                self.flops += count(*args, **kwargs, out_val=out)
            return out

    small = copy.deepcopy(cfg)
    res = min(count_res, cfg.data.resolution)
    small.data.resolution = res
    small.device = "cpu"
    if getattr(small, "parser", "") and not Path(small.parser).exists():
        small.parser = type(small)().parser      # a stage-2 parser not trained yet: the method's default
    cpu = torch.device("cpu")
    torch.manual_seed(0)
    scratch = tempfile.TemporaryDirectory(prefix="faceeditor-flops-")
    small.run_dir = scratch.name            # what a method writes while building stays out of the run folders
    try:
        method = method_class(small.method)(small, cpu)
        place_networks(method, method.build_networks(), small, cpu)
        n_critic = int(getattr(small, "n_critic", 1) or 1)
        steps = [0, n_critic - 1] if n_critic > 1 else [0]
        weights = [(n_critic - 1) / n_critic, 1 / n_critic] if n_critic > 1 else [1.0]
        batch = _synthetic_batch(2, res)
        total = 0.0
        for step, weight in zip(steps, weights, strict=True):
            counter = Counter()
            with counter:
                method.train_step(batch, step)
            total += weight * counter.flops
    finally:
        scratch.cleanup()
    return total / 2 * cfg.batch_size * (cfg.data.resolution / res) ** 2


@functools.lru_cache(maxsize=1)
def reference_flops() -> float:
    """FLOPs of the throughput benchmark's iteration: StarGAN, 128², batch 16, the trainer's step."""
    cfg = config_from_data({"method": "stargan", "run_dir": "unused", "batch_size": 16,
                            "data": {"resolution": 128}})
    return iteration_flops(cfg)


@dataclass
class Estimate:
    stage: str
    method: str
    iters: int
    batch_size: int
    resolution: int
    flops_per_iter: float
    seconds: float | None           # None: cannot be counted before earlier stages ran (see `note`)
    note: str = ""


def estimate(stages: list[str], s: RecipeSettings, gpu_its: float = ASSUMED_STARGAN_ITS,
             ref_flops: float | None = None) -> list[Estimate]:
    """GPU seconds of each training stage: iterations x (its FLOPs / the benchmark's FLOP rate, at least
    MIN_SECONDS_PER_ITER)."""
    ref = reference_flops() if ref_flops is None else ref_flops
    rate = gpu_its * ref            # FLOP/s the GPU sustains on the benchmark's iteration
    out = []
    for stage in stages:
        if stage not in TRAIN_STAGES:
            continue
        cfg = stage_config(stage, s, stages)
        try:
            flops = iteration_flops(cfg)
        except (ConfigError, OSError, ValueError) as exc:
            out.append(Estimate(stage, cfg.method, cfg.iters, cfg.batch_size, cfg.data.resolution, 0.0, None,
                                str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
            continue
        out.append(Estimate(stage, cfg.method, cfg.iters, cfg.batch_size, cfg.data.resolution, flops,
                            cfg.iters * max(flops / rate, MIN_SECONDS_PER_ITER)))
    return out


def format_hours(seconds: float) -> str:
    """"7.8 h", "12 min" or "under 1 min"."""
    if seconds >= 360:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else "under 1 min"


# --- running ------------------------------------------------------------------------------------------


class Interrupted(Exception):
    """A stage's training was stopped by a signal (its checkpoint is written); carries the exit code."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def run_recipe(s: RecipeSettings, *, stop_after: str = "", progress: bool = False,
               say: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True)) -> Path:
    """Run (or resume) every stage; the pack's path. Raises RecipeError, Interrupted, or the stages' own
    errors (TrainingError, ExportError, ...).

    Under torchrun every process trains each stage (DistributedDataParallel, as `train`); process 0 alone
    prepares the caches, judges, exports and writes the state file, the others wait for it."""
    from trainer import distributed
    from trainer.loop import resolve_device

    info = distributed.env_info()
    created = distributed.init(info, resolve_device(s.device, info.local_rank))
    try:
        return _run_stages(s, stop_after, progress, say if info.is_main else (lambda _text: None), info.is_main)
    finally:
        distributed.shutdown(created)


def _run_stages(s: RecipeSettings, stop_after: str, progress: bool, say: Callable[[str], None],
                main: bool) -> Path:
    from trainer import distributed

    out = Path(s.out)
    state = State(s, write=main)
    if out.exists() and not state.done("export"):
        raise RecipeError(f"{out} already exists; choose a new --out folder (the recipe writes a whole pack)")
    labels = probe_labels(s)
    stages = plan(labels)
    if stop_after and stop_after not in stages:
        raise RecipeError(f"--stop-after {stop_after!r}: this recipe's stages are {', '.join(stages)}")
    for stage in stages:                    # every stage's config is sound before anything is trained
        if stage in TRAIN_STAGES:
            stage_config(stage, s, stages)
    state.save()
    say(f"recipe: {s.dataset} at {s.root} ({labels.describe()}), {s.resolution}², editor {s.editor}; "
        f"work folder {s.work}")
    weights = state.weights(stages) if main else {}
    total = len(stages)
    for i, stage in enumerate(stages, 1):
        head = f"[{i}/{total}] {stage}"
        if state.done(stage):
            say(f"{head}: done already{_summary(state.stages[stage])}")
        else:
            started = time.monotonic()
            say(f"{head}: starting; the chain is {state.progress(weights):.0%} done (by estimated GPU time)")
            state.mark(stage, "running")
            info: dict[str, Any] = {}
            if stage in TRAIN_STAGES:
                info = _train_and_judge(stage, s, stages, progress, say, head, main)
            elif main:
                info = _prepare(s, say, head) if stage == "prepare" else _export(s, stages, say, head)
            distributed.barrier()                # the other processes wait for process 0's part
            state.mark(stage, "done", seconds=round(time.monotonic() - started, 1), **info)
            say(f"{head}: done in {time.monotonic() - started:.1f} s{_summary(state.stages[stage])}; "
                f"the chain is {state.progress(weights):.0%} done")
        if stage == stop_after:
            say(f"stopped after {stage} as asked; run the command again without --stop-after to continue")
            break
    return out


def _summary(info: dict[str, Any]) -> str:
    figures = info.get("metrics") or {}
    shown = [f"{k} {v:.3g}" for k, v in figures.items() if isinstance(v, int | float) and k != "step"][:3]
    return f" ({', '.join(shown)})" if shown else ""


def _prepare(s: RecipeSettings, say: Callable[[str], None], head: str) -> dict[str, Any]:
    from trainer.data.errors import DatasetError
    from trainer.data.registry import SPLITS, DataConfig, dataset_class

    counts = {}
    for split in SPLITS:
        cfg = DataConfig(name=s.dataset, root=s.root, resolution=s.resolution, cache=False, num_workers=s.workers)
        try:
            ds = dataset_class(s.dataset)(cfg, split)
            path = ds.attach_cache(workers=s.workers, progress=False)
        except DatasetError as exc:
            raise RecipeError(str(exc)) from None
        counts[split] = len(ds)
        say(f"{head}: {split} split, {len(ds)} samples cached at {s.resolution}² in {path}")
    if not counts["train"] or not counts["test"]:
        raise RecipeError(f"the dataset at {s.root} has an empty train or test split ({counts}); it needs both")
    return {"samples": counts}


def _train_and_judge(stage: str, s: RecipeSettings, stages: list[str], progress: bool,
                     say: Callable[[str], None], head: str, main: bool = True) -> dict[str, Any]:
    from trainer.checkpoint import latest_checkpoint, load_trained_method
    from trainer.loop import evaluate_split, resolve_device, train, write_metrics

    cfg = stage_config(stage, s, stages)
    resumed = latest_checkpoint(cfg.run_dir)
    say(f"{head}: {cfg.method} for {cfg.iters} iterations, batch {cfg.batch_size}, in {cfg.run_dir}"
        + (f" (resuming from {Path(resumed).name})" if resumed else ""))
    result = train(cfg, resume=None, progress=progress)
    if result.status == "interrupted":
        say(f"{head}: stopped by {result.signal_name} at step {result.step}; checkpoint {result.checkpoint}; "
            "run the same command again to continue")
        raise Interrupted(128 + int(signal.Signals[result.signal_name]))
    if not main:
        return {}
    device = resolve_device(s.device)
    method, state = load_trained_method(cfg.run_dir, device)
    try:
        metrics = evaluate_split(method, method.cfg, "test", device)
    except NotImplementedError:
        metrics = {}
    if metrics:
        write_metrics(cfg.run_dir, "test", int(state["step"]), metrics)
    return {"run_dir": cfg.run_dir, "step": int(state["step"]), "metrics": metrics}


def _export(s: RecipeSettings, stages: list[str], say: Callable[[str], None], head: str) -> dict[str, Any]:
    from trainer.export import export_run

    staging = Path(s.work) / "pack.partial"
    if staging.exists():
        shutil.rmtree(staging)
    runs = [st for st in stages if st in TRAIN_STAGES]
    for k, stage in enumerate(runs):
        say(f"{head}: {stage} ({k + 1}/{len(runs)})")
        export_run(Path(s.work) / stage, staging, name=s.name, append=k > 0, log=lambda *a: None)
    out = Path(s.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, out)
    return {"pack": str(out)}
