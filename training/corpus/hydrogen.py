"""Hydrogen's demo drum songs (Debian `hydrogen-data`, `.h2song` XML) as drum-only General MIDI files.

A song is a sequence of columns; each column plays a group of patterns at once and lasts as long as its longest
pattern. Pattern positions are in Hydrogen's 48 ticks per quarter note. Kit pieces are mapped to GM drum keys by
their names (a kit's MIDI-out notes are often just numbered 36, 37, ... and say nothing about the sound).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from getmusic_cli.score.song import Note

SONG_DIR = "usr/share/hydrogen/data/demo_songs"
LICENCE = "GPL-2.0-or-later"  # debian/copyright, Files: * (a song's own <license> field is Hydrogen's default)
TICKS_PER_BEAT = 48
# Left out, with why (the other demo songs are the kit authors' own patterns).
EXCLUDED = {
    "tutorial_georgyporgy.h2song": "a transcription of Toto's 'Georgy Porgy': the music is not the demo author's",
}

# Kit piece name → GM drum key; the first matching rule wins (more specific words first).
GM_KEYS: tuple[tuple[str, int], ...] = (
    (r"kick|bass ?drum|\bbd\b", 36),
    (r"rim|stick", 37),
    (r"clap", 39),
    (r"snare|\bsd\b", 38),
    (r"pedal", 44),
    (r"(open|semi).*hat|hat.*(open|semi)|\bohh?\b", 46),
    (r"hat|\bhh\b|\bchh?\b", 42),
    (r"floor", 41),
    (r"tom.*(low|2)|low.*tom", 45),
    (r"tom.*mid|mid.*tom", 47),
    (r"tom.*(hi|1)|hi.*tom", 50),
    (r"tom", 45),
    (r"bell", 53),
    (r"ride", 51),
    (r"splash", 55),
    (r"china", 52),
    (r"crash|cymbal", 49),
    (r"cowbell", 56),
    (r"tambourine", 54),
    (r"shaker|maraca", 70),
    (r"conga", 63),
    (r"bongo", 60),
    (r"clave", 75),
)
_GM_RES = tuple((re.compile(p), k) for p, k in GM_KEYS)


def gm_key(name: str) -> int | None:
    lowered = name.lower()
    if "cowbell" in lowered:  # before "bell" (ride bell)
        return 56
    for pattern, key in _GM_RES:
        if pattern.search(lowered):
            return key
    return None


@dataclass
class DrumSong:
    bpm: float
    notes: list[Note]  # in TICKS_PER_BEAT
    bars: list[tuple[int, int, int]]  # (start tick, numerator, denominator) of every column
    unmapped: list[str] = field(default_factory=list)  # kit pieces with no GM key (their hits are left out)


def _meter(size: int) -> tuple[int, int]:
    if size % TICKS_PER_BEAT == 0:
        return size // TICKS_PER_BEAT, 4
    return max(1, size // (TICKS_PER_BEAT // 2)), 8


def parse(xml_text: str) -> DrumSong:
    root = ET.fromstring(xml_text)
    keys: dict[str, int | None] = {}
    names: dict[str, str] = {}
    for inst in root.find("instrumentList") or []:
        ident, name = inst.findtext("id", ""), inst.findtext("name", "")
        keys[ident], names[ident] = gm_key(name), name
    patterns: dict[str, tuple[int, list]] = {}
    for pat in root.find("patternList") or []:
        notes = []
        for note in pat.find("noteList") or []:
            notes.append(
                (
                    int(note.findtext("position", "0")),
                    note.findtext("instrument", ""),
                    float(note.findtext("velocity", "0.8")),
                )
            )
        patterns[pat.findtext("name", "")] = (int(pat.findtext("size", "192")), notes)
    out, bars, unmapped = [], [], set()
    tick = 0
    for group in root.find("patternSequence") or []:
        ids = [p.text or "" for p in group.findall("patternID") if (p.text or "") in patterns]
        if not ids:
            continue
        size = max(patterns[i][0] for i in ids)
        bars.append((tick, *_meter(size)))
        for i in ids:
            for position, inst, velocity in patterns[i][1]:
                key = keys.get(inst)
                if key is None:
                    unmapped.add(names.get(inst, inst))
                    continue
                start = tick + position
                out.append(Note(start, start + TICKS_PER_BEAT // 4, key, max(1, min(127, round(velocity * 127)))))
        tick += size
    notes = sorted(set(out), key=lambda n: (n.start, n.pitch))
    return DrumSong(float(root.findtext("bpm", "120")), notes, bars, sorted(unmapped))
