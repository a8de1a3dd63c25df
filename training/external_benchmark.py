"""The external band test set: fetch it, then run the scorecard on it. NEVER train on it or tune to it.

Two Debian packages of band music nobody on the project wrote, used only to report figures:
``openttd-openmsx`` (31 songs, GPL-2) and ``planetblupi-music-midi`` (10 songs, GPL-3+). They are downloaded
with ``apt-get download`` and unpacked with ``dpkg -x`` into a cache folder at evaluation time (never
committed), and every song is scored with ``getmusic evaluate --split all`` for four tasks:

    lead -> bass;  lead -> bass,drums;  lead,bass -> drums;  lead -> every class each song has

    python training/external_benchmark.py MODEL [--out DIR] [--windows 4] [--seed 0] [--tasks NAME,...]
        [--continued]

Writes ``DIR/external-<task>.json`` (the ``--json`` report; ``external-<task>-continued.json`` with
``--continued``, each song made as ``generate`` makes it) and prints each table. Needs a Debian/Ubuntu
machine (``apt-get update`` once) and getmusic installed.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGES = ("openttd-openmsx", "planetblupi-music-midi")
TASKS = {
    "lead-to-bass": ("lead", "bass"),
    "lead-to-bass-drums": ("lead", "bass,drums"),
    "lead-bass-to-drums": ("lead,bass", "drums"),
    "lead-to-all": ("lead", "all"),
}


def fetch(cache: Path) -> Path:
    """The test set's MIDI files, flat in ``cache/songs`` (one download, reused while the files are there)."""
    songs = cache / "songs"
    if songs.is_dir() and any(songs.glob("*.mid")):
        return songs
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run(["apt-get", "download", *PACKAGES], cwd=work, check=True, capture_output=True)
        songs.mkdir(parents=True, exist_ok=True)
        for deb in sorted(work.glob("*.deb")):
            package = deb.name.split("_")[0]
            subprocess.run(["dpkg", "-x", str(deb), str(work / package)], check=True)
            for path in sorted((work / package).rglob("*.mid")):
                shutil.copyfile(path, songs / f"{package}-{path.name}")  # two packages may share a file name
        (cache / "SOURCES.txt").write_text(
            "".join(f"{p.name}\t{hashlib.sha256(p.read_bytes()).hexdigest()}\n" for p in sorted(work.glob("*.deb")))
        )
    return songs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="any --model spec: default, a bundle folder, debug")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for external-<task>.json")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "getmusic" / "external-test-set")
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"some of {', '.join(TASKS)}")
    parser.add_argument("--continued", action="store_true", help="later windows continue earlier ones")
    args = parser.parse_args()
    unknown = [t for t in args.tasks.split(",") if t not in TASKS]
    if unknown:
        parser.error(f"unknown tasks: {', '.join(unknown)} (known: {', '.join(TASKS)})")
    songs = fetch(args.cache)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.tasks.split(","):
        keep, make = TASKS[name]
        common = ["getmusic", "evaluate", args.model, str(songs), "--split", "all", "--n", "1000"]
        common += ["--keep", keep, "--make", make, "--windows", str(args.windows), "--seed", str(args.seed)]
        if args.steps:
            common += ["--steps", str(args.steps)]
        if args.continued:
            common += ["--continued"]
            name += "-continued"
        print(f"$ {' '.join(common)}", flush=True)
        report = subprocess.run([*common, "--json"], capture_output=True, text=True)
        if report.returncode != 0:
            print(report.stderr.strip(), file=sys.stderr)
            return report.returncode
        (args.out / f"external-{name}.json").write_text(report.stdout)
        shown = subprocess.run(
            [sys.executable, "-m", "getmusic_cli.eval.show", str(args.out / f"external-{name}.json")], check=False
        )
        if shown.returncode != 0:
            return shown.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
