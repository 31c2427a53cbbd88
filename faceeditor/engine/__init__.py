"""Qt-free inference: model-pack manifests, ONNX Runtime sessions, task requests."""
