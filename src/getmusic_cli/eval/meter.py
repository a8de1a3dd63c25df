"""Where the beats of a bar are, for the rule accompanist and the groove metrics (columns are 16th notes).

Simple meters (n/4, n/2, n/8 that is not compound) have n beats of 16/d columns; compound meters (6/8, 9/8,
12/8) have n/3 dotted-quarter beats of 6 columns. The backbeats, where a rock snare falls, are the even beats
when the bar has an even number of beats (2 and 4 in 4/4), every beat after the first otherwise (2 and 3 in
3/4, the second dotted beat in 6/8).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from getmusic_cli.score.song import TimeSignature


@dataclass(frozen=True)
class BarMeter:
    columns: int  # length of the bar in 16ths
    beat: int  # columns per beat
    beats: int  # beats in the bar

    def beat_columns(self) -> list[int]:
        return [i * self.beat for i in range(self.beats) if i * self.beat < self.columns]

    def downbeats(self) -> list[int]:
        """Beats where the rule's kick falls: the odd beats of an even count (1 and 3 in 4/4), else beat 1."""
        cols = self.beat_columns()
        return cols[::2] if len(cols) % 2 == 0 else cols[:1]

    def backbeats(self) -> list[int]:
        cols = self.beat_columns()
        return cols[1::2] if len(cols) % 2 == 0 else cols[1:]


def meter_of(signature: TimeSignature, bar_columns: int) -> BarMeter:
    n, d = signature.numerator, signature.denominator
    if d == 8 and n % 3 == 0 and n > 3:
        return BarMeter(bar_columns, 6, n // 3)
    beat = max(1, round(16 / d)) if d > 0 else 4
    return BarMeter(bar_columns, beat, max(1, bar_columns // beat))


class BarGrid:
    """The bars of a song between two columns, each with its meter (from the song's time-signature map)."""

    def __init__(self, timeline, time_signatures: Sequence[TimeSignature], start: int, end: int):
        self.timeline = timeline
        self.starts = [b for b in timeline.bar_starts(end) if b >= start]
        sigs = sorted(time_signatures, key=lambda s: s.tick) or [TimeSignature(0, 4, 4)]
        sig_cols = [timeline.tick_to_column(s.tick) for s in sigs]
        self.meters = []
        for b in self.starts:
            first, nxt = timeline.bar_range_to_columns(timeline.bar_of_column(b) + 1, timeline.bar_of_column(b) + 1)
            i = max(bisect.bisect_right(sig_cols, b) - 1, 0)
            self.meters.append(meter_of(sigs[i], nxt - first))

    def locate(self, column: int) -> tuple[int, int] | None:
        """(bar index in this grid, column within that bar), or None outside the grid."""
        i = bisect.bisect_right(self.starts, column) - 1
        if i < 0 or column - self.starts[i] >= self.meters[i].columns:
            return None
        return i, column - self.starts[i]
