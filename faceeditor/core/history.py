"""One undo history per document: every undoable change is a `Command` already applied when it is pushed
(a mask stroke, a slider released, a seed or toggle change, a re-crop, "from parser", a mask import).

The history keeps its undo and redo stacks under a byte budget by forgetting the oldest steps, as the mask
layer's history always did: big atoms (a whole-mask replace, a re-crop that keeps the old mask) count
their bytes, small value changes count a few hundred. Consecutive changes of the same value can merge
into one step (a slider moved by the keyboard, a seed spin box held down) when the command says so.
"""
from __future__ import annotations

from collections import deque
from typing import Protocol, runtime_checkable

from faceeditor.core.events import Event

DEFAULT_HISTORY_BYTES = 256 * 1024 * 1024


@runtime_checkable
class Command(Protocol):
    """An applied change that knows how to take itself back and apply itself again."""

    name: str

    @property
    def nbytes(self) -> int: ...

    def undo(self) -> None: ...

    def redo(self) -> None: ...


class UndoHistory:
    """Undo and redo stacks of Commands whose total size stays under `budget` bytes (oldest dropped first).

    `changed` is emitted after every push, undo, redo and clear, so views can update their Undo/Redo
    actions; `applied(name)` after an undo or redo with the step's name ("Undo Paint skin")."""

    def __init__(self, budget: int = DEFAULT_HISTORY_BYTES):
        if budget < 0:
            raise ValueError("history budget must be >= 0 bytes")
        self.budget = int(budget)
        self.undo_stack: deque[Command] = deque()
        self.redo_stack: list[Command] = []
        self.nbytes = 0
        self.dropped = 0          # steps forgotten to stay within the budget
        self.changed = Event()
        self.applied = Event()
        self._busy = False        # inside an undo or redo: commands must not push new ones

    def push(self, command: Command) -> None:
        """Record an applied change. It replaces the redo stack; a change made while a step is being
        undone or redone (a view reacting to it) is not recorded."""
        if self._busy:
            return
        for c in self.redo_stack:
            self.nbytes -= c.nbytes
        self.redo_stack.clear()
        top = self.undo_stack[-1] if self.undo_stack else None
        merge = getattr(top, "merge", None)
        if top is not None and merge is not None and merge(command):
            self.changed.emit()
            return
        size = command.nbytes
        if size > self.budget:          # cannot be kept: the change stays, nothing before it is undoable
            self.dropped += len(self.undo_stack) + 1
            self.undo_stack.clear()
            self.nbytes = 0
            self.changed.emit()
            return
        self.undo_stack.append(command)
        self.nbytes += size
        while self.nbytes > self.budget and self.undo_stack:
            self.nbytes -= self.undo_stack.popleft().nbytes
            self.dropped += 1
        self.changed.emit()

    @property
    def can_undo(self) -> bool:
        return bool(self.undo_stack)

    @property
    def can_redo(self) -> bool:
        return bool(self.redo_stack)

    @property
    def undo_name(self) -> str | None:
        return self.undo_stack[-1].name if self.undo_stack else None

    @property
    def redo_name(self) -> str | None:
        return self.redo_stack[-1].name if self.redo_stack else None

    def undo(self) -> str | None:
        """Undo the last step; returns its name (None when there is nothing to undo)."""
        if not self.undo_stack or self._busy:
            return None
        command = self.undo_stack.pop()
        self.redo_stack.append(command)
        self._run(command.undo)
        self.applied.emit(f"Undo {command.name}")
        self.changed.emit()
        return command.name

    def redo(self) -> str | None:
        """Redo the last undone step; returns its name (None when there is nothing to redo)."""
        if not self.redo_stack or self._busy:
            return None
        command = self.redo_stack.pop()
        self.undo_stack.append(command)
        self._run(command.redo)
        self.applied.emit(f"Redo {command.name}")
        self.changed.emit()
        return command.name

    def _run(self, fn) -> None:
        self._busy = True
        try:
            fn()
        finally:
            self._busy = False

    def clear(self) -> None:
        self.undo_stack.clear()
        self.redo_stack.clear()
        self.nbytes = 0
        self.changed.emit()
