"""Class ranges: parsing the --range option, and the pitch-token ids a range allows after the song's shift."""

from __future__ import annotations

from collections import Counter

import pytest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.ranges import (
    DEFAULT_RANGES,
    allowed_pitch_ids,
    class_ranges,
    parse_pitch,
    parse_range_option,
)
from getmusic_cli.score.tracks import pitch_row
from getmusic_cli.score.vocab import Vocabulary


@pytest.mark.parametrize(
    "text, pitch",
    [("E1", 28), ("C4", 60), ("c4", 60), ("F#2", 42), ("Bb3", 58), ("C-1", 0), ("G9", 127), ("48", 48), (" 0 ", 0)],
)
def test_parse_pitch(text, pitch):
    assert parse_pitch(text) == pitch


@pytest.mark.parametrize("text", ["H2", "E", "128", "G#9", "Cb-1", "low"])
def test_bad_pitch(text):
    with pytest.raises(GetMusicError):
        parse_pitch(text)


def test_parse_range_option():
    assert parse_range_option(["bass=E1-C3", "lead=60-84"]) == {"bass": (28, 48), "lead": (60, 84)}
    assert parse_range_option(["bass=E1-C3,drums=35-59"]) == {"bass": (28, 48), "drums": (35, 59)}
    assert parse_range_option(["Bass = C-1 - C0"]) == {"bass": (0, 12)}
    assert parse_range_option(["bass=0-127", "lead=C-1-9"]) == {"bass": (0, 127), "lead": (0, 9)}


@pytest.mark.parametrize(
    "item, words",
    [
        ("bass", "CLASS=LOW-HIGH"),
        ("bass=E1", "CLASS=LOW-HIGH"),
        ("kazoo=E1-C3", "kazoo"),
        ("bass=C3-E1", "above"),
        ("bass=E1-X3", "not a pitch"),
        ("bass=E1-200", "0-127"),
    ],
)
def test_bad_range_is_one_line(item, words):
    with pytest.raises(GetMusicError) as err:
        parse_range_option([item])
    assert words in str(err.value) and "\n" not in str(err.value)


def test_overrides_sit_on_defaults():
    ranges = class_ranges({"bass": (30, 40)})
    assert ranges["bass"] == (30, 40) and ranges["lead"] == DEFAULT_RANGES["lead"]


def test_allowed_ids_undo_the_song_shift():
    vocab = Vocabulary.basic()
    # A song in E major is encoded 4 semitones down: real E1 (28) is the token B24, real C3 (48) is B44.
    ids = allowed_pitch_ids(vocab, {"bass": (28, 48)}, pitch_shift=-4)
    assert set(ids) == {pitch_row("bass")}
    tokens = {vocab.token(i) for i in ids[pitch_row("bass")]}
    assert tokens == {"<pad>"} | {f"B{p}" for p in range(24, 45)}


def test_drums_are_never_shifted_and_composites_need_every_pitch_inside():
    vocab = Vocabulary.build({"bass": Counter({(40, 47): 5, (20, 40): 5}), "drums": Counter({(36, 38): 5})})
    ids = allowed_pitch_ids(vocab, {"bass": (28, 60), "drums": (35, 38)}, pitch_shift=5)
    bass = {vocab.token(i) for i in ids[pitch_row("bass")]}
    assert "B40 47" in bass and "B20 40" not in bass  # 20 - 5 = 15 is below E1
    drums = {vocab.token(i) for i in ids[pitch_row("drums")]}
    assert drums == {"<pad>", "D163", "D164", "D165", "D166", "D164 166"}  # keys 35-38 (+128), no shift


def test_a_range_the_model_cannot_play_is_an_error():
    vocab = Vocabulary.basic()
    with pytest.raises(GetMusicError, match="no bass pitch"):
        allowed_pitch_ids(vocab, {"bass": (0, 5)}, pitch_shift=-11)  # tokens would be -11..-6
