"""Song: the plain, library-free picture of a MIDI file that everything between reading and writing works on.

Times are in the file's own ticks (``ticks_per_beat``); the 16th-note grid is applied only by the codec.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Note:
    start: int  # tick
    end: int  # tick, > start
    pitch: int  # MIDI pitch 0..127 (drums: the GM drum key, no offset)
    velocity: int = 96


@dataclass(frozen=True)
class TempoChange:
    tick: int
    bpm: float


@dataclass(frozen=True)
class TimeSignature:
    tick: int
    numerator: int
    denominator: int


@dataclass(frozen=True)
class MidiEvent:
    """A non-note MIDI event kept verbatim: the exact bytes of the message as a file stores it (status byte and
    data; meta events as FF type length data; SysEx as F0 ... F7), so kept tracks come back whole."""

    tick: int
    data: bytes


@dataclass
class SourceTrack:
    """One track of the input file, kept untouched so kept tracks can be written back exactly."""

    index: int  # position in the input file's instrument list
    name: str
    program: int  # GM program 0..127
    is_drum: bool
    notes: list[Note]
    instrument: str | None  # class it was mapped to (tracks.INSTRUMENTS), or None if dropped
    reason: str = ""  # why it got that class (program family, name hint, override, ...)
    channel: int | None = None  # MIDI channel 0..15 it plays on (None: not known, the writer picks one)
    # Every non-note event of the track: program and control changes, pitch bends, aftertouch, its meta and SysEx
    # events (its exact name among them), see score/smf.py.
    events: list[MidiEvent] = field(default_factory=list)


@dataclass
class Song:
    ticks_per_beat: int
    tempos: list[TempoChange] = field(default_factory=list)
    time_signatures: list[TimeSignature] = field(default_factory=list)
    sources: list[SourceTrack] = field(default_factory=list)
    # Notes per instrument class (merged over all source tracks of that class), sorted by (start, pitch).
    notes: dict[str, list[Note]] = field(default_factory=dict)
    # Chord per bar as given by the user or inferred: list of (root 0..11, kind name) or None for no chord.
    chords: list[tuple[int, str] | None] | None = None
    name: str = ""
    # Events of the whole song (markers, lyrics, key signatures, text, set-up SysEx ...), see score/smf.py.
    events: list[MidiEvent] = field(default_factory=list)
    # Tick of the file's last end-of-track event (keeps trailing silence).
    end_of_file: int = 0

    def classes(self) -> list[str]:
        """Instrument classes that hold at least one note, in row order."""
        from getmusic_cli.score.tracks import INSTRUMENTS

        return [c for c in INSTRUMENTS if self.notes.get(c)]

    @property
    def end_tick(self) -> int:
        ends = [n.end for notes in self.notes.values() for n in notes]
        ends += [n.end for s in self.sources for n in s.notes]
        return max(ends, default=0)
