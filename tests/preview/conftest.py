"""MIDI files written by the preview tests: a 4/4 song with named lead, bass and (optionally) drums tracks."""

from __future__ import annotations

from pathlib import Path

import miditoolkit
import pytest

TPB = 480
BAR = 4 * TPB


def write_band(
    path: Path, bars: int = 8, bass_offset: int = 0, drums: bool = True, drum_key: int | None = None, bpm: float = 120
) -> Path:
    """Lead (program 80) one note a beat, bass (33) two notes a bar (moved by ``bass_offset`` semitones), and
    drums on channel 10: kick and snare alternating with a hat on every beat (or ``drum_key`` only)."""
    midi = miditoolkit.MidiFile(ticks_per_beat=TPB)
    lead = miditoolkit.Instrument(program=80, name="Lead")
    bass = miditoolkit.Instrument(program=33, name="Bass")
    kit = miditoolkit.Instrument(program=0, is_drum=True, name="Drums")
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    for b in range(bars):
        for beat in range(4):
            t = b * BAR + beat * TPB
            lead.notes.append(miditoolkit.Note(100, scale[(b + beat) % 8] + 12, t, t + TPB // 2))
            keys = [drum_key] if drum_key is not None else [36 if beat % 2 == 0 else 38, 42]
            kit.notes += [miditoolkit.Note(90, k, t, t + TPB // 4) for k in keys]
        for half in (0, 1):
            t = b * BAR + half * BAR // 2
            bass.notes.append(miditoolkit.Note(90, 36 + (b % 4) * 2 + bass_offset, t, t + BAR // 2))
    midi.instruments = [lead, bass] + ([kit] if drums else [])
    midi.tempo_changes = [miditoolkit.TempoChange(bpm, 0)]
    midi.time_signature_changes = [miditoolkit.TimeSignature(4, 4, 0)]
    midi.dump(str(path))
    return path


@pytest.fixture
def make_band():
    """``make_band(path, **options)``: write_band as a fixture (test modules here cannot import conftest)."""
    return write_band
