"""Write the small MIDI fixtures the tests read (deterministic: running it again gives the same bytes).

    python tests/data/make_fixtures.py          # writes into tests/data/

Good files exercise the mapping and the timing paths; bad files are the inputs every command must refuse with one
line. Harmony of the pitched fixtures: one chord per bar from PROGRESSION, so chord tests know the answer.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import miditoolkit
import mido

HERE = Path(__file__).resolve().parent
TPB = 480

# (root pitch class, chord tones as MIDI pitches around middle C): C, Am, F, G
PROGRESSION = [(0, (60, 64, 67)), (9, (57, 60, 64)), (5, (53, 57, 60)), (7, (55, 59, 62))]


def _note(pitch: int, start: int, end: int, velocity: int = 90) -> miditoolkit.Note:
    return miditoolkit.Note(velocity, pitch, start, end)


def _chords(bars: int, bar_ticks: int, offset: int = 0) -> list[miditoolkit.Note]:
    """Held block chord per bar."""
    notes = []
    for b in range(bars):
        _, tones = PROGRESSION[b % 4]
        for p in tones:
            notes.append(_note(p + offset, b * bar_ticks, (b + 1) * bar_ticks, 70))
    return notes


def _melody(bars: int, bar_ticks: int, beats: int, base: int = 72) -> list[miditoolkit.Note]:
    """One chord tone per beat, an octave above the chords: monophonic and high."""
    notes = []
    for b in range(bars):
        _, tones = PROGRESSION[b % 4]
        for beat in range(beats):
            start = b * bar_ticks + beat * TPB
            notes.append(_note(tones[beat % 3] + base - 60, start, start + TPB * 3 // 4, 100))
    return notes


def _bass(bars: int, bar_ticks: int) -> list[miditoolkit.Note]:
    notes = []
    for b in range(bars):
        root = PROGRESSION[b % 4][0]
        notes.append(_note(36 + root, b * bar_ticks, b * bar_ticks + bar_ticks // 2, 96))
        notes.append(_note(36 + root, b * bar_ticks + bar_ticks // 2, (b + 1) * bar_ticks, 96))
    return notes


def _drums(bars: int, bar_ticks: int, beats: int) -> list[miditoolkit.Note]:
    notes = []
    for b in range(bars):
        for beat in range(beats):
            start = b * bar_ticks + beat * TPB
            notes.append(_note(36 if beat % 2 == 0 else 38, start, start + TPB // 4, 100))
            notes.append(_note(42, start, start + TPB // 4, 70))
    return notes


def _song(tpb: int = TPB) -> miditoolkit.MidiFile:
    return miditoolkit.MidiFile(ticks_per_beat=tpb)


def _inst(program: int, name: str, notes, is_drum: bool = False) -> miditoolkit.Instrument:
    inst = miditoolkit.Instrument(program=program, is_drum=is_drum, name=name)
    inst.notes = list(notes)
    return inst


def multitrack(path: Path) -> None:
    """4/4, 120 BPM, 8 bars: every class once, names and GM programs chosen to exercise each mapping path."""
    bar = 4 * TPB
    midi = _song()
    midi.tempo_changes = [miditoolkit.TempoChange(120.0, 0)]
    midi.time_signature_changes = [miditoolkit.TimeSignature(4, 4, 0)]
    fx = [_note(60, b * bar, b * bar + TPB) for b in range(0, 8, 2)]
    midi.instruments = [
        _inst(73, "Melody", _melody(8, bar, 4)),  # Flute program, but the name claims lead
        _inst(33, "Bass", _bass(8, bar)),
        _inst(0, "Drums", _drums(8, bar, 4), is_drum=True),
        _inst(27, "Rhythm Gtr", _chords(8, bar, offset=-12)),
        _inst(0, "Piano", _chords(8, bar)),
        _inst(48, "Strings", _chords(8, bar, offset=12)),
        _inst(125, "Helicopter", fx),  # sound effects family: dropped
    ]
    midi.dump(str(path))


def unnamed(path: Path) -> None:
    """No track names: classes come from programs, and the lead rule picks the alto sax (high, monophonic)."""
    bar = 4 * TPB
    midi = _song()
    midi.instruments = [
        _inst(0, "", _chords(8, bar)),
        _inst(56, "", _melody(8, bar, 4, base=60)),  # trumpet, monophonic but lower: stays strings
        _inst(65, "", _melody(8, bar, 4, base=76)),  # alto sax: chosen as lead
        _inst(34, "", _bass(8, bar)),
    ]
    midi.dump(str(path))


def type0(path: Path) -> None:
    """A type-0 file (one track, three channels), written with mido directly."""
    bar = 4 * TPB
    events: list[tuple[int, int, mido.Message]] = []  # (tick, order, message)

    def add_notes(notes, channel):
        for n in notes:
            events.append((n.start, 1, mido.Message("note_on", note=n.pitch, velocity=n.velocity, channel=channel)))
            events.append((n.end, 0, mido.Message("note_off", note=n.pitch, velocity=0, channel=channel)))

    add_notes(_chords(4, bar), 0)
    add_notes(_bass(4, bar), 1)
    add_notes(_drums(4, bar, 4), 9)
    events.sort(key=lambda e: (e[0], e[1], e[2].channel, e[2].note))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="Song Title With Bass Words", time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    track.append(mido.Message("program_change", program=4, channel=0, time=0))
    track.append(mido.Message("program_change", program=33, channel=1, time=0))
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=0, ticks_per_beat=TPB)
    midi.tracks.append(track)
    midi.save(str(path))


def waltz(path: Path) -> None:
    """3/4 at 90 BPM, 8 bars of 12 sixteenths: lead (program 80) and piano chords."""
    bar = 3 * TPB
    midi = _song()
    midi.tempo_changes = [miditoolkit.TempoChange(90.0, 0)]
    midi.time_signature_changes = [miditoolkit.TimeSignature(3, 4, 0)]
    midi.instruments = [_inst(80, "Lead", _melody(8, bar, 3)), _inst(0, "Piano", _chords(8, bar))]
    midi.dump(str(path))


def changes(path: Path) -> None:
    """Tempo 120 -> 90 -> 140 and meter 4/4 (2 bars) -> 3/4 (2 bars) -> 6/8 (2 bars) -> 4/4 (2 bars)."""
    midi = _song()
    bars = [4 * TPB] * 2 + [3 * TPB] * 2 + [3 * TPB] * 2 + [4 * TPB] * 2
    starts = [sum(bars[:i]) for i in range(len(bars))]
    midi.time_signature_changes = [
        miditoolkit.TimeSignature(4, 4, starts[0]), miditoolkit.TimeSignature(3, 4, starts[2]),
        miditoolkit.TimeSignature(6, 8, starts[4]), miditoolkit.TimeSignature(4, 4, starts[6]),
    ]
    midi.tempo_changes = [
        miditoolkit.TempoChange(120.0, 0), miditoolkit.TempoChange(90.0, starts[2]),
        miditoolkit.TempoChange(140.0, starts[5]),
    ]
    piano, bass = [], []
    for b, (start, length) in enumerate(zip(starts, bars)):
        _, tones = PROGRESSION[b % 4]
        piano += [_note(p, start, start + length, 70) for p in tones]
        bass.append(_note(36 + PROGRESSION[b % 4][0], start, start + TPB, 90))
    midi.instruments = [_inst(0, "Piano", piano), _inst(32, "Bass", bass)]
    midi.dump(str(path))


def high_resolution(path: Path) -> None:
    """960 ticks per beat, 4 bars of lead + bass + drums."""
    tpb = 960
    bar = 4 * tpb
    midi = _song(tpb)
    scale = lambda notes: [_note(n.pitch, n.start * 2, n.end * 2, n.velocity) for n in notes]  # noqa: E731
    midi.instruments = [
        _inst(80, "Lead", scale(_melody(4, 4 * TPB, 4))),
        _inst(33, "Bass", scale(_bass(4, 4 * TPB))),
        _inst(0, "Drums", scale(_drums(4, 4 * TPB, 4)), is_drum=True),
    ]
    assert max(n.end for i in midi.instruments for n in i.notes) == 4 * bar
    midi.dump(str(path))


def drums_only(path: Path) -> None:
    midi = _song()
    midi.instruments = [_inst(0, "Kit", _drums(4, 4 * TPB, 4), is_drum=True)]
    midi.dump(str(path))


def no_notes(path: Path) -> None:
    """A valid file with tracks, names and a tempo, but not a single note."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TPB)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0)])
    part = mido.MidiTrack([
        mido.MetaMessage("track_name", name="Piano", time=0),
        mido.Message("program_change", program=0, channel=0, time=0),
        mido.MetaMessage("end_of_track", time=4 * TPB),
    ])
    midi.tracks += [meta, part]
    midi.save(str(path))


