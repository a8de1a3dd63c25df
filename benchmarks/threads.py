"""Thread settings on a quiet machine and under another torch program's load, as ratios to the best setting.

Each setting runs in a fresh process (thread pools and OMP_WAIT_POLICY are fixed when torch loads), which
loads the model and times `generate --example --keep lead --make bass,strings` in-process (imports and model
loading excluded). Settings:

    default      what getmusic chooses with nothing set (runtime/threads.py)
    1, 2, ...    --threads N, up to the usable CPUs
    torch        torch's own defaults as before this change: all cores, torch imported before getmusic (so
                 OMP_WAIT_POLICY stays unset and idle workers spin)

The load is a second torch program (matrix products on torch's default threads and wait policy) that this
script starts, bounded by --load-seconds, and stops when the loaded phase ends.

    python benchmarks/threads.py                       # default model, 50 steps, 3 repeats
    python benchmarks/threads.py --steps 10 --repeats 1 --model debug    # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

LOAD = """
import sys, time, torch
end = time.time() + float(sys.argv[1])
a = torch.randn(512, 512)
while time.time() < end:
    for _ in range(20):
        a = torch.tanh(a @ a)
"""


def child(setting: str, model: str | None, steps: int) -> None:
    """Runs in the measuring process: prints {"seconds": ...} for one generate."""
    if setting == "torch":
        import torch  # before getmusic: OMP_WAIT_POLICY is not set when the OpenMP runtime loads

        threads = torch.get_num_threads()
    else:
        threads = None if setting == "default" else int(setting)
    from getmusic_cli.pipeline import Generator, Options, example_song

    options = Options(model=model, device="cpu", steps=steps, seed=0, force=True, threads=threads)
    generator = Generator(options)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        generator.generate(example_song(), ["bass", "strings"], ["lead"], [os.path.join(out, "out.mid")])
        seconds = time.perf_counter() - start
    import torch

    print(json.dumps({"seconds": seconds, "threads": torch.get_num_threads()}))


def measure(setting: str, args) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "GETMUSIC_THREADS")}
    cmd = [sys.executable, __file__, "--child", setting, "--steps", str(args.steps)]
    if args.model:
        cmd += ["--model", args.model]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return data["seconds"], data["threads"]


def start_load(seconds: float) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    proc = subprocess.Popen([sys.executable, "-c", LOAD, str(seconds)], env=env)
    time.sleep(2.0)  # let it import torch and start working
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="any --model spec (default: the embedded model)")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--load-seconds", type=float, default=600, help="upper bound of the background load")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.model, args.steps)
        return
    from getmusic_cli.runtime.threads import usable_cpus

    settings = ["default", *[str(n) for n in range(1, usable_cpus() + 1)], "torch"]
    results: dict[str, dict[str, list[float]]] = {}
    chosen: dict[str, int] = {}
    for phase in ("quiet", "loaded"):
        load = start_load(args.load_seconds) if phase == "loaded" else None
        try:
            times = {s: [] for s in settings}
            for r in range(args.repeats):
                order = settings[r % len(settings) :] + settings[: r % len(settings)]  # rotate: drift hits all
                for setting in order:
                    seconds, threads = measure(setting, args)
                    print(f"  {phase} {setting}: {seconds:.2f} s", file=sys.stderr, flush=True)
                    times[setting].append(seconds)
                    chosen[setting] = threads
                    if load is not None and load.poll() is not None:
                        raise SystemExit("the background load ended early: raise --load-seconds")
            results[phase] = times
        finally:
            if load is not None:
                load.terminate()
                load.wait()

    print(f"generate --example --keep lead --make bass,strings, {args.steps} steps, model {args.model or 'default'}")
    print(f"usable CPUs {usable_cpus()}; {args.repeats} repeats per setting; seconds exclude imports and loading")
    for phase, times in results.items():
        best_setting = min((s for s in settings if s != "default"), key=lambda s: min(times[s]))
        best = min(times[best_setting])
        print(f"\n{phase}: best = {best_setting} ({best:.2f} s)")
        print(f"  {'setting':<9} {'threads':>7} {'min s':>7} {'median s':>9} {'min / best':>10}")
        for s in settings:
            print(
                f"  {s:<9} {chosen[s]:>7} {min(times[s]):>7.2f} {statistics.median(times[s]):>9.2f} "
                f"{min(times[s]) / best:>10.2f}"
            )
        if phase == "loaded":
            ratio = min(times["default"]) / best
            verdict = "met" if ratio <= 1.2 else "MISSED"
            print(f"  goal: default within 1.2x of the best under load: {ratio:.2f}x ({verdict})")


if __name__ == "__main__":
    main()
