"""The committed real-music excerpts (tests/data/real/) read as the README there says they do."""

from __future__ import annotations

from pathlib import Path

import pytest

from getmusic_cli.score.midi_io import read_midi

REAL = Path(__file__).resolve().parents[1] / "data" / "real"

EXPECTED = {
    "freedoom_e1m7_16bars.mid": (96, ["lead", "bass", "drums", "guitar", "piano", "strings"], {"rev cym", "timmy"}),
    "freedoom_ddtbl2_16bars.mid": (480, ["bass", "drums", "guitar", "piano", "strings"], set()),
    "bach_bwv253.mid": (480, ["lead", "bass", "strings"], set()),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_fixture_classes_resolution_and_size(name):
    path = REAL / name
    assert path.stat().st_size < 20_000
    song = read_midi(path)
    tpb, classes, dropped = EXPECTED[name]
    assert song.ticks_per_beat == tpb
    assert song.classes() == classes
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
