"""The model: networks, their layers and lowering, files, and the torch / ONNX adapters."""
