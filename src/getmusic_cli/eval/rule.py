"""The rule accompanist: what a skeptical musician would write in twenty lines, the floor a model must clear.

It hears what the model is given (the kept tracks, and the chord per bar recognised from them) and plays:

* bass: the chord's root on every beat, in the octave E1-D#2 (MIDI 28-39);
* drums: kick on the downbeats (1 and 3 in 4/4), snare on the backbeats (2 and 4), closed hi-hat on every 8th
  (other meters: see ``eval.meter``);
* guitar and piano: the chord tones on every beat in the middle register (guitar from E3, piano from C4);
* strings: the chord tones held through the bar (from G3).

Bars without a chord are rests for the pitched classes. It makes no lead.
"""

from __future__ import annotations

from getmusic_cli.eval.meter import BarGrid
from getmusic_cli.score.chords import KIND_PITCHES, Chord
from getmusic_cli.score.song import Note
from getmusic_cli.score.tracks import DEFAULT_VELOCITY

BASS_LOWEST = 28  # E1
KICK, SNARE, CLOSED_HAT = 36, 38, 42
CHORD_FLOOR = {"guitar": 52, "piano": 60, "strings": 55}  # lowest pitch of the chord-tone octave per class


def _note(timeline, column: int, columns: int, pitch: int, cls: str) -> Note:
    start = timeline.column_to_tick(column)
    return Note(start, timeline.column_to_tick(column + columns), pitch, DEFAULT_VELOCITY[cls])


def _in_octave(pitch_class: int, floor: int) -> int:
    return floor + (pitch_class - floor) % 12


def accompany(classes: list[str], chords: list[Chord], grid: BarGrid) -> dict[str, list[Note]]:
    """Notes per class for the bars of ``grid``; ``chords`` holds the chord of every bar of the song."""
    timeline = grid.timeline
    out: dict[str, list[Note]] = {c: [] for c in classes}
    for start, meter in zip(grid.starts, grid.meters):
        bar = timeline.bar_of_column(start)
        chord = chords[bar] if bar < len(chords) else None
        beats = meter.beat_columns()
        for cls in classes:
            notes = out[cls]
            if cls == "drums":
                notes += [_note(timeline, start + c, 1, KICK, cls) for c in meter.downbeats()]
                notes += [_note(timeline, start + c, 1, SNARE, cls) for c in meter.backbeats()]
                notes += [_note(timeline, start + c, 1, CLOSED_HAT, cls) for c in range(0, meter.columns, 2)]
                continue
            if chord is None or cls == "lead":
                continue
            root, kind = chord
            if cls == "bass":
                pitch = _in_octave(root, BASS_LOWEST)
                notes += [_note(timeline, start + c, meter.beat, pitch, cls) for c in beats]
                continue
            tones = sorted(_in_octave((root + step) % 12, CHORD_FLOOR[cls]) for step in KIND_PITCHES[kind])
            if cls == "strings":
                notes += [_note(timeline, start, meter.columns, p, cls) for p in tones]
            else:
                notes += [_note(timeline, start + c, meter.beat, p, cls) for c in beats for p in tones]
    return {c: sorted(n, key=lambda n: (n.start, n.pitch)) for c, n in out.items()}
