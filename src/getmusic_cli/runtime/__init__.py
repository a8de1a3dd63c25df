"""Denoiser back ends (torch, ONNX Runtime) and device selection: the only place that knows which runs."""
