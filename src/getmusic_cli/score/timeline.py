"""Ticks ↔ 16th-note columns, and the song's bars from its time-signature map (a 3/4 bar is 12 columns)."""

from __future__ import annotations

import bisect
from typing import Sequence

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.song import TimeSignature

POSITIONS_PER_BEAT = 4  # one column per 16th note (per quarter-note beat: 4)


class Timeline:
    def __init__(self, ticks_per_beat: int, time_signatures: Sequence[TimeSignature] = ()):
        self.ticks_per_beat = ticks_per_beat
        sigs = sorted(time_signatures, key=lambda s: s.tick) or [TimeSignature(0, 4, 4)]
        if sigs[0].tick > 0:
            sigs.insert(0, TimeSignature(0, 4, 4))
        # (column where a signature starts, columns per bar under it)
        self._changes = [(self.tick_to_column(s.tick), _bar_columns(s)) for s in sigs]
        self._starts: list[int] = []

    def tick_to_column(self, tick: int) -> int:
        return round(tick * POSITIONS_PER_BEAT / self.ticks_per_beat)  # Python round, as the original

    def column_to_tick(self, column: int) -> int:
        return round(column * self.ticks_per_beat / POSITIONS_PER_BEAT)

    def _extend(self, n_columns: int) -> None:
        """Compute bar starts up to (at least) ``n_columns``; a signature change mid-bar starts a new bar."""
        starts = self._starts
        col = 0 if not starts else starts[-1]
        if not starts:
            starts.append(0)
        while starts[-1] < n_columns:
            i = bisect.bisect_right([c for c, _ in self._changes], col) - 1
            length = self._changes[i][1]
            nxt = col + length
            if i + 1 < len(self._changes) and self._changes[i + 1][0] < nxt:
                nxt = max(self._changes[i + 1][0], col + 1)
            starts.append(nxt)
            col = nxt

    def bar_starts(self, n_columns: int) -> list[int]:
        """Start column of every bar that begins before ``n_columns``."""
        self._extend(n_columns)
        return [s for s in self._starts if s < n_columns] or [0]

    def n_bars(self, n_columns: int) -> int:
        return len(self.bar_starts(n_columns))

    def bar_of_column(self, column: int) -> int:
        """0-based bar index holding ``column``."""
        self._extend(column + 1)
        return bisect.bisect_right(self._starts, column) - 1

    def end_column(self, last_column: int) -> int:
        """The column count of a song whose last event is at ``last_column``: up to the end of that bar."""
        self._extend(last_column + 1)
        return self._starts[self.bar_of_column(last_column) + 1]

    def bar_range_to_columns(self, first_bar: int, last_bar: int) -> tuple[int, int]:
        """1-based inclusive bars → (start column, end column exclusive)."""
        if first_bar < 1 or last_bar < first_bar:
            raise GetMusicError(f"bars {first_bar}-{last_bar}: bars count from 1 and a range goes up")
        while len(self._starts) <= last_bar:
            self._extend((self._starts[-1] if self._starts else 0) + 1)
        return self._starts[first_bar - 1], self._starts[last_bar]


def _bar_columns(sig: TimeSignature) -> int:
    return max(1, round(sig.numerator * 16 / sig.denominator))
