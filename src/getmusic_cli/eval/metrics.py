"""Similarity metrics between generated and real tracks (GETMusic paper §5, PopMAG/SongMASS style).

* chord accuracy: share of bars whose chord, recognised from the generated tracks, equals the chord
  recognised from the real song (bars where the real song has no chord are not counted);
* overlapped area (OA) of two normalised histograms: sum over bins of min(p, q), 1 = same distribution,
  0 = disjoint. Histograms of pitch, duration (in 16ths) and inter-onset interval (in 16ths).

Pure numpy over plain note lists; no torch, no MIDI.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from getmusic_cli.score.song import Note

MAX_16THS = 64  # durations / IOIs longer than 4 bars of 4/4 share the last bin


def overlapped_area(a: np.ndarray, b: np.ndarray) -> float | None:
    """OA of two histograms (any non-negative counts, same bins); None when either is empty."""
    sa, sb = float(a.sum()), float(b.sum())
    if sa <= 0 or sb <= 0:
        return None
    return float(np.minimum(a / sa, b / sb).sum())


def _columns(ticks: int, ticks_per_beat: int) -> int:
    return int(round(ticks * 4 / ticks_per_beat))


def pitch_histogram(notes: Sequence[Note]) -> np.ndarray:
    hist = np.zeros(128, dtype=np.float64)
    for n in notes:
        hist[min(max(n.pitch, 0), 127)] += 1
    return hist


def duration_histogram(notes: Sequence[Note], ticks_per_beat: int) -> np.ndarray:
    hist = np.zeros(MAX_16THS + 1, dtype=np.float64)
    for n in notes:
        hist[min(max(_columns(n.end - n.start, ticks_per_beat), 0), MAX_16THS)] += 1
    return hist


def ioi_histogram(notes: Sequence[Note], ticks_per_beat: int) -> np.ndarray:
    """Intervals between consecutive distinct onsets (simultaneous notes count as one onset)."""
    onsets = sorted({_columns(n.start, ticks_per_beat) for n in notes})
    hist = np.zeros(MAX_16THS + 1, dtype=np.float64)
    for a, b in zip(onsets, onsets[1:]):
        hist[min(b - a, MAX_16THS)] += 1
    return hist


def track_similarity(generated: Sequence[Note], real: Sequence[Note], ticks_per_beat: int) -> dict[str, float | None]:
    """Pitch / duration / IOI overlapped areas of one generated track against the real one."""
    return {
        "pitch": overlapped_area(pitch_histogram(generated), pitch_histogram(real)),
        "duration": overlapped_area(
            duration_histogram(generated, ticks_per_beat), duration_histogram(real, ticks_per_beat)
        ),
        "ioi": overlapped_area(ioi_histogram(generated, ticks_per_beat), ioi_histogram(real, ticks_per_beat)),
    }


def chord_accuracy(generated: Sequence, real: Sequence) -> float | None:
    """Share of bars with a real chord where the generated chord is the same; None if no bar has one."""
    bars = [(g, r) for g, r in zip(generated, real) if r is not None]
    if not bars:
        return None
    return sum(1 for g, r in bars if g == r) / len(bars)


def mean(values: Sequence[float | None]) -> float | None:
    """Mean of the defined values (None when there are none)."""
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None
