"""Per-step sampling time: ONNX Runtime vs torch, measured in the same run on the same random-init network.

(Named onnx_speed.py, not onnx.py: a script called onnx.py would shadow the onnx package it imports.)

One step = the trunk call (tokens, t, condition -> features) plus the restricted head (runtime/base.py) on the
pitch and duration rows of two target tracks, which is what the sampler does per step. The head runs in torch
for both back ends. Back ends are timed round-robin (one step each, repeated) so machine noise hits all of them
alike; the figure is the median.

    python benchmarks/onnx_speed.py                          # original and small presets, CPU, B=1, L=train_length
    python benchmarks/onnx_speed.py --configs small --repeats 30 --threads 1
    python benchmarks/onnx_speed.py --no-int8                # skip the dynamic int8 column
    python benchmarks/onnx_speed.py --device cuda            # torch CUDA (bf16 autocast) vs ONNX Runtime CUDA EP

Ratios compare columns of the same run only. Needs onnxruntime (or onnxruntime-gpu for --device cuda), onnx
and onnxscript.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def restricted_ids(config, rows: int = 2) -> list:
    """Allowed-id sets shaped like real rows: for each target track a pitch block and the 16 duration ids."""
    import torch

    n = config.n_real_tokens
    block = min(2000, max(16, n // 6))  # original vocabulary: per-class blocks of a few hundred to ~2,000 ids
    sets = []
    for i in range(rows):
        start = 16 + i * block
        sets.append(torch.cat([torch.tensor([15]), torch.arange(start, min(start + block, n))]))  # <pad> + block
        sets.append(torch.arange(0, 16))  # T1..T15 + <pad>
    return sets


def make_step(denoiser, inputs, id_sets, device):
    import torch

    tokens, t, condition = inputs
    target_rows = [2, 3, 4, 5]  # bass and drums: pitch, duration (TRACKS order)

    def step():
        features = denoiser.features(tokens, t, condition)
        for row, ids in zip(target_rows, id_sets):
            denoiser.log_probs(features[:, row], ids.to(features.device))
        if device == "cuda":
            torch.cuda.synchronize()

    return step


def quantize_int8(src: Path, dst: Path) -> Path:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer advises pre-processing through the root logger
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    return dst


def log_prob_gap(ref, other, inputs) -> float:
    """Max |Δ log p| over every real token of OTHER vs REF on INPUTS (how much int8 costs in accuracy)."""
    from getmusic_cli.runtime.onnx_export import _max_log_prob_diff

    a, b = ref.features(*inputs), other.features(*inputs)
    return _max_log_prob_diff(
        a.cpu(),
        b.cpu(),
        ref.head_weight[: ref.config.n_real_tokens].float().cpu(),
        ref.head_bias[: ref.config.n_real_tokens].float().cpu(),
    )


def run_config(name: str, args) -> dict:
    import torch

    from getmusic_cli.model.config import PRESETS
    from getmusic_cli.model.network import build_network
    from getmusic_cli.runtime.onnx_backend import OnnxDenoiser, open_session
    from getmusic_cli.runtime.onnx_export import example_inputs, export_network
    from getmusic_cli.runtime.torch_backend import TorchDenoiser

    config = PRESETS[name]()
    config.dropout = 0.0
    length = min(args.length or config.train_length, config.max_length)
    network = build_network(config, None).eval()
    params = sum(p.numel() for p in network.parameters())
    device = torch.device(args.device)
    result = {"config": name, "params": params, "length": length, "batch": args.batch}
    with tempfile.TemporaryDirectory(prefix="getmusic-onnx-bench-") as tmp:
        path = Path(tmp) / "model.onnx"
        start = time.perf_counter()
        export_network(network, path)
        result["export_s"] = time.perf_counter() - start
        result["onnx_mb"] = path.stat().st_size / 1e6
        head = (network.token_embedding.weight.detach().clone(), network.head_bias.detach().clone())
        session, provider, _ = open_session(path, args.device, args.threads)
        if provider != args.device:
            raise SystemExit(f"ONNX Runtime runs on {provider}, not {args.device}")
        denoisers = {
            "torch": TorchDenoiser(network, config, device),
            "ort": OnnxDenoiser(session, config, *head, device, provider),
        }
        if args.int8 and args.device == "cpu":
            qpath = quantize_int8(path, Path(tmp) / "model.int8.onnx")
            result["int8_mb"] = qpath.stat().st_size / 1e6
            qsession, _, _ = open_session(qpath, "cpu", args.threads)
            denoisers["ort-int8"] = OnnxDenoiser(qsession, config, *head, device, "cpu")
        inputs = example_inputs(config, args.batch, length, seed=1)
        check = example_inputs(config, 1, min(length, 64), seed=2)
        result["ort_gap"] = log_prob_gap(denoisers["torch"], denoisers["ort"], check)
        if "ort-int8" in denoisers:
            result["int8_gap"] = log_prob_gap(denoisers["ort"], denoisers["ort-int8"], check)
        id_sets = restricted_ids(config)
        steps = {key: make_step(den, inputs, id_sets, args.device) for key, den in denoisers.items()}
        times: dict[str, list[float]] = {key: [] for key in steps}
        for step in steps.values():  # warm-up: allocators, kernel selection, autocast caches
            for _ in range(2):
                step()
        for _ in range(args.repeats):
            for key, step in steps.items():
                t0 = time.perf_counter()
                step()
                times[key].append(time.perf_counter() - t0)
        for key, values in times.items():
            values.sort()
            result[f"{key}_ms"] = values[len(values) // 2] * 1e3
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--configs", default="original,small", help="Presets, comma-separated (default: original,small)."
    )
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument(
        "--length", type=int, default=None, help="Columns per window (default: the preset's train_length)."
    )
    parser.add_argument("--batch", type=int, default=1, help="Variations per step (batch size).")
    parser.add_argument("--repeats", type=int, default=10, help="Timed steps per back end.")
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads for both back ends (default: physical cores)."
    )
    parser.add_argument(
        "--int8",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Add a dynamic int8 quantised ONNX column (CPU only).",
    )
    args = parser.parse_args(argv)

    from getmusic_cli.runtime.threads import passive_wait

    passive_wait()  # before torch loads: idle OpenMP workers sleep, as in the CLI
    import torch

    from getmusic_cli.runtime.onnx_backend import import_onnxruntime
    from getmusic_cli.runtime.threads import physical_cores

    ort = import_onnxruntime()
    args.threads = args.threads or physical_cores()
    torch.set_num_threads(args.threads)  # both back ends on the same count
    print(
        f"torch {torch.__version__}, onnxruntime {ort.__version__}, device {args.device}, threads {args.threads}, "
        f"B={args.batch}, {args.repeats} timed steps per back end (median)"
    )
    rows = [run_config(name.strip(), args) for name in args.configs.split(",") if name.strip()]
    header = f"{'config':<9} {'params':>8} {'L':>5} {'torch ms':>9} {'ORT ms':>8} {'ORT/torch':>9}"
    if any("ort-int8_ms" in r for r in rows):
        header += f" {'int8 ms':>8} {'int8/torch':>10}"
    header += f" {'onnx MB':>8} {'export s':>8} {'|Δlog p| ORT':>13}"
    print(header)
    for r in rows:
        line = (
            f"{r['config']:<9} {r['params'] / 1e6:>7.1f}M {r['length']:>5} {r['torch_ms']:>9.1f} {r['ort_ms']:>8.1f} "
            f"{r['ort_ms'] / r['torch_ms']:>8.2f}×"
        )
        if "ort-int8_ms" in r:
            line += f" {r['ort-int8_ms']:>8.1f} {r['ort-int8_ms'] / r['torch_ms']:>9.2f}×"
        line += f" {r['onnx_mb']:>8.1f} {r['export_s']:>8.1f} {r['ort_gap']:>13.1e}"
        print(line)
    for r in rows:
        if "int8_gap" in r:
            print(
                f"{r['config']}: int8 file {r['int8_mb']:.1f} MB, max |Δ log p| int8 vs fp32 ONNX {r['int8_gap']:.2e} "
                "(random init: says little about a trained model)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
