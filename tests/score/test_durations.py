"""The 16 duration buckets of reference §2.6."""

import pytest

from getmusic_cli.score.durations import DURATION_16THS, MAX_CODE, decode_duration, encode_duration


def test_table_is_the_reference_table():
    assert DURATION_16THS == (0, 1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 28, 36, 44, 52)
    assert MAX_CODE == 15


# (first length, last length, code) for every bucket, as the reference spells them out.
BUCKETS = [
    (0, 0, 0),
    (1, 1, 1),
    (2, 2, 2),
    (3, 3, 3),
    (4, 5, 4),
    (6, 7, 5),
    (8, 9, 6),
    (10, 11, 7),
    (12, 15, 8),
    (16, 19, 9),
    (20, 23, 10),
    (24, 27, 11),
    (28, 35, 12),
    (36, 43, 13),
    (44, 51, 14),
    (52, 52, 15),
]


@pytest.mark.parametrize("first, last, code", BUCKETS)
def test_every_length_lands_in_its_bucket(first, last, code):
    assert [encode_duration(n) for n in range(first, last + 1)] == [code] * (last - first + 1)


def test_long_and_degenerate_lengths():
    assert encode_duration(53) == encode_duration(10_000) == 15  # capped at 3¼ bars
    assert encode_duration(-3) == 0


def test_decode_gives_each_bucket_start_and_is_a_right_inverse():
    assert [decode_duration(c) for c in range(16)] == list(DURATION_16THS)
    assert all(encode_duration(decode_duration(c)) == c for c in range(16))
    # A decoded length never exceeds the encoded one, and stays within a quarter of it from 4 16ths on.
    for n in range(1, 53):
        d = decode_duration(encode_duration(n))
        assert d <= n and (n < 4 or (n - d) / n < 0.25)
