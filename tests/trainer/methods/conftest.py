import pytest
import torch


def _attach(method):
    """Set nets and optimisers up as the training loop does."""
    method.nets = method.build_networks()
    for net in method.nets.values():
        net.to(method.device)
    method.optimizers = method.build_optimizers()
    return method


@pytest.fixture
def cpu():
    torch.manual_seed(0)
    return torch.device("cpu")


@pytest.fixture
def attach():
    return _attach


@pytest.fixture(scope="module")
def parser_run(tmp_path_factory):
    """A parser run folder (config + checkpoint) at 32² built without training: the editors' frozen P only
    has to exist and give masks of the right size."""
    from trainer.checkpoint import save_checkpoint
    from trainer.config import save_config
    from trainer.data.registry import DataConfig
    from trainer.methods.parser import ParserConfig
    from trainer.nets.parser import build_parser_net

    run = tmp_path_factory.mktemp("parser")
    cfg = ParserConfig(run_dir=str(run), width=4, context_channels=8, data=DataConfig(resolution=32))
    torch.manual_seed(0)
    net = build_parser_net(cfg.net_config())
    save_config(cfg, run / "config.json")
    save_checkpoint({"step": 1, "nets": {"parser": net.state_dict()}}, run, 1, keep=1)
    return run


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory):
    """24 SynthFaces at 32² (seed 3), the editors' tiny training set; a module may define its own."""
    from trainer.data.synthfaces.native import write_native

    root = tmp_path_factory.mktemp("sf") / "sf"
    write_native(root, count=24, size=32, seed=3, workers=1, progress=False)
    return root
