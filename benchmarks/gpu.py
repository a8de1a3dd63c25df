"""Whole sampling runs on a GPU: torch fp32, bf16/fp16 autocast, torch.compile, CUDA graphs, ONNX Runtime CUDA.

The published network size (original_config, random weights), L = 512 columns, 100 steps, bass and drums
masked, batch 1 and 64 variations (one batch). Every figure is a full sampler run (the network calls and the
sampler's own work), timed after a warm-up run of the same shape, and each is also given as a ratio to torch
fp32 at the same batch. Goals (issue 15, on an H100/H200): 100 steps <= 0.5 s at batch 1, 64 variations <= 5 s.

    python benchmarks/gpu.py                          # CUDA: fp32, autocast, ONNX Runtime CUDA
    python benchmarks/gpu.py --compile --cuda-graphs  # plus torch.compile and compiled CUDA graphs
    python benchmarks/gpu.py --smoke                  # tiny sizes on the CPU (what CI runs)

Without a GPU the same script runs on the CPU (--device cpu); --smoke makes that take seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sampler import OriginalLayoutVocab  # noqa: E402  (benchmarks/sampler.py: the original id layout)

from getmusic_cli.model.config import original_config  # noqa: E402
from getmusic_cli.model.network import build_network  # noqa: E402
from getmusic_cli.model.sampler import SamplerOptions, sample  # noqa: E402
from getmusic_cli.runtime.torch_backend import TorchDenoiser  # noqa: E402


class PrecisionDenoiser(TorchDenoiser):
    """TorchDenoiser with the precision chosen by the benchmark (the back end picks autocast on CUDA itself)."""

    def __init__(self, network, config, device, dtype: torch.dtype | None):
        super().__init__(network, config, device)
        self.dtype = dtype

    def _autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)


def half_dtype(device: torch.device) -> torch.dtype:
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def task(vocab, batch: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every row filled with allowed ids, bass and drums masked, all else given."""
    g = torch.Generator().manual_seed(0)
    tokens = torch.empty((1, 14, length), dtype=torch.long)
    for row in range(14):
        ids = torch.as_tensor(vocab.allowed_ids(row))
        tokens[0, row] = ids[torch.randint(0, len(ids), (length,), generator=g)]
    condition = torch.ones_like(tokens, dtype=torch.bool)
    tokens[0, 2:6] = vocab.mask_id
    condition[0, 2:6] = False
    return tokens.repeat(batch, 1, 1), condition.repeat(batch, 1, 1)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_run(denoiser, vocab, batch: int, length: int, steps: int, repeats: int) -> float:
    device = torch.device(denoiser.device)
    tokens, condition = task(vocab, batch, length)
    tokens, condition = tokens.to(device), condition.to(device)
    sample(denoiser, vocab, tokens, condition, SamplerOptions(steps=min(steps, 3), seed=0))  # warm-up, compiles
    times = []
    for r in range(repeats):
        sync(device)
        start = time.perf_counter()
        sample(denoiser, vocab, tokens, condition, SamplerOptions(steps=steps, seed=r))
        sync(device)
        times.append(time.perf_counter() - start)
    return min(times)


def modes(args, config, device, cache_dir):
    """(name, make_denoiser) for every requested mode; each builds its own network (compile mutates it)."""

    def torch_mode(dtype, compile_mode=None):
        def make():
            network = build_network(config, seed=0).to(device).eval()
            if compile_mode:
                network = torch.compile(network, mode=compile_mode, dynamic=False)
            return PrecisionDenoiser(network, config, device, dtype)

        return make

    half = half_dtype(device)
    half_name = str(half).replace("torch.", "")
    out = [("torch fp32", torch_mode(None)), (f"torch {half_name} autocast", torch_mode(half))]
    if args.compile:
        out.append((f"torch.compile {half_name}", torch_mode(half, "max-autotune-no-cudagraphs")))
    if args.cuda_graphs:
        if device.type == "cuda":
            out.append((f"CUDA graphs {half_name}", torch_mode(half, "reduce-overhead")))
        else:
            print("CUDA graphs: skipped (no GPU)")
    if args.onnx:
        out.append((f"ONNX Runtime {device.type.upper()} fp32", lambda: onnx_denoiser(config, device, cache_dir)))
    return out


