"""The one registry of names (trainer/registry.py): lookups, lazy built-ins, registration from outside."""
from __future__ import annotations

import sys

import pytest

from trainer.registry import DATASETS, METHODS, NETWORKS, Registry, RegistryError


def test_unknown_name_lists_the_known_ones_on_one_line():
    reg = Registry("widget", {"b": "nowhere.b", "a": "nowhere.a"})
    with pytest.raises(RegistryError, match=r"^unknown widget 'c'; known: a, b$"):
        reg.get("c")
    assert isinstance(RegistryError("x"), ValueError)


def test_builtins_import_on_first_use_and_a_broken_one_breaks_no_other(tmp_path, monkeypatch):
    (tmp_path / "reg_good.py").write_text(f"import sys\nsys.modules[{__name__!r}].REG.register('good', 1)\n")
    (tmp_path / "reg_broken.py").write_text("raise ImportError('broken on purpose')\n")
    (tmp_path / "reg_silent.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    REG._entries.clear()
    REG._origins.clear()
    assert "reg_good" not in sys.modules and REG.names() == ["broken", "good", "silent"]
    assert REG.get("good") == 1 and "reg_good" in sys.modules
    with pytest.raises(ImportError, match="broken on purpose"):
        REG.get("broken")
    with pytest.raises(RegistryError, match="does not register it"):
        REG.get("silent")
    assert REG.get("good") == 1


REG: Registry[int] = Registry("thing", {"good": "reg_good", "broken": "reg_broken", "silent": "reg_silent"})


def test_register_from_outside_and_clashes():
    reg: Registry[object] = Registry("thing", {})

    @reg.register("mine")
    class Mine:
        pass

    assert reg.get("mine") is Mine and "mine" in reg and list(reg) == ["mine"]
    assert reg.register("mine", Mine) is Mine                        # the same definition again: fine

    class Other:
        pass

    with pytest.raises(RegistryError, match="already registered"):
        reg.register("mine", Other)
    with pytest.raises(RegistryError, match=r"'stargan' is already registered by trainer\.nets\.stargan"):
        NETWORKS.get("stargan")
        NETWORKS.register("stargan", object())                          # an instance from another module


def test_the_built_in_names():
    assert {"parser", "classifier", "stargan", "attgan", "concat", "secgan", "scgan"} <= set(METHODS)
    assert {"synthfaces", "celeba", "celebamask_hq", "rafd", "affectnet"} <= set(DATASETS)
    assert {"stargan", "attgan", "parser", "classifier", "scgan"} <= set(NETWORKS)
    from trainer.nets.editor_backbone import editor_backbone_names

    assert {"stargan", "attgan"} <= set(editor_backbone_names())
    assert "parser" not in editor_backbone_names()
