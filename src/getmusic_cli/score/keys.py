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
    """The key of the pitched ``notes`` (drums excluded by the caller); C major when there is nothing to weigh.

    Each note weighs (duration code) × (velocity // 4), the duration measured on the 16th grid as the codec does,
    so pass the song's ``ticks_per_beat``.
    """
    hist = np.zeros(12)
    for n in notes:
        n16 = round(n.end * 4 / ticks_per_beat) - round(n.start * 4 / ticks_per_beat)
        hist[n.pitch % 12] += encode_duration(n16) * (n.velocity // 4)
    if hist.sum() <= 0:
        return Key(0, False)
    hist /= hist.sum()
    scores = PROFILES @ hist
    best = np.flatnonzero(np.isclose(scores, scores.max()))  # ascending: majors first; relative pairs always tie
    # The original: of the tied relative pair, the minor wins only if its tonic weighs strictly more than the
    # major's. Generalised to any tie (several majors can fit a few notes equally): the tied key whose tonic
    # weighs most, the first (a major) on equal weights. For a pair this is exactly the original's rule.
    choice = int(best[int(np.argmax(hist[best % 12]))])
    return Key(choice % 12, choice >= 12)
