"""The musician's metrics and the rule accompanist on hand-made parts with known answers."""

from __future__ import annotations

import random

from getmusic_cli.eval import musician, rule
from getmusic_cli.eval.meter import BarGrid, meter_of
from getmusic_cli.score.keys import Key
from getmusic_cli.score.song import Note, TimeSignature
from getmusic_cli.score.timeline import Timeline

TPB = 480
COL = TPB // 4  # ticks per 16th


def _grid(bars: int = 8, sig=(4, 4)) -> BarGrid:
    sigs = [TimeSignature(0, *sig)]
    timeline = Timeline(TPB, sigs)
    return BarGrid(timeline, sigs, 0, timeline.bar_starts(10_000)[bars])


def _hit(bar: int, col: int, pitch: int, bar_cols: int = 16) -> Note:
    start = (bar * bar_cols + col) * COL
    return Note(start, start + COL, pitch, 100)


def rock_beat(bars: int) -> list[Note]:
    notes = []
    for b in range(bars):
        notes += [_hit(b, 0, 36), _hit(b, 8, 36), _hit(b, 4, 38), _hit(b, 12, 38)]
        notes += [_hit(b, c, 42) for c in range(0, 16, 2)]
    return notes


def test_a_perfect_rock_beat():
    grid, beat = _grid(), rock_beat(8)
    assert musician.backbeat(beat, grid) == 1.0
    assert musician.repetition(beat, grid) == 1.0
    assert musician.onset_positions(beat, grid)["sixteenth"] == 0  # nothing off the 8th grid
    assert musician.sixteenths(beat, grid) == 0.0
    funk = beat + [_hit(b, 7, 36) for b in range(8)]  # one kick on the "a" of 2 in every bar
    assert musician.sixteenths(funk, grid) == 8 / (8 * 9)
    assert musician.onset_tv(beat, beat, grid) == 0.0 and musician.kit_tv(beat, beat, grid) == 0.0


def test_random_hits_do_not_repeat_and_miss_the_backbeat():
    rng = random.Random(0)
    grid = _grid(16)
    hits = [_hit(b, rng.randrange(16), rng.choice([36, 38, 42, 51])) for b in range(16) for _ in range(6)]
    assert musician.repetition(hits, grid) < 0.15
    assert musician.backbeat(hits, grid) < 0.4
    # Random placement spreads onsets over all 16ths: far from a rock beat's beat / 8th-only distribution.
    assert musician.onset_tv(hits, rock_beat(16), grid) > 0.3


def test_meters_put_backbeats_where_musicians_do():
    assert meter_of(TimeSignature(0, 4, 4), 16).backbeats() == [4, 12]
    assert meter_of(TimeSignature(0, 4, 4), 16).downbeats() == [0, 8]
    assert meter_of(TimeSignature(0, 3, 4), 12).backbeats() == [4, 8]
    assert meter_of(TimeSignature(0, 6, 8), 12).backbeats() == [6]
    assert meter_of(TimeSignature(0, 12, 8), 24).backbeats() == [6, 18]


def test_register_key_density_and_chord_tones():
    grid = _grid(2)
    real = [Note(i * TPB, (i + 1) * TPB, 40, 90) for i in range(8)]  # E2 on every beat
    made = [Note(i * 2 * TPB, (i * 2 + 1) * TPB, p, 90) for i, p in enumerate((28, 26, 45, 46))]
    assert musician.density(made, real, grid) == 0.5
    assert musician.below_e1(made, grid) == 0.25
    assert musician.median_pitch(made, real, grid) == -3.5  # median of 26 28 45 46 is 36.5
    c_major = Key(0, False)
    assert musician.in_key(made, c_major, grid) == 0.75  # D, E, A are in C; Bb (46) is not
    a_minor = Key(9, True)
    assert 68 % 12 in musician.scale(a_minor)  # the leading tone G# counts in A minor
    chords = [(4, "m"), (9, "null")]  # Em, then A
    # Bar 1: 28 (E) and 26 (D) against Em -> 1 of 2; bar 2: 45 (A) and 46 (Bb) against A -> 1 of 2.
    assert musician.chord_tone(made, chords, grid) == 0.5


def test_rule_accompanist_plays_roots_on_beats_and_a_rock_beat():
    grid = _grid(2)
    chords = [(7, "null"), (9, "m")]  # G, Am
    notes = rule.accompany(["bass", "drums", "piano", "strings"], chords, grid)
    bass = notes["bass"]
    assert [n.pitch for n in bass] == [31] * 4 + [33] * 4  # G1, A1: roots in E1-D#2
    assert [n.start for n in bass] == [i * TPB for i in range(8)] and all(n.end - n.start == TPB for n in bass)
    drums = notes["drums"]
    assert musician.backbeat(drums, grid) == 1.0 and musician.repetition(drums, grid) == 1.0
    kicks = sorted(n.start // COL for n in drums if n.pitch == rule.KICK)
    assert kicks == [0, 8, 16, 24]
    assert sum(1 for n in drums if n.pitch == rule.CLOSED_HAT) == 16  # every 8th
    piano = notes["piano"]
    assert {n.pitch % 12 for n in piano if n.start < 16 * COL} == {7, 11, 2}
    assert all(60 <= n.pitch < 72 for n in piano) and len(piano) == 4 * 3 * 2
    strings = notes["strings"]
    assert all(n.end - n.start == 16 * COL for n in strings) and len(strings) == 6
    assert rule.accompany(["bass"], [None, None], grid)["bass"] == []  # no chord, no bass


def test_rule_drums_in_three_four():
    grid = _grid(2, sig=(3, 4))
    drums = rule.accompany(["drums"], [None, None], grid)["drums"]
    snares = sorted(n.start // COL for n in drums if n.pitch == rule.SNARE)
    assert snares == [4, 8, 16, 20] and musician.backbeat(drums, grid) == 1.0
