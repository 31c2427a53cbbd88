"""Render the README's screenshots of the desktop window into docs/images/ (offscreen, deterministic).

    python tools/ui_screenshots.py [--out docs/images] [--pack DIR ...] [--fake] [--size 1920x1080 ...]
                                   [--only app_all_flips ...]

Each --size renders the whole set (default: 1920x1080 and 1280x720); the first size gets the plain names,
the others their size in the name (app_start_1280x720.png).

1. app_start.png     what `faceeditor --sample` shows with the packs that are installed
2. app_painting.png  the mask being painted (hair along the fringe, mirrored), zoomed, brush cursor shown
3. app_panels_fake_engine.png  (only with --fake) every panel lit by the *test* engine, whose "edits" are
                     colour shifts, not a model: it shows the layout, the split view and the status bar
4. app_synthesis.png (when a `synthesize` model is installed) a face drawn by it from the sample's parsed
                     mask, shown with a before/after split against the photo
5. app_photo.png     scikit-image's astronaut: aligned on her face, and the warning that the loaded models
                     were trained on SynthFaces
6. app_all_flips.png (when a `flip_attributes` model is installed, e.g. --pack with SG-GAN) the All flips
                     dock on the sample, every flip from one pass, the +/- flip of the first attribute the
                     model reads as absent applied and shown on the canvas
7. app_expression.png (when an `edit_expression` model is installed) the Expression panel on the sample:
                     the evaluator's reading, "happy" at intensity 1 applied, split against the photo

--only NAME (repeatable, e.g. --only app_all_flips) renders just those pictures.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--pack", action="append", default=[])
    parser.add_argument("--fake", action="store_true", help="also render the panels with the test engine")
    parser.add_argument("--size", action="append", default=[], metavar="WxH",
                        help="window size; repeatable (default: 1920x1080 and 1280x720)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="render only these pictures (app_start, app_painting, app_synthesis, "
                             "app_panels_fake_engine, app_photo, app_all_flips, app_expression); repeatable")
    args = parser.parse_args(argv)
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in (args.size or ["1920x1080", "1280x720"])]
    tmp = Path(tempfile.mkdtemp(prefix="fe-shots-"))
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(tmp / var.lower())

    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from faceeditor.core.labels import CLASS_INDEX
    from faceeditor.core.preferences import Preferences
    from faceeditor.core.samples import bundled_samples
    from faceeditor.ui.main_window import MainWindow
    from faceeditor.ui.startup import apply_dark_theme

    app = QApplication.instance() or QApplication(["faceeditor"])
    apply_dark_theme(app)
    args.out.mkdir(parents=True, exist_ok=True)
    samples = bundled_samples()

    size, suffix = sizes[0], ""

    def window(engine=None, parse_on_open=True, fresh=False):
        prefs = Preferences(tmp / ("fresh.json" if fresh else "prefs.json"))
        prefs.data["parse_on_open"] = parse_on_open
        w = MainWindow(engine, pack_dirs=args.pack, interactive=False, autosave_dir=tmp / "autosave",
                       preferences=prefs)
        w.resize(*size)
        w.show()
        return w

    def settle(w):
        w.workers.wait_idle(120)
        for _ in range(5):
            app.processEvents()

    def save(w, name):
        if not wanted(name.removesuffix(".png")):
            return
        settle(w)
        path = args.out / name.replace(".png", f"{suffix}.png")
        w.grab().save(str(path), "PNG")
        print(f"wrote {path}")

    def wanted(name):
        return not args.only or name in args.only or f"{name}.png" in args.only

    def mouse(w, kind, x, y, buttons=Qt.MouseButton.LeftButton):
        pos = w.canvas.view_point(x, y)
        vp = w.canvas.viewport()
        button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
        QApplication.sendEvent(vp, QMouseEvent(kind, pos, vp.mapToGlobal(pos), button, buttons,
                                               Qt.KeyboardModifier.NoModifier))

    for size in sizes:
        suffix = "" if size == sizes[0] else f"_{size[0]}x{size[1]}"
        (tmp / "fresh.json").unlink(missing_ok=True)
        # 6. All flips: every flip of the sample from one pass, one applied
        if wanted("app_all_flips"):
            w = window()
            if w.ws.model("flip_attributes") is not None:
                w.first_run.finish()            # the welcome card belongs to picture 1, not over this one
                w.documents.open_file(samples[1])
                settle(w)
                w.canvas.fit()
                w.show_all_flips()
                settle(w)
                sheet = w.flips_ctl.sheet
                if sheet is not None:
                    name = next((n for n in sheet.attributes if sheet.flip_value(n) == 1), sheet.attributes[0])
                    w.flips.tiles[name].click()
                save(w, "app_all_flips.png")
            else:
                print("app_all_flips.png: no flip_attributes model is loaded (give --pack DIR)")
            w.close()
        # 7. Expression: the evaluator's reading of the sample, "happy" applied
        if wanted("app_expression"):
            w = window()
            if w.ws.model("edit_expression") is not None:
                w.first_run.finish()
                w.documents.open_file(samples[1])
                settle(w)
                w.canvas.fit()
                w.expr_dock.raise_()
                w.expression.buttons["happy"].click()
                settle(w)
                w.layers_panel.overlay.setChecked(False)
                w.layers_panel.split.setChecked(True)
                w.canvas.set_split_position(w.doc.photo.shape[1] * 0.5)
                save(w, "app_expression.png")
            else:
                print("app_expression.png: no edit_expression model is loaded (give --pack DIR)")
            w.close()
        if args.only and not any(wanted(n) for n in ("app_start", "app_painting", "app_synthesis",
                                                    "app_panels_fake_engine", "app_photo")):
            continue
        # 1. start (a first start: the welcome card shows)
        w = window(fresh=True)
        w.documents.open_file(samples[1])
        settle(w)
        w.canvas.fit()
        save(w, "app_start.png")
        w.close()

        # 2. painting: hair over the fringe with mirror on, a fill of the background with cloth below
        w = window()
        w.documents.open_file(samples[1])
        settle(w)
        layer = w.doc.mask
        w.mask_panel.select_class(CLASS_INDEX["hair"])
        w.mask_panel.set_brush_size(22)
        w.mask_panel.mirror.setChecked(True)
        for pts in ([(70, 80), (88, 64), (110, 58), (126, 58)], [(72, 76), (96, 70), (126, 68)],
                    [(78, 92), (96, 84), (118, 80)],
                    [(60, 108), (64, 92), (74, 78)], [(56, 140), (58, 118), (62, 104)]):
            mouse(w, QEvent.Type.MouseButtonPress, *pts[0])
            for p in pts[1:]:
                mouse(w, QEvent.Type.MouseMove, *p)
            mouse(w, QEvent.Type.MouseButtonRelease, *pts[-1], buttons=Qt.MouseButton.NoButton)
        w.mask_panel.mirror.setChecked(False)
        w.canvas.zoom_by(1.35, QPointF(w.canvas.viewport().rect().center()))
        w.canvas.centerOn(w.canvas.overlay.mapToScene(QPointF(128, 110)))
        w.mask_panel.select_class(CLASS_INDEX["hair"])
        mouse(w, QEvent.Type.MouseMove, 150, 72, Qt.MouseButton.NoButton)
        _ = layer
        save(w, "app_painting.png")
        w.close()

        # 4. synthesis from the parsed mask, split against the photo
        w = window()
        if w.ws.model("synthesize") is not None:
            w.documents.open_file(samples[1])
            settle(w)
            w.canvas.fit()
            w.synth_dock.raise_()
            # unset toggles follow the parsed mask, else the attribute evaluator's reading of the sample
            w.synthesis.seed.setValue(3)       # a change of seed shows the synthesis result and runs it
            settle(w)
            w.layers_panel.overlay.setChecked(False)
            w.layers_panel.split.setChecked(True)
            w.canvas.set_split_position(w.doc.photo.shape[1] * 0.5)
            save(w, "app_synthesis.png")
        w.close()

        # 3. every panel lit by the test engine
        if args.fake:
            from faceeditor.engine.fake import FakeEngine

            w = window(FakeEngine(resolution=256), parse_on_open=False)
            w.documents.open_file(samples[0])
            settle(w)
            w.attributes.set_value("Blond_Hair", 1.2)
            w.attributes.set_value("Young", -0.5)
            settle(w)
            w.layers_panel.split.setChecked(True)
            w.layers_panel.opacity.setValue(25)
            w.canvas.set_split_position(w.doc.photo.shape[1] * 0.45)
            save(w, "app_panels_fake_engine.png")
            w.close()

        # 5. a photograph: aligned on the face, and the warning about the models' training data
        import skimage.data

        from faceeditor.core.image_io import save_image

        photo = tmp / "astronaut.png"
        save_image(photo, skimage.data.astronaut())
        w = window()
        w.documents.open_file(photo)
        settle(w)
        w.canvas.fit()
        save(w, "app_photo.png")
        w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
