"""The class-range guard end to end: the tiny random `debug` model draws pitches uniformly over its whole
vocabulary, so only the guard keeps made notes inside a range. The song is in E major (encoded 4 semitones down),
so the song's shift must be undone when the allowed tokens are chosen."""

from __future__ import annotations

from pathlib import Path

import miditoolkit

from getmusic_cli.pipeline import Generator, Options

TPB = 480


def write_e_major_song(path: Path, bars: int = 4, bass: bool = True) -> Path:
    midi = miditoolkit.MidiFile(ticks_per_beat=TPB)
    lead = miditoolkit.Instrument(program=80, name="Lead")
    bass_track = miditoolkit.Instrument(program=33, name="Bass")
    scale = [64, 66, 68, 69, 71, 73, 75, 76]  # E major
    for b in range(bars):
        for beat in range(4):
            t = (4 * b + beat) * TPB
            lead.notes.append(miditoolkit.Note(100, scale[(b + beat) % 8], t, t + TPB))
        bass_track.notes.append(miditoolkit.Note(80, 40, 4 * b * TPB, (4 * b + 2) * TPB))
    midi.instruments = [lead, bass_track] if bass else [lead]
    midi.time_signature_changes = [miditoolkit.TimeSignature(4, 4, 0)]
    midi.dump(str(path))
    return path


def outs(folder: Path, tag: str, n: int) -> list[Path]:
    return [folder / f"{tag}-{v}.mid" for v in range(n)]


def made_bass(path: Path) -> list[int]:
    midi = miditoolkit.MidiFile(str(path))
    return [n.pitch for i in midi.instruments if i.name == "bass (getmusic)" for n in i.notes]


def test_bass_range_guard_holds_over_many_seeds(tmp_path):
    src = write_e_major_song(tmp_path / "song.mid", bass=False)  # made bass then gets a track of its own
    pitches = []
    for seed in range(6):
        gen = Generator(Options(model="debug", steps=3, seed=seed, variations=4, ranges={"bass": (28, 48)}))
        for result in gen.generate(src, make=["bass"], keep=["lead"], outputs=outs(tmp_path, f"s{seed}", 4)):
            pitches += made_bass(result.path)
    assert len(pitches) > 50  # enough notes for the check to mean something
    assert min(pitches) >= 28 and max(pitches) <= 48
    assert {28, 48} & set(pitches) or len(set(pitches)) > 10  # the whole range is in use, not one note


def test_without_a_tight_range_the_debug_model_leaves_it(tmp_path):
    """The check above can fail: unguarded (all 128 pitches allowed) the random model goes far outside E1-C3."""
    src = write_e_major_song(tmp_path / "song.mid", bass=False)
    gen = Generator(Options(model="debug", steps=3, seed=0, variations=4, ranges={"bass": (0, 127)}))
    pitches = [p for r in gen.generate(src, ["bass"], ["lead"], outs(tmp_path, "w", 4)) for p in made_bass(r.path)]
    assert any(not 28 <= p <= 48 for p in pitches)


def test_infill_respects_a_range_and_drums_stay_on_kit_keys(tmp_path):
    src = write_e_major_song(tmp_path / "song.mid")
    gen = Generator(Options(model="debug", steps=3, seed=3, variations=3, ranges={"bass": (30, 38)}))
    for result in gen.infill(src, "2-3", ["bass"], outs(tmp_path, "i", 3)):
        midi = miditoolkit.MidiFile(str(result.path))
        bars_2_3 = [
            n.pitch for i in midi.instruments if i.name == "Bass" for n in i.notes if 4 * TPB <= n.start < 12 * TPB
        ]
        assert bars_2_3 and all(30 <= p <= 38 for p in bars_2_3)  # the original's E2 (40) there is replaced
    for result in gen.generate(src, ["drums"], ["lead", "bass"], outs(tmp_path, "d", 3)):
        midi = miditoolkit.MidiFile(str(result.path))
        keys = [n.pitch for i in midi.instruments if i.is_drum for n in i.notes]
        assert keys and all(35 <= k <= 81 for k in keys)


def test_cli_bad_range_is_one_line(tmp_path, cli):
    src = write_e_major_song(tmp_path / "song.mid")
    for command in (["generate", src, "--make", "bass"], ["infill", src, "--bars", "1-2"]):
        res = cli(*command, "--model", "debug", "--steps", "1", "--range", "bass=E1-Q3")
        assert res.exit_code != 0
        assert "--range 'bass=E1-Q3'" in res.stderr and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
