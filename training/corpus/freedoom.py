"""Freedoom's music: the Standard MIDI songs stored as lumps of the two WAD files in Debian's `freedoom`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from corpus.debian import DebPackage
from corpus.wad import read_lumps

LICENCE = "BSD-3-Clause"
WAD_DIR = "usr/share/games/doom"
COPYRIGHT = "usr/share/doc/freedoom/copyright"


@dataclass
class Song:
    out_name: str  # e.g. freedoom2-D_RUNNIN.mid
    original: str  # e.g. freedoom2.wad:D_RUNNIN
    data: bytes
    sha256: str
    duplicates: list[str] = field(default_factory=list)  # other lumps with the same bytes


@dataclass
class Extraction:
    songs: list[Song]
    skipped: list[dict]  # music lumps that are not MIDI, with reasons
    copyright_text: str


def extract(package: DebPackage) -> Extraction:
    """Every distinct MIDI lump of every WAD (deduplicated by SHA-256; the first occurrence names the song)."""
    wads = sorted((package.root / WAD_DIR).glob("*.wad"))
    if not wads:
        raise FileNotFoundError(f"no WAD files under {package.root / WAD_DIR}")
    songs: dict[str, Song] = {}
    skipped: list[dict] = []
    for wad in wads:
        for lump in read_lumps(wad.read_bytes()):
            original = f"{wad.name}:{lump.name}"
            if lump.kind == "mus":
                skipped.append({"original": original, "reason": "MUS format (not Standard MIDI)"})
                continue
            if lump.kind != "midi":
                continue
            digest = hashlib.sha256(lump.data).hexdigest()
            if digest in songs:
                songs[digest].duplicates.append(original)
                continue
            songs[digest] = Song(f"{wad.stem}-{lump.name}.mid", original, lump.data, digest)
    copyright_file = package.root / COPYRIGHT
    text = copyright_file.read_text(encoding="utf-8") if copyright_file.is_file() else ""
    return Extraction(list(songs.values()), skipped, text)
