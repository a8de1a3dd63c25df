"""MIDI -> Song -> MIDI on the committed fixtures (tests/data/make_fixtures.py) and on files written here."""

from __future__ import annotations

import os
from pathlib import Path

import miditoolkit
import mido
import pytest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score import midi_io
from getmusic_cli.score.midi_io import OutTrack, read_midi, require_pitched, write_midi
from getmusic_cli.score.song import Note, TempoChange, TimeSignature

DATA = Path(__file__).resolve().parents[1] / "data"
TPB = 480


def raw_notes(path: Path) -> dict[str, list[tuple[int, int, int, int]]]:
    midi = miditoolkit.MidiFile(str(path))
    return {
        i.name: [(int(n.start), int(n.end), int(n.pitch), int(n.velocity)) for n in i.notes] for i in midi.instruments
    }


def as_tuples(notes) -> list[tuple[int, int, int, int]]:
    return [(n.start, n.end, n.pitch, n.velocity) for n in notes]


def test_multitrack_maps_every_class_and_keeps_the_original_notes():
    song = read_midi(DATA / "multitrack.mid")
    assert song.ticks_per_beat == TPB and song.name == "multitrack"
    assert song.classes() == ["lead", "bass", "drums", "guitar", "piano", "strings"]
    mapping = {s.name: s.instrument for s in song.sources}
    assert mapping == {
        "Melody": "lead",
        "Bass": "bass",
        "Drums": "drums",
        "Rhythm Gtr": "guitar",
        "Piano": "piano",
        "Strings": "strings",
        "Helicopter": None,
    }
    raw = raw_notes(DATA / "multitrack.mid")
    for source in song.sources:
        assert as_tuples(source.notes) == raw[source.name]  # untouched: same order, ticks and velocities
    assert as_tuples(song.notes["bass"]) == sorted(raw["Bass"], key=lambda n: (n[0], n[2]))
    # Nothing from the dropped track reaches a class, and the reason says why.
    assert sum(len(v) for v in song.notes.values()) == sum(len(v) for k, v in raw.items() if k != "Helicopter")
    heli = next(s for s in song.sources if s.name == "Helicopter")
    assert heli.reason.startswith("dropped: sound effects family")


def test_values_are_plain_python_ints():
    song = read_midi(DATA / "multitrack.mid")
    note = song.sources[0].notes[0]
    assert all(type(v) is int for v in (note.start, note.end, note.pitch, note.velocity))
    assert type(song.sources[0].program) is int and type(song.ticks_per_beat) is int


def test_tracks_of_one_class_merge_sorted(tmp_path):
    midi = miditoolkit.MidiFile(ticks_per_beat=TPB)
    a = miditoolkit.Instrument(program=0, name="Piano RH")
    b = miditoolkit.Instrument(program=1, name="Piano LH")
    a.notes = [miditoolkit.Note(80, 72, TPB, 2 * TPB), miditoolkit.Note(80, 76, 0, TPB)]
    b.notes = [miditoolkit.Note(60, 48, 0, 2 * TPB), miditoolkit.Note(60, 43, TPB, 2 * TPB)]
    midi.instruments = [a, b]
    midi.dump(str(tmp_path / "two.mid"))
    song = read_midi(tmp_path / "two.mid")
    assert song.classes() == ["piano"]
    assert [(n.start, n.pitch) for n in song.notes["piano"]] == [(0, 48), (0, 76), (TPB, 43), (TPB, 72)]


def test_type0_is_split_by_channel_and_its_title_is_no_hint():
    song = read_midi(DATA / "type0.mid")
    by_class = {s.instrument: s for s in song.sources}
    assert set(by_class) == {"piano", "bass", "drums"}
    assert by_class["drums"].is_drum and by_class["drums"].name == "Drums"
    assert by_class["piano"].program == 4 and by_class["piano"].name == "Electric Piano 1"
    assert by_class["piano"].reason.startswith("program 4")  # not "name ...": the title says "Bass"
    assert by_class["bass"].program == 33
    assert song.tempos == [TempoChange(0, pytest.approx(100.0))]
    assert len(song.notes["piano"]) == 12 and len(song.notes["drums"]) == 32


def test_type0_override_by_display_name():
    song = read_midi(DATA / "type0.mid", {"electric piano 1": "guitar"})
    assert song.classes() == ["bass", "drums", "guitar"]


