"""Kept tracks come back whole: every non-note event, the channel and the exact name survive read -> write."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import mido

from getmusic_cli.score.midi_io import OutTrack, assign_channels, read_midi, write_midi
from getmusic_cli.score.song import Note

TPB = 480
REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def expressive_file(path: Path) -> Path:
    """A type-1 file with every kind of event a kept track may carry, on channels 5 and 10 and a set-up track."""
    M, Meta = mido.Message, mido.MetaMessage
    conductor = mido.MidiTrack(
        [
            Meta("track_name", name="My Song", time=0),
            Meta("copyright", text="(c) nobody", time=0),
            Meta("set_tempo", tempo=500000, time=0),
            Meta("key_signature", key="Eb", time=0),
            M("sysex", data=[0x7E, 0x7F, 0x09, 0x01], time=0),  # GM reset
            M("control_change", channel=11, control=7, value=0, time=0),  # set-up of a channel nobody plays
            Meta("marker", text="Verse", time=0),
            Meta("marker", text="Chorus", time=4 * TPB),
        ]
    )
    sax = mido.MidiTrack(
        [
            Meta("track_name", name="Alto Sax ", time=0),  # trailing space: the exact name must come back
            Meta("instrument_name", name="Yamaha Sax", time=0),
            Meta("text", text="breathy", time=0),
            M("program_change", channel=4, program=65, time=0),
            M("control_change", channel=4, control=7, value=100, time=0),
            M("control_change", channel=4, control=10, value=30, time=0),
            M("note_on", channel=4, note=70, velocity=90, time=0),
            Meta("lyrics", text="la", time=0),
            M("pitchwheel", channel=4, pitch=1200, time=TPB // 2),
            M("aftertouch", channel=4, value=60, time=0),
            M("polytouch", channel=4, note=70, value=50, time=0),
            M("control_change", channel=4, control=64, value=127, time=0),
            M("note_off", channel=4, note=70, velocity=0, time=TPB // 2),
            M("control_change", channel=4, control=64, value=0, time=0),
            M("sysex", data=[0x43, 0x10, 0x4C, 0x00], time=0),
            M("note_on", channel=4, note=72, velocity=80, time=0),
            M("note_off", channel=4, note=72, velocity=0, time=TPB),
            M("program_change", channel=4, program=66, time=0),  # a program change mid-song stays in its track
            M("note_on", channel=4, note=60, velocity=80, time=0),
            M("note_off", channel=4, note=60, velocity=0, time=TPB),
        ]
    )
    kit = mido.MidiTrack(
        [Meta("track_name", name="Kit", time=0), M("control_change", channel=9, control=91, value=40, time=0)]
        + [
            m
            for b in range(8)
            for m in (
                M("note_on", channel=9, note=36, velocity=100, time=0 if b == 0 else TPB // 2),
                M("note_off", channel=9, note=36, velocity=0, time=TPB // 2),
            )
        ]
    )
    midi = mido.MidiFile(type=1, ticks_per_beat=TPB)
    midi.tracks += [conductor, sax, kit]
    midi.save(str(path))
    return path


def census(path: Path) -> Counter:
    """Every event but notes and end-of-track, by absolute tick, as bytes (channel included)."""
    found = Counter()
    for track in mido.MidiFile(str(path)).tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type not in ("note_on", "note_off", "end_of_track"):
                found[(tick, bytes(msg.bytes()))] += 1
    return found


def rewrite(song, path: Path, extra: list[OutTrack] = ()) -> Path:
    tracks = [OutTrack(s.name, s.program, s.is_drum, s.notes, s.channel, s.events) for s in song.sources]
    return write_midi(
        path,
        ticks_per_beat=song.ticks_per_beat,
        tempos=song.tempos,
        time_signatures=song.time_signatures,
        tracks=tracks + list(extra),
        events=song.events,
        end_of_file=song.end_of_file,
    )


def test_every_event_channel_and_exact_name_survive(tmp_path):
    src = expressive_file(tmp_path / "in.mid")
    song = read_midi(src)
    sax = next(s for s in song.sources if s.name == "Alto Sax")
    assert (sax.channel, sax.program, sax.instrument) == (4, 65, "strings")
    assert len(sax.notes) == 3  # one track, although its program changes
    out = rewrite(song, tmp_path / "out.mid")
    before, after = census(src), census(out)
    added = after - before
    assert before - after == Counter()  # nothing lost: bends, CCs, aftertouch, SysEx, meta, lyrics, markers
    # Only what the writer adds: the default 4/4 meter and a program change for the kit, which had none.
    assert {mido.parse(list(data)).type if data[0] != 0xFF else "meta" for _, data in added} <= {
        "program_change",
        "meta",
    }
    names = [m.name for t in mido.MidiFile(str(out)).tracks for m in t if m.type == "track_name"]
    assert names == ["My Song", "Alto Sax ", "Kit"]
    again = read_midi(out)
    assert [(s.name, s.channel, s.notes) for s in again.sources] == [(s.name, s.channel, s.notes) for s in song.sources]
    assert again.sources[0].events == sax.events and again.events == song.events
    assert again.end_of_file == song.end_of_file


def test_a_made_track_takes_a_free_channel_and_the_setup_of_that_channel_is_left_out(tmp_path):
    song = read_midi(expressive_file(tmp_path / "in.mid"))
    made = [OutTrack(f"made {i}", 0, False, [Note(0, TPB, 60, 90)]) for i in range(14)]
    out = rewrite(song, tmp_path / "out.mid", made)
    channels = [{m.channel for m in t if hasattr(m, "channel")} for t in mido.MidiFile(str(out)).tracks]
    assert channels[1] == {4} and channels[2] == {9}  # kept tracks on their own channels
    taken = [c.pop() for c in channels[3:]]
    assert len(set(taken)) == 14 and not {4, 9} & set(taken)
    assert taken[-1] == 11  # the channel the song silences at set-up is used last ...
    assert all(
        m.type != "control_change" or m.channel != 11 for m in mido.MidiFile(str(out)).tracks[0]
    )  # ... without it


def test_no_free_channel_is_said_not_hidden():
    kept = [OutTrack(f"kept {c}", 0, False, [Note(0, 10 * (c + 1), 60, 90)], c) for c in range(16) if c != 9]
    made = OutTrack("bass (getmusic)", 32, False, [Note(0, 1, 40, 90)])
    drums = OutTrack("drums (getmusic)", 0, True, [Note(0, 1, 36, 90)])
    warnings = assign_channels(kept + [made, drums])
    assert made.channel == 0 and drums.channel == 9  # shares with the track with fewest notes ("kept 0")
    assert warnings == ["no free MIDI channel: bass (getmusic) shares channel 1 with kept 0"]
    assert assign_channels([OutTrack("piano on 10", 0, False, [], 9), OutTrack("drums", 0, True, [])]) == [
        "drums shares MIDI channel 10 with piano on 10 (drums must play there)"
    ]


def test_real_song_keeps_its_bends_and_controllers(tmp_path):
    src = REAL / "freedoom_e1m7_16bars.mid"
    song = read_midi(src)
    out = rewrite(song, tmp_path / "out.mid")
    assert census(src) - census(out) == Counter()
    assert [(s.channel, s.notes) for s in read_midi(out).sources] == [(s.channel, s.notes) for s in song.sources]
