"""Fuzz benchmark: ≥ 10,000 seeded mutations of valid MIDI files through `getmusic inspect` (and every 20th through
`generate` with the tiny `debug` model), each under a time and memory limit, in one worker process.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/fuzz.py --cases 10000 --max-minutes 20

Prints the counts per outcome (ok, refused with one line, traceback, messy, leak, oom, hang, crash), the worst
time and the worker's peak memory, and every non-clean case. Exit code 1 if any case was not clean.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "hostile"))

from fuzz_harness import Harness  # noqa: E402
from hostile_midi import hostile_files, mutants, seed_files  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--generate-every", type=int, default=20, help="also run generate on every Nth case")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per case before it is a hang")
    parser.add_argument("--memory-mb", type=int, default=3072, help="address-space limit of the worker")
    parser.add_argument("--max-minutes", type=float, default=20.0, help="stop starting new cases after this")
    args = parser.parse_args()

    kinds: Counter[str] = Counter()
    worst = (0.0, "")
    peak_mb = 0.0
    problems = []
    runs = cases = 0
    started = time.perf_counter()
    # Mostly valid songs (mutations that keep them nearly valid reach the deep code), some odd ones.
    seeds = seed_files() * 10 + [data for _, data in hostile_files() if len(data) < 20000]
    with tempfile.TemporaryDirectory() as folder, Harness(args.time_limit, args.memory_mb) as harness:
        out = str(Path(folder) / "out.mid")
        for i, (name, data) in enumerate(mutants(seeds, args.cases, seed=args.seed)):
            if time.perf_counter() - started > args.max_minutes * 60:
                print(f"stopped after {i} cases: --max-minutes {args.max_minutes:g} reached")
                break
            cases += 1
            path = Path(folder) / name
            path.write_bytes(data)
            commands = [["inspect", str(path)]]
            if i % args.generate_every == 0:
                commands.append(
                    ["generate", str(path), "--make", "bass", "--model", "debug", "--steps", "2", "-o", out, "--force"]
                )
            for command in commands:
                outcome = harness.run(name, command)
                runs += 1
                kinds[outcome.kind] += 1
                peak_mb = max(peak_mb, outcome.maxrss_mb)
                if outcome.seconds > worst[0]:
                    worst = (outcome.seconds, f"{command[0]} {name}")
                if outcome.kind not in ("ok", "refused"):
                    problems.append(outcome)
                    print(f"{outcome.kind}: {command[0]} {name}: {outcome.detail[-400:]}", flush=True)
            path.unlink()
            if (i + 1) % 1000 == 0:
                print(f"{i + 1} cases, {time.perf_counter() - started:.0f} s, {dict(kinds)}", flush=True)
    print(f"cases: {cases} files, {runs} command runs, {time.perf_counter() - started:.0f} s")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print(
        f"tracebacks: {kinds['traceback']}, hangs: {kinds['hang']}, crashes: {kinds['crash']}, worker restarts: "
        f"{harness.restarts}"
    )
    print(f"worst time: {worst[0]:.2f} s ({worst[1]}); peak worker memory: {peak_mb:.0f} MB")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
