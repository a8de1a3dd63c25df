"""Split a folder of real band songs in two by content hash: a judging half that a leg never trains on, and a
training half, so that a leg is judged on many real songs instead of the few the 5 % split holds out.

    python training/default/judging_half.py SONGS JUDGE TRAIN [--share 0.5]

A song goes to JUDGE when int(sha256[:12], 16) / 2**48 < SHARE (with 0.5 this holds every song the 5 % split
of `getmusic train` holds out too), else to TRAIN; each keeps its path under SONGS. The files are hard links
(copies where the folders are on different file systems). Used with the Simutrans songs for band16
(training/README.md).
"""

import argparse
import os
import shutil
from pathlib import Path

from getmusic_cli.train.sources import file_sha256, scan_midi_files


def judged(path: Path, share: float) -> bool:
    return int(file_sha256(path)[:12], 16) / 2**48 < share


def place(path: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        return
    try:
        os.link(path, dst)
    except OSError:
        shutil.copyfile(path, dst)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("songs", type=Path)
    parser.add_argument("judge", type=Path)
    parser.add_argument("train", type=Path)
    parser.add_argument("--share", type=float, default=0.5)
    args = parser.parse_args()
    counts = {"judge": 0, "train": 0}
    for path in scan_midi_files(args.songs):
        half = "judge" if judged(path, args.share) else "train"
        place(path, getattr(args, half) / path.relative_to(args.songs))
        counts[half] += 1
    print(f"{counts['judge']} songs to judge on in {args.judge}, {counts['train']} to train on in {args.train}")


if __name__ == "__main__":
    main()
