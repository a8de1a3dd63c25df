"""What a musician checks in a made part next to the real one: groove, register, density, key and harmony.

All functions take notes in ticks and the window's :class:`~getmusic_cli.eval.meter.BarGrid`; each returns None
when it has nothing to measure. Pure numpy-free Python over plain note lists; no torch, no MIDI.

Drums:
* onset positions: the share of distinct onsets on a beat of the quarter grid, on the 8th off-beat, and on the
  other 16ths; ``onset_tv`` is the total-variation distance of that distribution from the real part's, and
  ``sixteenths`` the share on the other 16ths (which way the distance goes: busier or plainer than the real part);
* ``backbeat``: the share of snare hits (GM 37-40) that fall on the bar's backbeats;
* ``repetition``: the mean Jaccard similarity of consecutive bars' hit sets (position in bar × kit piece),
  1 for a loop, near 0 for random hits;
* ``kit_tv``: total-variation distance of the kit-piece shares (kick, snare, hi-hat, tom, cymbal, other).
Pitched classes: ``median_pitch`` (semitones above the real part's median), ``in_key`` (share of notes in the
song's scale; the leading tone counts in minor). Bass: ``below_e1`` (share under MIDI 28), ``chord_tone`` (share
of notes whose pitch class belongs to the bar's chord in the real song). Every class: ``density``, the notes
of the made part over the notes of the real part in the same bars.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence

from getmusic_cli.eval.meter import BarGrid
from getmusic_cli.score.chords import KIND_PITCHES, Chord
from getmusic_cli.score.drumkit import KIT_PIECES, SNARES, kit_piece
from getmusic_cli.score.keys import MAJOR_STEPS, Key
from getmusic_cli.score.song import Note

E1 = 28
POSITIONS = ("beat", "eighth", "sixteenth")


def _located(notes: Sequence[Note], grid: BarGrid):
    """(bar, column in bar, note) for every note whose onset lies in the grid."""
    for n in notes:
        place = grid.locate(grid.timeline.tick_to_column(n.start))
        if place is not None:
            yield place[0], place[1], n


def tv(a: Counter, b: Counter, keys: Sequence[str]) -> float | None:
    sa, sb = sum(a[k] for k in keys), sum(b[k] for k in keys)
    if not sa or not sb:
        return None
    return 0.5 * sum(abs(a[k] / sa - b[k] / sb) for k in keys)


def onset_positions(notes: Sequence[Note], grid: BarGrid) -> Counter:
    """Distinct onsets counted by where they fall: on a quarter-note beat, on the 8th between, elsewhere."""
    onsets = {(bar, col) for bar, col, _ in _located(notes, grid)}
    return Counter(
        POSITIONS[0] if col % 4 == 0 else POSITIONS[1] if col % 2 == 0 else POSITIONS[2] for _, col in onsets
    )


def onset_tv(made: Sequence[Note], real: Sequence[Note], grid: BarGrid) -> float | None:
    return tv(onset_positions(made, grid), onset_positions(real, grid), POSITIONS)


def sixteenths(notes: Sequence[Note], grid: BarGrid) -> float | None:
    """Share of distinct onsets off the 8th-note grid."""
    counts = onset_positions(notes, grid)
    total = sum(counts.values())
    return counts[POSITIONS[2]] / total if total else None


def kit_tv(made: Sequence[Note], real: Sequence[Note], grid: BarGrid) -> float | None:
    count = lambda notes: Counter(kit_piece(n.pitch) for _, _, n in _located(notes, grid))  # noqa: E731
    return tv(count(made), count(real), KIT_PIECES)


def backbeat(notes: Sequence[Note], grid: BarGrid) -> float | None:
    """Share of snare hits on the backbeats; None without snare hits."""
    hits = [(bar, col) for bar, col, n in _located(notes, grid) if n.pitch in SNARES]
    if not hits:
        return None
    return sum(1 for bar, col in hits if col in grid.meters[bar].backbeats()) / len(hits)


def repetition(notes: Sequence[Note], grid: BarGrid) -> float | None:
    """Mean Jaccard similarity of consecutive bars' hit sets (bars where both are silent are skipped)."""
    bars: list[set] = [set() for _ in grid.starts]
    for bar, col, n in _located(notes, grid):
        bars[bar].add((col, kit_piece(n.pitch)))
    pairs = [(a, b) for a, b in zip(bars, bars[1:]) if a or b]
    if not pairs:
        return None
    return sum(len(a & b) / len(a | b) for a, b in pairs) / len(pairs)