def test_three_four_and_default_meter_and_tempo(tmp_path):
    assert read_midi(DATA / "waltz_3_4.mid").time_signatures == [TimeSignature(0, 3, 4)]
    # No time-signature or tempo event at all: the MIDI defaults 4/4 and 120 BPM from tick 0.
    track = mido.MidiTrack(
        [mido.Message("note_on", note=60, velocity=90, time=0), mido.Message("note_off", note=60, velocity=0, time=TPB)]
    )
    bare = mido.MidiFile(type=1, ticks_per_beat=TPB)
    bare.tracks.append(track)
    bare.save(str(tmp_path / "bare.mid"))
    song = read_midi(tmp_path / "bare.mid")
    assert song.time_signatures == [TimeSignature(0, 4, 4)] and song.tempos == [TempoChange(0, 120.0)]
    # A meter restated at a later tick is not a change; the last event at one tick wins.
    track.insert(0, mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0))
    track.insert(1, mido.MetaMessage("time_signature", numerator=2, denominator=4, time=0))
    track.insert(2, mido.MetaMessage("time_signature", numerator=2, denominator=4, time=TPB))
    bare.save(str(tmp_path / "restated.mid"))
    assert read_midi(tmp_path / "restated.mid").time_signatures == [TimeSignature(0, 2, 4)]


def test_tempo_and_meter_changes():
    song = read_midi(DATA / "changes.mid")
    bar4, bar3 = 4 * TPB, 3 * TPB
    assert song.time_signatures == [
        TimeSignature(0, 4, 4),
        TimeSignature(2 * bar4, 3, 4),
        TimeSignature(2 * bar4 + 2 * bar3, 6, 8),
        TimeSignature(2 * bar4 + 4 * bar3, 4, 4),
    ]
    assert [t.tick for t in song.tempos] == [0, 2 * bar4, 2 * bar4 + 3 * bar3]
    assert [round(t.bpm, 3) for t in song.tempos] == [120.0, 90.0, 140.0]


def test_high_resolution():
    song = read_midi(DATA / "hires_960.mid")
    assert song.ticks_per_beat == 960
    assert song.end_tick == 16 * 960
    assert song.notes["lead"][1].start == 960


def test_drums_only_reads_but_cannot_give_harmony():
    song = read_midi(DATA / "drums_only.mid")
    assert song.classes() == ["drums"]
    with pytest.raises(GetMusicError, match="only drums"):
        require_pitched(song, DATA / "drums_only.mid")
    require_pitched(read_midi(DATA / "multitrack.mid"))  # no error


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no_notes.mid", "no notes"),
        ("absurd_tempo.mid", "absurd tempo"),
        ("absurd_resolution.mid", "absurd resolution of 0 ticks per beat"),
        ("truncated.mid", "truncated MIDI file"),
        ("corrupt.mid", "corrupt MIDI data"),
        ("not_midi.mid", "not a MIDI file"),
        ("empty.mid", "empty file"),
        ("missing.mid", "no such file"),
    ],
)
def test_bad_files_give_one_line(name, message):
    with pytest.raises(GetMusicError) as info:
        read_midi(DATA / name)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_every_track_dropped_is_an_error_that_names_the_fix(tmp_path):
    midi = miditoolkit.MidiFile(ticks_per_beat=TPB)
    fx = miditoolkit.Instrument(program=126, name="Applause")
    fx.notes = [miditoolkit.Note(90, 60, 0, TPB)]
    midi.instruments = [fx]
    midi.dump(str(tmp_path / "fx.mid"))
    with pytest.raises(GetMusicError, match=r"every track was dropped") as caught:
        read_midi(tmp_path / "fx.mid")
    assert "--map" not in str(caught.value) and "--map NAME=class" in caught.value.cli_message()
    assert read_midi(tmp_path / "fx.mid", {"Applause": "strings"}).classes() == ["strings"]


def test_zero_length_notes_are_ignored_and_reported(tmp_path):
    midi = mido.MidiFile(type=1, ticks_per_beat=TPB)
    midi.tracks.append(
        mido.MidiTrack(
            [
                mido.MetaMessage("track_name", name="Piano", time=0),
                mido.Message("note_on", note=60, velocity=90, time=0),
                mido.Message("note_off", note=60, velocity=0, time=TPB),
                mido.Message("note_on", note=64, velocity=90, time=0),
                mido.Message("note_off", note=64, velocity=0, time=0),  # zero length
            ]
        )
    )
    midi.save(str(tmp_path / "z.mid"))
    song = read_midi(tmp_path / "z.mid")
    assert as_tuples(song.notes["piano"]) == [(0, TPB, 60, 90)]
    assert song.sources[0].reason.endswith("1 zero-length notes ignored")


def test_unsupported_midi_type_and_smpte(tmp_path):
    data = bytearray((DATA / "waltz_3_4.mid").read_bytes())
    data[8:10] = b"\x00\x02"
    (tmp_path / "t2.mid").write_bytes(bytes(data))
    with pytest.raises(GetMusicError, match="MIDI type 2"):
        read_midi(tmp_path / "t2.mid")
    data = bytearray((DATA / "waltz_3_4.mid").read_bytes())
    data[12:14] = b"\xe7\x28"  # -25 fps, 40 ticks per frame
    (tmp_path / "smpte.mid").write_bytes(bytes(data))
    with pytest.raises(GetMusicError, match="SMPTE"):
        read_midi(tmp_path / "smpte.mid")


