"""Simutrans's music: the Standard MIDI songs Debian's `simutrans-data` ships, byte for byte.

Band songs written for the game by its community (blues, swing, rock, marches, techno: lead, bass, drums,
piano, guitar and strings played together), so the parts of a song were made for each other, unlike the
`mma` renders. Licence: Artistic-1.0 (debian/copyright, `Files: *`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from corpus.debian import DebPackage

LICENCE = "Artistic-1.0"
MUSIC_DIR = "usr/share/games/simutrans/music"
COPYRIGHT = "usr/share/doc/simutrans-data/copyright"


@dataclass
class Song:
    out_name: str  # the file's own name, e.g. 13-Stephenson-blues.mid
    original: str  # simutrans-data:usr/share/games/simutrans/music/13-Stephenson-blues.mid
    data: bytes
    sha256: str
    duplicates: list[str] = field(default_factory=list)  # none: the files are distinct (kept for the manifest)


def extract(package: DebPackage) -> tuple[list[Song], str]:
    """Every .mid file of the music folder (sorted by name), and the package's copyright text."""
    paths = sorted((package.root / MUSIC_DIR).glob("*.mid"))
    if not paths:
        raise FileNotFoundError(f"no MIDI files under {package.root / MUSIC_DIR}")
    songs = []
    for path in paths:
        data = path.read_bytes()
        original = f"simutrans-data:{path.relative_to(package.root).as_posix()}"
        songs.append(Song(path.name, original, data, hashlib.sha256(data).hexdigest()))
    return songs, (package.root / COPYRIGHT).read_text(encoding="utf-8")
