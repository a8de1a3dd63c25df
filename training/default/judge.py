"""Judge a change on the judging half: B minus A, paired by song, on the lines the rules since band16 read.

Each side is one or more ``getmusic evaluate --json`` reports of one task (one per seed, joined with '+'); a
song's figure is its mean over all its windows in those reports, and the two sides are paired by song.

    python training/default/judge.py v6-t1-s0.json+v6-t1-s1.json v7-t1-s0.json+v7-t1-s1.json

The reports come from the judging half (``judging_half.py``), one per task and seed, for instance
``getmusic evaluate MODEL simutrans-judge/ --keep lead --make bass,drums --split all --windows 4 --n 50
--seed 0 --no-references --json > v7-t1-s0.json`` (``--keep lead,bass --make drums`` for the other task);
``judging_reports.sh MODEL simutrans-judge/ v7 [--continued]`` writes all four (``SEEDS="0 1 2 3"``: eight).

Distances to the real part (negative is nearer): the drums' repetition gap, kit and onset TV, the backbeat
share's distance and the density's distance from 1 (drums and bass), and the bass's median pitch distance.
Higher is better: the drums' and the bass's pitch overlap, the bass's chord tones and notes in key, chord
accuracy. A line beyond 2 standard errors is marked with '*'.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

MODEL, REAL = "model", "real parts"
SHARES = ("drums.kit_tv", "drums.onset_tv", "drums.pitch", "bass.pitch", "bass.chord_tone", "bass.in_key")


def window_lines(row: dict, real: dict) -> dict[str, float]:
    """The judged lines of one window of the model, next to the real parts' row of the same window."""
    lines = {key: row[key] for key in (*SHARES, "chord_accuracy") if row.get(key) is not None}
    if row.get("drums.repetition_gap") is not None:
        lines["drums repetition gap"] = abs(row["drums.repetition_gap"])
    if row.get("drums.backbeat") is not None and real.get("drums.backbeat") is not None:
        lines["drums backbeat distance"] = abs(row["drums.backbeat"] - real["drums.backbeat"])
    for cls in ("drums", "bass"):
        if row.get(f"{cls}.density") is not None:
            lines[f"{cls} density distance"] = abs(row[f"{cls}.density"] - 1)
    if row.get("bass.median_pitch") is not None:
        lines["bass median distance"] = abs(row["bass.median_pitch"])
    return lines


def song_lines(paths: list[Path]) -> dict[str, dict[str, float]]:
    """Each song's mean of every line over its windows in all the reports."""
    windows = defaultdict(list)
    for path in paths:
        rows = json.loads(path.read_text())["per_window"]
        real = {(r["song"], r["first_bar"]): r for r in rows.get(REAL, [])}
        for row in rows[MODEL]:
            windows[row["song"]].append(window_lines(row, real.get((row["song"], row["first_bar"]), {})))
    return {
        song: {key: statistics.mean(w[key] for w in ws if key in w) for key in set().union(*ws)}
        for song, ws in windows.items()
    }


def compare(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]]) -> list[tuple]:
    """(line, mean of A, mean of B, B − A, its standard error, songs) for every line both sides hold."""
    out = []
    for key in sorted(set().union(*a.values(), *b.values())):
        songs = [s for s in a if s in b and key in a[s] and key in b[s]]
        if len(songs) < 2:
            continue
        diffs = [b[s][key] - a[s][key] for s in songs]
        se = statistics.stdev(diffs) / len(diffs) ** 0.5
        mean_a, mean_b = (statistics.mean(side[s][key] for s in songs) for side in (a, b))
        out.append((key, mean_a, mean_b, statistics.mean(diffs), se, len(songs)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="reports of the reference, joined with '+'")
    parser.add_argument("b", help="reports of the change, joined with '+'")
    args = parser.parse_args()
    a, b = (song_lines([Path(p) for p in side.split("+")]) for side in (args.a, args.b))
    for key, mean_a, mean_b, diff, se, n in compare(a, b):
        mark = "*" if diff and abs(diff) >= 2 * se else " "
        print(f"{key:26s} {mean_a:7.3f} -> {mean_b:7.3f}  {diff:+.3f} ± {se:.3f} {mark} ({n} songs)")


if __name__ == "__main__":
    main()
