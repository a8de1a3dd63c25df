"""generate / infill end to end with the tiny random `debug` model, on MIDI files written here."""

from __future__ import annotations

from pathlib import Path

import miditoolkit
import mido
import pytest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.pipeline import Generator, Options, parse_bars, plan_outputs

TPB = 480
BAR44 = 4 * TPB


def write_song(path: Path, bars: int = 8, numerator: int = 4, tempos=((0, 120.0),), drums: bool = True) -> Path:
    """Lead (program 80), bass (33), piano (0) and optionally drums, one note per beat, real names."""
    midi = miditoolkit.MidiFile(ticks_per_beat=TPB)
    bar = numerator * TPB
    lead = miditoolkit.Instrument(program=80, name="Lead")
    bass = miditoolkit.Instrument(program=33, name="Bass")
    piano = miditoolkit.Instrument(program=0, name="Piano")
    kit = miditoolkit.Instrument(program=0, is_drum=True, name="Drums")
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    for b in range(bars):
        for beat in range(numerator):
            t = b * bar + beat * TPB
            lead.notes.append(miditoolkit.Note(100, scale[(b + beat) % 8] + 12, t, t + TPB // 2))
            kit.notes.append(miditoolkit.Note(90, 36 if beat % 2 == 0 else 38, t, t + TPB // 4))
        bass.notes.append(miditoolkit.Note(80, 36 + (b % 4) * 2, b * bar, b * bar + bar // 2))
        for p in (60, 64, 67):
            piano.notes.append(miditoolkit.Note(70, p, b * bar, b * bar + bar))
    midi.instruments = [lead, bass, piano] + ([kit] if drums else [])
    midi.tempo_changes = [miditoolkit.TempoChange(bpm, tick) for tick, bpm in tempos]
    midi.time_signature_changes = [miditoolkit.TimeSignature(numerator, 4, 0)]
    midi.dump(str(path))
    return path


def notes_of(midi: miditoolkit.MidiFile, name: str):
    return [(n.start, n.end, n.pitch, n.velocity) for i in midi.instruments if i.name == name for n in i.notes]


@pytest.fixture(scope="module")
def generator():
    return Generator(Options(model="debug", steps=4, seed=1))


def test_generate_keeps_originals_and_makes_only_asked_classes(tmp_path, generator):
    src = write_song(tmp_path / "song.mid")
    [result] = generator.generate(src, make=["bass", "drums"], keep=["lead"])
    out = miditoolkit.MidiFile(str(result.path))
    original = miditoolkit.MidiFile(str(src))
    names = [i.name for i in out.instruments]
    assert names == ["Lead", "Bass", "Drums"]  # made classes go back into the input's tracks; piano is dropped
    assert notes_of(out, "Lead") == notes_of(original, "Lead")  # exact ticks and velocities
    made = {i.name: i for i in out.instruments if i.name != "Lead"}
    assert made["Drums"].is_drum and not made["Bass"].is_drum
    assert made["Bass"].program == 33  # the input track's own program
    assert notes_of(out, "Bass") != notes_of(original, "Bass")
    assert result.notes_made == sum(len(i.notes) for i in made.values())


def test_generate_with_a_program_makes_a_new_track(tmp_path):
    src = write_song(tmp_path / "song.mid")
    gen = Generator(Options(model="debug", steps=2, seed=1, programs={"bass": 38}))
    [result] = gen.generate(src, make=["bass"], keep=["lead"])
    out = miditoolkit.MidiFile(str(result.path))
    assert [(i.name, int(i.program)) for i in out.instruments] == [("Lead", 80), ("bass (getmusic)", 38)]


def test_default_keep_is_everything_else(tmp_path, generator):
    src = write_song(tmp_path / "song.mid")
    [result] = generator.generate(src, make=["strings"])
    assert result.kept == ["lead", "bass", "drums", "piano"]
    out = miditoolkit.MidiFile(str(result.path))
    assert result.path == tmp_path / "song.getmusic.mid"
    assert {i.name for i in out.instruments} == {"Lead", "Bass", "Piano", "Drums", "strings (getmusic)"}


def test_same_seed_same_output(tmp_path):
    src = write_song(tmp_path / "song.mid", drums=False)
    a = Generator(Options(model="debug", steps=3, seed=7)).generate(src, ["drums"], None, [tmp_path / "a.mid"])
    b = Generator(Options(model="debug", steps=3, seed=7)).generate(src, ["drums"], None, [tmp_path / "b.mid"])
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    assert a[0].notes_made == b[0].notes_made


def test_drum_repeat_makes_the_bars_of_made_drums_alike(tmp_path):
    src = write_song(tmp_path / "song.mid", drums=False)

    def bar_to_bar(drum_repeat):
        out = tmp_path / f"repeat-{drum_repeat}.mid"
        Generator(Options(model="debug", steps=4, seed=1, drum_repeat=drum_repeat)).generate(
            src, ["drums"], None, [out]
        )
        kit = next(i for i in miditoolkit.MidiFile(str(out)).instruments if i.is_drum)
        bars = [set() for _ in range(8)]
        for n in kit.notes:
            bars[n.start // BAR44].add((n.start % BAR44, n.pitch))
        return sum(len(a & b) / (len(a | b) or 1) for a, b in zip(bars, bars[1:])) / 7  # mean Jaccard, bar pairs

    assert bar_to_bar(50.0) > bar_to_bar(None) + 0.1  # the random debug network alone hardly repeats


def test_kit_anchor_reaches_the_drums_and_only_them(tmp_path):
    src = write_song(tmp_path / "song.mid", drums=False)

    def made(kit_anchor, classes):
        out = tmp_path / f"anchor-{kit_anchor}-{'-'.join(classes)}.mid"
        Generator(Options(model="debug", steps=4, seed=1, kit_anchor=kit_anchor)).generate(src, classes, None, [out])
        return out.read_bytes()

    # The random debug network hardly drifts between calls: only a huge anchor moves a draw (its own is 0).
    assert made(1000.0, ["drums"]) != made(None, ["drums"])
    assert made(1000.0, ["bass"]) == made(None, ["bass"])


def test_onset_anchor_reaches_the_drums_and_only_them(tmp_path):
    src = write_song(tmp_path / "song.mid", drums=False)

    def made(onset_anchor, classes):
        out = tmp_path / f"onsets-{onset_anchor}-{'-'.join(classes)}.mid"
        options = Options(model="debug", steps=4, seed=1, onset_anchor=onset_anchor)
        Generator(options).generate(src, classes, None, [out])
        return out.read_bytes()

    # The debug network's own is 0; a huge anchor pushes every hit towards the kept tracks' places.
    assert made(1000.0, ["drums"]) != made(None, ["drums"])
    assert made(1000.0, ["bass"]) == made(None, ["bass"])


def test_infill_changes_only_chosen_bars_and_tracks(tmp_path, generator):
    src = write_song(tmp_path / "song.mid", bars=8)
    [result] = generator.infill(src, "3-4", ["bass", "piano"])
    out = miditoolkit.MidiFile(str(result.path))
    original = miditoolkit.MidiFile(str(src))
    lo, hi = 2 * BAR44, 4 * BAR44
    for name in ("Lead", "Drums"):
        assert notes_of(out, name) == notes_of(original, name)
    for name in ("Bass", "Piano"):
        outside_out = [n for n in notes_of(out, name) if not lo <= n[0] < hi]
        outside_in = [n for n in notes_of(original, name) if not lo <= n[0] < hi]
        assert outside_out == outside_in


def test_infill_bars_follow_three_four(tmp_path, generator):
    src = write_song(tmp_path / "waltz.mid", bars=6, numerator=3, drums=False)
    [result] = generator.infill(src, "2-3", ["lead"])
    out = miditoolkit.MidiFile(str(result.path))
    original = miditoolkit.MidiFile(str(src))
    bar = 3 * TPB
    changed_in = set(notes_of(original, "Lead")) ^ set(notes_of(out, "Lead"))
    # Every note that differs lies in bars 2-3 of 3/4: ticks [1 bar, 3 bars).
    assert all(bar <= n[0] < 3 * bar for n in changed_in)
    assert [(n[0]) for n in notes_of(out, "Lead") if n[0] < bar] == [
        n[0] for n in notes_of(original, "Lead") if n[0] < bar
    ]
    assert out.time_signature_changes[0].numerator == 3


def test_long_song_is_generated_whole_and_tempo_map_survives(tmp_path, generator):
    tempos = ((0, 100.0), (40 * BAR44, 140.0), (120 * BAR44, 90.0))
    src = write_song(tmp_path / "long.mid", bars=150, tempos=tempos, drums=False)
    [result] = generator.generate(src, make=["drums"], keep=["lead", "bass"])
    out = miditoolkit.MidiFile(str(result.path))
    drums = [i for i in out.instruments if i.is_drum][0]
    last_bar = max(n.start for n in drums.notes) // BAR44
    assert result.bars == 150
    assert last_bar >= 140  # the made track reaches the end, not just the first window
    assert [(round(t.tempo), t.time) for t in out.tempo_changes] == [(100, 0), (140, 40 * BAR44), (90, 120 * BAR44)]


def test_variations_write_n_files(tmp_path):
    src = write_song(tmp_path / "song.mid")
    gen = Generator(Options(model="debug", steps=2, seed=3, variations=3))
    results = gen.generate(src, ["strings"], None, plan_outputs(src, None, None, 3, False))
    assert [r.path.name for r in results] == [f"song.getmusic-{i}.mid" for i in (1, 2, 3)]
    assert all(r.path.exists() for r in results)


def test_existing_output_is_not_overwritten(tmp_path):
    src = write_song(tmp_path / "song.mid")
    target = tmp_path / "song.getmusic.mid"
    target.write_bytes(b"precious")
    with pytest.raises(GetMusicError, match="exists") as caught:
        plan_outputs(src, None, None, 1, False)
    assert "--force" not in str(caught.value)  # the Python API has no flags; the CLI adds the hint
    assert "--force" in caught.value.cli_message()
    assert plan_outputs(src, None, None, 1, True) == [target]
    assert target.read_bytes() == b"precious"


@pytest.mark.parametrize("text", ["", "a-b", "3-1", "0-2", "1-2-3"])
def test_bad_bars(text):
    with pytest.raises(GetMusicError):
        parse_bars(text)


def test_parse_bars():
    assert parse_bars("1-4,9-12") == [(1, 4), (9, 12)]
    assert parse_bars("7") == [(7, 7)]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--make", "kazoo"], "kazoo"),
        (["--make", "bass", "--keep", "bass"], "both kept and made"),
        (["--make", "bass", "--keep", "guitar"], "no guitar"),
        (["--make", ""], "nothing to make"),
        (["--make", "drums", "--drum-repeat", "-1"], "--drum-repeat must be 0 or more"),
        (["--make", "drums", "--kit-anchor", "-1"], "--kit-anchor must be 0 or more"),
        (["--make", "drums", "--onset-anchor", "nan"], "--onset-anchor must be 0 or more"),
    ],
)
def test_cli_bad_requests_are_one_line(tmp_path, cli, args, message):
    src = write_song(tmp_path / "song.mid")
    res = cli("generate", src, "--model", "debug", "--steps", "1", *args)
    assert res.exit_code != 0
    assert message in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "song.getmusic.mid").exists()


def test_cli_infill_bars_outside_song(tmp_path, cli):
    src = write_song(tmp_path / "song.mid", bars=4)
    res = cli("infill", src, "--bars", "9-12", "--model", "debug", "--steps", "1")
    assert res.exit_code != 0 and "outside the song" in res.stderr
    assert not (tmp_path / "song.getmusic.mid").exists()


def test_cli_bad_file_among_several_goes_on(tmp_path, cli):
    good = write_song(tmp_path / "good.mid")
    bad = tmp_path / "bad.mid"
    bad.write_text("not a midi file")
    res = cli("generate", bad, good, "--make", "strings", "--model", "debug", "--steps", "1")
    assert res.exit_code == 1
    assert (tmp_path / "good.getmusic.mid").exists()
    assert not (tmp_path / "bad.getmusic.mid").exists()


def test_cli_example_writes_to_current_folder(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = cli("generate", "--example", "--keep", "lead", "--make", "bass,strings", "--model", "debug", "--steps", "2")
    assert res.exit_code == 0, res.stderr
    out = miditoolkit.MidiFile(str(tmp_path / "bach_bwv253.getmusic.mid"))
    # Bach's alto and tenor are both "strings": the new strings notes go back into both of them.
    assert [i.name for i in out.instruments] == ["lead", "strings", "strings", "bass"]
    assert all(i.notes for i in out.instruments)


def test_made_tracks_span_the_whole_song_when_kept_ones_end_early(tmp_path, generator):
    src = write_song(tmp_path / "song.mid", bars=8, drums=False)
    midi = miditoolkit.MidiFile(str(src))
    lead = [i for i in midi.instruments if i.name == "Lead"][0]
    lead.notes = [n for n in lead.notes if n.start < 2 * BAR44]  # the lead stops after bar 2
    midi.dump(str(src))
    [result] = generator.generate(src, make=["drums"], keep=["lead"])
    assert result.bars == 8
    out = miditoolkit.MidiFile(str(result.path))
    drums = [i for i in out.instruments if i.is_drum][0]
    assert max(n.start for n in drums.notes) >= 4 * BAR44


def band_song(path: Path, bars: int = 8) -> Path:
    """Lead, and three horn tracks of one class (strings) on channels 3-5 with volume and pan; a drum kit."""
    M = mido.Message
    midi = mido.MidiFile(type=1, ticks_per_beat=TPB)
    midi.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000, time=0)]))
    parts = [("Lead", 0, 80, 72), ("Alto Sax", 3, 65, 67), ("Tenor Sax", 4, 66, 58), ("Trombone", 5, 57, 46)]
    for name, channel, program, base in parts:
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
        track += [M("program_change", channel=channel, program=program, time=0)]
        track += [M("control_change", channel=channel, control=7, value=90 + channel, time=0)]
        for beat in range(4 * bars):
            pitch = base + (0, 2, 4, 5)[beat % 4]
            track += [M("note_on", channel=channel, note=pitch, velocity=80, time=0)]
            track += [M("pitchwheel", channel=channel, pitch=100 * channel, time=TPB // 2)]
            track += [M("note_off", channel=channel, note=pitch, velocity=0, time=TPB // 2)]
        midi.tracks.append(track)
    midi.save(str(path))
    return path


def test_infill_of_a_class_with_three_tracks_fills_all_three_and_keeps_their_events(tmp_path, generator):
    src = band_song(tmp_path / "band.mid")
    [result] = generator.infill(src, "3-6", ["strings"])
    original, out = mido.MidiFile(str(src)), mido.MidiFile(str(result.path))
    lo, hi = 2 * BAR44, 6 * BAR44

    def notes_in_region(track):
        tick, found = 0, []
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity and lo <= tick < hi:
                found.append(msg.note)
        return found

    def controls(track):
        return [(m.type, m.channel, bytes(m.bytes())) for m in track if m.type in ("control_change", "pitchwheel")]

    by_name = {t.name: t for t in out.tracks[1:]}
    assert list(by_name) == ["Lead", "Alto Sax", "Tenor Sax", "Trombone"]
    for name in ("Alto Sax", "Tenor Sax", "Trombone"):
        assert notes_in_region(by_name[name]), f"{name} fell silent in the infilled bars"
    for before in original.tracks[1:]:
        assert controls(by_name[before.name]) == controls(before)  # channel, volume and every bend kept
    assert sum(len(notes_in_region(by_name[n])) for n in ("Alto Sax", "Tenor Sax", "Trombone")) == result.notes_made


def test_made_tracks_take_free_channels_and_kept_ones_keep_theirs(tmp_path, generator):
    src = band_song(tmp_path / "band.mid", bars=4)
    [result] = generator.generate(src, make=["bass", "drums"])
    out = mido.MidiFile(str(result.path))
    channels = {t.name: {m.channel for m in t if hasattr(m, "channel")} for t in out.tracks[1:]}
    assert channels == {
        "Lead": {0},
        "Alto Sax": {3},
        "Tenor Sax": {4},
        "Trombone": {5},
        "bass (getmusic)": {1},
        "drums (getmusic)": {9},
    }
    assert result.warnings == []


def test_with_options_reuses_the_loaded_model(tmp_path, generator):
    other = generator.with_options(steps=2, seed=9, variations=2, force=True)
    assert other.denoiser is generator.denoiser and other.vocab is generator.vocab
    assert (other.steps, other.options.seed, other.options.variations) == (2, 9, 2)
    assert (generator.steps, generator.options.seed, generator.options.variations) == (4, 1, 1)  # untouched
    src = write_song(tmp_path / "song.mid")
    a = other.infill(src, "2-3", "bass", [tmp_path / "a1.mid", tmp_path / "a2.mid"])
    b = Generator(Options(model="debug", steps=2, seed=9, variations=2)).infill(
        src, "2-3", "bass", [tmp_path / "b1.mid", tmp_path / "b2.mid"]
    )
    assert [r.path.read_bytes() for r in a] == [r.path.read_bytes() for r in b]  # same music as a fresh generator
    with pytest.raises(GetMusicError, match="steps must be between"):
        generator.with_options(steps=10_000)
    with pytest.raises(GetMusicError, match="variations"):
        generator.with_options(variations=0)
    with pytest.raises(ValueError, match="model"):
        generator.with_options(model="default")
