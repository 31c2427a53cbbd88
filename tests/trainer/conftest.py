"""Fixtures shared by the trainer tests."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny nets run fastest (and bitwise reproducibly) on one thread of a busy machine; a module asks for
    it with `pytestmark = pytest.mark.usefixtures("one_torch_thread")`."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def rafd_root(tmp_path_factory):
    """SynthFaces written in RaFD's layout: 6 identities x 8 expressions at 32² (hiergan and paired
    expressions read it; written once per test session)."""
    from trainer.data.synthfaces.formats import write_rafd

    root = tmp_path_factory.mktemp("rafd") / "rafd"
    write_rafd(root, identities=6, seed=5, size=32, workers=1, progress=False)
    return root
