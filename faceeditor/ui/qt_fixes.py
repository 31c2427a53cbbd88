"""Work around a reference-counting bug in PySide6's SignalInstance (seen in 6.12.0).

`SignalInstance.emit()` and `SignalInstance.disconnect()` return `True` without taking a reference to it
(a borrowed `Py_True` where the C API wants a new reference). Python then drops that reference when the
result is discarded, so every `signal.emit(...)` written in Python takes one reference away from `True`,
whatever the signal carries and whether or not anything is connected. Signals Qt emits from C++ (a
checkbox's `toggled`, a slider's `valueChanged`) are not affected. A session of slider moves, syntheses,
busy indicators and worker relays emits thousands of times; once `True`'s count falls below the number
of real holders, one of them releasing it (typically the garbage collector at interpreter shutdown)
deallocates it: "Fatal Python error: bool_dealloc", exit 134.

`install()` measures the bug once: it calls each method a few times on a private signal and watches the
reference count of the returned object. Only if the count falls by exactly one per call does it replace
the method with a wrapper that gives back the missing reference, so a fixed PySide6 is left untouched.
It runs when `faceeditor.ui` is imported, before any view exists. tests/ui/test_quit.py guards it.
"""
from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

_PROBE_CALLS = 16

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None

patched: list[str] = []     # the SignalInstance methods install() had to wrap (for tests and reports)
_wrappers: set[Callable[..., Any]] = set()


class _Probe(QObject):
    ping = Signal(bool)


def _slot(_value: bool) -> None:
    pass


def _drops_result_reference(call: Callable[[], Any]) -> bool:
    """True if `call()` returns an object without owning a reference to it (its count falls by one per
    call). Then the references the probe itself took away are given back."""
    result = call()
    before = sys.getrefcount(result)
    for _ in range(_PROBE_CALLS):
        call()
    if before - sys.getrefcount(result) != _PROBE_CALLS:
        return False
    for _ in range(_PROBE_CALLS + 1):
        _incref(result)
    return True


def _giving_back_reference(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        _incref(result)     # the reference the binding should have taken for us
        return result

    _wrappers.add(wrapper)
    return wrapper


def install() -> list[str]:
    """Wrap SignalInstance.emit / .disconnect if (and only if) they drop a reference; idempotent."""
    probe = _Probe()

    def emit() -> Any:
        return probe.ping.emit(False)

    def connect_and_disconnect() -> Any:
        probe.ping.connect(_slot)
        return probe.ping.disconnect(_slot)

    for name, call in (("emit", emit), ("disconnect", connect_and_disconnect)):
        method = getattr(SignalInstance, name)
        if method in _wrappers:
            continue
        if _drops_result_reference(call):
            setattr(SignalInstance, name, _giving_back_reference(method))
            patched.append(name)
            if _drops_result_reference(call):    # the wrapper must make it balance; never leave it half done
                raise RuntimeError(f"could not repair the reference count of SignalInstance.{name}")
    return patched