# ----- writing -------------------------------------------------------------------------------------------------


def _write_song(path: Path, song, tracks=None) -> Path:
    tracks = tracks if tracks is not None else [OutTrack(s.name, s.program, s.is_drum, s.notes) for s in song.sources]
    return write_midi(
        path,
        ticks_per_beat=song.ticks_per_beat,
        tempos=song.tempos,
        time_signatures=song.time_signatures,
        tracks=tracks,
    )


@pytest.mark.parametrize("fixture", ["multitrack.mid", "changes.mid", "hires_960.mid", "waltz_3_4.mid"])
def test_write_keeps_tempo_map_meter_names_programs_and_notes(tmp_path, fixture):
    song = read_midi(DATA / fixture)
    out = _write_song(tmp_path / "out.mid", song)
    again = read_midi(out)
    assert again.ticks_per_beat == song.ticks_per_beat
    assert again.time_signatures == song.time_signatures
    assert [(t.tick, round(t.bpm, 4)) for t in again.tempos] == [(t.tick, round(t.bpm, 4)) for t in song.tempos]
    assert [(s.name, s.program, s.is_drum, s.notes) for s in again.sources] == [
        (s.name, s.program, s.is_drum, s.notes) for s in song.sources
    ]
    assert again.notes == song.notes


def test_write_is_atomic_and_overwrites(tmp_path, monkeypatch):
    song = read_midi(DATA / "waltz_3_4.mid")
    target = tmp_path / "out.mid"
    target.write_bytes(b"old")
    _write_song(target, song)
    assert target.read_bytes()[:4] == b"MThd"
    assert sorted(os.listdir(tmp_path)) == ["out.mid"]  # no temporary file left behind

    def broken_dump(self, *args, **kwargs):
        raise RuntimeError("disk full")

    before = target.read_bytes()
    monkeypatch.setattr(mido.MidiFile, "save", broken_dump)
    with pytest.raises(RuntimeError):
        _write_song(target, song)
    assert target.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["out.mid"]


def test_write_generated_tracks(tmp_path):
    notes = [Note(0, TPB, 36, 98), Note(TPB, 2 * TPB, 38, 98)]
    out = write_midi(
        tmp_path / "g.mid",
        ticks_per_beat=TPB,
        tempos=[TempoChange(0, 100.0)],
        time_signatures=[TimeSignature(0, 4, 4)],
        tracks=[OutTrack("drums (getmusic)", 0, True, notes), OutTrack("bass (getmusic)", 32, False, notes)],
    )
    midi = miditoolkit.MidiFile(str(out))
    assert [(i.name, int(i.program), i.is_drum) for i in midi.instruments] == [
        ("drums (getmusic)", 0, True),
        ("bass (getmusic)", 32, False),
    ]
    assert [(n.start, n.end, n.pitch) for n in midi.instruments[1].notes] == [(0, TPB, 36), (TPB, 2 * TPB, 38)]


def test_write_into_a_missing_folder_is_a_user_error(tmp_path):
    song = read_midi(DATA / "waltz_3_4.mid")
    with pytest.raises(GetMusicError, match="does not exist"):
        _write_song(tmp_path / "nope" / "out.mid", song)


def test_limits_are_documented_constants():
    assert midi_io.MAX_TICKS_PER_BEAT == 30000 and (midi_io.MIN_BPM, midi_io.MAX_BPM) == (1.0, 1000.0)


def test_empty_and_unknown_chunks_and_rmid_wrapper_are_tolerated(tmp_path):
    import struct

    data = (DATA / "waltz_3_4.mid").read_bytes()
    header, body = data[:14], data[14:]
    n = struct.unpack(">H", header[10:12])[0]
    extra = b"MTrk" + struct.pack(">I", 0) + b"XFIH" + struct.pack(">I", 3) + b"abc"
    patched = header[:10] + struct.pack(">H", n + 1) + header[12:] + extra + body
    (tmp_path / "chunks.mid").write_bytes(patched)
    expected = read_midi(DATA / "waltz_3_4.mid")
    assert read_midi(tmp_path / "chunks.mid").notes == expected.notes
    riff = b"RIFF" + struct.pack("<I", len(data) + 12) + b"RMIDdata" + struct.pack("<I", len(data)) + data
    (tmp_path / "song.rmi").write_bytes(riff)
    assert read_midi(tmp_path / "song.rmi").notes == expected.notes


