"""Whole-process time of the README's first example, and what importing takes, on this machine.

    getmusic generate --example --keep lead --make bass,strings

run as a fresh process --repeats times (the machine may be shared: the minimum is the figure, the median
says how noisy it was), next to `python -c "import torch"` and `getmusic --help` measured the same way.

    python benchmarks/startup.py --repeats 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = {
    "getmusic --help": ["-m", "getmusic_cli", "--help"],
    "python -c 'import torch'": ["-c", "import torch"],
    "generate --example (bass,strings)": [
        "-m",
        "getmusic_cli",
        "generate",
        "--example",
        "--keep",
        "lead",
        "--make",
        "bass,strings",
        "--force",
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    # The commands run in a temporary folder: a relative PYTHONPATH (PYTHONPATH=src) must not lose its way.
    paths = [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)} if paths else dict(os.environ)
    with tempfile.TemporaryDirectory() as out:
        for _ in range(args.repeats):
            for name, cmd in COMMANDS.items():  # interleaved: load from other programs hits all alike
                start = time.perf_counter()
                subprocess.run([sys.executable, *cmd], cwd=out, check=True, capture_output=True, env=env)
                times[name].append(time.perf_counter() - start)
    print(f"whole-process seconds, {args.repeats} runs each, {os.cpu_count()} CPUs")
    print(f"{'command':<36} {'min':>6} {'median':>7}")
    for name, spent in times.items():
        print(f"{name:<36} {min(spent):>6.2f} {statistics.median(spent):>7.2f}")
    best = min(times["generate --example (bass,strings)"])
    print(f"goal: the example <= 2.5 s on a quiet machine: {best:.2f} s ({'met' if best <= 2.5 else 'MISSED'})")


if __name__ == "__main__":
    main()
