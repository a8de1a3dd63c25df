"""Fit the melody chord recogniser's tables (``getmusic_cli.score.melody_chords``) and check them on held-out pieces.

For every bar of the training split of CORPUS (pieces with a lead and at least one other pitched track), the
chord heard in all pitched tracks (the template recogniser, which also labels the training data) is the answer,
and the lead's duration-weighted pitch classes are the evidence. Counted per chord kind: the share of the lead's
time spent on each interval above the chord's root (add-one smoothed), and how often each kind occurs. Then
every held-out piece's lead is given to the template recogniser and to the fitted one, and both are scored
against the chords heard in all its tracks (exact chord, and root only).

Use a corpus whose data licence lets numbers fitted from it sit in MIT code: ``corpus/`` (public-domain
compositions and BSD-3 Freedoom songs), never the GPL band renders.

    python training/default/fit_melody_chords.py corpus/ [--check corpus-band/]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from getmusic_cli.eval.evaluate import pick_files
from getmusic_cli.score import chords as chordlib
from getmusic_cli.score import melody_chords
from getmusic_cli.score.conditioning import only, pitched_notes
from getmusic_cli.score.midi_io import read_midi
from getmusic_cli.score.timeline import Timeline
from getmusic_cli.score.vocab import KINDS


def pieces(corpus: Path, split: str):
    """(song, timeline, columns) of every file in the split with a lead and another pitched track."""
    files = pick_files(corpus, "all")
    held = {f.rel for f in pick_files(corpus, "valid")}
    for f in files:
        if (f.rel in held) != (split == "valid"):
            continue
        song = read_midi(f.path)
        pitched = [c for c in song.classes() if c != "drums"]
        if "lead" not in pitched or len(pitched) < 2:
            continue
        timeline = Timeline(song.ticks_per_beat, song.time_signatures)
        columns = max(timeline.tick_to_column(n.end) for c in song.classes() for n in song.notes[c]) + 1
        yield song, timeline, columns


def fit(corpus: Path) -> tuple[np.ndarray, np.ndarray, int]:
    intervals = np.ones((len(KINDS), 12))
    kinds = np.ones(len(KINDS))
    n_pieces = 0
    for song, timeline, columns in pieces(corpus, "train"):
        n_pieces += 1
        answers = chordlib.recognize_chords(pitched_notes(song), timeline, columns)
        lead = melody_chords.time_shares(pitched_notes(only(song, ["lead"])), timeline, columns)
        for chord, shares in zip(answers, lead):
            if chord is None or not shares.any():
                continue
            root, kind = chord
            intervals[KINDS.index(kind)] += np.roll(shares, -root)
            kinds[KINDS.index(kind)] += 1
    return intervals / intervals.sum(1, keepdims=True), kinds / kinds.sum(), n_pieces


def check(corpus: Path) -> None:
    counts = {"template": [0, 0], "melody": [0, 0]}
    bars = 0
    for song, timeline, columns in pieces(corpus, "valid"):
        answers = chordlib.recognize_chords(pitched_notes(song), timeline, columns)
        lead = pitched_notes(only(song, ["lead"]))
        heard = {
            "template": chordlib.recognize_chords(lead, timeline, columns),
            "melody": melody_chords.recognize_melody_chords(lead, timeline, columns),
        }
        for i, answer in enumerate(answers):
            if answer is None:
                continue
            bars += 1
            for name, got in heard.items():
                counts[name][0] += got[i] == answer
                counts[name][1] += got[i] is not None and got[i][0] == answer[0]
    for name, (exact, root) in counts.items():
        print(f"{corpus.name} held out, {name:8s}: chord {exact / bars:.3f}, root {root / bars:.3f} ({bars} bars)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--check", type=Path, action="append", default=[], help="another corpus to score on")
    args = parser.parse_args()
    intervals, kinds, n_pieces = fit(args.corpus)
    print(f"# fitted on {n_pieces} pieces of {args.corpus.name}'s training split")
    print("INTERVAL_SHARE = {")
    for kind, row in zip(KINDS, intervals):
        print(f'    "{kind}": ({", ".join(f"{x:.3f}" for x in row)}),')
    print("}")
    print("KIND_SHARE = {" + ", ".join(f'"{k}": {x:.4f}' for k, x in zip(KINDS, kinds)) + "}")
    for corpus in [args.corpus, *args.check]:
        check(corpus)


if __name__ == "__main__":
    main()
