"""The MIDI files of a data folder: scanning, content hashes and the train/valid split.

The split is decided per piece by the file's content hash, so it does not depend on file names, on the
order of a directory listing or on which other files are in the folder (with one exception: a folder
whose hashes put nothing in the valid split gets its lowest-hash piece moved there, so validation
always has something to measure when there are at least two pieces). ``evaluate`` uses the same rule
to find the held-out songs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from getmusic_cli.errors import GetMusicError

MIDI_SUFFIXES = (".mid", ".midi")
VALID_FRACTION = 0.05  # share of pieces held out for validation


@dataclass(frozen=True)
class SourceFile:
    path: Path
    rel: str  # path relative to the data folder, POSIX style (manifest key)
    sha256: str
    size: int


def scan_midi_files(data_dir: Path) -> list[Path]:
    """Every .mid/.midi file under ``data_dir`` (recursively, any case), sorted; errors if there are none."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise GetMusicError(f"data folder {data_dir} does not exist or is not a folder")
    files = sorted(
        p
        for p in data_dir.rglob("*")
        if p.suffix.lower() in MIDI_SUFFIXES and p.is_file() and not p.name.startswith(".")
    )
    if not files:
        raise GetMusicError(f"no MIDI files (.mid/.midi) found under {data_dir}")
    return files


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def hash_sources(data_dir: Path, files: list[Path]) -> list[SourceFile]:
    data_dir = Path(data_dir)
    out = []
    for p in files:
        try:
            out.append(SourceFile(p, p.relative_to(data_dir).as_posix(), file_sha256(p), p.stat().st_size))
        except OSError:
            # Unreadable files still get an entry; the encoder reports them as skipped.
            out.append(SourceFile(p, p.relative_to(data_dir).as_posix(), "", 0))
    return out


def hash_fraction(sha256: str) -> float:
    """Position of a hash in [0, 1): the deterministic 'random number' of a piece."""
    return int(sha256[:12], 16) / float(1 << 48)


def assign_splits(hashes: list[str], valid_fraction: float = VALID_FRACTION) -> dict[str, str]:
    """'train' or 'valid' for every distinct hash."""
    unique = sorted(set(h for h in hashes if h))
    split = {h: ("valid" if hash_fraction(h) < valid_fraction else "train") for h in unique}
    if len(unique) >= 2 and "valid" not in split.values():
        split[min(unique, key=hash_fraction)] = "valid"
    if len(unique) >= 2 and "train" not in split.values():
        split[max(unique, key=hash_fraction)] = "train"
    return split
