"""Key detection and the shift to C major / A minor (reference §2.5: ±1 scale profiles, histogram dot product)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from getmusic_cli.score.durations import encode_duration
from getmusic_cli.score.song import Note

NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)  # natural minor


def _profiles() -> np.ndarray:
    """24 × 12 of ±1: rows 0..11 the major scales, 12..23 the natural minor scales, by tonic."""
    rows = []
    for steps in (MAJOR_STEPS, MINOR_STEPS):
        for tonic in range(12):
            row = -np.ones(12)
            row[[(tonic + s) % 12 for s in steps]] = 1
            rows.append(row)
    return np.array(rows)


PROFILES = _profiles()


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class 0..11
    minor: bool

    @property
    def shift(self) -> int:
        """Semitones that move this key to C major (−11..0) or A minor (−2..+9)."""
        return 9 - self.tonic if self.minor else -self.tonic

    @property
    def name(self) -> str:
        return f"{NAMES[self.tonic]} {'minor' if self.minor else 'major'}"


def detect_key(notes: list[Note], ticks_per_beat: int = 480) -> Key:
    """Pitched notes only. Weight = duration code × velocity//4, as the original; C major when silent."""
    hist = np.zeros(12)
    for n in notes:
        code = encode_duration(round((n.end - n.start) * 4 / ticks_per_beat))
        hist[n.pitch % 12] += code * (n.velocity // 4)
    if hist.sum() == 0:
        return Key(0, False)
    hist /= hist.sum()
    scores = PROFILES @ hist
    best = np.flatnonzero(np.isclose(scores, scores.max()))
    major = int(best[0])
    minor = int(best[1]) if len(best) > 1 else None
    # Relative major and minor tie; the minor wins only if its tonic sounds more than the major's.
    if minor is not None and minor >= 12 and hist[minor % 12] > hist[major % 12]:
        return Key(minor % 12, True)
    return Key(major % 12, major >= 12)
