"""The seven GETScore tracks, in the original row order, two rows each (pitch row, duration row)."""

from __future__ import annotations

# Instrument classes as users name them, in the original GETScore row order; the chord track comes last.
INSTRUMENTS: tuple[str, ...] = ("lead", "bass", "drums", "guitar", "piano", "strings")
CHORDS = "chords"
TRACKS: tuple[str, ...] = INSTRUMENTS + (CHORDS,)
N_ROWS = 2 * len(TRACKS)  # 14

# Token prefix of each instrument's pitch tokens in the vocabulary (original dict.txt letters).
TOKEN_PREFIX: dict[str, str] = {
    "lead": "M",
    "bass": "B",
    "drums": "D",
    "guitar": "G",
    "piano": "P",
    "strings": "S",
}

# Drum pitches are stored +128 in tokens (D128..D255), as in the original vocabulary.
DRUM_PITCH_OFFSET = 128


def track_index(name: str) -> int:
    return TRACKS.index(name)


def pitch_row(name: str) -> int:
    return 2 * track_index(name)


def duration_row(name: str) -> int:
    return 2 * track_index(name) + 1
