"""Generated notes of a class with several input tracks go back to the track whose register and activity fit."""

from __future__ import annotations

import pytest

from getmusic_cli.score.assign import CONTEXT_BEATS, split_notes
from getmusic_cli.score.song import Note

TPB = 480


def line(pitches: list[int], start_beat: int = 0) -> list[Note]:
    return [Note((start_beat + i) * TPB, (start_beat + i + 1) * TPB, p, 90) for i, p in enumerate(pitches)]


def test_each_note_goes_to_the_track_whose_register_it_is_in():
    alto, tenor, trombone = line([70, 72, 74, 72] * 4), line([60, 62, 64, 62] * 4), line([48, 50, 47, 45] * 4)
    new = line([73, 61, 46, 75, 63, 50], start_beat=4)
    got = split_notes(new, [alto, tenor, trombone], TPB)
    assert [[n.pitch for n in share] for share in got] == [[73, 75], [61, 63], [46, 50]]


def test_between_ranges_the_nearer_range_wins_then_the_nearer_mean():
    high, low = line([72, 76] * 4), line([48, 52] * 4)
    got = split_notes(line([70, 55, 61, 62], start_beat=2), [high, low], TPB)
    # 61 is 9 above the low range, 11 below the high one; 62 is 10 from both and 12 from both means: first track.
    assert [[n.pitch for n in share] for share in got] == [[70, 62], [55, 61]]


def test_a_track_silent_around_the_note_does_not_get_it():
    far = CONTEXT_BEATS + 4
    early_high = line([84] * 4)  # plays only at the start
    late_low = line([40] * 4, start_beat=far)
    got = split_notes(line([86], start_beat=far + 1), [early_high, late_low], TPB)
    assert [len(share) for share in got] == [0, 1]  # the only track active around it, although far in register


def test_when_no_track_plays_nearby_the_whole_song_decides():
    got = split_notes(line([83], start_beat=100), [line([84] * 4), line([40] * 4)], TPB)
    assert [len(share) for share in got] == [1, 0]


def test_one_track_takes_everything_and_none_is_an_error():
    new = line([60, 30, 90])
    assert split_notes(new, [line([60])], TPB) == [new]
    with pytest.raises(ValueError):
        split_notes(new, [], TPB)