def _small_valid_bytes() -> bytes:
    """Bytes of a short valid file, the base of the corrupted ones."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TPB)
    track = mido.MidiTrack([mido.MetaMessage("track_name", name="Piano", time=0)])
    for p in (60, 64, 67, 72):
        track.append(mido.Message("note_on", note=p, velocity=90, time=0))
        track.append(mido.Message("note_off", note=p, velocity=0, time=TPB))
    midi.tracks.append(track)
    import io

    buf = io.BytesIO()
    midi.save(file=buf)
    return buf.getvalue()


def absurd_tempo(path: Path) -> None:
    """A set_tempo of 1 microsecond per beat (60 million BPM)."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TPB)
    track = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=1, time=0),
        mido.Message("note_on", note=60, velocity=90, time=0),
        mido.Message("note_off", note=60, velocity=0, time=TPB),
    ])
    midi.tracks.append(track)
    midi.save(str(path))


def absurd_resolution(path: Path) -> None:
    """A valid file whose header says 0 ticks per beat."""
    data = bytearray(_small_valid_bytes())
    data[12:14] = struct.pack(">H", 0)
    path.write_bytes(bytes(data))


def truncated(path: Path) -> None:
    """The first 40 bytes of a valid file: the track chunk says it is longer than what is there."""
    path.write_bytes(_small_valid_bytes()[:40])


