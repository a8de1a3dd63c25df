"""Cut the small real-music fixtures in this folder out of a corpus built by training/build_corpus.py.

    python training/build_corpus.py corpus/          # once (cached)
    python tests/data/real/make_real_fixtures.py corpus/

Each Freedoom excerpt is the 16-bar window (starting on a multiple of 4 bars) where the most instrument classes
play, ties broken by the number of notes; tracks keep their names, programs and drum flags; tracks with no note
in the window are left out; notes that start in the window are kept (ends clipped to the window), others dropped;
the tempo in force at the window start moves to tick 0; control changes and pitch bends are not copied. The Bach
chorale is copied whole, as the recipe wrote it. Deterministic: the same corpus gives the same bytes.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import miditoolkit

from getmusic_cli.score.midi_io import read_midi

HERE = Path(__file__).resolve().parent
BARS = 16

# (corpus file, fixture name): all three are in the held-out split of the corpus manifest.
EXCERPTS = (
    ("freedoom/freedoom1-D_E1M7.mid", "freedoom_e1m7_16bars.mid"),
    ("freedoom/freedoom2-D_DDTBL2.mid", "freedoom_ddtbl2_16bars.mid"),
)
WHOLE = (("bach/bwv253.mid", "bach_bwv253.mid"),)


def _bar_ticks(midi: miditoolkit.MidiFile) -> int:
    sigs = midi.time_signature_changes
    if any((ts.numerator, ts.denominator) != (4, 4) for ts in sigs):
        raise SystemExit("excerpts are cut from 4/4 songs only")
    return 4 * midi.ticks_per_beat


def _best_window(path: Path, midi: miditoolkit.MidiFile, bar: int) -> int:
    song = read_midi(path)
    cls_of = {s.index: s.instrument for s in song.sources}
    end = max(n.end for inst in midi.instruments for n in inst.notes)
    best = (-1, -1, 0)
    for start in range(0, max(1, end - BARS * bar + 1), 4 * bar):
        stop = start + BARS * bar
        classes, notes = set(), 0
        for i, inst in enumerate(midi.instruments):
            inside = sum(start <= n.start < stop for n in inst.notes)
            if inside and cls_of.get(i):
                classes.add(cls_of[i])
            notes += inside
        best = max(best, (len(classes), notes, -start))
    return -best[2]


def cut(src: Path, dst: Path) -> None:
    midi = miditoolkit.MidiFile(str(src))
    bar = _bar_ticks(midi)
    start = _best_window(src, midi, bar)
    stop = start + BARS * bar
    out = miditoolkit.MidiFile(ticks_per_beat=midi.ticks_per_beat)
    tempos = sorted(midi.tempo_changes, key=lambda t: t.time)
    first = [t for t in tempos if t.time <= start][-1:] or tempos[:1]
    out.tempo_changes = [miditoolkit.TempoChange(round(t.tempo, 3), 0) for t in first]
    out.tempo_changes += [miditoolkit.TempoChange(round(t.tempo, 3), t.time - start)
                          for t in tempos if start < t.time < stop]
    out.time_signature_changes = [miditoolkit.TimeSignature(4, 4, 0)]
    for inst in midi.instruments:
        notes = [miditoolkit.Note(n.velocity, n.pitch, n.start - start, min(n.end, stop) - start)
                 for n in inst.notes if start <= n.start < stop and min(n.end, stop) > n.start]
        if notes:
            track = miditoolkit.Instrument(int(inst.program), bool(inst.is_drum), inst.name)
            track.notes = sorted(notes, key=lambda n: (n.start, n.pitch))
            out.instruments.append(track)
    out.dump(str(dst))
    print(f"{dst.name}: bars {start // bar + 1}-{stop // bar} of {src.name}, {dst.stat().st_size} bytes")


def main(corpus: Path) -> None:
    for rel, name in EXCERPTS:
        cut(corpus / rel, HERE / name)
    for rel, name in WHOLE:
        shutil.copyfile(corpus / rel, HERE / name)
        print(f"{name}: {rel} whole, {(HERE / name).stat().st_size} bytes")
    shutil.copyfile(corpus / "freedoom" / "LICENSE.txt", HERE / "LICENSE-freedoom.txt")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
