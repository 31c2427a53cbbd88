"""The README's timeline screenshot and clip: the app (offscreen) with the bundled pack, a bundled sample's
Left2Right timeline in the Timeline dock, and the clip exported by the app's export path as a small GIF.

Run: QT_QPA_PLATFORM=offscreen python tools/make_timeline_images.py
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from PySide6.QtWidgets import QApplication

    from faceeditor.core.image_io import save_image
    from faceeditor.core.preferences import Preferences
    from faceeditor.core.samples import synthesis_sample_names
    from faceeditor.core.timeline_presets import sample_document
    from faceeditor.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp())
    w = MainWindow(None, interactive=False, autosave_dir=tmp / "autosave", preferences=Preferences(tmp / "p.json"))
    w.resize(1280, 860)
    w.show()
    doc, attrs = sample_document(synthesis_sample_names()[0], 256)
    photo = tmp / "synthface_sample.png"     # a SynthFaces render: no photo-domain banner over the canvas
    save_image(photo, doc.photo)
    w.documents.open_file(photo)
    w.first_run.hide_for_now()                # the welcome card would cover the canvas
    while w.workers.busy or w.doc is None:
        app.processEvents()
    w.doc.mask.replace(doc.mask.data, "Sample mask")
    w.session.set("landmarks", tuple(map(tuple, doc.crop.landmarks)), record=False)
    w.session.set("synth_attrs", {k: v for k, v in attrs.items() if k in ("Male", "Young")}, record=False)
    w.timeline_ctl.apply_preset("left2right")
    w.synth_dock.raise_()
    w.timeline.set_frame(30)
    while w.workers.busy:
        app.processEvents()
    for _ in range(50):
        app.processEvents()
    out = ROOT / "docs" / "images"
    w.grab().save(str(out / "app_timeline.png"))
    result = w.timeline_ctl.renderer().export(out / "left2right.gif", size=128, fps=16)
    print(result)
    w.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
