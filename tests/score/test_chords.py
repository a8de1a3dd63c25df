"""Chord names and parsing, and per-bar chord recognition (HMM over key × chord, Viterbi)."""

import numpy as np
import pytest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score import chords as chordlib
from getmusic_cli.score.chords import CHORDS, KINDS, ROOTS, chord_name, parse_chords, recognize_chords
from getmusic_cli.score.song import Note, TimeSignature
from getmusic_cli.score.timeline import Timeline

TPB = 480
BAR = 4 * TPB
AM_F_G_C = [(57, 60, 64), (53, 57, 60), (55, 59, 62), (48, 52, 55)]


def block(bar: int, pitches, bar_ticks=BAR):
    return [Note(bar * bar_ticks, (bar + 1) * bar_ticks, p, 80) for p in pitches]


def names(chords):
    return [chord_name(c) for c in chords]


def test_vocabulary_of_chords():
    assert len(ROOTS) == 12 and KINDS == ("null", "m", "+", "dim", "seven", "maj7", "m7", "m7b5")
    assert len(CHORDS) == 96
    assert names([(9, "m"), (0, "null"), (7, "seven"), (6, "m7b5"), (0, "+"), (10, "maj7"), None]) == [
        "Am",
        "C",
        "G7",
        "F#m7b5",
        "C+",
        "Bbmaj7",
        "N.C.",
    ]


def test_parse_common_spellings():
    got = parse_chords("Am A:min C Cmaj7 G7 Bdim F#m7b5 Caug C+ N.C. Ebmaj7 Dbm A:hdim7 Gmin7 E- CM7 F° Bb")
    assert got == [
        (9, "m"),
        (9, "m"),
        (0, "null"),
        (0, "maj7"),
        (7, "seven"),
        (11, "dim"),
        (6, "m7b5"),
        (0, "+"),
        (0, "+"),
        None,
        (3, "maj7"),
        (1, "m"),
        (9, "m7b5"),
        (7, "m7"),
        (4, "m"),
        (0, "maj7"),
        (5, "dim"),
        (10, "null"),
    ]
    assert parse_chords("Am, F | C  G") == [(9, "m"), (5, "null"), (0, "null"), (7, "null")]
    assert parse_chords("") == []


def test_every_chord_name_parses_back():
    assert parse_chords(" ".join(chord_name(c) for c in CHORDS)) == CHORDS


@pytest.mark.parametrize("bad", ["Hm", "Csus4", "Am7add9", "x", "7", "C##"])
def test_nonsense_is_one_clear_error(bad):
    with pytest.raises(GetMusicError, match="unknown chord"):
        parse_chords(f"Am {bad} G")


def test_known_progression_with_lag_0_and_1():
    notes = [n for b, ch in enumerate(AM_F_G_C) for n in block(b, ch)]
    tl = Timeline(TPB)
    assert names(recognize_chords(notes, tl, 64, lag=0)) == ["Am", "F", "G", "C"]
    # The original's rows: bar b holds the harmony of bar b-1; bar 0 keeps its own chord.
    assert names(recognize_chords(notes, tl, 80, lag=1)) == ["Am", "Am", "F", "G", "C"]
    assert names(recognize_chords(notes, tl, 64, lag=1)) == ["Am", "Am", "F", "G"]


@pytest.mark.parametrize("shift", range(12))
def test_progression_in_every_key(shift):
    notes = [Note(n.start, n.end, n.pitch + shift, 80) for b, ch in enumerate(AM_F_G_C) for n in block(b, ch)]
    want = [((r + shift) % 12, k) for r, k in [(9, "m"), (5, "null"), (7, "null"), (0, "null")]]
    assert recognize_chords(notes, Timeline(TPB), 64) == want


def test_bars_follow_three_four_and_sevenths():
    bar = 3 * TPB
    notes = block(0, (55, 59, 62, 65), bar) + block(1, (48, 52, 55, 59), bar) + block(2, (59, 62, 65, 69), bar)
    tl = Timeline(TPB, [TimeSignature(0, 3, 4)])
    assert names(recognize_chords(notes, tl, 36)) == ["G7", "Cmaj7", "Bm7b5"]


def test_arpeggios_and_a_meter_change():
    # Bar 0 (4/4): C major broken chord; bars 1-2 (6/8, 12 columns): A minor then D minor broken chords.
    notes = [Note(i * TPB, (i + 1) * TPB, p, 80) for i, p in enumerate((48, 64, 67, 72))]
    start = 4 * TPB
    for root in ((57, 60, 64), (50, 53, 57)):
        for p in root:
            notes.append(Note(start, start + TPB, p, 80))
            start += TPB
    tl = Timeline(TPB, [TimeSignature(0, 4, 4), TimeSignature(4 * TPB, 6, 8)])
    assert tl.bar_starts(40) == [0, 16, 28]
    assert names(recognize_chords(notes, tl, 40)) == ["C", "Am", "Dm"]


def test_silence():
    tl = Timeline(TPB)
    assert recognize_chords([], tl, 32) == [None, None]
    # A silent bar between two C bars keeps the chord going rather than inventing one.
    notes = block(0, (48, 52, 55)) + block(2, (48, 52, 55))
    assert names(recognize_chords(notes, tl, 48)) == ["C", "C", "C"]


def test_transitions_are_a_distribution():
    log_fresh, log_same = chordlib._log_transitions()
    keys, chords = log_fresh.shape
    assert (keys, chords) == (12, 97)
    # From any (key, chord): staying in the key (same[k, c1, :]) plus moving to the 11 other keys sums to 1.
    stay = np.exp(log_same).sum(2)  # (key, c1)
    move = np.exp(log_fresh).sum(1)  # (key,) one destination key each
    total = stay + (move.sum() - move)[:, None]
    assert np.allclose(total, 1.0)
    # A chord stays with probability (1 - key change)(1 - chord change).
    assert np.allclose(np.exp(log_same[:, np.arange(97), np.arange(97)]), 0.999 * 0.5)


def brute_force_viterbi(emit):
    """Viterbi over the full (12·97)² matrix, for checking the factored one."""
    log_fresh, log_same = chordlib._log_transitions()
    k, n = log_fresh.shape
    full = np.empty((k, n, k, n))
    for k1 in range(k):
        for k2 in range(k):
            full[k1, :, k2, :] = log_same[k1] if k1 == k2 else log_fresh[k2][None, :]
    full = full.reshape(k * n, k * n)
    e = np.tile(emit, (1, k))
    score, back = e[0] - np.log(k * n), []
    for f in range(1, len(e)):
        cand = score[:, None] + full
        back.append(cand.argmax(0))
        score = cand.max(0) + e[f]
    path = [int(score.argmax())]
    for b in reversed(back):
        path.append(int(b[path[-1]]))
    return [s % n for s in reversed(path)]


def test_factored_viterbi_equals_the_full_matrix():
    rng = np.random.default_rng(7)
    for _ in range(6):
        frames = rng.random((int(rng.integers(1, 9)), 12)) ** 4
        frames[rng.random(len(frames)) < 0.2] = 0
        frames /= np.maximum(np.linalg.norm(frames, axis=1, keepdims=True), 1e-12)
        emit = chordlib.CONCENTRATION * frames @ chordlib._TEMPLATES.T
        assert chordlib.viterbi(emit) == brute_force_viterbi(emit)
