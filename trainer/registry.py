"""Names -> training methods, datasets and networks: the one place a config's names are looked up.

A built-in entry is a name and the module that registers it; the module is imported only when the name is
first asked for, so one broken module cannot break the others (and `--list-methods` imports nothing).
Code outside the package registers its own entries the same way, with the `register` decorator:

    @METHODS.register("mymethod")
    class MyMethod(EditingMethod): ...

    NETWORKS.register("tiny", EditorBackbone(...))

This module imports nothing from the rest of the trainer, so anything can import it without a cycle.
"""
from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class RegistryError(ValueError):
    """An unknown name, or a module that did not register the name it is listed under. A ValueError, so
    that callers report it like any other bad value."""


def _origin(obj: Any, caller: str) -> str:
    """Where an entry was defined: "module.qualname" of a class or function, else the module that
    registered it; tells a re-imported module from a name clash."""
    if isinstance(obj, type) or inspect.isfunction(obj):
        return f"{obj.__module__}.{obj.__qualname__}"
    return caller


class Registry(Generic[T]):
    """Entries of one kind by name: the built-ins (imported on first use) and whatever was registered."""

    def __init__(self, kind: str, builtins: Mapping[str, str]):
        self.kind = kind
        self._builtins = dict(builtins)
        self._entries: dict[str, T] = {}
        self._origins: dict[str, str] = {}

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, entry: T) -> T: ...

    def register(self, name: str, entry: Any = None) -> Any:
        """Register `entry` under `name` (as a decorator when `entry` is left out). Registering the same
        definition again (a re-imported module) replaces it; another definition under a taken name is
        refused, so a plug-in cannot silently shadow a built-in."""
        if not isinstance(name, str) or not name:
            raise RegistryError(f"{self.kind} names are non-empty strings, got {name!r}")
        caller = sys._getframe(1).f_globals.get("__name__", "?")

        def add(obj: T) -> T:
            origin = _origin(obj, caller)
            old = self._origins.get(name)
            if old is not None and self._entries[name] is not obj and old != origin:
                raise RegistryError(f"{self.kind} {name!r} is already registered by {old}")
            self._entries[name] = obj
            self._origins[name] = origin
            return obj

        return add if entry is None else add(entry)

    def get(self, name: str) -> T:
        """The entry of `name`, importing its built-in module on first use. An unknown name raises
        RegistryError listing the known ones; a built-in module that fails to import raises its ImportError."""
        if name not in self._entries:
            module = self._builtins.get(name)
            if module is None:
                raise RegistryError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
            importlib.import_module(module)
            if name not in self._entries:
                raise RegistryError(f"{self.kind} {name!r}: module {module} does not register it")
        return self._entries[name]

    def names(self) -> list[str]:
        """Every known name, built-in or registered, sorted (imports nothing)."""
        return sorted(set(self._builtins) | set(self._entries))

    def __contains__(self, name: object) -> bool:
        return name in self._builtins or name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())


# Training methods (trainer/methods/*.py): Method subclasses.
METHODS: Registry[Any] = Registry("method", {
    "parser": "trainer.methods.parser",
    "classifier": "trainer.methods.classifier",
    "stargan": "trainer.methods.stargan",
    "attgan": "trainer.methods.attgan",
    "concat": "trainer.methods.concat",
    "secgan": "trainer.methods.secgan",
    "stgan": "trainer.methods.stgan",
    "maggan": "trainer.methods.maggan",
    "preview_distill": "trainer.methods.preview_distill",
    "scgan": "trainer.methods.scgan",
    "hiergan": "trainer.methods.hiergan",
    "sggan": "trainer.methods.sggan",
})

# Datasets (trainer/data/*.py): classes constructed as cls(cfg: DataConfig, split: str).
DATASETS: Registry[Any] = Registry("dataset", {
    "synthfaces": "trainer.data.synthfaces_dataset",
    "celeba": "trainer.data.celeba",
    "celebamask_hq": "trainer.data.celebamask_hq",
    "rafd": "trainer.data.rafd",
    "affectnet": "trainer.data.affectnet",
})

# Networks (trainer/nets/*.py): builders; the attribute editors' backbones are EditorBackbone entries.
NETWORKS: Registry[Any] = Registry("network", {
    "stargan": "trainer.nets.stargan",
    "attgan": "trainer.nets.attgan",
    "stgan": "trainer.nets.stgan",
    "parser": "trainer.nets.parser",
    "classifier": "trainer.nets.classifier",
    "scgan": "trainer.nets.scgan",
    "sggan": "trainer.nets.sggan",
    # reference projects' networks in their own parameter layout, for the checkpoint importers
    "bisenet": "trainer.nets.bisenet",
    "stargan_official": "trainer.nets.stargan_official",
    "attgan_official": "trainer.nets.attgan_official",
    "stgan_official": "trainer.nets.stgan_official",
})