def in_window(notes: Sequence[Note], grid: BarGrid) -> list[Note]:
    return [n for _, _, n in _located(notes, grid)]


def density(made: Sequence[Note], real: Sequence[Note], grid: BarGrid) -> float | None:
    n_real = len(in_window(real, grid))
    return len(in_window(made, grid)) / n_real if n_real else None


def median_pitch(made: Sequence[Note], real: Sequence[Note], grid: BarGrid) -> float | None:
    a, b = in_window(made, grid), in_window(real, grid)
    if not a or not b:
        return None
    return float(statistics.median(n.pitch for n in a) - statistics.median(n.pitch for n in b))


def scale(key: Key) -> frozenset[int]:
    """Pitch classes of the key's scale; in minor the natural minor plus the leading tone."""
    tonic = (key.tonic + 3) % 12 if key.minor else key.tonic  # natural minor = its relative major's notes
    pcs = {(tonic + s) % 12 for s in MAJOR_STEPS}
    if key.minor:
        pcs.add((key.tonic + 11) % 12)
    return frozenset(pcs)


def in_key(notes: Sequence[Note], key: Key, grid: BarGrid) -> float | None:
    notes = in_window(notes, grid)
    if not notes:
        return None
    pcs = scale(key)
    return sum(1 for n in notes if n.pitch % 12 in pcs) / len(notes)


def below_e1(notes: Sequence[Note], grid: BarGrid) -> float | None:
    notes = in_window(notes, grid)
    return sum(1 for n in notes if n.pitch < E1) / len(notes) if notes else None


def chord_tone(notes: Sequence[Note], chords: Sequence[Chord], grid: BarGrid) -> float | None:
    """Share of notes whose pitch class is in their bar's chord (``chords`` per bar of the song)."""
    counted = hits = 0
    for bar, _, n in _located(notes, grid):
        song_bar = grid.timeline.bar_of_column(grid.starts[bar])
        chord = chords[song_bar] if song_bar < len(chords) else None
        if chord is None:
            continue
        root, kind = chord
        counted += 1
        hits += (n.pitch - root) % 12 in KIND_PITCHES[kind]
    return hits / counted if counted else None


def class_metrics(
    cls: str, made: Sequence[Note], real: Sequence[Note], grid: BarGrid, key: Key, chords: Sequence[Chord]
) -> dict[str, float | None]:
    """The musician's metrics of one made class against the real part, keyed ``<class>.<metric>``."""
    out: dict[str, float | None] = {"density": density(made, real, grid)}
    if cls == "drums":
        out["onset_tv"] = onset_tv(made, real, grid)
        out["sixteenths"] = sixteenths(made, grid)
        out["kit_tv"] = kit_tv(made, real, grid)
        out["backbeat"] = backbeat(made, grid)
        if out["backbeat"] is None and backbeat(real, grid) is not None:
            out["backbeat"] = 0.0  # the real part has a snare and this one has none: no backbeat at all
        out["repetition"] = repetition(made, grid)
        real_rep = repetition(real, grid)
        gap = None if out["repetition"] is None or real_rep is None else abs(out["repetition"] - real_rep)
        out["repetition_gap"] = gap
    else:
        out["median_pitch"] = median_pitch(made, real, grid)
        out["in_key"] = in_key(made, key, grid)
    if cls == "bass":
        out["below_e1"] = below_e1(made, grid)
        out["chord_tone"] = chord_tone(made, chords, grid)
    return {f"{cls}.{name}": value for name, value in out.items()}
