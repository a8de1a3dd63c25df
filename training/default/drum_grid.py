"""A drum part as text on a 16th-note grid, bar by bar: the musician's readings in training/README.md and the card.

One line per General MIDI drum key that plays in the bars asked for; per bar, `x` where a hit starts, `:` on
an empty quarter note and `.` on an empty 16th between. Bars follow the file's time signatures (a 3/4 bar has 12
cells), numbered from 1 as a score is.

    python training/default/drum_grid.py SONG.mid FIRST_BAR LAST_BAR [SONG2.mid ...]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import miditoolkit

from getmusic_cli.score.song import TimeSignature
from getmusic_cli.score.timeline import POSITIONS_PER_BEAT, Timeline

# Short names of the GM keys the band parts use; other keys print as their number.
NAMES = {
    35: "kick 35", 36: "kick 36", 37: "stick", 38: "snare 38", 39: "clap", 40: "snare 40", 41: "tom 41",
    42: "hat", 43: "tom 43", 44: "pedal hat", 45: "tom 45", 46: "open hat", 47: "tom 47", 48: "tom 48",
    49: "crash", 50: "tom 50", 51: "ride", 52: "china", 53: "bell", 54: "tambourine", 55: "splash",
    56: "cowbell", 57: "crash 57", 59: "ride 59", 70: "maracas", 75: "claves",
}  # fmt: skip


def grid(path: str, first_bar: int, last_bar: int) -> list[str]:
    """The lines of bars FIRST_BAR..LAST_BAR (1-based) of the drum tracks of the file at PATH."""
    midi = miditoolkit.MidiFile(path)
    meters = [TimeSignature(s.time, s.numerator, s.denominator) for s in midi.time_signature_changes]
    timeline = Timeline(midi.ticks_per_beat, meters)
    hits: dict[int, set[int]] = defaultdict(set)  # key -> columns where a hit starts
    for track in midi.instruments:
        if track.is_drum:
            for note in track.notes:
                hits[note.pitch].add(timeline.tick_to_column(note.start))
    bars, start = [], 0  # (first column, column after the bar)
    for bar in range(1, last_bar + 1):
        end = timeline.end_column(start)
        if bar >= first_bar:
            bars.append((start, end))
        start = end
    lines = []
    for key in sorted(hits):
        cells = [
            "".join(
                "x" if c in hits[key] else (":" if (c - start) % POSITIONS_PER_BEAT == 0 else ".")
                for c in range(start, end)
            )
            for start, end in bars
        ]
        if any("x" in bar for bar in cells):
            lines.append(f"{NAMES.get(key, str(key)):>10} " + " | ".join(cells))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("songs", nargs="+", help="SONG.mid ... FIRST_BAR LAST_BAR")
    args = parser.parse_args()
    *paths, first, last = args.songs
    for path in paths:
        print(path)
        print("\n".join(grid(path, int(first), int(last))) or "  (no drums in these bars)")


if __name__ == "__main__":
    main()
