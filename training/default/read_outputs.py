"""Read what a model makes for held-out songs, next to the real parts it replaces (the model card's listen-free check).

For the first --n held-out songs of CORPUS that have the --keep and --make classes: the song's first --bars bars
are written to OUT/input/, `generate` (the public pipeline, default settings) writes OUT/NAME.getmusic.mid,
and every made track is described next to the real track of the same class: notes per bar, median pitch and
the 10th-90th percentile range, share of pitched notes in the song's key, notes per onset; for bass the share
of its onsets where it is at or below every sounding note of the kept tracks; for drums the share of kick /
snare / hi-hat notes and of
onsets on the 8th-note grid. Prints a Markdown table per song and the mean over songs.

    python training/default/read_outputs.py corpus --model default --keep lead --make bass,strings --n 6
"""

from __future__ import annotations

import argparse
from pathlib import Path
from statistics import mean, median

import miditoolkit
import numpy as np

from getmusic_cli.eval.evaluate import pick_files
from getmusic_cli.pipeline import Generator, Options
from getmusic_cli.score.keys import MAJOR_STEPS, NAMES, detect_key
from getmusic_cli.score.midi_io import read_midi
from getmusic_cli.score.timeline import Timeline

KICK, SNARE, HATS = {35, 36}, {37, 38, 39, 40}, {42, 44, 46}
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor plus the leading tone


def crop(path: Path, bars: int, out: Path) -> Path:
    """The first ``bars`` bars of a MIDI file (notes starting later dropped, the rest cut at the bar line)."""
    song = read_midi(path)
    timeline = Timeline(song.ticks_per_beat, song.time_signatures)
    starts = timeline.bar_starts(bars * 64 + 1)  # enough columns for any meter up to 16/4
    end = timeline.column_to_tick(starts[bars]) if len(starts) > bars else None
    midi = miditoolkit.MidiFile(str(path))
    if end is not None:
        for inst in midi.instruments:
            inst.notes = [n for n in inst.notes if n.start < end]
            for n in inst.notes:
                n.end = min(n.end, end)
    out.parent.mkdir(parents=True, exist_ok=True)
    midi.dump(str(out))
    return out


def describe(notes, cls: str, song, all_notes, key_steps, tonic: int) -> dict:
    timeline = Timeline(song.ticks_per_beat, song.time_signatures)
    bars = timeline.n_bars(timeline.tick_to_column(song.end_tick) + 1)
    onsets = sorted({n.start for n in notes})
    row = {"notes/bar": len(notes) / bars, "notes/onset": len(notes) / max(1, len(onsets))}
    if cls == "drums":
        pitches = [n.pitch for n in notes]
        eighth = song.ticks_per_beat // 2
        row.update(
            {
                "kick": mean(p in KICK for p in pitches) if pitches else 0.0,
                "snare": mean(p in SNARE for p in pitches) if pitches else 0.0,
                "hats": mean(p in HATS for p in pitches) if pitches else 0.0,
                "on 8ths": mean(o % eighth == 0 for o in onsets) if onsets else 0.0,
            }
        )
        return row
    pitches = [n.pitch for n in notes]
    row.update(
        {
            "median": int(median(pitches)) if pitches else None,
            "p10-p90": (int(np.percentile(pitches, 10)), int(np.percentile(pitches, 90))) if pitches else None,
            "in key": mean((p - tonic) % 12 in key_steps for p in pitches) if pitches else 0.0,
        }
    )
    if cls == "bass" and onsets:
        lowest = []
        for o in onsets:
            sounding = [n.pitch for n in all_notes if n.start <= o < n.end]
            mine = min(n.pitch for n in notes if n.start == o)
            lowest.append(mine <= min(sounding))
        row["lowest"] = mean(lowest)
    return row


def name(pitch: int | None) -> str:
    return "-" if pitch is None else f"{NAMES[pitch % 12]}{pitch // 12 - 1}"


def fmt(key: str, value) -> str:
    if value is None:
        return "-"
    if key == "median":
        return name(value)
    if key == "p10-p90":
        return f"{name(value[0])}-{name(value[1])}"
    return f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--model", default=None)
    parser.add_argument("--keep", default="lead")
    parser.add_argument("--make", default="bass,strings")
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--bars", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/read-outputs"))
    args = parser.parse_args()
    keep, make = args.keep.split(","), args.make.split(",")

    generator = Generator(Options(model=args.model, seed=args.seed, force=True))
    totals: dict[tuple[str, str, str], list[float]] = {}
    done = 0
    for f in pick_files(args.corpus, "valid"):
        if done >= args.n:
            break
        if not set(keep + make) <= set(read_midi(f.path).classes()):
            continue
        stem = f.rel.replace("/", "_").rsplit(".", 1)[0]
        cropped = crop(f.path, args.bars, args.out / "input" / f"{stem}.mid")
        made_path = args.out / f"{stem}.getmusic.mid"
        generator.generate(cropped, make, keep, outputs=[made_path])
        real, made = read_midi(cropped), read_midi(made_path)
        pitched = [n for c in real.classes() if c != "drums" for n in real.notes[c]]
        key = detect_key(pitched, real.ticks_per_beat)
        steps = HARMONIC_MINOR if key.minor else MAJOR_STEPS
        print(f"\n### {f.rel} (first {args.bars} bars, {NAMES[key.tonic]} {'minor' if key.minor else 'major'})\n")
        for cls in make:
            kept_notes = [n for c in keep for n in real.notes.get(c, [])]
            for source, song in (("real", real), ("made", made)):
                row = describe(
                    song.notes.get(cls, []), cls, song, kept_notes + song.notes.get(cls, []), steps, key.tonic
                )
                if source == "real":  # a table per class: drums and pitched classes have different columns
                    print("\n| class | part | " + " | ".join(row) + " |")
                    print("|---|---|" + "---:|" * len(row))
                print(f"| {cls} | {source} | " + " | ".join(fmt(k, v) for k, v in row.items()) + " |")
                for k, v in row.items():
                    if k not in ("median", "p10-p90"):
                        totals.setdefault((cls, k, source), []).append(float(v))
        done += 1
    print(f"\n### Mean over {done} songs\n\n| class | measure | real | made |\n|---|---|---:|---:|")
    for cls, k in dict.fromkeys((c, k) for c, k, _ in totals):
        real, made = (mean(totals.get((cls, k, s), [float("nan")])) for s in ("real", "made"))
        print(f"| {cls} | {k} | {real:.2f} | {made:.2f} |")


if __name__ == "__main__":
    main()