def test_a_key_signature_that_names_no_key_is_left_out_and_the_rest_kept(tmp_path):
    track = mido.MidiTrack(
        [
            mido.Message("program_change", program=33, channel=0, time=0),
            mido.MetaMessage("key_signature", key="D", time=0),
            mido.Message("note_on", note=40, velocity=90, time=0),
            mido.Message("note_off", note=40, velocity=0, time=240),
            mido.MetaMessage("key_signature", key="G", time=120),  # made invalid below
            mido.Message("note_on", note=43, velocity=90, time=120),  # 240 ticks after the first note's end
            mido.Message("control_change", control=7, value=100, time=0),
            mido.Message("note_on", note=45, velocity=90, time=240),
            mido.Message("note_off", note=43, velocity=0, time=0),
            mido.Message("note_off", note=45, velocity=0, time=480),  # written with running status
        ]
    )
    good = tmp_path / "good.mid"
    mido.MidiFile(ticks_per_beat=TPB, tracks=[track]).save(str(good))
    data = good.read_bytes()
    g_major = b"\xff\x59\x02\x01\x00"
    assert data.count(g_major) == 1
    bad = tmp_path / "bad.mid"
    bad.write_bytes(data.replace(g_major, b"\xff\x59\x02\xff\xff"))  # one flat, mode 255
    with pytest.raises(Exception, match="mode 255"):
        mido.MidiFile(str(bad))  # what the parser alone makes of it
    song, expected = read_midi(bad), read_midi(good)
    assert as_tuples(song.notes["bass"]) == as_tuples(expected.notes["bass"])
    assert as_tuples(song.notes["bass"]) == [(0, 240, 40, 90), (480, 720, 43, 90), (720, 1200, 45, 90)]
    keys = [e.data for e in song.events if e.data[:2] == b"\xff\x59"]
    assert keys == [b"\xff\x59\x02\x02\x00"]  # D major stays; the key with no name is gone
    assert [e.data for e in expected.events if e.data[:2] == b"\xff\x59"] == [keys[0], g_major]


# ----- real songs (tests/data/real, see its README) ---------------------------------------------------------------

REAL = DATA / "real"


def test_real_freedoom_e1m7_maps_by_program_and_drops_what_is_not_music():
    song = read_midi(REAL / "freedoom_e1m7_16bars.mid")
    got = {s.name: (s.instrument, s.reason.split(" (")[0]) for s in song.sources}
    assert got["fretless b"] == ("bass", "program 35 Fretless Bass")
    assert got["sawtooth"] == ("bass", "program 81 Lead 2")  # a synth lead playing the bass line an octave down
    assert got["dist"] == ("lead", "lead rule: carries the tune, mean pitch 70, in 19% of bars")
    assert got["pizz off kid"][0] == got["stgz"][0] == "strings"
    assert got["harmonix"][0] == "guitar"
    assert got["piano"] == ("piano", "name 'piano'")
    assert got["drums"] == ("drums", "drum channel")
    assert got["rev cym"][0] is None and got["rev cym"][1].startswith("dropped: percussive family")
    assert got["timmy"][0] is None and got["timmy"][1].startswith("dropped: timpani")
    assert song.classes() == ["lead", "bass", "drums", "guitar", "piano", "strings"]
    assert song.ticks_per_beat == 96


def test_real_freedoom_ddtbl2_names_and_the_lead_rule():
    song = read_midi(REAL / "freedoom_ddtbl2_16bars.mid")
    got = {s.name: s.instrument for s in song.sources}
    assert got == {
        "Drums": "drums",
        "Bass": "bass",
        "Rhythm Guitar": "guitar",
        "Lead Guitar": "lead",
        "Piano": "piano",
        "Synth Strings": "strings",
        "Pad 1": "strings",
        "Pad 2": "strings",
    }
    lead = next(s for s in song.sources if s.name == "Lead Guitar")
    assert lead.reason.startswith("lead rule: named lead/solo")
    # Several tracks of one class merge: strings = synth strings + both pads.
    assert len(song.notes["strings"]) == sum(len(s.notes) for s in song.sources if s.instrument == "strings")


def test_real_bach_chorale_voices():
    song = read_midi(REAL / "bach_bwv253.mid")
    assert [s.instrument for s in song.sources] == ["lead", "strings", "strings", "bass"]
    soprano, bass = song.notes["lead"], song.notes["bass"]
    assert sum(n.pitch for n in soprano) / len(soprano) > sum(n.pitch for n in bass) / len(bass) + 12


@pytest.mark.parametrize("name", ["freedoom_e1m7_16bars.mid", "freedoom_ddtbl2_16bars.mid", "bach_bwv253.mid"])
def test_real_songs_round_trip(tmp_path, name):
    song = read_midi(REAL / name)
    again = read_midi(_write_song(tmp_path / name, song))
    assert [(s.name, s.program, s.is_drum, s.notes, s.instrument) for s in again.sources] == [
        (s.name, s.program, s.is_drum, s.notes, s.instrument) for s in song.sources
    ]
    assert again.time_signatures == song.time_signatures
