"""Overlapped-area and chord-accuracy metrics on hand-made note lists."""

from __future__ import annotations

import pytest

from getmusic_cli.eval import metrics
from getmusic_cli.score.song import Note

TPB = 480


def notes(pitches, step=TPB, length=TPB):
    return [Note(i * step, i * step + length, p) for i, p in enumerate(pitches)]


def test_identical_tracks_overlap_fully():
    a = notes([60, 62, 64, 65, 67])
    sim = metrics.track_similarity(a, list(a), TPB)
    assert sim == {"pitch": pytest.approx(1.0), "duration": pytest.approx(1.0), "ioi": pytest.approx(1.0)}


def test_disjoint_pitches_and_rhythm_overlap_nothing():
    a = notes([60, 62, 64], step=TPB, length=TPB)
    b = notes([70, 72, 74], step=TPB // 2, length=TPB // 2)
    sim = metrics.track_similarity(a, b, TPB)
    assert sim == {"pitch": 0.0, "duration": 0.0, "ioi": 0.0}


def test_partial_overlap_is_the_shared_mass():
    # pitch: a = {60: 1/2, 62: 1/2}, b = {60: 1/4, 64: 3/4} -> min mass 1/4
    a = notes([60, 62])
    b = notes([60, 64, 64, 64])
    assert metrics.track_similarity(a, b, TPB)["pitch"] == pytest.approx(0.25)
    assert metrics.overlapped_area(metrics.pitch_histogram([]), metrics.pitch_histogram(a)) is None


def test_ioi_counts_chords_as_one_onset():
    chord = [Note(0, TPB, 60), Note(0, TPB, 64), Note(TPB, 2 * TPB, 60), Note(TPB, 2 * TPB, 64)]
    hist = metrics.ioi_histogram(chord, TPB)
    assert hist.sum() == 1 and hist[4] == 1  # one quarter-note interval


def test_chord_accuracy_ignores_bars_without_a_real_chord():
    real = [(0, "null"), (9, "m"), None, (7, "null")]
    gen = [(0, "null"), (5, "null"), (2, "m"), (7, "null")]
    assert metrics.chord_accuracy(gen, real) == pytest.approx(2 / 3)
    assert metrics.chord_accuracy(gen, [None] * 4) is None
    assert metrics.mean([None, 0.5, 1.0]) == pytest.approx(0.75)