def onnx_denoiser(config, device, cache_dir):
    """The same random weights as the torch modes, exported once (the file is kept in CACHE_DIR or a temp dir)."""
    import tempfile

    from getmusic_cli.runtime.onnx_backend import OnnxDenoiser, open_session
    from getmusic_cli.runtime.onnx_export import export_network

    network = build_network(config, seed=0).eval()
    folder = Path(cache_dir or tempfile.gettempdir())
    path = folder / f"gpu-bench-{config.name}-{config.hidden_size}x{config.n_layers}-seed0.onnx"
    if not path.is_file():
        print(f"exporting the {config.name} network to {path} ...", flush=True)
        export_network(network, path)
    session, provider, index = open_session(path, "cuda" if device.type == "cuda" else "cpu")
    head_device = torch.device("cuda", index) if provider == "cuda" else torch.device("cpu")
    head = network.token_embedding.weight.detach(), network.head_bias.detach()
    return OnnxDenoiser(session, config, *head, head_device, provider)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batches", default="1,64", help="batch sizes (variations), comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="add torch.compile")
    parser.add_argument("--cuda-graphs", action="store_true", help="add torch.compile(mode='reduce-overhead')")
    parser.add_argument("--onnx", action="store_true", help="add ONNX Runtime (CUDA on a GPU)")
    parser.add_argument("--cache-dir", help="folder for the exported ONNX file (default: the temp dir)")
    parser.add_argument("--smoke", action="store_true", help="tiny network and sizes on the CPU (CI)")
    args = parser.parse_args()
    device = torch.device("cpu" if args.smoke else args.device)
    if args.smoke:
        from getmusic_cli.hub.bundle import debug_bundle

        bundle = debug_bundle()
        config, vocab = bundle.config, bundle.vocab
        args.length, args.steps, args.batches, args.repeats = 32, 4, "1,3", 1
    else:
        config, vocab = original_config(), OriginalLayoutVocab()
    batches = [int(b) for b in args.batches.split(",")]
    make_modes = modes(args, config, device, args.cache_dir)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    n_params = sum(p.numel() for p in build_network(config, seed=0).parameters())
    print(f"{name}; torch {torch.__version__}; network {n_params / 1e6:.1f} M parameters; L = {args.length}")
    print(f"{args.steps} steps; bass + drums masked; best of {args.repeats} full runs after a warm-up run")
    figures: dict[tuple[str, int], float] = {}
    for mode, make in make_modes:
        try:
            denoiser = make()
        except Exception as exc:  # noqa: BLE001 - a mode that cannot run here is reported, the rest still run
            print(f"{mode:<28} not run: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
            continue
        for batch in batches:
            figures[mode, batch] = timed_run(denoiser, vocab, batch, args.length, args.steps, args.repeats)
        del denoiser
        if device.type == "cuda":
            torch.cuda.empty_cache()

    print(f"\n{'mode':<28} {'batch':>5} {'seconds':>9} {'ms/step':>8} {'s/variation':>12} {'vs fp32':>8}")
    for (mode, batch), seconds in figures.items():
        base = figures.get(("torch fp32", batch))
        ratio = f"{base / seconds:.2f}x" if base else "-"
        print(
            f"{mode:<28} {batch:>5} {seconds:>9.3f} {1000 * seconds / args.steps:>8.1f} "
            f"{seconds / batch:>12.3f} {ratio:>8}"
        )
    if not args.smoke and device.type == "cuda":
        one = min((s for (m, b), s in figures.items() if b == 1), default=float("nan"))
        many = min((s for (m, b), s in figures.items() if b == 64), default=float("nan"))
        print(f"\ngoal 100 steps <= 0.5 s at batch 1: best {one:.2f} s ({'met' if one <= 0.5 else 'MISSED'})")
        print(f"goal 64 variations <= 5 s: best {many:.2f} s ({'met' if many <= 5 else 'MISSED'})")
        print(f"peak CUDA memory: {torch.cuda.max_memory_allocated(device) / 1e9:.2f} GB")
    if figures:
        print(f"median over modes and batches: {statistics.median(figures.values()):.3f} s")


if __name__ == "__main__":
    main()
