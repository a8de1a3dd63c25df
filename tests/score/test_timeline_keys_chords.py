import pytest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.chords import chord_name, parse_chords, recognize_chords
from getmusic_cli.score.durations import DURATION_16THS, decode_duration, encode_duration
from getmusic_cli.score.keys import detect_key
from getmusic_cli.score.song import Note, TimeSignature
from getmusic_cli.score.timeline import Timeline

TPB = 480


def test_duration_buckets():
    expect = {0: 0, 1: 1, 3: 3, 4: 4, 5: 4, 6: 5, 7: 5, 11: 7, 12: 8, 15: 8, 16: 9, 27: 11, 28: 12, 35: 12, 36: 13, 51: 14, 52: 15, 400: 15}
    assert {n: encode_duration(n) for n in expect} == expect
    assert all(encode_duration(decode_duration(c)) == c for c in range(16))
    assert len(DURATION_16THS) == 16


def test_bars_follow_time_signature_map():
    tl = Timeline(TPB, [TimeSignature(0, 3, 4), TimeSignature(6 * TPB, 4, 4), TimeSignature(14 * TPB, 6, 8)])
    assert tl.bar_starts(80) == [0, 12, 24, 40, 56, 68]
    assert tl.bar_range_to_columns(2, 3) == (12, 40)
    assert tl.tick_to_column(TPB // 4) == 1 and tl.column_to_tick(4) == TPB
    assert tl.end_column(13) == 24
    with pytest.raises(GetMusicError):
        tl.bar_range_to_columns(0, 2)


def scale(tonic: int, steps, tpb=TPB):
    return [Note(i * tpb, (i + 1) * tpb, 60 + tonic + s, 80) for i, s in enumerate(steps)]


@pytest.mark.parametrize(
    "notes, name, shift",
    [
        (scale(0, (0, 2, 4, 5, 7, 9, 11, 12, 0, 4, 7)), "C major", 0),
        (scale(4, (0, 2, 4, 5, 7, 9, 11, 0, 4, 7, 0)), "E major", -4),
        (scale(9, (0, 2, 3, 5, 7, 8, 10, 0, 3, 7, 0, 0)), "A minor", 0),
        (scale(5, (0, 2, 3, 5, 7, 8, 10, 0, 3, 7, 0, 0)), "F minor", 4),
    ],
)
def test_key_detection(notes, name, shift):
    key = detect_key(notes, TPB)
    assert key.name == name and key.shift == shift


def bar_chord(bar: int, pitches, bar_ticks=4 * TPB):
    return [Note(bar * bar_ticks, (bar + 1) * bar_ticks, p, 80) for p in pitches]


AM_F_G_C = [(57, 60, 64), (53, 57, 60), (55, 59, 62), (48, 52, 55)]


def test_known_progression_lag0_and_lag1():
    notes = [n for b, ch in enumerate(AM_F_G_C) for n in bar_chord(b, ch)]
    tl = Timeline(TPB, [])
    assert [chord_name(c) for c in recognize_chords(notes, tl, 64, lag=0)] == ["Am", "F", "G", "C"]
    # The original's rows: the chord at bar b is bar b-1's harmony; bar 0 keeps its own.
    assert [chord_name(c) for c in recognize_chords(notes, tl, 64, lag=1)] == ["Am", "Am", "F", "G"]


def test_chords_in_three_four_and_sevenths():
    bar = 3 * TPB
    notes = bar_chord(0, (55, 59, 62, 65), bar) + bar_chord(1, (48, 52, 55, 59), bar) + bar_chord(2, (59, 62, 65, 69), bar)
    tl = Timeline(TPB, [TimeSignature(0, 3, 4)])
    assert [chord_name(c) for c in recognize_chords(notes, tl, 36)] == ["G7", "Cmaj7", "Bm7b5"]


def test_silence_is_no_chord():
    tl = Timeline(TPB, [])
    assert recognize_chords([], tl, 32) == [None, None]


def test_parse_chords():
    assert [chord_name(c) for c in parse_chords("Am F, C | G7 Bdim Caug F#m7b5 N.C. Ebmaj7")] == [
        "Am", "F", "C", "G7", "Bdim", "C+", "F#m7b5", "N.C.", "Ebmaj7"]
    with pytest.raises(GetMusicError, match="Hm"):
        parse_chords("Am Hm")
