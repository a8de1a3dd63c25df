"""Sampler speed: one sampler step vs a bare network forward, and the 100-step extrapolation.

The published network size (original_config, random weights, 90.7 M parameters), B = 1, L = 512 columns,
14 rows: bass and drums masked, lead/guitar/piano/strings/chords given as conditions. The vocabulary is a
stand-in with the original id layout (reference §3), so each row scores as many ids as with dict.txt.

    python benchmarks/sampler.py                  # CPU, 2 threads
    python benchmarks/sampler.py --device cuda
    python benchmarks/sampler.py --vocab path/to/dict.txt   # the real vocabulary (same row sizes)

The sampler is timed on the first calls of a real 100-step run (every target cell still masked, so the
most cells to score), after one warm-up call, each step followed by one bare forward timed under the same
load; the run is stopped there and the total extrapolated. The sampler's own work over a whole run (the
final joint resample included) is then timed directly, with the network calls replaced by cached features.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import statistics
import time

import numpy as np
import torch

from getmusic_cli.model.config import original_config
from getmusic_cli.model.network import build_network
from getmusic_cli.model.sampler import SamplerOptions, sample
from getmusic_cli.runtime.torch_backend import TorchDenoiser

# Original dict.txt layout: durations 0-14, <pad> 15, instrument blocks, then chord roots and kinds.
TRACK_BLOCKS = [(16, 143), (144, 996), (997, 5365), (5366, 6920), (6921, 10488), (10489, 11858)]
CHORD_BLOCKS = [(11859, 11870), (11871, 11878)]


class OriginalLayoutVocab:
    size = 11881
    pad_id = 15
    empty_id = 11879
    mask_id = 11880

    def allowed_ids(self, row: int) -> np.ndarray:
        if row >= 12:
            lo, hi = CHORD_BLOCKS[row - 12]
        elif row % 2 == 1:
            return np.arange(0, 16, dtype=np.int64)
        else:
            lo, hi = TRACK_BLOCKS[row // 2]
        return np.concatenate([[self.pad_id], np.arange(lo, hi + 1)]).astype(np.int64)


class CachedFeatures:
    """A Denoiser whose network call returns fixed features: what is left is the sampler's own work."""

    def __init__(self, denoiser: TorchDenoiser, features: torch.Tensor):
        self.inner, self.cached = denoiser, features
        self.config, self.device = denoiser.config, denoiser.device

    def features(self, tokens, t, condition, bar_position=None) -> torch.Tensor:
        return self.cached

    def log_probs(self, features: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return self.inner.log_probs(features, ids)

    def row_head(self, ids: torch.Tensor, valid: torch.Tensor):
        return self.inner.row_head(ids, valid)

    def row_log_probs(self, features: torch.Tensor, head) -> torch.Tensor:
        return self.inner.row_log_probs(features, head)


class _Stop(Exception):
    pass


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--timed", type=int, default=10, help="timed calls (after one warm-up)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--vocab", help="the original dict.txt (default: a stand-in with its id layout)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    config = original_config()
    if args.vocab:
        from getmusic_cli.score.vocab import Vocabulary

        vocab = Vocabulary.load(args.vocab)
    else:
        vocab = OriginalLayoutVocab()
    network = build_network(config, seed=0)
    denoiser = TorchDenoiser(network, config, device)
    n_params = sum(p.numel() for p in network.parameters())

    g = torch.Generator().manual_seed(0)
    length = args.length
    tokens = torch.empty((1, 14, length), dtype=torch.long)
    for row in range(14):
        ids = torch.as_tensor(vocab.allowed_ids(row))
        tokens[0, row] = ids[torch.randint(0, len(ids), (length,), generator=g)]
    condition = torch.ones_like(tokens, dtype=torch.bool)
    tokens[0, 2:6] = vocab.mask_id  # bass and drums
    condition[0, 2:6] = False

    # Bare forward: what the network alone costs per call (same inputs, as the first sampler call sees them).
    # One is timed right after each sampler step, inside the progress callback, so that both see the same
    # machine load (the ratio stays meaningful on a busy, shared CPU).
    t = torch.full((1,), config.num_timesteps - 1, dtype=torch.long, device=device)
    dev_tokens, dev_cond = tokens.to(device), condition.to(device)

    autocast = getattr(denoiser, "_autocast", contextlib.nullcontext)

    def bare_forward() -> float:
        _sync(device)
        begin = time.perf_counter()
        with torch.inference_mode(), autocast():  # the back end's precision (bf16/fp16 on a GPU)
            network(dev_tokens, t, dev_cond)
        _sync(device)
        return time.perf_counter() - begin

    bare_forward()  # warm-up
    fwd: list[float] = []
    per_step: list[float] = []
    step_start = [0.0]

    def progress(done: int, total: int) -> None:
        _sync(device)
        if done > 1:  # the first sampler call is the warm-up
            per_step.append(time.perf_counter() - step_start[0])
            fwd.append(bare_forward())
        if done > args.timed:
            raise _Stop
        step_start[0] = time.perf_counter()

    steps = config.num_timesteps
    try:
        sample(denoiser, vocab, tokens, condition, SamplerOptions(steps=steps, seed=0), progress=progress)
    except _Stop:
        pass

    # The sampler's own work over a whole run (every step, the final joint resample included), timed with
    # the network call replaced by cached features: a direct figure, not a difference of two noisy ones.
    cached = CachedFeatures(denoiser, denoiser.features(dev_tokens, t, dev_cond))
    _sync(device)
    begin = time.perf_counter()
    sample(cached, vocab, tokens, condition, SamplerOptions(steps=config.num_timesteps, seed=0))
    _sync(device)
    work_s = time.perf_counter() - begin

    fwd_s, step_s = statistics.median(fwd), statistics.median(per_step)
    pair_ratio = statistics.median(s / f for s, f in zip(per_step, fwd))
    ratio = step_s / fwd_s
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # ru_maxrss is in kB on Linux
    measured = sum(per_step)
    print(f"device {device}, threads {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"network original_config: {n_params / 1e6:.1f} M parameters, B=1, L={length}, bass+drums masked")
    print(f"bare network forward       : {fwd_s:.3f} s  (median of {len(fwd)})")
    print(f"sampler step               : {step_s:.3f} s  (median of {len(per_step)}; overhead {step_s - fwd_s:+.3f} s)")
    print(
        f"step / bare forward        : {ratio:.3f}  (median of per-pair ratios {pair_ratio:.3f}; goal <= 1.05: "
        f"{'met' if ratio <= 1.05 else 'MISSED'})"
    )
    print(f"{len(per_step)} timed steps measured  : {measured:.2f} s")
    print(f"{steps} forwards (extrap.)     : {steps * fwd_s:.2f} s")
    print(f"{steps}-step sample (extrap.)  : {steps * step_s:.2f} s")
    print(
        f"sampler work, whole run    : {work_s:.2f} s  ({1000 * work_s / steps:.1f} ms/step = "
        f"{work_s / steps / fwd_s:.1%} of a bare forward; network calls replaced by cached features)"
    )
    print(f"{steps} forwards + that work   : {steps * fwd_s + work_s:.2f} s  (ratio {1 + work_s / steps / fwd_s:.3f})")
    rss_goal = "met" if rss_gb <= 1.2 else "MISSED"
    print(f"peak RSS                   : {rss_gb:.2f} GB  (goal <= 1.2 GB on CPU: {rss_goal})")
    if device.type == "cuda":
        print(f"peak CUDA allocated        : {torch.cuda.max_memory_allocated() / 1e9:.2f} GB")
        total = steps * step_s
        verdict = "met" if total <= 0.5 else "MISSED"
        print(f"{steps} steps on the GPU       : {total:.2f} s  (goal <= 0.5 s on an H100: {verdict})")


if __name__ == "__main__":
    main()
