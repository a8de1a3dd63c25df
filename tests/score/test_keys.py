"""Key detection (±1 major / natural-minor profiles, duration code × velocity//4 weights) and the shift."""

import pytest

from getmusic_cli.score.keys import Key, detect_key
from getmusic_cli.score.song import Note

TPB = 480
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)


def line(pitches, beats=1, velocity=80, tpb=TPB):
    return [Note(i * beats * tpb, (i + 1) * beats * tpb, p, velocity) for i, p in enumerate(pitches)]


def tune(tonic: int, steps, base=60):
    """A scale, then the tonic triad and the tonic again: the tonic sounds most."""
    third, fifth = steps[2], steps[4]
    return line([base + tonic + s for s in steps] + [base + tonic + s for s in (0, third, fifth, 0, 0)])


@pytest.mark.parametrize(
    "notes, name, shift",
    [
        (tune(0, MAJOR), "C major", 0),
        (tune(9, MINOR, base=48), "A minor", 0),
        (tune(4, MAJOR), "E major", -4),
        (tune(5, MINOR), "F minor", 4),
        (tune(7, MAJOR), "G major", -7),
        (tune(2, MINOR), "D minor", 7),
        (tune(11, MINOR), "B minor", -2),
    ],
)
def test_known_keys(notes, name, shift):
    key = detect_key(notes, TPB)
    assert (key.name, key.shift) == (name, shift)


@pytest.mark.parametrize("tonic", range(12))
@pytest.mark.parametrize("minor", [False, True])
def test_every_key_moves_to_c_major_or_a_minor(tonic, minor):
    key = detect_key(tune(tonic, MINOR if minor else MAJOR), TPB)
    assert key == Key(tonic, minor)
    assert -11 <= key.shift <= 9
    assert (tonic + key.shift) % 12 == (9 if minor else 0)
    assert -11 <= key.shift <= 0 if not minor else -2 <= key.shift <= 9


def test_relative_keys_tie_and_the_tonic_weight_decides():
    c_major_scale = line([60, 62, 64, 65, 67, 69, 71])
    assert detect_key(c_major_scale, TPB) == Key(0, False)  # equal weights: the major wins
    # One more A than C: the same pitch classes, now A minor (strictly more weight on A than on C).
    assert detect_key(c_major_scale + line([69], beats=1), TPB) == Key(9, True)


def test_weights_are_duration_code_times_velocity_over_four():
    # G major vs C major differ by F# vs F. A long F# outweighs short Fs; quiet notes (velocity < 4) weigh nothing.
    base = line([60, 62, 64, 67, 69, 71, 67, 67])
    long_fsharp = [Note(0, 4 * TPB, 66, 80)]  # code 9
    short_fs = [Note(i * 120, i * 120 + 120, 65, 80) for i in range(6)]  # code 1 each
    assert detect_key(base + long_fsharp + short_fs, TPB).name == "G major"
    silent_fs = [Note(0, 4 * TPB, 65, 3) for _ in range(5)]
    assert detect_key(base + [Note(0, TPB, 66, 80)] + silent_fs, TPB).name == "G major"


def test_durations_are_measured_at_the_songs_resolution():
    # The same music written at 96 ticks per beat gives the same key when told its resolution.
    notes = [Note(n.start // 5, n.end // 5, n.pitch, n.velocity) for n in tune(5, MINOR)]
    assert detect_key(notes, 96).name == "F minor"


def test_wider_ties_pick_the_tonic_that_sounds_most():
    # C, E, G fit C, F and G major (and their relative minors) equally well: C sounds most.
    assert detect_key(line([60, 64, 67, 72]), TPB) == Key(0, False)
    # G, B, D, E fit C and G major (and A / E minor): G sounds most. (The original would shift by 14 here.)
    assert detect_key(line([67, 71, 74, 76, 67, 79]), TPB) == Key(7, False)


def test_nothing_to_weigh_is_c_major():
    assert detect_key([], TPB) == Key(0, False)
    assert detect_key([Note(0, TPB, 62, 2)], TPB) == Key(0, False)
