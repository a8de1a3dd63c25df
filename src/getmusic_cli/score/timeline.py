"""Ticks ↔ 16th-note columns, and the song's bars from its time-signature map (a 3/4 bar is 12 columns)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.song import TimeSignature

POSITIONS_PER_BEAT = 4  # one column per 16th note (per quarter-note beat: 4)


class Timeline:
    """Column arithmetic of one song. Bars are computed lazily as far as anyone asks."""

    def __init__(self, ticks_per_beat: int, time_signatures: Sequence[TimeSignature] = ()):
        if ticks_per_beat <= 0:
            raise GetMusicError(f"ticks per beat must be positive, not {ticks_per_beat}")
        self.ticks_per_beat = ticks_per_beat
        sigs = sorted(time_signatures, key=lambda s: s.tick) or [TimeSignature(0, 4, 4)]
        if sigs[0].tick > 0:
            sigs.insert(0, TimeSignature(0, 4, 4))  # MIDI's default meter until the first event
        # Where each signature starts (column) and its bar length; a later entry at the same column wins.
        changes: dict[int, int] = {}
        for s in sigs:
            changes[self.tick_to_column(s.tick)] = _bar_columns(s)
        self._change_cols = sorted(changes)
        self._change_lengths = [changes[c] for c in self._change_cols]
        self._starts: list[int] = [0]

    # ----- ticks and columns -----

    def tick_to_column(self, tick: int) -> int:
        return round(tick * POSITIONS_PER_BEAT / self.ticks_per_beat)  # Python round (halves to even), as the original

    def column_to_tick(self, column: int) -> int:
        return round(column * self.ticks_per_beat / POSITIONS_PER_BEAT)

    # ----- bars -----

    def _extend(self, n_columns: int) -> None:
        """Compute bar starts until one lies at or past ``n_columns``; a signature change mid-bar starts a new bar."""
        starts = self._starts
        while starts[-1] < n_columns:
            col = starts[-1]
            i = bisect.bisect_right(self._change_cols, col) - 1
            nxt = col + self._change_lengths[i]
            if i + 1 < len(self._change_cols) and self._change_cols[i + 1] < nxt:
                nxt = self._change_cols[i + 1]  # cut this bar short: the new meter starts a bar
            starts.append(nxt)

    def bar_starts(self, n_columns: int) -> list[int]:
        """Start column of every bar that begins before ``n_columns`` (at least bar 0)."""
        self._extend(n_columns)
        return [s for s in self._starts if s < n_columns] or [0]

    def n_bars(self, n_columns: int) -> int:
        return len(self.bar_starts(n_columns))

    def bar_of_column(self, column: int) -> int:
        """0-based bar index holding ``column``."""
        self._extend(column + 1)
        return max(bisect.bisect_right(self._starts, column) - 1, 0)

    def end_column(self, last_column: int) -> int:
        """The column count of a song whose last event is at ``last_column``: up to the end of that bar."""
        self._extend(last_column + 1)
        return self._starts[self.bar_of_column(last_column) + 1]

    def bar_range_to_columns(self, first_bar: int, last_bar: int, n_columns: int | None = None) -> tuple[int, int]:
        """1-based inclusive bars → (start column, end column exclusive).

        With ``n_columns`` (the song's length) a range reaching past the song's last bar is an error.
        """
        if first_bar < 1 or last_bar < first_bar:
            raise GetMusicError(f"bars {first_bar}-{last_bar}: bars count from 1 and a range goes up")
        while len(self._starts) <= last_bar:
            self._extend(self._starts[-1] + 1)
        if n_columns is not None:
            n_bars = self.n_bars(n_columns)
            if last_bar > n_bars:
                raise GetMusicError(f"bars {first_bar}-{last_bar} lie outside the song (it has {n_bars} bars)")
        return self._starts[first_bar - 1], self._starts[last_bar]


def positions_in_bar(bar_starts: Sequence[int], start: int, length: int) -> list[int]:
    """Each column's place in its bar (0 = the downbeat) for columns [start, start + length).

    Past the last known bar start the last bar's length repeats (16 columns when only one bar is known), so
    the padding after a song's end keeps counting bars.
    """
    starts = sorted(bar_starts) or [0]
    last_length = starts[-1] - starts[-2] if len(starts) > 1 else 4 * POSITIONS_PER_BEAT
    out = []
    for col in range(start, start + length):
        i = bisect.bisect_right(starts, col) - 1
        if i < 0 or i == len(starts) - 1:
            out.append((col - starts[max(i, 0)]) % last_length)
        else:
            out.append(col - starts[i])
    return out


def _bar_columns(sig: TimeSignature) -> int:
    """Columns per bar: numerator × 16 / denominator (3/4 and 6/8 → 12), at least one."""
    if sig.numerator <= 0 or sig.denominator <= 0:
        raise GetMusicError(f"time signature {sig.numerator}/{sig.denominator} is not a meter")
    return max(1, round(sig.numerator * 16 / sig.denominator))
