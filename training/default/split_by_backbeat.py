"""A view of the band corpus with the renders whose drums keep a backbeat in a folder of their own, so that
``getmusic train --source-weights`` can weigh them against the other grooves.

    python training/default/split_by_backbeat.py CORPUS_BAND OUT [--share 0.8]

A render (``mma/``) goes to ``OUT/mma-backbeat/`` when at least SHARE of its real drum part's snare hits fall on
the backbeats (the scorecard's rule, ``eval.musician.backbeat``), else to ``OUT/mma/``; every other file keeps
its folder. OUT holds symbolic links to the files and a copy of the manifest with the new paths. The held-out
split goes by each file's content, so it is the same as the band corpus's.
"""

import argparse
import json
from pathlib import Path

from getmusic_cli.eval.meter import BarGrid
from getmusic_cli.eval.musician import backbeat
from getmusic_cli.score.midi_io import read_midi
from getmusic_cli.score.timeline import Timeline

RENDERS = "mma/"


def backbeat_share(path: Path) -> float | None:
    """Share of the drum part's snare hits on the backbeats over the whole song; None without snares."""
    song = read_midi(path)
    drums = song.notes.get("drums") or []
    if not drums:
        return None
    timeline = Timeline(song.ticks_per_beat, song.time_signatures)
    end = timeline.tick_to_column(max(n.end for n in drums)) + 1
    return backbeat(drums, BarGrid(timeline, song.time_signatures, 0, end))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--share", type=float, default=0.8)
    args = parser.parse_args()
    manifest = json.loads((args.corpus / "manifest.json").read_text())
    moved = 0
    for entry in manifest["files"]:
        path = entry["path"]
        if path.startswith(RENDERS):
            share = backbeat_share(args.corpus / path)
            if share is not None and share >= args.share:
                path = "mma-backbeat/" + path[len(RENDERS) :]
                moved += 1
        link = args.out / path
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to((args.corpus / entry["path"]).resolve())
        entry["path"] = path
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{moved} renders with a backbeat in {args.out / 'mma-backbeat'}")


if __name__ == "__main__":
    main()
