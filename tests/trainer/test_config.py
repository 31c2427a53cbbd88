"""Configs: JSON round trips, type checks naming the key, generated command-line options, --dry-run."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.trainer.toy_method import ToyConfig
from trainer.cli import main as train_cli
from trainer.config import (
    ConfigError,
    TrainConfig,
    from_dict,
    load_config,
    save_config,
    set_value,
    to_dict,
)
from trainer.data.registry import DataConfig


def test_json_round_trip_keeps_types(tmp_path: Path) -> None:
    cfg = ToyConfig(method="toy", data=DataConfig(name="celeba", resolution=256), betas=(0.1, 0.2),
                    tags=("a", "b"), lr_decay="linear")
    path = save_config(cfg, tmp_path)
    assert path == tmp_path / "config.json"
    back = load_config(path)
    assert isinstance(back, ToyConfig) and back == cfg
    assert isinstance(back.betas, tuple) and isinstance(back.data, DataConfig)
    assert json.loads(path.read_text())["betas"] == [0.1, 0.2]


@pytest.mark.parametrize("data, message", [
    ({"lr": "fast"}, "lr: expected float, got 'fast'"),
    ({"iters": 1.5}, "iters: expected int, got 1.5"),
    ({"amp": 1}, "amp: expected bool, got 1"),
    ({"betas": [0.5]}, "betas: expected 2 x float (2 values), got [0.5]"),
    ({"data": {"resolution": "128"}}, "data.resolution: expected int, got '128'"),
    ({"data": 3}, "data: expected object, got 3"),
    ({"lr_decay": "cosine"}, "lr_decay: expected 'none' | 'linear' | 'exp', got 'cosine'"),
    ({"lamda_sc": 1.0}, "unknown config key 'lamda_sc' (did you mean 'lambda_sc'?)"),
    ({"data": {"reslution": 64}}, "unknown config key 'data.reslution' (did you mean 'data.resolution'?)"),
])
def test_bad_keys_and_types_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict(ToyConfig, data)
    assert str(err.value) == message


def test_set_value_parses_text_by_field_type() -> None:
    cfg = ToyConfig()
    set_value(cfg, "data.resolution", "64")
    set_value(cfg, "betas", "0.0,0.9")
    set_value(cfg, "amp", "false")
    set_value(cfg, "tags", '["x", "y"]')
    set_value(cfg, "lambda_sc", "2.5e1")
    assert (cfg.data.resolution, cfg.betas, cfg.amp, cfg.tags, cfg.lambda_sc) == (64, (0.0, 0.9), False,
                                                                                 ("x", "y"), 25.0)
    with pytest.raises(ConfigError, match=r"^data.resolution: expected int, got 'big'$"):
        set_value(cfg, "data.resolution", "big")
    with pytest.raises(ConfigError, match="unknown config key 'data.nme'"):
        set_value(cfg, "data.nme", "x")


def test_check_rejects_out_of_range_values() -> None:
    with pytest.raises(ConfigError, match="iters: expected a positive integer"):
        TrainConfig(iters=0).check()
    with pytest.raises(ConfigError, match="device"):
        TrainConfig(device="tpu").check()
    with pytest.raises(ConfigError, match="width"):
        ToyConfig(width=0).check()


def _dry_run(capsys, *argv: str) -> dict:
    code = train_cli(["train", *argv, "--dry-run"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_dry_run_applies_overrides_in_order(tmp_path: Path, capsys) -> None:
    cfg_file = tmp_path / "my.json"
    cfg_file.write_text(json.dumps({"method": "toy", "lr": 0.5, "iters": 7, "data": {"root": "from-json"}}))
    out = _dry_run(capsys, "--config", str(cfg_file), "--iters", "9", "--lambda-sc", "3",
                   "--data.resolution", "16", "--betas", "0.1,0.2", "--amp", "false", "--compile",
                   "--set", "iters=11", "--set", "data.flip=true")
    assert out["method"] == "toy"
    assert out["lr"] == 0.5                      # from the JSON
    assert out["data"]["root"] == "from-json"
    assert out["iters"] == 11                    # --set wins over --iters
    assert out["lambda_sc"] == 3.0               # a method field as a generated option
    assert out["data"]["resolution"] == 16 and out["data"]["flip"] is True
    assert out["betas"] == [0.1, 0.2] and out["amp"] is False and out["compile"] is True
    assert out["width"] == 4                     # a default of the method's config
    assert set(out) == set(to_dict(ToyConfig()))


@pytest.mark.parametrize("argv, message", [
    (["--method", "toy", "--lr", "abc"], "lr: expected float, got 'abc'"),
    (["--method", "toy", "--lamda-sc", "1"], "unknown option --lamda-sc (did you mean --lambda-sc?)"),
    (["--method", "toy", "--set", "nope=1"], "unknown config key 'nope'"),
    (["--method", "toy", "--set", "iters"], "expected KEY=VALUE"),
    (["--method", "toy", "--data.resolution", "x"], "data.resolution: expected int, got 'x'"),
    (["--method", "toy", "--iters", "0"], "iters: expected a positive integer"),
    (["--method", "no_such_method"], "unknown method 'no_such_method'"),
    ([], "no method given"),
])
def test_cli_errors_are_one_line(argv: list[str], message: str, capsys) -> None:
    assert train_cli(["train", *argv, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_method_from_json_and_conflicts(tmp_path: Path, capsys) -> None:
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"method": "toy", "width": 6}))
    assert _dry_run(capsys, "--config", str(f))["width"] == 6
    assert train_cli(["train", "--config", str(f), "--method", "parser", "--dry-run"]) == 2
    assert "the JSON says 'toy'" in capsys.readouterr().err
    f.write_text("{not json")
    assert train_cli(["train", "--config", str(f), "--dry-run"]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_resume_dir_reads_the_saved_config(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    save_config(ToyConfig(method="toy", run_dir=str(run), width=5, iters=20), run)
    out = _dry_run(capsys, "--resume", str(run), "--iters", "40")
    assert (out["width"], out["iters"], out["run_dir"]) == (5, 40, str(run))


def test_help_options_lists_method_fields(capsys) -> None:
    assert train_cli(["train", "--method", "toy", "--help-options"]) == 0
    text = capsys.readouterr().out
    for opt in ("--lambda-sc", "--data.root", "--data.split-scheme", "--betas", "--run-dir"):
        assert opt in text


def test_other_commands_still_reject_unknown_options(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train_cli(["evaluate", "some_run", "--bogus", "1"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --bogus 1" in capsys.readouterr().err
