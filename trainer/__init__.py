"""Headless PyTorch trainer: datasets, networks, methods, metrics and ONNX export."""
