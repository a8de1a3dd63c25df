"""Turn a Bundle into a ready Denoiser on the chosen device and back end."""

from __future__ import annotations

from typing import TYPE_CHECKING

from getmusic_cli.errors import GetMusicError
from getmusic_cli.runtime.base import Denoiser

if TYPE_CHECKING:
    from getmusic_cli.hub.bundle import Bundle

BACKENDS = ("torch", "onnx")


def load_denoiser(bundle: Bundle, device: str = "auto", backend: str = "torch") -> Denoiser:
    """A bundle without weights (the debug model) gets the seeded random init."""
    if backend == "onnx":
        from getmusic_cli.runtime.onnx_backend import load_onnx_denoiser

        return load_onnx_denoiser(bundle, device)
    if backend != "torch":
        raise GetMusicError(f"unknown back end {backend!r} (use {' or '.join(BACKENDS)})")
    from getmusic_cli.model.network import build_network
    from getmusic_cli.runtime.device import select_device
    from getmusic_cli.runtime.torch_backend import TorchDenoiser

    dev = select_device(device)
    network = build_network(bundle.config, bundle.weights_path)
    return TorchDenoiser(network, bundle.config, dev)
