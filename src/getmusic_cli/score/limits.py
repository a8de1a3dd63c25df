"""How much song the tool takes on: checked right after parsing, before any per-bar or per-column work.

Without a bound a 40-byte file whose one note lies far in the future, or one note 10,000 bars long, asks for
gigabytes of grid and minutes of chord analysis. The limits are generous for real music and can be raised with
environment variables (or by passing a ``Limits`` to ``read_midi``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.song import TempoChange, TimeSignature

ENV_MAX_BARS = "GETMUSIC_MAX_BARS"
ENV_MAX_HOURS = "GETMUSIC_MAX_HOURS"
ENV_MAX_FILE_MB = "GETMUSIC_MAX_FILE_MB"

# Quarter notes per counted bar at most: a song in 64/1 would otherwise pass the bar limit with a huge grid.
MAX_BEATS_PER_BAR = 8


@dataclass(frozen=True)
class Limits:
    max_bars: int = 2000
    max_hours: float = 4.0
    max_file_mb: float = 16.0

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, each replaced by its environment variable when set."""
        base = cls()
        return cls(
            max_bars=int(_env_number(ENV_MAX_BARS, base.max_bars)),
            max_hours=_env_number(ENV_MAX_HOURS, base.max_hours),
            max_file_mb=_env_number(ENV_MAX_FILE_MB, base.max_file_mb),
        )

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


def _env_number(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise GetMusicError(f"{name}={text!r}: expected a positive number") from None
    if not math.isfinite(value) or value <= 0:
        raise GetMusicError(f"{name}={text!r}: expected a positive number")
    return value


def check_file_size(name: str, size: int, limits: Limits) -> None:
    if size > limits.max_file_bytes:
        raise GetMusicError(
            f"{name}: {size / 2**20:.1f} MB is too large for a MIDI file "
            f"(limit {limits.max_file_mb:g} MB; set {ENV_MAX_FILE_MB} to raise it)"
        )


def count_bars(ticks_per_beat: int, signatures: Sequence[TimeSignature], end_tick: int) -> int:
    """Bars up to ``end_tick`` under the meter map (a change starts a new bar), without walking bar by bar."""
    sigs = sorted(signatures, key=lambda s: s.tick) or [TimeSignature(0, 4, 4)]
    bars = 0
    for i, sig in enumerate(sigs):
        start = sig.tick
        stop = min(sigs[i + 1].tick, end_tick) if i + 1 < len(sigs) else end_tick
        if stop <= start:
            continue
        beats = min(sig.numerator * 4 / sig.denominator, MAX_BEATS_PER_BAR)
        bars += math.ceil((stop - start) / max(beats * ticks_per_beat, 1e-9))
    return max(bars, 1)


def song_hours(ticks_per_beat: int, tempos: Sequence[TempoChange], end_tick: int) -> float:
    seconds, tick, bpm = 0.0, 0, 120.0
    for change in sorted(tempos, key=lambda t: t.tick):
        if change.tick >= end_tick:
            break
        seconds += (change.tick - tick) / ticks_per_beat * 60.0 / bpm
        tick, bpm = change.tick, change.bpm
    seconds += (end_tick - tick) / ticks_per_beat * 60.0 / bpm
    return seconds / 3600.0


def check_length(
    name: str,
    ticks_per_beat: int,
    tempos: Sequence[TempoChange],
    signatures: Sequence[TimeSignature],
    end_tick: int,
    limits: Limits,
) -> None:
    """GetMusicError (one line) if the song runs longer than the limits allow."""
    bars = count_bars(ticks_per_beat, signatures, end_tick)
    if bars > limits.max_bars:
        raise GetMusicError(
            f"{name}: the song runs {bars:,} bars (limit {limits.max_bars:,}; a note or a tempo or meter change lies "
            f"far in the future, or a note lasts very long; set {ENV_MAX_BARS} to raise the limit)"
        )
    hours = song_hours(ticks_per_beat, tempos, end_tick)
    if hours > limits.max_hours:
        raise GetMusicError(
            f"{name}: the song runs {hours:,.1f} hours (limit {limits.max_hours:g}; set {ENV_MAX_HOURS} to raise it)"
        )
