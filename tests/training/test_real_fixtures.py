"""The committed real-music excerpts (tests/data/real/) read as the README there says they do."""

from __future__ import annotations

from pathlib import Path

import pytest

from getmusic_cli.score.midi_io import read_midi

REAL = Path(__file__).resolve().parents[1] / "data" / "real"

# name: (ticks per beat, tracks as (name, GM program or "drums"), classes the mapping must find at least,
# tracks the mapping must drop). The exact lead choice is the track mapping's business (tests/score/).
EXPECTED = {
    "freedoom_e1m7_16bars.mid": (
        96,
        [
            ("fretless b", 35),
            ("piano", 0),
            ("rev cym", 119),
            ("timmy", 47),
            ("sawtooth", 81),
            ("pizz off kid", 45),
            ("stgz", 50),
            ("dist", 30),
            ("harmonix", 31),
            ("drums", "drums"),
        ],
        {"lead", "bass", "drums", "guitar", "piano", "strings"},
        {"rev cym", "timmy"},
    ),
    "freedoom_ddtbl2_16bars.mid": (
        480,
        [
            ("Drums", "drums"),
            ("Bass", 34),
            ("Rhythm Guitar", 30),
            ("Lead Guitar", 29),
            ("Piano", 0),
            ("Synth Strings", 50),
            ("Pad 1", 89),
            ("Pad 2", 93),
        ],
        {"bass", "drums", "guitar", "piano", "strings"},
        set(),
    ),
    "bach_bwv253.mid": (
        480,
        [("lead", 85), ("strings", 52), ("strings", 52), ("bass", 32)],
        {"lead", "bass", "strings"},
        set(),
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_fixture_tracks_classes_and_size(name):
    path = REAL / name
    assert path.stat().st_size < 20_000
    song = read_midi(path)
    tpb, tracks, classes, dropped = EXPECTED[name]
    assert song.ticks_per_beat == tpb
    assert [(s.name, "drums" if s.is_drum else s.program) for s in song.sources] == tracks
    assert all(s.notes for s in song.sources)
    assert classes <= set(song.classes())
    assert {s.name for s in song.sources if s.instrument is None} == dropped
    assert [(t.numerator, t.denominator) for t in song.time_signatures] == [(4, 4)]


def test_freedoom_excerpts_span_16_bars_and_carry_the_licence():
    for name in ("freedoom_e1m7_16bars.mid", "freedoom_ddtbl2_16bars.mid"):
        song = read_midi(REAL / name)
        bar = 4 * song.ticks_per_beat
        starts = [n.start for notes in song.notes.values() for n in notes]
        assert min(starts) < bar and 15 * bar <= max(starts) < 16 * bar
        assert song.end_tick <= 16 * bar
    licence = (REAL / "LICENSE-freedoom.txt").read_text()
    assert "Redistribution and use in source and binary forms" in licence


def test_chorale_is_four_voices_with_soprano_as_lead():
    song = read_midi(REAL / "bach_bwv253.mid")
    assert [s.name for s in song.sources] == ["lead", "strings", "strings", "bass"]
    mean = {c: sum(n.pitch for n in song.notes[c]) / len(song.notes[c]) for c in song.classes()}
    assert mean["lead"] > mean["strings"] > mean["bass"]
    # the one-beat pickup is padded: the first note sounds on the last beat of bar 1
    assert min(n.start for n in song.notes["lead"]) == 3 * song.ticks_per_beat
