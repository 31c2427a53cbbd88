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
