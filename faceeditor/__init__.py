"""FaceEditor: edit faces with GANs. The app package; it never imports torch."""

__version__ = "0.1.0"