def corrupt(path: Path) -> None:
    """Correct framing, garbage events: a note_on whose data bytes are out of range (> 127)."""
    events = bytes([0x00, 0x90, 0xC8, 0xF0, 0x00, 0xFF, 0x2F, 0x00])
    header = b"MThd" + struct.pack(">IHHH", 6, 1, 1, TPB)
    path.write_bytes(header + b"MTrk" + struct.pack(">I", len(events)) + events)


def not_midi(path: Path) -> None:
    path.write_text("This is a text file, not a MIDI file.\n")


def empty(path: Path) -> None:
    path.write_bytes(b"")


FIXTURES = {
    "multitrack.mid": multitrack,
    "unnamed.mid": unnamed,
    "type0.mid": type0,
    "waltz_3_4.mid": waltz,
    "changes.mid": changes,
    "hires_960.mid": high_resolution,
    "drums_only.mid": drums_only,
    "no_notes.mid": no_notes,
    "absurd_tempo.mid": absurd_tempo,
    "absurd_resolution.mid": absurd_resolution,
    "truncated.mid": truncated,
    "corrupt.mid": corrupt,
    "not_midi.mid": not_midi,
    "empty.mid": empty,
}


def main(out: Path = HERE) -> None:
    for name, make in FIXTURES.items():
        make(out / name)
        print(f"{name}: {(out / name).stat().st_size} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
