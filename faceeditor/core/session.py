"""The app's state as a Qt-free model: the open document and what the panels edit, with change events.

Panels never talk to each other or to the window: a widget writes a value into the session, and everything
that depends on it (the attribute controller that runs the editor, the synthesis controller, the title's
"modified" mark, a second widget showing the same value) hears `changed(key)` and reads it back.

The values are saved in the project's edits (`to_edits`, read back by `set_document`), so a project
reopens with its sliders, toggles, seed, keep options, shown result and expression as they were. Changes
made by the user are commands of the document's undo history: a slider drag is one step when released
(`begin_gesture` / `end_gesture`), consecutive keyboard or spin-box changes of one value merge into one
step, a toggle is a step of its own. Values the app sets for the user (a project being loaded) are set with
`record=False`.

Two readings are held beside the values, neither saved nor undone: the attribute evaluator's reading of the
face (`readings`) and the synthesis's resolved attributes (`synth_resolved`, faceeditor.core.mask_attributes:
each value and whether the user set it or it came from the mask, the photo or the model's default).
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from faceeditor.core.events import Event
from faceeditor.core.history import UndoHistory
from faceeditor.core.keyframes import KeyframeFile

if TYPE_CHECKING:
    from faceeditor.core.mask_attributes import ResolvedAttributes

# keys of the session's values (the `changed` event names them)
ATTRIBUTES = "attributes"          # {attribute: intensity}; 0 = unchanged (absent)
KEEP_OUTSIDE = "keep_outside"      # keep every pixel outside the moved attributes' regions
KEEP_DETAIL = "keep_detail"        # add the editor's change to the photo instead of taking its output
PAINTED_MASK = "painted_mask"      # an editor that reads parse probabilities (MagGAN) takes the painted mask
SEED = "seed"                      # synthesis latent seed
SYNTH_ATTRS = "synth_attrs"        # {attribute: 0.0 | 1.0} synthesis toggles the user set (the others are resolved)
EXPRESSION = "expression"          # RaFD expression name, or None
EXPRESSION_INTENSITY = "expression_intensity"
SHOWN = "shown"                    # which result the canvas shows: "attributes" | "synthesis" | "expression" | "flip"
FLIP = "flip"                      # the applied SG-GAN flip, {"attribute": name, "value": 0 | 1}, or None: the face
                                   # the expression and the attribute sliders then edit (order: flip, expression,
                                   # attributes)
KEYFRAMES = "keyframes"            # the timeline (core.keyframes.KeyframeFile; the project's keyframes.json)
LANDMARKS = "landmarks"            # 68 crop-pixel points the user dragged on the canvas (None: the document's)
READINGS = "readings"              # the attribute evaluator's reading of the face (not saved, not undone)
SYNTH_RESOLVED = "synth_resolved"  # every synthesis attribute's value and source (not saved, not undone)
WHOLE_AS_FACE = "whole_as_face"    # the user asked to edit a picture without a face as a face crop
REVISION = "revision"              # the document changed (a step pushed, undone or redone)
LOADED = "*"                       # every value was replaced (another document): views show them anew

RESULT_KINDS = ("attributes", "synthesis", "expression", "flip")
MERGE_WINDOW_S = 1.0
SEED_LIMIT = 2**31


def _defaults() -> dict[str, Any]:
    return {ATTRIBUTES: {}, KEEP_OUTSIDE: True, KEEP_DETAIL: False, PAINTED_MASK: False, SEED: 0, SYNTH_ATTRS: {},
            EXPRESSION: None, EXPRESSION_INTENSITY: 1.0, SHOWN: "attributes", KEYFRAMES: KeyframeFile(), WHOLE_AS_FACE: False,
            LANDMARKS: None, FLIP: None}


STEP_NAMES = {KEEP_OUTSIDE: "Keep the rest of the face", KEEP_DETAIL: "Keep the photo's detail",
              PAINTED_MASK: "Use my painted mask",
              SEED: "Seed", SYNTH_ATTRS: "Synthesis attributes", EXPRESSION: "Expression",
              EXPRESSION_INTENSITY: "Expression intensity", SHOWN: "Shown result", KEYFRAMES: "Timeline", LANDMARKS: "Move landmarks",
              WHOLE_AS_FACE: "Edit the whole picture as a face", FLIP: "Flip"}


@dataclass
class FieldChange:
    """A session value changed from `old` to `new` (a Command of the document's history)."""

    session: Session
    key: str
    old: Any
    new: Any
    name: str
    merge_id: str | None = None         # consecutive changes with the same id become one step
    at: float = field(default_factory=lambda: time.monotonic())

    @property
    def nbytes(self) -> int:
        if isinstance(self.new, KeyframeFile):
            return 256 + 2048 * (len(self.new.keyframes) + len(self.old.keyframes))
        sized = (dict, list, tuple)
        return 256 + 64 * sum(len(v) for v in (self.old, self.new) if isinstance(v, sized))

    def undo(self) -> None:
        self.session._apply(self.key, copy.deepcopy(self.old))

    def redo(self) -> None:
        self.session._apply(self.key, copy.deepcopy(self.new))

    def merge(self, other: object) -> bool:
        if (not isinstance(other, FieldChange) or self.merge_id is None or other.merge_id != self.merge_id
                or other.session is not self.session or other.at - self.at > MERGE_WINDOW_S):
            return False
        self.new, self.at = other.new, other.at
        return True


class Session:
    """See the module docstring. `document` is the open faceeditor.core.document.Document (or None)."""

    def __init__(self) -> None:
        self.document = None
        self.values: dict[str, Any] = _defaults()
        self.readings: dict[str, float] | None = None
        self.synth_resolved: ResolvedAttributes | None = None
        self.changed = Event()              # (key)
        self.document_changed = Event()     # (document or None)
        self._gestures: dict[str, Any] = {}
        self._standalone = UndoHistory()
        # every change of the document's history counts; `clean_revision` is the revision last saved
        self.revision = 0
        self.clean_revision = 0

    # --- the document -------------------------------------------------------------------------
    @property
    def history(self) -> UndoHistory:
        """The open document's undo history (a private one when nothing is open)."""
        return self.document.history if self.document is not None else self._standalone

    def set_document(self, document) -> None:
        """Make `document` the open one and load its saved values (missing or malformed ones take the
        defaults)."""
        if self.document is not None:
            self.document.history.changed.disconnect(self._bump)
        self.document = document
        self.values = _defaults()
        self.readings = None
        self.synth_resolved = None
        self._gestures.clear()
        self.revision = 1 if document is not None and document.modified else 0
        self.clean_revision = 0
        if document is not None:
            document.history.changed.connect(self._bump)
        edits = document.edits if document is not None else {}
        self._load(edits)
        if document is not None:
            self.values[KEYFRAMES] = copy.deepcopy(document.keyframes)
        self.document_changed.emit(document)
        self.changed.emit(LOADED)

    def _load(self, edits: dict[str, Any]) -> None:
        attrs = edits.get("attributes")
        if isinstance(attrs, dict):
            self.values[ATTRIBUTES] = {k: float(v) for k, v in attrs.items()
                                       if isinstance(k, str) and _finite(v) and v != 0}
        keep = edits.get("keep")
        if isinstance(keep, dict):
            for key, name in ((KEEP_OUTSIDE, "outside"), (KEEP_DETAIL, "detail")):
                if isinstance(keep.get(name), bool):
                    self.values[key] = keep[name]
        synth = edits.get("synthesis")
        if isinstance(synth, dict):
            seed = synth.get("seed")
            if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < SEED_LIMIT:
                self.values[SEED] = seed
            toggles = synth.get("attrs")
            if isinstance(toggles, dict):
                self.values[SYNTH_ATTRS] = {k: 1.0 if v else 0.0 for k, v in toggles.items()
                                            if isinstance(k, str) and isinstance(v, (int, float, bool))}
        expr = edits.get("expression")
        if isinstance(expr, dict):
            if isinstance(expr.get("name"), str):
                self.values[EXPRESSION] = expr["name"]
            if _finite(expr.get("intensity")):
                self.values[EXPRESSION_INTENSITY] = float(expr["intensity"])
        if isinstance(edits.get("painted_mask"), bool):
            self.values[PAINTED_MASK] = edits["painted_mask"]
        if isinstance(edits.get("whole_as_face"), bool):
            self.values[WHOLE_AS_FACE] = edits["whole_as_face"]
        points = edits.get("landmarks")
        if (isinstance(points, list) and len(points) == 68
                and all(isinstance(p, list) and len(p) == 2 and all(_finite(v) for v in p) for p in points)):
            self.values[LANDMARKS] = tuple((float(x), float(y)) for x, y in points)
        self.values[FLIP] = read_flip(edits.get("flip"))
        if edits.get("result") in RESULT_KINDS:
            self.values[SHOWN] = edits["result"]

    def to_edits(self) -> dict[str, Any]:
        """The values as the project's edits (JSON-ready copies); the keyframes go to the document's own
        `keyframes` (see `store`)."""
        v = self.values
        out: dict[str, Any] = {"attributes": {k: x for k, x in v[ATTRIBUTES].items() if x != 0.0},
                               "keep": {"outside": v[KEEP_OUTSIDE], "detail": v[KEEP_DETAIL]},
                               "result": v[SHOWN], "whole_as_face": v[WHOLE_AS_FACE],
                               "painted_mask": v[PAINTED_MASK]}
        if v[SYNTH_ATTRS] or v[SEED]:
            out["synthesis"] = {"seed": v[SEED], "attrs": dict(v[SYNTH_ATTRS])}
        if v[LANDMARKS] is not None:
            out["landmarks"] = [list(p) for p in v[LANDMARKS]]
        if v[FLIP] is not None:
            out["flip"] = dict(v[FLIP])
        if v[EXPRESSION] is not None:
            out["expression"] = {"name": v[EXPRESSION], "intensity": v[EXPRESSION_INTENSITY]}
        return out

    def store(self) -> None:
        """Write the values into the open document (its edits, and its keyframes) before it is saved."""
        if self.document is not None:
            self.document.edits.update(self.to_edits())
            self.document.keyframes = copy.deepcopy(self.values[KEYFRAMES])

    # --- modified ---------------------------------------------------------------------------------
    def _bump(self) -> None:
        self.revision += 1
        self.changed.emit(REVISION)

    @property
    def modified(self) -> bool:
        """Unsaved changes: the document changed since it was opened or last saved."""
        return self.document is not None and self.revision != self.clean_revision

    def mark_clean(self, revision: int | None = None) -> None:
        """The document as of `revision` (default: now) is saved, or counts as unchanged."""
        self.clean_revision = self.revision if revision is None else int(revision)
        self.changed.emit(REVISION)

    # --- values -------------------------------------------------------------------------------
    def get(self, key: str) -> Any:
        return self.values[key]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def set(self, key: str, value: Any, *, record: bool = True, name: str | None = None,
            merge: bool = False) -> bool:
        """Set a value; True when it changed. `record`: a user's change, one undo step (merged with the
        previous step of the same value within a second when `merge`); inside a gesture on `key` the
        step is recorded when the gesture ends."""
        if key not in self.values:
            raise KeyError(f"no session value {key!r}")
        old = self.values[key]
        if old == value:
            return False
        self._apply(key, copy.deepcopy(value))
        if record and key not in self._gestures and self.document is not None:
            self.history.push(FieldChange(self, key, copy.deepcopy(old), copy.deepcopy(value),
                                          name or STEP_NAMES.get(key, key), key if merge else None))
        return True

    def set_attribute(self, name: str, value: float, *, record: bool = True, merge: bool = False) -> bool:
        """One slider's value (0 removes it); an undo step named after the attribute."""
        attrs = dict(self.values[ATTRIBUTES])
        value = float(value) if _finite(value) else 0.0
        if value == 0.0:
            attrs.pop(name, None)
        else:
            attrs[name] = value
        if attrs == self.values[ATTRIBUTES]:
            return False
        old = self.values[ATTRIBUTES]
        self._apply(ATTRIBUTES, attrs)
        if record and ATTRIBUTES not in self._gestures and self.document is not None:
            self.history.push(FieldChange(self, ATTRIBUTES, dict(old), dict(attrs), f"Set {name.replace('_', ' ')}",
                                          f"attributes/{name}" if merge else None))
        return True

    def begin_gesture(self, key: str) -> None:
        """A drag starts: changes of `key` until end_gesture make one undo step."""
        self._gestures.setdefault(key, copy.deepcopy(self.values[key]))

    def end_gesture(self, key: str, name: str | None = None) -> None:
        """The drag ends: record one step from the value at its start to the value now (if it moved)."""
        if key not in self._gestures:
            return
        old = self._gestures.pop(key)
        new = self.values[key]
        if old != new and self.document is not None:
            self.history.push(FieldChange(self, key, old, copy.deepcopy(new), name or STEP_NAMES.get(key, key)))

    def _apply(self, key: str, value: Any) -> None:
        self.values[key] = value
        self.changed.emit(key)

    def set_synth_toggles(self, toggles: dict[str, float], *, record: bool = True) -> bool:
        """The synthesis toggles the user sets (all of them at once: the others are resolved)."""
        return self.set(SYNTH_ATTRS, {k: 1.0 if v else 0.0 for k, v in toggles.items()}, record=record)

    def set_synth_toggle(self, name: str, value: float | None) -> bool:
        """The user sets one synthesis toggle (None: back to automatic, resolved from the mask, the photo or
        the model's default); one undo step."""
        toggles = dict(self.values[SYNTH_ATTRS])
        if value is None:
            toggles.pop(name, None)
        else:
            toggles[name] = 1.0 if value else 0.0
        return self.set(SYNTH_ATTRS, toggles)

    def set_synth_resolved(self, resolved: ResolvedAttributes | None) -> None:
        """The synthesis's resolved attributes (faceeditor.core.mask_attributes.resolve_attributes); announced
        only when they change."""
        if resolved != self.synth_resolved:
            self.synth_resolved = resolved
            self.changed.emit(SYNTH_RESOLVED)

    def set_readings(self, readings: dict[str, float] | None) -> None:
        """The attribute evaluator's reading of the face (None: unknown); not saved, not undone."""
        self.readings = None if readings is None else dict(readings)
        self.changed.emit(READINGS)

    # --- derived ------------------------------------------------------------------------------
    @property
    def faceless(self) -> bool:
        """The open picture has no usable face and the user has not asked to edit it whole as one: the
        attribute models (editor, evaluator) have nothing to work on."""
        doc = self.document
        return doc is not None and bool(doc.settings.get("face_missing")) and not self.values[WHOLE_AS_FACE]

    def attribute_values(self, names: list[str] | tuple[str, ...]) -> dict[str, float]:
        """Every named attribute's value (0 where unset), for an editor request."""
        return {n: float(self.values[ATTRIBUTES].get(n, 0.0)) for n in names}

    def subscribe(self, keys: tuple[str, ...] | str, callback: Callable[[], None], *,
                  on_load: bool = False) -> Callable[[str], None]:
        """Call `callback()` whenever one of `keys` changes (and, with `on_load`, when another document's
        values are loaded: what a view showing them needs); returns the subscription (to disconnect)."""
        wanted = (keys,) if isinstance(keys, str) else tuple(keys)

        def relay(key: str) -> None:
            if key in wanted or (on_load and key == LOADED):
                callback()

        return self.changed.connect(relay)


def read_flip(raw: Any) -> dict[str, Any] | None:
    """A project's applied flip (edits.json "flip": {"attribute": name, "value": 0 | 1}); None when absent
    (projects saved before flips existed) or malformed."""
    if not isinstance(raw, dict) or not isinstance(raw.get("attribute"), str) or not raw["attribute"]:
        return None
    value = raw.get("value")
    if isinstance(value, bool) or value not in (0, 1):
        return None
    return {"attribute": raw["attribute"], "value": int(value)}


def flip_label(flip: dict[str, Any] | None) -> str:
    """"+Eyeglasses" / "\u2212Male" for an applied flip ("" for None)."""
    if flip is None:
        return ""
    return f"{'+' if flip['value'] else chr(0x2212)}{flip['attribute'].replace('_', ' ')}"


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
