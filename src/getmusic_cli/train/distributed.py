"""Data-parallel training with torch.distributed (DDP), launched by torchrun.

* ``getmusic train ... --nproc-per-node N`` re-runs the same command under ``torch.distributed.run``
  (torchrun) on this machine; on several machines users call torchrun themselves (see the README).
* Inside a torchrun worker the environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT) tells us our
  place; the process group uses NCCL on GPUs and gloo on CPUs.
* Only rank 0 writes (data cache, logs, checkpoints, the bundle); the others read.
* Batches are sharded deterministically from the step number, so every rank knows its windows without
  talking to the others, and resuming needs no sampler state.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from getmusic_cli.errors import GetMusicError

# Rank 0 may spend a long time building the data set while the others wait at a barrier.
PROCESS_GROUP_TIMEOUT = timedelta(hours=6)


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def env_info() -> DistInfo:
    """Our place in a torchrun job (or the single-process defaults)."""
    return DistInfo(
        rank=int(os.environ.get("RANK", 0)),
        world_size=int(os.environ.get("WORLD_SIZE", 1)),
        local_rank=int(os.environ.get("LOCAL_RANK", 0)),
    )


def setup(info: DistInfo, device: torch.device) -> torch.device:
    """Join the process group; on CUDA each local rank takes its own GPU. Returns the device to use."""
    if not info.enabled:
        return device
    if device.type == "cuda":
        if torch.cuda.device_count() <= info.local_rank:
            raise GetMusicError(
                f"local rank {info.local_rank} has no GPU (this machine has {torch.cuda.device_count()})"
            )
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=PROCESS_GROUP_TIMEOUT)
    return device


def teardown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def any_rank(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True if the flag is set on any rank (used so all ranks stop on the same step after a signal)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def mean_over_ranks(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if not info.enabled:
        return values
    values = values.clone()
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values / info.world_size


def gather_concat(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Concatenate a same-shaped tensor from every rank (rank order), e.g. timesteps and losses."""
    if not info.enabled:
        return values
    parts = [torch.empty_like(values) for _ in range(info.world_size)]
    dist.all_gather(parts, values.contiguous())
    return torch.cat(parts)


class StepSharder:
    """Which windows each rank trains on at each step, from (seed, step) alone.

    The global sample index g = step·world·B + rank·B + j walks through epoch permutations of the train
    windows: epoch e = g // n uses the permutation seeded by (seed, e). Every rank gets a disjoint slice of
    every global batch, like DistributedSampler, and a resumed run continues at exactly the same place.
    """

    def __init__(self, n_windows: int, batch_size: int, seed: int, info: DistInfo):
        if n_windows <= 0:
            raise GetMusicError("the training split has no windows")
        self.n = n_windows
        self.batch_size = batch_size
        self.seed = seed
        self.info = info
        self._perms: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perms:
            if len(self._perms) > 4:
                self._perms.clear()
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perms[epoch] = torch.randperm(self.n, generator=g)
        return self._perms[epoch]

    def indices(self, step: int) -> list[int]:
        base = (step * self.info.world_size + self.info.rank) * self.batch_size
        out = []
        for g in range(base, base + self.batch_size):
            out.append(int(self._perm(g // self.n)[g % self.n]))
        return out

    def epoch_of(self, step: int) -> float:
        return step * self.info.world_size * self.batch_size / self.n


def step_seed(seed: int, step: int, rank: int) -> int:
    """Seed of every random draw at one step on one rank (noise, timesteps, tasks, dropout)."""
    return (seed * 1_000_003 + step * 65_537 + rank * 7_919) % (2**63 - 1)


def launch(argv: list[str], nproc: int) -> int:
    """Re-run ``getmusic <argv>`` under torchrun with ``nproc`` workers on this machine; returns its exit code."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "getmusic_cli",
        *argv,
    ]
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 130
