"""Chords heard in a melody alone: the chord rows when the lead is the only pitched track kept.

The template recogniser (``chords``) scores a bar by how well its pitch classes fill a chord's notes, which
works for a full texture. A lone melody has a few notes per bar, and most of them belong to several chords, so
from a lead alone it agreed with the chords of the whole piece in about one bar of five. Here a bar is scored
by how a melody moves over each kind of chord instead: the share of its time on each interval above the root
(fitted from pieces whose chords are known), and how common each kind is. The hidden-Markov smoothing over
keys and chord changes is the template recogniser's own.

The tables were fitted by ``training/default/fit_melody_chords.py`` on the training split of ``corpus/``
(public-domain compositions and BSD-3 Freedoom songs: the lead against the chord heard in all its tracks).
"""

from __future__ import annotations

import numpy as np

from getmusic_cli.score import chords as chordlib
from getmusic_cli.score.chords import Chord
from getmusic_cli.score.song import Note

# Share of a melody's time on each interval above the chord's root (0 = the root ... 11), per chord kind.
INTERVAL_SHARE = {
    "null": (0.316, 0.005, 0.076, 0.006, 0.216, 0.049, 0.009, 0.236, 0.008, 0.030, 0.020, 0.029),
    "m": (0.269, 0.006, 0.094, 0.233, 0.004, 0.056, 0.012, 0.247, 0.017, 0.013, 0.021, 0.029),
    "+": (0.174, 0.030, 0.037, 0.023, 0.246, 0.030, 0.051, 0.029, 0.298, 0.020, 0.033, 0.031),
    "dim": (0.207, 0.029, 0.014, 0.245, 0.014, 0.033, 0.320, 0.014, 0.023, 0.067, 0.020, 0.014),
    "seven": (0.214, 0.025, 0.040, 0.006, 0.150, 0.055, 0.007, 0.198, 0.016, 0.050, 0.235, 0.006),
    "maj7": (0.194, 0.003, 0.093, 0.012, 0.183, 0.036, 0.039, 0.172, 0.005, 0.057, 0.006, 0.199),
    "m7": (0.188, 0.028, 0.058, 0.177, 0.006, 0.080, 0.005, 0.159, 0.057, 0.030, 0.210, 0.003),
    "m7b5": (0.238, 0.061, 0.013, 0.172, 0.010, 0.060, 0.118, 0.006, 0.029, 0.070, 0.220, 0.005),
}
# How common each kind is among the bars with a chord.
KIND_SHARE = {
    "null": 0.3724,
    "m": 0.1972,
    "+": 0.0052,
    "dim": 0.0445,
    "seven": 0.1203,
    "maj7": 0.0974,
    "m7": 0.1386,
    "m7b5": 0.0245,
}
# Weight of one bar's melody against the kind's prior and the smoothing: its notes are not independent
# draws, so the bar counts as this many (chosen on the training split: 4, 6, 8 and 12 tried).
EVIDENCE = 8.0
NO_CHORD_PRIOR = 1e-3  # a bar with notes rarely has no chord; silent bars score every chord alike


def time_shares(notes: list[Note], timeline, n_columns: int) -> np.ndarray:
    """(bars, 12): the share of each bar's sounding time on each pitch class (zeros for a silent bar)."""
    frames = chordlib.bar_vectors(notes, timeline, timeline.bar_starts(n_columns), n_columns)
    totals = frames.sum(axis=1, keepdims=True)
    return np.divide(frames, totals, out=np.zeros_like(frames), where=totals > 0)


def emissions(shares: np.ndarray) -> np.ndarray:
    """(bars, 97) log-scores of N.C. and the 96 chords (``chords.CHORDS`` order) for each bar's time shares."""
    out = np.empty((len(shares), len(chordlib.CHORDS) + 1))
    out[:, 0] = EVIDENCE * np.log(1 / 12) + np.log(NO_CHORD_PRIOR)
    for c, (root, kind) in enumerate(chordlib.CHORDS, 1):
        log_share = np.roll(np.log(INTERVAL_SHARE[kind]), root)  # index = pitch class
        out[:, c] = EVIDENCE * (shares @ log_share) + np.log(KIND_SHARE[kind] / 12)
    out[~shares.any(axis=1)] = 0.0
    return out


def recognize_melody_chords(notes: list[Note], timeline, n_columns: int, lag: int = 0) -> list[Chord]:
    """The chord of every bar up to ``n_columns`` heard in a melody; ``lag`` as in ``chords.recognize_chords``."""
    n_bars = len(timeline.bar_starts(n_columns))
    if not notes:
        return [None] * n_bars
    shares = time_shares(notes, timeline, n_columns)
    if lag:
        shares = np.vstack([np.zeros((lag, 12)), shares])[:n_bars]
    return [None if c == 0 else chordlib.CHORDS[c - 1] for c in chordlib.viterbi(emissions(shares))]
