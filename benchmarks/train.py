"""Training speed and memory: cells per second and peak memory per optimizer step.

One training step = choose_task + diffusion loss + backward + clip 0.5 + AdamW + EMA, exactly as the trainer
does it, on random windows shaped like real data (B × 14 × L). Each case runs in its own process so peak
memory (RSS on CPU, max allocated on CUDA) belongs to that case alone.

    python benchmarks/train.py                       # small (10 steps) and original (2 steps) on CPU
    python benchmarks/train.py --configs small --steps 20 --batch-size 8
    python benchmarks/train.py --device cuda         # fp32, bf16, bf16 + torch.compile on the GPU
    python benchmarks/train.py --configs original --batch-size 1 --vocab dict.txt   # the original's K = 11,881

Figures printed are measured in this run; ratios compare cases of the same run only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def _fake_windows(config, vocab, batch: int, length: int, generator):
    """Windows with real token ids per row: pitch tokens at random onsets, <pad> elsewhere, chords bar-wise."""
    import torch

    from getmusic_cli.score.tracks import INSTRUMENTS, duration_row, pitch_row

    x = torch.full((batch, config.n_rows, length), vocab.pad_id, dtype=torch.long)
    for cls in INSTRUMENTS:
        lo, hi = vocab.pitch_range(cls)
        onsets = torch.rand(batch, length, generator=generator) < 0.25
        pitches = torch.randint(lo, hi + 1, (batch, length), generator=generator)
        durations = torch.tensor([vocab.duration_id(c) for c in range(1, 16)])[
            torch.randint(0, 15, (batch, length), generator=generator)
        ]
        x[:, pitch_row(cls)] = torch.where(onsets, pitches, x[:, pitch_row(cls)])
        x[:, duration_row(cls)] = torch.where(onsets, durations, x[:, duration_row(cls)])
    roots = torch.tensor([vocab.chord_root_id(r) for r in range(12)])
    for b0 in range(0, length, 16):
        x[:, 12, b0 : b0 + 16] = roots[torch.randint(0, 12, (batch, 1), generator=generator)]
        x[:, 13, b0 : b0 + 16] = vocab.chord_kind_id("null")
    return x


def run_case(
    name: str, device: str, steps: int, batch: int, bf16: bool, compile_: bool, vocab_path: str | None
) -> dict:
    import torch

    from getmusic_cli.model.config import PRESETS
    from getmusic_cli.model.diffusion import TimestepSampler, choose_task, diffusion_loss
    from getmusic_cli.model.network import build_network
    from getmusic_cli.score.vocab import Vocabulary
    from getmusic_cli.train.optim import EMA, make_adamw

    vocab = Vocabulary.load(vocab_path) if vocab_path else Vocabulary.basic()
    config = PRESETS[name]()
    config.vocab_size = vocab.size
    length = config.train_length
    dev = torch.device(device)
    network = build_network(config, None, seed=0).to(dev)
    model = torch.compile(network) if compile_ else network
    optimizer = make_adamw(network, 1e-4)
    ema = EMA(network, 0.999)
    sampler = TimestepSampler(config)
    params = [p for p in network.parameters() if p.requires_grad]
    gen = torch.Generator().manual_seed(0)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if bf16 and dev.type == "cuda" else None
    times = []
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    for step in range(steps + 1):  # step 0 warms up (and compiles)
        x0 = _fake_windows(config, vocab, batch, length, gen)
        x0, cond, not_empty = choose_task(x0, gen, vocab)
        x0, cond, not_empty = x0.to(dev), cond.to(dev), not_empty.to(dev)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        if autocast is not None:
            with autocast:
                loss, _ = diffusion_loss(model, x0, cond, not_empty, sampler)
        else:
            loss, _ = diffusion_loss(model, x0, cond, not_empty, sampler)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.5)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        ema.update(network)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        if step > 0:
            times.append(time.perf_counter() - t0)
    cells = batch * config.n_rows * length
    median = sorted(times)[len(times) // 2]
    out = {
        "config": name,
        "device": device,
        "bf16": bf16,
        "compile": compile_,
        "batch": batch,
        "length": length,
        "vocab": len(vocab),
        "params_M": round(sum(p.numel() for p in params) / 1e6, 2),
        "s_per_step": round(median, 3),
        "cells_per_s": round(cells / median),
        "steps_timed": len(times),
    }
    if dev.type == "cuda":
        out["peak_mem_MiB"] = round(torch.cuda.max_memory_allocated(dev) / 2**20)
    else:
        out["peak_rss_MiB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="small,original")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | all")
    parser.add_argument("--steps", type=int, default=0, help="timed steps per case (default: small 10, original 2)")
    parser.add_argument("--batch-size", type=int, default=0, help="default: 8 (original: 3, as the paper's runs)")
    parser.add_argument(
        "--vocab",
        help="vocabulary file for the original config (e.g. the original dict.txt; "
        "default: the basic single-pitch vocabulary for every config)",
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:  # child process: one case, JSON on stdout
        spec = json.loads(args.case)
        print(json.dumps(run_case(**spec)))
        return

    import torch

    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    if "cuda" in devices and not torch.cuda.is_available():
        print("no CUDA device: CPU only")
        devices = ["cpu"]
    cases = []
    for name in args.configs.split(","):
        steps = args.steps or (10 if name in ("debug", "small") else 2)
        batch = args.batch_size or (3 if name == "original" else 8)
        for device in devices:
            variants = [(False, False)] if device == "cpu" else [(False, False), (True, False), (True, True)]
            for bf16, compile_ in variants:
                vocab = args.vocab if name == "original" else None
                cases.append(
                    dict(
                        name=name,
                        device=device,
                        steps=steps,
                        batch=batch,
                        bf16=bf16,
                        compile_=compile_,
                        vocab_path=vocab,
                    )
                )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    header = (
        f"{'config':9} {'device':6} {'bf16':5} {'compile':7} {'B×L':>8} {'params':>8} {'s/step':>8} "
        f"{'cells/s':>10} {'peak MiB':>9}"
    )
    print(header)
    results = []
    for case in cases:
        proc = subprocess.run(
            [sys.executable, __file__, "--case", json.dumps(case)], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            print(f"{case['name']:9} {case['device']:6} failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        peak = r.get("peak_mem_MiB", r.get("peak_rss_MiB"))
        print(
            f"{r['config']:9} {r['device']:6} {str(r['bf16']):5} {str(r['compile']):7} "
            f"{r['batch']:>3}×{r['length']:<4} "
            f"{r['params_M']:>7}M {r['s_per_step']:>8} {r['cells_per_s']:>10,} {peak:>9}"
        )
    base = {(r["config"], r["device"]): r for r in results if not r["bf16"] and not r["compile"]}
    for r in results:
        ref = base.get((r["config"], r["device"]))
        if ref is not None and r is not ref:
            print(
                f"{r['config']} {r['device']} bf16={r['bf16']} compile={r['compile']}: "
                f"{r['cells_per_s'] / ref['cells_per_s']:.2f}× the fp32 speed"
            )


if __name__ == "__main__":
    main()
