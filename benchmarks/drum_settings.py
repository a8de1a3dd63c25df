"""What the drum settings cost: made drums with the kit and onset anchors and the repeat bias against the network
alone.

One loaded model, the shipped example (Bach, BWV 253) with its lead kept and bass and drums made; the
settings are timed in turn (imports and model loading excluded), so machine noise hits all alike, and each
one's median is printed as a ratio to the network alone's.

    python benchmarks/drum_settings.py                   # default model, 50 steps, 5 rounds
    python benchmarks/drum_settings.py --model debug --steps 5 --rounds 2    # a quick look
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from getmusic_cli.pipeline import Generator, Options, example_song

SETTINGS = {
    "network alone": {"drum_repeat": 0.0, "kit_anchor": 0.0, "onset_anchor": 0.0},
    "kit anchor, repeat 2": {"drum_repeat": 2.0, "kit_anchor": 1.0, "onset_anchor": 0.0},
    "both anchors, repeat 3": {"drum_repeat": 3.0, "kit_anchor": 1.0, "onset_anchor": 1.0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    base = Generator(Options(model=args.model, steps=args.steps, seed=0, threads=args.threads, force=True))
    generators = {name: base.with_options(**changes) for name, changes in SETTINGS.items()}
    times = {name: [] for name in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mid"
        base.generate(example_song(), ["bass", "drums"], ["lead"], [out])  # warm-up
        for _ in range(args.rounds):
            for name, generator in generators.items():
                start = time.perf_counter()
                generator.generate(example_song(), ["bass", "drums"], ["lead"], [out])
                times[name].append(time.perf_counter() - start)
    reference = statistics.median(times["network alone"])
    for name, seconds in times.items():
        median = statistics.median(seconds)
        print(f"{name:20s} median {median:.2f} s over {len(seconds)} runs  ({median / reference:.2f} x)")


if __name__ == "__main__":
    main()
