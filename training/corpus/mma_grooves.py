"""The groove library of Debian's `mma` (Musical MIDI Accompaniment, GPL-2+): which grooves exist, their meter and
their genre, and a seeded, deterministic choice among those that fit a song's meter.

A style file (`lib/<set>/<style>.mma`) defines grooves with `DefGroove NAME`; the meter in force at that line
(`Time`, `TimeSig`) is the groove's. Intros, endings, fills and metronomes are not band grooves and are left out.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

LIB_DIR = "usr/share/mma/lib"

# Genre of a style file, from words in its file name; the first rule that matches wins (so "slowblues" is blues,
# "jazzrock" is jazz, "rockballad" is ballad, "poprock" is pop).
GENRE_RULES: tuple[tuple[str, str], ...] = (
    ("blues", r"blues|boogie|boggie|shuffle"),
    ("funk", r"funk|soul|r\+b|rnb|^rb|motown|disco|strut"),
    ("latin", r"latin|bossa|samba|salsa|mambo|rhumba|chacha|bolero|tango|^son|merengue|calypso|beguine|afro|cuban"),
    ("reggae", r"reggae|ska"),
    ("ballad", r"ballad|lullaby|serenade|hymn|spiritual"),
    ("jazz", r"jazz|swing|bebop|bigband|dixie|basie|combo|evans|bald|fusion|fus16"),
    ("country", r"country|cntry|western|bluegrass|folk|zydeco|polka|2beat"),
    ("waltz", r"waltz"),
    ("march", r"march"),
    ("pop", r"pop|80s"),
    ("electronic", r"dance|techno|trance|house|rave|hip-?hop|dnb|trip|ambient|electric|digital"),
    ("rock", r"rock|metal|punk|twist|8beat|beat8|16beat|beat16|mtl|hrk|highfive|jive|50s|60s"),
)
_GENRE_RES = tuple((g, re.compile(p)) for g, p in GENRE_RULES)
OTHER = "other"

# Style files and groove names that are not a groove to play a song under.
SKIP_FILES = re.compile(r"metronome|^none$|^ending$|^intro$|^count$")
SKIP_GROOVES = re.compile(r"intro|ending|fill|break|end\d*$", re.IGNORECASE)


@dataclass(frozen=True)
class Groove:
    name: str  # as DefGroove spells it
    style: str  # lib-relative style file without .mma, e.g. "stdlib/softrock" (what `Use` loads)
    genre: str
    meter: tuple[int, int]  # (numerator, denominator) of its time signature

    @property
    def label(self) -> str:
        return f"{self.style}:{self.name}"


def genre_of(style_file: str) -> str:
    stem = style_file.lower()
    for genre, pattern in _GENRE_RES:
        if pattern.search(stem):
            return genre
    return OTHER


def _meter_from(args: list[str]) -> tuple[int, int] | None:
    """(num, den) from the words after `Time` or `TimeSig` ("4", "4 4", "4/4", "6/8")."""
    text = " ".join(args).replace("/", " ").split()
    nums = [int(w) for w in text[:2] if w.isdigit()]
    if not nums:
        return None
    return (nums[0], nums[1]) if len(nums) == 2 else (nums[0], 4)


def groove_meter(beats: int, sig: tuple[int, int] | None) -> tuple[int, int]:
    """The bar a groove plays. mma's `Time` counts quarter-note beats and is what it renders; `TimeSig` only labels
    the file and is sometimes stale (a waltz file with `Time 3` and `TimeSig 4 4`), so it counts only when it
    agrees. 6/8 style files use `Time 6` (six eighths played as quarters at double tempo): a 6/4 bar here."""
    if sig and sig[0] * 4 == beats * sig[1]:
        return sig
    return (beats, 4)


_BASS_TRACK = re.compile(r"^\s*(begin\s+)?(bass|walk)\b", re.IGNORECASE | re.MULTILINE)
_DRUM_TRACK = re.compile(r"^\s*(begin\s+)?drum\b", re.IGNORECASE | re.MULTILINE)


def parse_style(text: str, style: str) -> list[Groove]:
    """The grooves one style file defines, each with the meter in force where it is defined. A file that
    defines no bass line (drum-machine patterns) or no drums (a few ballads) gives none."""
    if not (_BASS_TRACK.search(text) and _DRUM_TRACK.search(text)):
        return []
    grooves = []
    beats, sig = 4, None  # mma's default: 4 beats
    genre = genre_of(style.rsplit("/", 1)[-1])
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        words = line.split()
        if not words:
            continue
        head = words[0].lower()
        if head == "time":  # "Time 3" or "Time 3/4" (both beats and signature)
            m = _meter_from(words[1:])
            if m:
                beats = m[0] if "/" not in line else round(m[0] * 4 / m[1])
                sig = m if "/" in line else sig
        elif head == "timesig":
            sig = _meter_from(words[1:]) or sig
        elif head == "defgroove" and len(words) > 1:
            name = words[1]
            if not SKIP_GROOVES.search(name):
                grooves.append(Groove(name, style, genre, groove_meter(beats, sig)))
    return grooves


def catalog(package_root: Path) -> list[Groove]:
    """Every band groove of the package's library, sorted by style then definition order."""
    lib = package_root / LIB_DIR
    out = []
    for path in sorted(lib.glob("*/*.mma")):
        if SKIP_FILES.search(path.stem):
            continue
        style = path.relative_to(lib).with_suffix("").as_posix()
        out += parse_style(path.read_text(encoding="utf-8", errors="replace"), style)
    return out


def _hash_int(*parts) -> int:
    return int.from_bytes(hashlib.sha256("\0".join(str(p) for p in parts).encode()).digest()[:8], "big")


def fitting(grooves: list[Groove], meter: tuple[int, int]) -> list[Groove]:
    """Grooves whose bar has the song's meter (2/2 songs take 4/4 grooves: the same bar, the same beat count)."""
    want = (4, 4) if meter == (2, 2) else meter
    return [g for g in grooves if g.meter == want]


def choose(grooves: list[Groove], meter: tuple[int, int], key: str, variant: int) -> Groove | None:
    """A groove for one render, the same for the same (key, variant). Variants of one key walk through the
    genres that have a fitting groove, so several renders of one melody get different genres."""
    fit = fitting(grooves, meter)
    if not fit:
        return None
    genres = sorted({g.genre for g in fit})
    genre = genres[(_hash_int(key) + variant) % len(genres)]
    pool = [g for g in fit if g.genre == genre]
    return pool[_hash_int(key, variant) % len(pool)]
