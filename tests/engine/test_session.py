"""Provider choice and session settings."""
from __future__ import annotations

import pytest

from faceeditor.engine.session import CPU, CUDA, SessionSettings, choose_providers, session_options


@pytest.mark.parametrize("preference, available, providers, reason", [
    ("cpu", [CUDA, CPU], [CPU], None),
    ("auto", [CUDA, CPU], [CUDA, CPU], None),
    ("cuda", [CUDA, CPU], [CUDA, CPU], None),
    ("auto", [CPU], [CPU], None),                          # nothing was asked for explicitly
    ("cuda", ["AzureExecutionProvider", CPU], [CPU], "has no CUDAExecutionProvider"),
])
def test_choose_providers(preference, available, providers, reason):
    got, why = choose_providers(preference, available)
    assert got == providers
    if reason is None:
        assert why is None
    else:
        assert reason in why and "onnxruntime-gpu" in why


def test_settings_are_checked():
    with pytest.raises(ValueError, match="provider must be one of"):
        SessionSettings(provider="tensorrt")
    with pytest.raises(ValueError, match="thread counts"):
        SessionSettings(intra_op_threads=-1)


def test_session_options():
    import onnxruntime as ort

    opts = session_options(SessionSettings("cpu", intra_op_threads=3, inter_op_threads=2))
    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert (opts.intra_op_num_threads, opts.inter_op_num_threads) == (3, 2)
    assert opts.execution_mode == ort.ExecutionMode.ORT_PARALLEL
    assert session_options(SessionSettings()).execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
