"""Ticks ↔ 16th columns (Python round) and bars from the time-signature map."""

import pytest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.song import TimeSignature
from getmusic_cli.score.timeline import Timeline

TPB = 480


def test_tick_to_column_rounds_halves_to_even():
    tl = Timeline(TPB)
    # 60 ticks = half a 16th: 0.5 → 0, 1.5 → 2, 2.5 → 2, 3.5 → 4 (Python round, as the original).
    assert [tl.tick_to_column(t) for t in (0, 59, 60, 61, 180, 300, 420, 480)] == [0, 0, 0, 1, 2, 2, 4, 4]
    assert [tl.column_to_tick(c) for c in (0, 1, 4, 17)] == [0, 120, 480, 2040]


@pytest.mark.parametrize("tpb", [24, 96, 120, 384, 480, 960])
def test_columns_round_trip_at_any_resolution(tpb):
    tl = Timeline(tpb)
    assert all(tl.tick_to_column(tl.column_to_tick(c)) == c for c in range(200))


@pytest.mark.parametrize(
    "num, den, columns",
    [(4, 4, 16), (3, 4, 12), (6, 8, 12), (2, 4, 8), (5, 4, 20), (7, 8, 14), (2, 2, 16), (12, 8, 24)],
)
def test_bar_length_follows_the_signature(num, den, columns):
    tl = Timeline(TPB, [TimeSignature(0, num, den)])
    assert tl.bar_starts(columns * 3) == [0, columns, 2 * columns]
    assert tl.n_bars(columns * 3 + 1) == 4


def test_default_is_four_four_until_the_first_signature():
    assert Timeline(TPB).bar_starts(64) == [0, 16, 32, 48]
    tl = Timeline(TPB, [TimeSignature(8 * TPB, 3, 4)])  # 3/4 from bar 3 on
    assert tl.bar_starts(60) == [0, 16, 32, 44, 56]


def test_signature_map_and_a_change_mid_bar_starts_a_new_bar():
    tl = Timeline(TPB, [TimeSignature(0, 3, 4), TimeSignature(6 * TPB, 4, 4), TimeSignature(14 * TPB, 6, 8)])
    assert tl.bar_starts(80) == [0, 12, 24, 40, 56, 68]
    # 4/4, then 3/4 arriving after two beats: the first bar is cut at the change.
    tl = Timeline(TPB, [TimeSignature(0, 4, 4), TimeSignature(2 * TPB, 3, 4)])
    assert tl.bar_starts(40) == [0, 8, 20, 32]


def test_unsorted_and_duplicate_signatures():
    # The later of two entries at one tick wins; input order does not matter.
    tl = Timeline(TPB, [TimeSignature(4 * TPB, 3, 4), TimeSignature(0, 4, 4), TimeSignature(4 * TPB, 6, 8)])
    assert tl.bar_starts(40) == [0, 16, 28]


def test_bar_lookup_and_song_end():
    tl = Timeline(TPB, [TimeSignature(0, 3, 4)])
    assert [tl.bar_of_column(c) for c in (0, 11, 12, 23, 24, 100)] == [0, 0, 1, 1, 2, 8]
    assert tl.end_column(0) == 12 and tl.end_column(11) == 12 and tl.end_column(12) == 24


def test_bar_ranges_are_one_based_and_inclusive():
    tl = Timeline(TPB, [TimeSignature(0, 3, 4), TimeSignature(6 * TPB, 4, 4)])
    assert tl.bar_range_to_columns(1, 1) == (0, 12)
    assert tl.bar_range_to_columns(2, 3) == (12, 40)
    assert tl.bar_range_to_columns(3, 5, n_columns=72) == (24, 72)
    for first, last in ((0, 2), (3, 2), (-1, 1)):
        with pytest.raises(GetMusicError):
            tl.bar_range_to_columns(first, last)
    with pytest.raises(GetMusicError, match="5 bars"):
        tl.bar_range_to_columns(4, 6, n_columns=72)


def test_bad_resolution_or_meter_is_a_clear_error():
    with pytest.raises(GetMusicError):
        Timeline(0)
    with pytest.raises(GetMusicError):
        Timeline(TPB, [TimeSignature(0, 0, 4)])
