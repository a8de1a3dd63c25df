"""Tracker modules → GM tracks: instruments classed by how they sound and are played, rows read onto a beat grid.

libopenmpt itself is not needed here: the sounds are synthesised and the module is a stand-in with its cells.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

TRAINING = Path(__file__).resolve().parents[2] / "training"
sys.path.insert(0, str(TRAINING))

from corpus import trackers  # noqa: E402
from corpus.openmpt import NOTE_OFF, PlayedRow  # noqa: E402

RATE = trackers.RENDER_RATE
T = np.arange(RATE) / RATE  # one second, as render_note gives


def decay(seconds: float) -> np.ndarray:
    return np.exp(-T / (seconds / 2.3))  # down 20 dB after `seconds`


def noise(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(RATE)


def highpass(x: np.ndarray, hz: float) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(x.size, 1 / RATE) < hz] = 0
    return np.fft.irfft(spectrum, x.size)


def harmonic_tone(hz: float, harmonics: int = 6, fundamental: float = 1.0) -> np.ndarray:
    tone = fundamental * np.sin(2 * np.pi * hz * T)
    for h in range(2, harmonics + 1):
        tone += np.sin(2 * np.pi * hz * h * T) / h
    return tone * 0.3


KICK = np.sin(2 * np.pi * 55 * T) * decay(0.15)
CLOSED_HAT = highpass(noise(1), 6000) * decay(0.06)
CRASH = highpass(noise(2), 4000) * decay(0.9)
SNARE = (0.5 * np.sin(2 * np.pi * 190 * T) + highpass(noise(3), 2000)) * decay(0.15)
ORGAN = harmonic_tone(220.0)


@pytest.mark.parametrize(
    ("sound", "key"), [(KICK, 36), (CLOSED_HAT, 42), (CRASH, 49), (SNARE, 38), (ORGAN, None)], ids=str
)
def test_drum_key_by_sound(sound, key):
    assert trackers.drum_key(trackers.sound_features(sound)) == key


def test_silence_has_no_features():
    assert trackers.sound_features(np.zeros(RATE)) is None


def test_tuning_is_measured_in_semitones():
    # A sample that sounds A3 (220 Hz) when the module plays C-5 (nominal MIDI 60): 3 semitones down.
    assert trackers.tuning_candidates(harmonic_tone(220.0), 61)[0] == -3
    # The same with a weak fundamental: the octave below scores nearly as well and must not win.
    assert trackers.tuning_candidates(harmonic_tone(110.0, harmonics=8, fundamental=0.3), 61)[0] == -15


def test_rows_per_beat_puts_snares_on_two_and_four():
    # Rows written as 8ths (a backbeat every 4 rows) at 0.18 s a row: 2 rows a beat, 167 BPM.
    assert trackers.rows_per_beat(0.18, [2, 6, 10, 14, 18]) == 2
    # Rows as 16ths (snare every 8 rows, on rows 4 and 12 of each 16).
    assert trackers.rows_per_beat(0.11, [4, 12, 20, 28]) == 4
    # No snares: 4 a beat unless that is over 200 BPM (0.05 s rows: 300), then 8.
    assert trackers.rows_per_beat(0.11, []) == 4
    assert trackers.rows_per_beat(0.05, []) == 8


def heard(notes: dict[int, int], sound, tunings=()):
    return trackers.Heard(trackers.Usage(sum(notes.values()), Counter(notes)), sound, tuple(tunings))


def test_roles_by_sound_and_tuning_consensus():
    tone = trackers.sound_features(ORGAN * decay(0.5))
    roles, why = trackers.plan_roles(
        {
            1: heard({61: 40}, trackers.sound_features(KICK)),  # one note, a thump: kick
            2: heard({37: 10, 39: 10, 42: 10}, tone, [0, 12]),  # low line: bass (MIDI 36-41)
            3: heard({61: 10, 63: 10, 65: 10}, tone, [12, 0]),  # a voice an octave up
            4: heard({61: 10, 66: 10}, tone, [5, -7]),  # a tuning no other voice shares: out
            5: heard({61: 2}, tone, [0]),  # played twice: out
        }
    )
    assert roles[1] == trackers.Role(drum_key=36)
    assert roles[2].program == 33 and roles[2].offset == 0
    assert roles[3].offset == 12 and roles[3].program == 0
    assert 4 not in roles and "disagrees" in why[4]
    assert 5 not in roles


def test_a_voice_read_octaves_too_low_is_moved_into_range():
    tone = trackers.sound_features(ORGAN * decay(0.5))
    roles, _ = trackers.plan_roles({1: heard({61: 20, 63: 10}, tone, [-48])})
    assert roles[1].offset == -24  # read as MIDI 12; moved up by octaves until the median reaches E1 (28): 36


class FakeModule:
    """The cells of one 4-row pattern, two channels: what hits_of reads."""

    channels = 2
    cells = {
        (0, 0): (61, 1),  # C-5 on instrument 1
        (2, 0): (NOTE_OFF, 0),  # ... off two rows later
        (1, 1): (49, 2),  # C-4 on instrument 2
        (3, 1): (51, 0),  # D-4: the channel's instrument (2) goes on
    }

    def cell(self, pattern: int, row: int, channel: int) -> tuple[int, int]:
        return self.cells.get((row, channel), (0, 0))


def test_hits_end_at_the_next_note_or_off_in_their_channel():
    rows = [PlayedRow(0, 0, r, r * 0.1) for r in range(4)]
    hits = trackers.hits_of(FakeModule(), rows)
    assert hits == [
        trackers.Hit(1, 61, 0, 2),
        trackers.Hit(2, 49, 1, 3),
        trackers.Hit(2, 51, 3, 4),  # lasts to the end of the played rows
    ]


def test_a_module_mostly_unclassed_is_not_a_training_song():
    converted = trackers.Converted(120.0, {"drums": (0, True, []), "instrument 2": (33, False, [])}, [], 0, 0.4)
    assert "not told apart" in trackers.usable(converted)
    converted.left_out = 0.1
    assert trackers.usable(converted) is None
