"""Which input track each generated note goes back to, when a class has several.

The model makes one part per class; a song may have three tracks of that class (alto sax, tenor sax and trombone,
all "strings"). Putting every new note into the first of them silences the others, so each new note goes to the
track whose register and activity fit it best:

1. The candidates are the input tracks of the note's class.
2. A candidate's context is its ORIGINAL notes that start within CONTEXT_BEATS beats before or after the new
   note (the notes being replaced count: they say where and how high that track was playing). Candidates with a
   context are active; if none is active, every candidate is, with all its notes as context.
3. Among the active candidates the note goes to the one whose context range (lowest to highest pitch) it lies
   nearest to, in semitones (0 inside the range); ties go to the one whose context mean pitch is nearest, then to
   the earlier track.

Notes of a class that no input track has stay together (one new track, the caller's business).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from getmusic_cli.score.song import Note

# How far around a new note (in beats, either side) a track's own notes count as its current register.
CONTEXT_BEATS = 8


class _Context:
    """One candidate track's original notes, by onset, for window queries."""

    def __init__(self, notes: Sequence[Note]):
        ordered = sorted(notes, key=lambda n: n.start)
        self.starts = [n.start for n in ordered]
        self.pitches = [n.pitch for n in ordered]

    def window(self, start: int, reach: int) -> list[int]:
        lo = bisect.bisect_left(self.starts, start - reach)
        hi = bisect.bisect_right(self.starts, start + reach)
        return self.pitches[lo:hi]


def _cost(pitch: int, context: list[int]) -> tuple[int, float]:
    low, high = min(context), max(context)
    outside = low - pitch if pitch < low else pitch - high if pitch > high else 0
    return outside, abs(pitch - sum(context) / len(context))


def split_notes(notes: Sequence[Note], tracks: Sequence[Sequence[Note]], ticks_per_beat: int) -> list[list[Note]]:
    """Generated `notes` of one class divided over the input `tracks` of that class (their original notes):
    one list per track, in the order of `tracks`. See the module docstring for the rule."""
    if not tracks:
        raise ValueError("split_notes needs at least one track")
    out: list[list[Note]] = [[] for _ in tracks]
    if len(tracks) == 1:
        out[0] = list(notes)
        return out
    contexts = [_Context(t) for t in tracks]
    whole = [list(c.pitches) for c in contexts]
    reach = CONTEXT_BEATS * ticks_per_beat
    for note in notes:
        windows = [c.window(note.start, reach) for c in contexts]
        if not any(windows):
            windows = whole
        scored = [(_cost(note.pitch, w), i) for i, w in enumerate(windows) if w]
        out[min(scored)[1]].append(note)
    return out
