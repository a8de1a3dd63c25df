"""Two readings of the band bar that the scorecard's tables do not print.

``paired`` reads an ``evaluate --json`` report and prints, paired by song, one system minus another (by default
the model and the shuffled real parts, each minus the rule accompanist): whether real parts of other songs
would pass a "beats the rule" line.

``onsets`` runs ``evaluate`` (no references) and counts every window's made and real drum onsets by position
(on a beat, on the 8th between, on another 16th) before scoring: the onset distance of the pooled counts next
to the mean of the windows' own distances (the scorecard's ``drums.onset_tv``, which averages per song).

    python training/default/bar_readings.py paired external-lead-to-bass-drums.json
    python training/default/bar_readings.py onsets default SONGS_DIR --keep lead --make bass,drums --split all
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from getmusic_cli.eval import evaluate as ev
from getmusic_cli.eval import musician

RULE = "rule accompanist"


def print_paired(path: Path, systems: list[str], reference: str) -> None:
    """System minus reference, paired by song, with the scorecard's own arithmetic (``evaluate.paired_by_song``)."""
    rows = json.loads(path.read_text())["per_window"]
    for system in systems:
        print(f"{system} - {reference} ({path.name})")
        paired = ev.paired_by_song(rows[system], rows[reference])
        for key in ("chord_accuracy", "pitch", "duration", "ioi"):
            m, se = paired.get(key, {}).get("diff"), paired.get(key, {}).get("se")
            if m is not None and se:
                print(f"  {key:15s} {m:+.3f} ± {se:.3f}  ({m / se:+.1f} SE)")


def pooled_onsets(options: ev.EvalOptions) -> None:
    counts = {"made": Counter(), "real": Counter()}
    distances = []
    score = ev.window_metrics

    def counting(made, window):  # the model's windows only: references are off, the real parts score themselves
        if "drums" in made and made is not window.real:
            mine = musician.onset_positions(made["drums"], window.grid)
            real = musician.onset_positions(window.real["drums"], window.grid)
            counts["made"].update(mine)
            counts["real"].update(real)
            tv = musician.tv(mine, real, musician.POSITIONS)
            if tv is not None:
                distances.append(tv)
        return score(made, window)

    ev.window_metrics = counting
    try:
        ev.evaluate(options)
    finally:
        ev.window_metrics = score
    for who, c in counts.items():
        total = sum(c.values())
        shares = "  ".join(f"{p} {c[p] / total:.3f}" for p in musician.POSITIONS) if total else "no onsets"
        print(f"{who:5s} {shares}  ({total} onsets)")
    if distances:
        pooled = musician.tv(counts["made"], counts["real"], musician.POSITIONS)
        own = sum(distances) / len(distances)
        print(f"onset TV of the pooled counts {pooled:.3f}; mean of {len(distances)} windows' own {own:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="reading", required=True)
    p = sub.add_parser("paired", help="system - reference, paired by song, from an evaluate --json report")
    p.add_argument("report", type=Path)
    p.add_argument("--systems", default="model,shuffled real")
    p.add_argument("--reference", default=RULE)
    o = sub.add_parser("onsets", help="pooled drum onset positions, made and real")
    o.add_argument("model")
    o.add_argument("data_dir", type=Path)
    o.add_argument("--keep", default="lead")
    o.add_argument("--make", default="bass,drums")
    o.add_argument("--split", default="valid")
    o.add_argument("--n", type=int, default=1000)
    o.add_argument("--windows", type=int, default=4)
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.reading == "paired":
        print_paired(args.report, args.systems.split(","), args.reference)
    else:
        options = ev.EvalOptions(
            model=args.model,
            data_dir=args.data_dir,
            keep=args.keep.split(","),
            make=args.make.split(","),
            n=args.n,
            split=args.split,
            windows=args.windows,
            seed=args.seed,
            references=False,
            threads=args.threads,
        )
        pooled_onsets(options)


if __name__ == "__main__":
    main()
