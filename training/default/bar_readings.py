"""Readings of the band bar (issue 13) that the scorecard's tables do not print.

``bar`` reads the ``evaluate --json`` reports of the drum tasks (``external-lead-to-bass-drums*.json``,
``external-lead-bass-to-drums*.json``) and prints each line of the bar with its reading and whether it is met.

``paired`` reads an ``evaluate --json`` report and prints, paired by song, one system minus another (by default
the model and the shuffled real parts, each minus the rule accompanist): whether real parts of other songs
would pass a "beats the rule" line.

``onsets`` runs ``evaluate`` (no references) and counts every window's made and real drum onsets by position
(on a beat, on the 8th between, on another 16th) before scoring: the onset distance of the pooled counts next
to the mean of the windows' own distances (the scorecard's ``drums.onset_tv``, which averages per song).

    python training/default/bar_readings.py bar external-lead-to-bass-drums-continued.json ...
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


PAPER_METRICS = ("chord_accuracy", "pitch", "duration", "ioi")
MAX_ONSET_TV = 0.15
MIN_BACKBEAT_RATIO = 0.6
MAX_REPETITION_GAP = 0.15
MAX_BELOW_E1 = 0.01
BASS_DENSITY = (0.7, 1.4)


def bar_lines(report: dict) -> list[tuple[str, str, bool]]:
    """(line, reading, met) for each line of the bar that REPORT (one drum task) can read."""
    paired = ev.paired_by_song(report["per_window"]["model"], report["per_window"][RULE])
    z = {k: paired[k]["diff"] / paired[k]["se"] for k in PAPER_METRICS if k in paired and paired[k]["se"]}
    won, lost = sum(v >= 2 for v in z.values()), sum(v <= -2 for v in z.values())
    # At least 3 of the 4 won by 2 SE and none lost; a task without pitched parts has 3 to win.
    lines = [
        ("model − rule (SE)", ", ".join(f"{k} {v:+.1f}" for k, v in z.items()), won >= min(3, len(z)) and not lost)
    ]
    model, real = report["summary"]["model"], report["summary"]["real parts"]
    if model.get("drums.onset_tv") is not None:
        onsets, backbeat = model["drums.onset_tv"], model["drums.backbeat"] / real["drums.backbeat"]
        gap = real["drums.repetition"] - model["drums.repetition"]
        lines += [
            ("drums: onset TV", f"{onsets:.3f}", onsets <= MAX_ONSET_TV),
            ("drums: backbeat share ÷ real", f"{backbeat:.2f}", backbeat >= MIN_BACKBEAT_RATIO),
            ("drums: repetition, real − model", f"{gap:+.3f}", abs(gap) <= MAX_REPETITION_GAP),
        ]
    if model.get("bass.below_e1") is not None:
        low, density = model["bass.below_e1"], model["bass.density"]
        lines += [
            ("bass: notes below E1", f"{low:.1%}", low < MAX_BELOW_E1),
            ("bass: notes ÷ real", f"{density:.2f}", BASS_DENSITY[0] <= density <= BASS_DENSITY[1]),
        ]
    return lines


def print_bar(paths: list[Path]) -> None:
    for path in paths:
        print(path.name)
        for line, reading, met in bar_lines(json.loads(path.read_text())):
            print(f"  {line:32s} {reading:50s} {'met' if met else 'NOT MET'}")


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
    b = sub.add_parser("bar", help="each line of the bar, from the drum tasks' evaluate --json reports")
    b.add_argument("reports", type=Path, nargs="+")
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
    if args.reading == "bar":
        print_bar(args.reports)
    elif args.reading == "paired":
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
