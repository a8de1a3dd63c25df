"""Denoiser on an ONNX Runtime session of a bundle's ``model.onnx`` (the trunk only).

The tied head stays in torch (runtime/base.py ``log_probs``): its weights are read from the bundle's
safetensors, so the restricted-head trick of the sampler works unchanged. Tensors cross the boundary as numpy
arrays on the CPU; features come back as torch tensors on ``self.device``.

ONNX Runtime is imported only here and only when this back end is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from getmusic_cli.errors import GetMusicError
from getmusic_cli.model.config import ModelConfig
from getmusic_cli.runtime.base import Denoiser
from getmusic_cli.runtime.onnx_export import INSTALL_HINT, META_FINGERPRINT, OUTPUT_NAME, head_fingerprint
from getmusic_cli.runtime.threads import choose_threads

if TYPE_CHECKING:
    from getmusic_cli.hub.bundle import Bundle

CUDA_EP = "CUDAExecutionProvider"
CPU_EP = "CPUExecutionProvider"


def import_onnxruntime():
    try:
        import onnxruntime as ort
    except ImportError:
        raise GetMusicError(f"the ONNX back end needs ONNX Runtime: {INSTALL_HINT}") from None
    if not hasattr(ort, "InferenceSession"):
        # onnxruntime and onnxruntime-gpu write the same package folder; having both leaves it broken.
        raise GetMusicError(
            "the onnxruntime module is broken (onnxruntime and onnxruntime-gpu installed together?): "
            "uninstall both, then install getmusic-cli[onnx] or getmusic-cli[onnx-gpu]"
        )
    return ort


def session_options(ort, threads: int | None = None):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or choose_threads()
    options.inter_op_num_threads = 1  # one chain of ops: parallelism lives inside each op
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    # Idle pool threads would spin after each run and starve the torch head (and torch's own threads) that run
    # between trunk calls on the same cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def cpu_session(path: str | Path, threads: int | None = None):
    ort = import_onnxruntime()
    return _session(ort, path, [CPU_EP], threads)


def _session(ort, path, providers, threads):
    try:
        return ort.InferenceSession(str(path), sess_options=session_options(ort, threads), providers=providers)
    except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types (Fail, InvalidGraph, ...)
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise GetMusicError(f"ONNX Runtime cannot load {path}: {first}") from None


def _parse_device(name: str) -> tuple[str, int]:
    """ "auto" | "cpu" | "cuda" | "cuda:N" -> (kind, index)."""
    name = (name or "auto").strip().lower()
    if name in ("auto", "cpu", "cuda"):
        return name, 0
    if name.startswith("cuda:") and name[5:].isdigit():
        return "cuda", int(name[5:])
    raise GetMusicError(f"unknown device {name!r} (use auto, cpu, cuda or cuda:N)")


def open_session(path: str | Path, device: str = "auto", threads: int | None = None):
    """(session, "cuda" | "cpu", device index). CUDA counts only if the session really runs on it."""
    ort = import_onnxruntime()
    kind, index = _parse_device(device)
    if kind == "cpu":
        return _session(ort, path, [CPU_EP], threads), "cpu", 0
    if CUDA_EP not in ort.get_available_providers():
        if kind == "auto":
            return _session(ort, path, [CPU_EP], threads), "cpu", 0
        raise GetMusicError(
            "CUDA was asked for but the installed onnxruntime has no CUDA provider: install getmusic-cli[onnx-gpu] "
            "instead of getmusic-cli[onnx], or use --device cpu"
        )
    # onnxruntime-gpu lists CUDA even without a GPU; a session asked for it then falls back to the CPU and
    # logs two error lines. Silence them and look at what the session actually got.
    ort.set_default_logger_severity(4)
    try:
        session = _session(ort, path, [(CUDA_EP, {"device_id": index}), CPU_EP], threads)
    except GetMusicError:
        if kind == "cuda":
            raise
        session = None
    finally:
        ort.set_default_logger_severity(3)
    if session is not None and session.get_providers()[0] == CUDA_EP:
        return session, "cuda", index
    if kind == "auto":
        return (session or _session(ort, path, [CPU_EP], threads)), "cpu", 0
    raise GetMusicError(
        "onnxruntime-gpu could not use the GPU (no CUDA GPU visible, or its CUDA/cuDNN libraries are missing); "
        "use --device cpu"
    )


class OnnxDenoiser(Denoiser):
    def __init__(
        self,
        session,
        config: ModelConfig,
        head_weight: torch.Tensor,
        head_bias: torch.Tensor,
        device: torch.device,
        provider: str = "cpu",
    ):
        self.session = session
        self.config = config
        self.device = torch.device(device)
        self.provider = provider  # where the trunk runs: "cpu" or "cuda"
        self.head_weight = head_weight.float().to(self.device)
        self.head_bias = head_bias.float().to(self.device)

    def features(self, tokens, t, condition, bar_position=None) -> torch.Tensor:
        cfg = self.config
        cfg.check_window(tokens.shape[1], tokens.shape[2])
        feeds = {
            "tokens": _numpy(tokens, torch.int64),
            "t": _numpy(t, torch.int64),
            "condition": _numpy(condition, torch.bool),
        }
        if cfg.bar_positions:
            if bar_position is None:
                raise ValueError("this model needs each column's place in its bar (bar_position)")
            feeds["bar_position"] = _numpy(bar_position.expand(tokens.shape[0], tokens.shape[2]), torch.int64)
        out = self.session.run([OUTPUT_NAME], feeds)[0]
        return torch.from_numpy(out).to(self.device)


def _numpy(tensor: torch.Tensor, dtype: torch.dtype):
    return tensor.detach().to("cpu", dtype).contiguous().numpy()


def read_head(weights: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The tied head tensors only (the trunk's weights live in model.onnx)."""
    from safetensors import safe_open

    try:
        with safe_open(str(weights), framework="pt", device="cpu") as f:
            return f.get_tensor("token_embedding.weight"), f.get_tensor("head_bias")
    except Exception as exc:  # noqa: BLE001 - missing file, bad header, missing key
        raise GetMusicError(f"cannot read the output head from {weights}: {exc}") from None


def load_onnx_denoiser(
    bundle: Bundle,
    device: str = "auto",
    threads: int | None = None,
    cache_dir: str | Path | None = None,
    int8: bool = False,
) -> OnnxDenoiser:
    """The bundle's own model.onnx, else an export made once into the cache (runtime/onnx_cache.py)."""
    from getmusic_cli.runtime.onnx_cache import ensure_onnx

    import_onnxruntime()
    onnx_path = ensure_onnx(bundle, cache_dir, int8=int8)
    if bundle.weights_path is None:
        from getmusic_cli.model.network import build_network

        network = build_network(bundle.config, None)  # the debug model: its seeded weights give the head
        head_weight, head_bias = network.token_embedding.weight.detach(), network.head_bias.detach()
    else:
        head_weight, head_bias = read_head(bundle.weights_path)
    session, provider, index = open_session(onnx_path, device, threads)
    stored = session.get_modelmeta().custom_metadata_map.get(META_FINGERPRINT)
    if stored is not None and stored != head_fingerprint(head_weight, head_bias, bundle.config):
        raise GetMusicError(
            f"{onnx_path} was exported from other weights or another network shape than this bundle's: run "
            f"`getmusic export onnx {bundle.root} -o {bundle.root} --force`"
        )
    use_torch_cuda = provider == "cuda" and torch.cuda.is_available()
    head_device = torch.device("cuda", index) if use_torch_cuda else torch.device("cpu")
    return OnnxDenoiser(session, bundle.config, head_weight, head_bias, head_device, provider)
