"""The Help menu's texts: keyboard and mouse, and About."""
from __future__ import annotations

SHORTCUTS_HTML = """
<table cellspacing=4>
<tr><td><b>B / E / G / I / L</b></td><td>brush / eraser / fill / pick / landmarks</td></tr>
<tr><td><b>L, then drag</b></td><td>move a landmark (Shift: its whole part, an eye, the mouth); the mask follows</td></tr>
<tr><td><b>Shift+M</b></td><td>mirror landmark drags (the other side moves the mirror way)</td></tr>
<tr><td><b>left / right button</b></td><td>paint / erase (fill: fill / fill with the eraser class)</td></tr>
<tr><td><b>Ctrl+click</b></td><td>pick the class under the cursor</td></tr>
<tr><td><b>0 … 18</b></td><td>select a class (type two digits quickly for 10–18)</td></tr>
<tr><td><b>[ ]</b></td><td>brush smaller / bigger</td></tr>
<tr><td><b>M</b></td><td>mirror painting (left/right classes swap)</td></tr>
<tr><td><b>Ctrl+Z, Ctrl+Shift+Z</b></td><td>undo / redo: strokes, slider releases, seed and toggles, re-crops</td></tr>
<tr><td><b>wheel</b></td><td>zoom to the cursor</td></tr>
<tr><td><b>space+drag, middle drag</b></td><td>pan</td></tr>
<tr><td><b>Ctrl+0 / Ctrl+1</b></td><td>fit / 1:1</td></tr>
<tr><td><b>hold \\</b></td><td>compare with the original</td></tr>
<tr><td><b>S / O</b></td><td>before/after split / mask overlay</td></tr>
<tr><td><b>P</b></td><td>mask from the face parser</td></tr>
</table>
"""


def about_html(engine) -> str:
    from faceeditor import __version__

    return (f"<b>FaceEditor {__version__}</b><br>Edit faces with GANs: paint semantic masks, move attribute sliders, "
            f"synthesise faces from masks.<br><br>Engine: ONNX Runtime ({', '.join(engine.providers)}).")
