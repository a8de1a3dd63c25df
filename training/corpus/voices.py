"""Score voices → General MIDI tracks of our classes: the documented voice rule, the bar layout, the writer.

Pure code (no music21): the music21 reader turns a parsed score into `Voice`s and `Measure`s and hands them here.

Voice rule (for scores that are not keyboard works):
  - voices with no notes are ignored, and so are timpani/percussion parts (getmusic drops timpani too);
  - the voice with the highest mean pitch is `lead` (ties: the earlier one in score order);
  - the voice with the lowest mean pitch is `bass` (ties: the later one) when there are two or more voices;
  - every other voice is `strings` (GETScore's sustained/ensemble class).
Keyboard works: every staff is `piano`.

Each voice becomes one MIDI track named after its class (the name hint our track mapping reads first), with a GM
program whose family maps to the same class on its own (so the class survives if a tool drops track names):
  vocal works (chorales):  lead 85 Lead 6 (voice), strings 52 Choir Aahs, bass 32 Acoustic Bass
  instrumental (quartets): lead 80 Lead 1 (square), strings 48 String Ensemble 1, bass 43 Contrabass
  keyboard works:          piano 0 Acoustic Grand Piano
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

TICKS_PER_BEAT = 480

PROGRAMS: dict[str, dict[str, int]] = {
    "vocal": {"lead": 85, "strings": 52, "bass": 32},
    "instrumental": {"lead": 80, "strings": 48, "bass": 43},
    "keyboard": {"piano": 0},
}
VELOCITY: dict[str, int] = {"lead": 90, "strings": 76, "bass": 84, "piano": 80}


@dataclass(frozen=True)
class VoiceNote:
    start: Fraction  # quarter notes from the start of the score (before the pickup shift)
    duration: Fraction  # quarter notes, > 0
    pitch: int


@dataclass
class Voice:
    name: str  # the part's name in the score (Soprano, Violin I, ...), kept only for reports
    notes: list[VoiceNote] = field(default_factory=list)

    def mean_pitch(self) -> float:
        return sum(n.pitch for n in self.notes) / len(self.notes)


@dataclass(frozen=True)
class Measure:
    offset: Fraction  # quarter notes from the start of the part
    length: Fraction  # quarter notes the measure actually spans (a pickup or a split bar is shorter)
    numerator: int  # time signature in force
    denominator: int
    padding_left: Fraction = Fraction(0)  # missing beats before a pickup

    @property
    def nominal(self) -> Fraction:
        return Fraction(4 * self.numerator, self.denominator)


@dataclass(frozen=True)
class TimeSig:
    start: Fraction  # quarter notes from the start of the written MIDI (after the pickup shift)
    numerator: int
    denominator: int


UNPITCHED_PART = re.compile(r"timpani|timpano|pauken|percussion|drums?\b", re.IGNORECASE)


def assign_classes(voices: list[Voice], ensemble: str) -> list[str | None]:
    """Class of each voice (None for an empty or percussion voice), by the rule in the module docstring."""
    used = [i for i, v in enumerate(voices) if v.notes and not UNPITCHED_PART.search(v.name)]
    classes: list[str | None] = [None] * len(voices)
    if ensemble == "keyboard":
        for i in used:
            classes[i] = "piano"
        return classes
    if not used:
        return classes
    means = {i: voices[i].mean_pitch() for i in used}
    top = max(used, key=lambda i: (means[i], -i))
    for i in used:
        classes[i] = "strings"
    classes[top] = "lead"
    if len(used) >= 2:
        low = min((i for i in used if i != top), key=lambda i: (means[i], -i))
        classes[low] = "bass"
    return classes


def _signature_for(length: Fraction) -> tuple[int, int]:
    """A time signature whose bar lasts `length` quarter notes (the smallest denominator that fits)."""
    for den in (4, 8, 16, 32):
        num = length * den / 4
        if num.denominator == 1 and num >= 1:
            return int(num), den
    return max(1, round(length * 8)), 32


def bar_layout(measures: list[Measure]) -> tuple[Fraction, list[TimeSig]]:
    """(pickup shift, time-signature changes) that make the written MIDI's bar grid follow the score's bars.

    A pickup is padded to a full bar (every note moves right by the shift). Consecutive short measures that add
    up to one bar (a bar split around a repeat sign) count as one bar; any other short or long measure gets a
    time signature of its own length so later bars stay aligned. The final bar keeps the signature in force.
    """
    if not measures:
        return Fraction(0), [TimeSig(Fraction(0), 4, 4)]
    shift = measures[0].padding_left if measures[0].padding_left > 0 else Fraction(0)
    bars: list[tuple[Fraction, Fraction, Measure]] = []  # (start, length, measure giving the signature)
    pending: list | None = None
    for i, m in enumerate(measures):
        start = Fraction(0) if i == 0 else m.offset + shift
        length = m.length + (shift if i == 0 else 0)
        if pending is not None and pending[2].nominal == m.nominal and pending[1] + length <= m.nominal:
            pending[1] += length
        else:
            if pending is not None:
                bars.append(tuple(pending))
            pending = [start, length, m]
        if pending[1] == m.nominal:
            bars.append(tuple(pending))
            pending = None
    if pending is not None:
        bars.append(tuple(pending))
    changes: list[TimeSig] = []
    for j, (start, length, m) in enumerate(bars):
        last = j == len(bars) - 1
        sig = (m.numerator, m.denominator) if (length == m.nominal or last) else _signature_for(length)
        if not changes or (changes[-1].numerator, changes[-1].denominator) != sig:
            changes.append(TimeSig(start, *sig))
    return shift, changes


def _tick(q: Fraction) -> int:
    return int(round(q * TICKS_PER_BEAT))


def write_voices(
    path: Path,
    voices: list[Voice],
    classes: list[str | None],
    ensemble: str,
    *,
    shift: Fraction,
    time_signatures: list[TimeSig],
    bpm: float,
) -> int:
    """Write one GM track per classed voice (name = class, program per ensemble); returns the notes written."""
    import miditoolkit  # the recipe's environment has it (a runtime dependency of getmusic)

    midi = miditoolkit.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    midi.tempo_changes = [miditoolkit.TempoChange(float(bpm), 0)]
    midi.time_signature_changes = [
        miditoolkit.TimeSignature(ts.numerator, ts.denominator, _tick(ts.start)) for ts in time_signatures
    ]
    written = 0
    for voice, cls in zip(voices, classes):
        if cls is None:
            continue
        track = miditoolkit.Instrument(program=PROGRAMS[ensemble][cls], is_drum=False, name=cls)
        seen: set[tuple[int, int]] = set()
        for n in sorted(voice.notes, key=lambda n: (n.start, n.pitch)):
            start, end = _tick(n.start + shift), _tick(n.start + shift + n.duration)
            if end <= start or (start, n.pitch) in seen or not 0 <= n.pitch <= 127:
                continue  # unisons inside one voice (double stops on one pitch) would cancel each other out
            seen.add((start, n.pitch))
            track.notes.append(miditoolkit.Note(VELOCITY[cls], n.pitch, start, end))
        written += len(track.notes)
        midi.instruments.append(track)
    tmp = path.with_name(path.name + ".tmp")
    midi.dump(str(tmp))
    tmp.replace(path)
    return written
