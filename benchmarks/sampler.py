"""Sampler speed: one sampler step vs a bare network forward, and the 100-step extrapolation.

The published network size (original_config, random weights, 90.7 M parameters), B = 1, L = 512 columns,
14 rows: bass and drums masked, lead/guitar/piano/strings/chords given as conditions. The vocabulary is a
stand-in with the original id layout (reference §3), so each row scores as many ids as with dict.txt.

    python benchmarks/sampler.py                  # CPU, 2 threads
    python benchmarks/sampler.py --device cuda

The sampler is timed on the first calls of a real 100-step run (every target cell still masked, so the
most cells to score), after one warm-up call; the run is stopped there and the total extrapolated.
"""

from __future__ import annotations

import argparse
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


class _Stop(Exception):
    pass


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--timed", type=int, default=5, help="timed calls (after one warm-up)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    config = original_config()
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
    t = torch.full((1,), config.num_timesteps - 1, dtype=torch.long)
    fwd = []
    with torch.inference_mode():
        for i in range(args.timed + 1):
            _sync(device)
            start = time.perf_counter()
            network(tokens.to(device), t.to(device), condition.to(device))
            _sync(device)
            if i:
                fwd.append(time.perf_counter() - start)

    stamps: list[float] = []

    def progress(done: int, total: int) -> None:
        _sync(device)
        stamps.append(time.perf_counter())
        if done > args.timed:
            raise _Stop

    steps = config.num_timesteps
    try:
        sample(denoiser, vocab, tokens, condition, SamplerOptions(steps=steps, seed=0), progress=progress)
    except _Stop:
        pass
    per_step = [b - a for a, b in zip(stamps, stamps[1:])]  # the first call is the warm-up

    fwd_s, step_s = statistics.median(fwd), statistics.median(per_step)
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"device {device}, threads {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"network original_config: {n_params / 1e6:.1f} M parameters, B=1, L={length}, bass+drums masked")
    print(f"bare network forward     : {fwd_s:.3f} s  (median of {len(fwd)})")
    print(f"sampler step             : {step_s:.3f} s  (median of {len(per_step)}; overhead {step_s - fwd_s:+.3f} s)")
    print(f"{steps} forwards (extrap.) : {steps * fwd_s:.1f} s")
    print(f"{steps}-step sample (extrap.): {steps * step_s:.1f} s")
    print(f"peak RSS                 : {rss_gb:.2f} GB")
    if device.type == "cuda":
        print(f"peak CUDA allocated      : {torch.cuda.max_memory_allocated() / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
