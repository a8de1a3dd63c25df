"""Turn a Bundle into a ready Denoiser on the chosen device and back end, with its thread count set."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from getmusic_cli.errors import GetMusicError
from getmusic_cli.runtime.base import Denoiser
from getmusic_cli.runtime.threads import apply_torch_threads, choose_threads, model_parameters

if TYPE_CHECKING:
    from getmusic_cli.hub.bundle import Bundle

BACKENDS = ("torch", "onnx")


def load_denoiser(
    bundle: Bundle,
    device: str = "auto",
    backend: str = "torch",
    *,
    threads: int | None = None,
    int8: bool = False,
    cache_dir: str | Path | None = None,
) -> Denoiser:
    """A bundle without weights (the debug model) gets the seeded random init.

    THREADS: intra-op threads (runtime/threads.py chooses when None). INT8: ONNX Runtime dynamic quantisation
    (ONNX back end only). CACHE_DIR: where a bundle without model.onnx gets its export (runtime/onnx_cache.py).
    """
    if backend not in BACKENDS:
        raise GetMusicError(f"unknown back end {backend!r} (use {' or '.join(BACKENDS)})")
    if int8 and backend != "onnx":
        raise GetMusicError("int8 runs in ONNX Runtime only", cli_hint="add --backend onnx")
    n_threads = choose_threads(threads, model_parameters(bundle.config))
    apply_torch_threads(n_threads)  # the torch back end, and the head of the ONNX one
    if backend == "onnx":
        from getmusic_cli.runtime.onnx_backend import load_onnx_denoiser

        return load_onnx_denoiser(bundle, device, n_threads, cache_dir=cache_dir, int8=int8)
    from getmusic_cli.model.network import build_network
    from getmusic_cli.runtime.device import select_device
    from getmusic_cli.runtime.torch_backend import TorchDenoiser

    dev = select_device(device)
    network = build_network(bundle.config, bundle.weights_path)
    return TorchDenoiser(network, bundle.config, dev)
