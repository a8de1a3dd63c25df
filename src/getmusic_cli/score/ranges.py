"""Playable ranges per class, and the pitch-token ids the sampler may draw so that generated notes stay inside them.

A pitch token holds pitches in the model's key (the song moved to C major / A minor); the song's pitch shift is
undone on output, so a token is allowed when every pitch it holds, shifted back, lies in the class range. Drum
tokens hold GM kit keys and are never shifted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.tracks import INSTRUMENTS, parse_class, pitch_row

# Lowest and highest MIDI pitch a made note may have (inclusive). Bass: the four-string bass from its open E1 up
# to C4 (chorale basses climb that far); drums: the General MIDI kit keys (Acoustic Bass Drum 35 .. Open Triangle 81).
DEFAULT_RANGES: dict[str, tuple[int, int]] = {
    "lead": (40, 96),  # E2 (tenor sax, low voices) .. C7 (flute, piccolo lines)
    "bass": (28, 60),  # E1 .. C4
    "drums": (35, 81),
    "guitar": (40, 88),  # E2 (open low string) .. E6 (24th fret)
    "piano": (21, 108),  # the 88 keys, A0 .. C8
    "strings": (36, 96),  # C2 (cello) .. C7 (violin), also brass, winds, choir and pads
}

_NOTE_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NOTE_RE = re.compile(r"^([A-Ga-g])([#b]?)(-?\d+)$")


def parse_pitch(text: str) -> int:
    """A MIDI pitch from a number (0-127) or a note name with octave, C4 = 60 (E1 = 28, F#2, Bb-1)."""
    text = text.strip()
    if text.isdigit():
        value = int(text)
    else:
        m = _NOTE_RE.match(text)
        if not m:
            raise GetMusicError(f"{text!r} is not a pitch: write a note name with octave (E1, F#2, Bb3) or 0-127")
        letter, accidental, octave = m.groups()
        value = 12 * (int(octave) + 1) + _NOTE_STEPS[letter.upper()] + {"#": 1, "b": -1, "": 0}[accidental]
    if not 0 <= value <= 127:
        raise GetMusicError(f"pitch {text!r} is outside MIDI's 0-127")
    return value


def parse_range_option(items: Iterable[str]) -> dict[str, tuple[int, int]]:
    """['bass=E1-C3', 'lead=60-84'] (or one item 'bass=E1-C3,lead=60-84') → {'bass': (28, 48), 'lead': (60, 84)}."""
    out: dict[str, tuple[int, int]] = {}
    for item in items:
        for part in (p for p in item.split(",") if p.strip()):
            name, sep, span = part.partition("=")
            # A range separator is the '-' that follows a digit ('C-1-C3' has a negative octave first).
            m = re.match(r"^\s*(.*?\d)\s*-\s*(\S.*?)\s*$", span) if sep else None
            if not m:
                raise GetMusicError(f"--range {part.strip()!r}: write CLASS=LOW-HIGH, e.g. bass=E1-C3 or bass=28-48")
            try:
                cls = parse_class(name.strip())
                low, high = parse_pitch(m.group(1)), parse_pitch(m.group(2))
            except GetMusicError as exc:
                raise GetMusicError(f"--range {part.strip()!r}: {exc}") from None
            if low > high:
                raise GetMusicError(f"--range {part.strip()!r}: the low pitch is above the high one")
            out[cls] = (low, high)
    return out


def class_ranges(overrides: dict[str, tuple[int, int]] | None = None) -> dict[str, tuple[int, int]]:
    """The defaults with the user's ranges on top."""
    return {**DEFAULT_RANGES, **(overrides or {})}


def allowed_pitch_ids(
    vocab, ranges: dict[str, tuple[int, int]], pitch_shift: int, classes: Iterable[str] | None = None
) -> dict[int, list[int]]:
    """Pitch row → the ids the sampler may draw there: <pad> and every pitch token of the class whose pitches,
    after the song's shift is undone (not for drums), all lie in the class range. Rows of classes without a range
    are left out (the sampler then allows the whole row)."""
    out: dict[int, list[int]] = {}
    for name in classes or INSTRUMENTS:
        if name not in ranges:
            continue
        low, high = ranges[name]
        shift = 0 if name == "drums" else pitch_shift
        first, last = vocab.pitch_range(name)
        ids = [vocab.pad_id]
        for id_ in range(first, last + 1):
            _, pitches = vocab.parse_pitch_token(vocab.token(id_))
            if all(low <= p - shift <= high for p in pitches):
                ids.append(id_)
        if len(ids) == 1:
            raise GetMusicError(f"no {name} pitch of this model lies in the range {low}-{high}")
        out[pitch_row(name)] = ids
    return out
