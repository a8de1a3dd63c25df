"""How many intra-op threads torch and ONNX Runtime get, so that a busy machine slows a run down gracefully.

Order of choice: ``--threads N``, then ``GETMUSIC_THREADS``, then ``OMP_NUM_THREADS``, then the default:
the physical cores this process may run on, capped by the model's size (a few-million-parameter network gains
nothing from many threads and loses a lot when another program holds a core). Idle workers never spin
(``OMP_WAIT_POLICY=PASSIVE`` for torch, ``allow_spinning = 0`` for ONNX Runtime): spinning workers that wait
for a descheduled sibling are what made a busy machine up to 9x slower.

No torch import here: ``passive_wait`` must run before torch is first imported.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "GETMUSIC_THREADS"
# At most one default thread per this many encoder parameters: the default model (3.1 M) gets up to 3 (on the
# 2-core machine 2 threads were 2x faster than 1, quiet and under load: benchmarks/threads.py), the original
# size (85 M) every physical core, the debug model one.
PARAMETERS_PER_THREAD = 1_000_000


def passive_wait() -> None:
    """Idle OpenMP workers sleep instead of spinning; a no-op when the user set a policy or torch is loaded."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def physical_cores() -> int:
    """Cores this process may use, counting each hyper-threaded core once (Linux topology; else logical CPUs)."""
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        siblings = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
        try:
            cores.add(siblings.read_text().strip())
        except OSError:
            return usable_cpus()
    return max(1, len(cores))


def parse_threads(value: str | int | None, origin: str) -> int | None:
    from getmusic_cli.errors import GetMusicError

    if value is None or value == "":
        return None
    try:
        threads = int(value)
    except (TypeError, ValueError):
        raise GetMusicError(f"{origin} must be a whole number of threads, got {value!r}") from None
    if threads < 1:
        raise GetMusicError(f"{origin} must be at least 1, got {threads}")
    return threads


def model_cap(parameters: int | None) -> int:
    if not parameters:
        return 1 << 30
    return max(1, round(parameters / PARAMETERS_PER_THREAD))


def choose_threads(requested: int | None = None, parameters: int | None = None) -> int:
    """The intra-op thread count for a model of PARAMETERS (see the module doc for the order of choice)."""
    chosen = parse_threads(requested, "--threads")
    if chosen is None:
        chosen = parse_threads(os.environ.get(ENV), ENV)
    if chosen is None:
        chosen = parse_threads(os.environ.get("OMP_NUM_THREADS"), "OMP_NUM_THREADS")
    if chosen is None:
        chosen = min(physical_cores(), model_cap(parameters))
    return chosen


def apply_torch_threads(threads: int) -> None:
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def model_parameters(config) -> int:
    """Parameters of the encoder layers of CONFIG (what the per-call work scales with), without building it."""
    h, ffn = config.hidden_size, config.ffn_size
    return config.n_layers * (4 * h * h + 2 * h * ffn)
