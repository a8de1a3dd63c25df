"""Chords heard in a melody alone (the chord rows when only a lead is kept)."""

import numpy as np
import pytest

from getmusic_cli.score import melody_chords
from getmusic_cli.score.chords import KINDS, chord_name, recognize_chords
from getmusic_cli.score.conditioning import heard_chords
from getmusic_cli.score.melody_chords import recognize_melody_chords
from getmusic_cli.score.song import Note, Song
from getmusic_cli.score.timeline import Timeline

TPB = 480
# C | Am | F | G | C with a passing 8th pair in each bar: the chord tones on the beats.
TUNE = [
    [(60, 1), (62, 0.5), (64, 0.5), (67, 1), (64, 1)],
    [(69, 1), (71, 0.5), (72, 0.5), (76, 1), (72, 1)],
    [(65, 1), (67, 0.5), (69, 0.5), (72, 1), (69, 1)],
    [(67, 1), (69, 0.5), (71, 0.5), (74, 1), (71, 1)],
    [(72, 2), (67, 1), (64, 1)],
]
# Ode to Joy's first phrase: stepwise, where the two recognisers hear different chords.
ODE = [
    [(64, 1), (64, 1), (65, 1), (67, 1)],
    [(67, 1), (65, 1), (64, 1), (62, 1)],
    [(60, 1), (60, 1), (62, 1), (64, 1)],
    [(64, 1.5), (62, 0.5), (62, 2)],
]


def melody(bars, shift: int = 0) -> list[Note]:
    notes, t = [], 0
    for bar in bars:
        for pitch, quarters in bar:
            length = int(quarters * TPB)
            notes.append(Note(t, t + length, pitch + shift, 80))
            t += length
    return notes


def hear(notes, lag: int = 0):
    timeline = Timeline(TPB, [])
    columns = timeline.tick_to_column(max(n.end for n in notes))
    return [chord_name(c) for c in recognize_melody_chords(notes, timeline, columns, lag=lag)]


def test_tables_are_distributions_over_every_kind():
    assert set(melody_chords.INTERVAL_SHARE) == set(KINDS) == set(melody_chords.KIND_SHARE)
    for shares in melody_chords.INTERVAL_SHARE.values():
        assert len(shares) == 12 and sum(shares) == pytest.approx(1.0, abs=0.005)
    assert sum(melody_chords.KIND_SHARE.values()) == pytest.approx(1.0, abs=1e-3)


def test_a_tune_with_passing_notes_gets_its_progression_in_any_key():
    assert hear(melody(TUNE)) == ["C", "Am", "F", "G", "C"]
    assert hear(melody(TUNE, shift=2)) == ["D", "Bm", "G", "A", "D"]  # the roots move with the tune
    assert hear(melody(TUNE), lag=1) == ["C", "C", "Am", "F", "G"]  # the original's one-bar-late rows


def test_silence_gives_no_chords_and_silent_bars_follow_their_neighbours():
    timeline = Timeline(TPB, [])
    assert recognize_melody_chords([], timeline, 64) == [None] * 4
    gap = [n for n in melody(TUNE) if not 4 * TPB <= n.start < 8 * TPB]  # bar 2 silent
    assert hear(gap)[0] == "C" and hear(gap)[1] is not None


def test_a_lead_kept_alone_is_heard_as_a_melody_and_a_texture_by_the_template():
    lead = melody(ODE)
    bass = [Note(b * 4 * TPB, (b + 1) * 4 * TPB, root, 80) for b, root in enumerate((36, 43, 36, 43))]
    timeline = Timeline(TPB, [])
    columns = 4 * 16
    assert recognize_melody_chords(lead, timeline, columns) != recognize_chords(lead, timeline, columns)

    def song(**notes):
        return Song(ticks_per_beat=TPB, tempos=[], time_signatures=[], sources=[], notes=notes, name="t")

    assert heard_chords(song(lead=lead), timeline, columns) == recognize_melody_chords(lead, timeline, columns)
    with_bass = heard_chords(song(lead=lead, bass=bass), timeline, columns)
    assert with_bass == recognize_chords(lead + bass, timeline, columns)
    drums = [Note(0, 60, 36, 90)]
    assert heard_chords(song(drums=drums), timeline, columns) is None
    # Drums kept next to the lead do not change how it is heard.
    assert heard_chords(song(lead=lead, drums=drums), timeline, columns) == recognize_melody_chords(
        lead, timeline, columns
    )


def test_emissions_favour_the_chord_whose_tones_the_bar_dwells_on():
    shares = np.zeros((1, 12))
    shares[0, [7, 11, 2]] = (0.5, 0.25, 0.25)  # G, B, D
    scores = melody_chords.emissions(shares)[0]
    best = int(np.argmax(scores[1:]))
    assert chord_name(melody_chords.chordlib.CHORDS[best]) == "G"
    assert scores[0] < scores[1:].max()  # a bar with notes rarely has no chord
    assert not melody_chords.emissions(np.zeros((1, 12))).any()  # a silent bar scores every chord alike


def test_inspect_shows_the_chords_generate_hears_in_a_lone_lead(tmp_path):
    from getmusic_cli.inspect import analyse
    from getmusic_cli.score.midi_io import OutTrack, write_midi
    from getmusic_cli.score.song import TempoChange, TimeSignature

    lead = melody(ODE)
    path = write_midi(
        tmp_path / "ode.mid",
        ticks_per_beat=TPB,
        tempos=[TempoChange(0, 120.0)],
        time_signatures=[TimeSignature(0, 4, 4)],
        tracks=[OutTrack("Melody", 73, False, lead)],
    )
    timeline = Timeline(TPB, [])
    assert analyse(path).chords == recognize_melody_chords(lead, timeline, 4 * 16)
