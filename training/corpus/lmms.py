"""LMMS demo projects (Debian `lmms-common`, `.mmpz`/`.mmp` XML) as General MIDI files of our six classes.

File format: `.mmpz` is a 4-byte big-endian length followed by the zlib-compressed project XML; `.mmp` is the
plain XML. The song is `song/trackcontainer`; its tracks have a `type`: 0 instrument, 1 beat/bassline (BB),
2 sample (audio, ignored), 5/6 automation (ignored). Times are in LMMS ticks: 48 per quarter note, so a 4/4 bar
is 192 ticks (a bar of num/den lasts 192 * num / den).

- An instrument track (type 0) holds patterns placed at `pos` on the song timeline; a note at `pos` inside a
  pattern sounds at pattern pos + note pos (notes past the pattern's `len` are not played, as in LMMS).
- A BB track (type 1) has `bbtco` segments (pos, len) on the song timeline. The instrument tracks of all BB
  tracks live in one `bbtrackcontainer` (inside the first BB track); each of those tracks has one pattern per BB
  track, in BB order (the pattern's `pos` is BB index * 192). BB number i lasts as long as its longest pattern,
  rounded up to whole bars (at least one), and loops from the segment's start until the segment ends.
- Muted tracks, patterns and segments are left out. Step notes (negative `len`: "play the whole sample") last a
  16th note.
- Pitch: LMMS key 57 is A4 at the default base note 57, so MIDI pitch = key + 69 - basenote + masterpitch
  (when the track follows the master pitch) + the track's detune rounded to semitones. Velocity = vol * 0.9
  (LMMS's default volume 100 → 90), clipped to 1..127. Tempo: the project's `bpm` (tempo automation is ignored).

Class rule (first match wins; tested on the track's name, then its sample file, then, for a BB instrument with
a generic name, the BB track's name). Words are matched case-insensitively with `_`, `-`, `.` and `/` as spaces:
  1. skipped (sound effects, not parts): fx, noise, woosh/whoosh, sweep, riser, zap, sidechain, chimes, samples
     under effects/, misc/, beats/ (audio loops) or drumsynth/misc_fx/;
  2. drums: a sample under drums/ or drumsynth/ (except drumsynth/instrument/), or a kit-piece name (kick,
     snare, hat, clap, cymbal, crash, ride, tom, rim, shaker ...) on a sampler or LMMS's `kicker` plugin, or the
     words kick/snare/hihat/clap/cymbal on any plugin. Each drum track plays ONE GM key on channel 10, found
     from its name, else its sample name: kick/bass drum 36, snare 38, clap 39, closed hat 42, open hat 46,
     crash/cymbal 49, ride 51, rim/side stick 37, toms 45/47/50, shaker 70, tambourine 54, conga 63 ... (Hydrogen
     source's table plus a few LMMS sample names: kik, snr, K_/S_ prefixes, Hat_o/Hat_c). No key → left out;
  3. bass: bass (not bass drum), sub, lb302 (LMMS's acid-bass synth), slap;
  4. guitar: guitar, gtr;
  5. piano: piano, rhodes, organ, keys, e-piano, clav, harpsichord;
  6. strings: string, pad, choir, chorus, ensemble, violin, cello, brass;
  7. lead: lead, melody, arp, pluck, synth, saw, square, bell, trumpet, sax, flute, pipe, reed, voice, vox;
  8. no name hint (e.g. "Default preset"): median pitch below C3 (MIDI 48) → bass; else half or more of its
     notes sounding together with another note of the track (chords) → strings (pad); else lead.
A bass track is moved by whole octaves so its median pitch lies in C2..B2 (MIDI 36-47): a sampled bass sounds at
its recorded pitch on the base note, not at A4, so LMMS keys alone put such parts octaves too high (getmusic's
mapping would then read them as a melodic voice). All tracks of one class are merged into one MIDI track named
after the class (GM program of the class; drums on channel 10), the name our track mapping reads first.
"""

from __future__ import annotations

import fnmatch
import re
import statistics
import struct
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field

from getmusic_cli.score.song import Note

PROJECT_DIRS = ("usr/share/lmms/projects/demos", "usr/share/lmms/projects/shorties")
COPYRIGHT = "usr/share/doc/lmms-common/copyright"
TICKS_PER_BEAT = 48
BAR_TICKS = 4 * TICKS_PER_BEAT  # LMMS's ticks per 4/4 bar
STEP = TICKS_PER_BEAT // 4
CLASSES = ("lead", "bass", "drums", "guitar", "piano", "strings")
# debian/copyright short names → SPDX identifiers
SPDX = {
    "Artistic-2": "Artistic-2.0",
    "BSD-2-clause": "BSD-2-Clause",
    "CC-BY-SA-3": "CC-BY-SA-3.0",
    "CC-BY-SA-4": "CC-BY-SA-4.0",
    "GPL-2+": "GPL-2.0-or-later",
}

_SKIP = re.compile(
    r"\b(fx|noise|w?h?oosh|whoosh|sweep|riser|zap\w*|sidechain|chimes)\b|^(effects|misc|beats) |drumsynth misc fx"
)
_DRUM_WORD = re.compile(r"\b(kick\w*|snare\w*|hi ?hats?|hats?\d*|claps?|cymbal|crash\w*)\b")
_CLASS_RULES: tuple[tuple[str, re.Pattern], ...] = (
    ("bass", re.compile(r"\bbass(?! ?drum)|\bsub\b|\blb ?302\b|\bslap")),
    ("guitar", re.compile(r"guitar|\bgtr")),
    ("piano", re.compile(r"piano|rhodes|organ|\bkeys\b|\be ?piano|\bclav|harpsi")),
    ("strings", re.compile(r"string|\bpad|choir|chorus|ensemble|violin|cello|bra(ss|zz)")),
    ("lead", re.compile(r"lead|melod|\barp|pluck|synth|\bsaw|square|bell|trumpet|\bsax|flute|pipe|reed|voice|vox")),
)
# LMMS sample names the Hydrogen table misses (checked first).
_EXTRA_KEYS: tuple[tuple[re.Pattern, int], ...] = (
    (re.compile(r"\bkik\b|\bk 8bit|\bbd\d"), 36),
    (re.compile(r"snr\b|\bs 8bit"), 38),
    (re.compile(r"\bshaa?k"), 70),
    (re.compile(r"\bo ?hi ?hat|\bhat o\b|\bohh\b|hi ?hat opened"), 46),
    (re.compile(r"\bc ?hi ?hat|\bhat c\b|\blighthat|\bhh\b"), 42),
    (re.compile(r"tamb"), 54),
    (re.compile(r"timbale"), 65),
    (re.compile(r"\bcga|conga"), 63),
    (re.compile(r"wood|knock"), 76),
)


def _words(text: str) -> str:
    return re.sub(r"[_\-./()]+", " ", text.lower()).strip()


def drum_key(*names: str) -> int | None:
    from corpus.hydrogen import gm_key

    for name in names:
        words = _words(name)
        if not words:
            continue
        for pattern, key in _EXTRA_KEYS:
            if pattern.search(words):
                return key
        key = gm_key(words)
        if key is not None:
            return key
    return None


def _is_drum_sample(src: str) -> bool:
    return src.startswith("drums/") or (src.startswith("drumsynth/") and not src.startswith("drumsynth/instrument/"))


def named_class(*texts: str) -> str | None:
    """Class from the first text that names one (rules 3-7), or None."""
    for text in texts:
        words = _words(text)
        for cls, pattern in _CLASS_RULES:
            if words and pattern.search(words):
                return cls
    return None


def bass_register(notes: list[Note]) -> list[Note]:
    """Whole octaves that put the median in C2..B2 (36-47): a sampled or preset bass's root is not LMMS's A4."""
    median = statistics.median(n.pitch for n in notes)
    shift = (
        12 * ((36 - median) // 12 + (1 if (36 - median) % 12 else 0)) if median < 36 else -12 * ((median - 36) // 12)
    )
    shift = int(shift)
    return [Note(n.start, n.end, n.pitch + shift, n.velocity) for n in notes if 0 <= n.pitch + shift <= 127]


def fallback_class(notes: list[Note]) -> str:
    if statistics.median(n.pitch for n in notes) < 48:
        return "bass"
    ordered = sorted(notes, key=lambda n: n.start)
    together = 0
    for i, n in enumerate(ordered):
        before = any(m.start < n.end and n.start < m.end for m in ordered[max(0, i - 8) : i])
        after = any(m.start < n.end for m in ordered[i + 1 : i + 9])
        together += before or after
    return "strings" if together * 2 >= len(notes) else "lead"


@dataclass
class Project:
    bpm: float
    numerator: int
    denominator: int
    tracks: dict[str, list[Note]]  # class → notes (ticks of 48 per beat)
    end: int  # tick where the last bar ends
    assigned: list[tuple[str, str]] = field(default_factory=list)  # (track name, class or "skipped: why")

    @property
    def bar_ticks(self) -> int:
        return BAR_TICKS * self.numerator // self.denominator


def load_xml(data: bytes) -> str:
    """The project XML of an `.mmpz` (length + zlib) or `.mmp` (plain) file."""
    if data.lstrip()[:1] == b"<":
        return data.decode("utf-8")
    (length,) = struct.unpack(">I", data[:4])
    text = zlib.decompress(data[4:])
    if len(text) != length:
        raise ValueError(f"mmpz length {length} does not match the {len(text)} bytes unpacked")
    return text.decode("utf-8")


def _meter(num: int, den: int) -> tuple[int, int]:
    if den < 4:  # 1/1, 2/2 ... → quarters (same bar length)
        return max(1, num * 4 // den), 4
    return max(1, num), den


@dataclass
class _Source:
    name: str
    plugin: str
    sample: str
    bb_name: str  # the BB track's name for a BB instrument, else ""
    notes: list[Note]


def _muted(el: ET.Element) -> bool:
    return el.get("muted", "0") not in ("0", "")


def pattern_length(pattern: ET.Element) -> int:
    """Its `len`; older files (LMMS 1.2) leave it out: steps * 16th for a beat pattern, else whole bars."""
    if pattern.get("len") is not None:
        return int(float(pattern.get("len")))
    if pattern.get("type") == "0":
        return int(pattern.get("steps", "16")) * STEP
    end = max(
        (int(float(n.get("pos", "0"))) + max(1, int(float(n.get("len", "0")))) for n in pattern.findall("note")),
        default=0,
    )
    return max(1, -(-end // BAR_TICKS)) * BAR_TICKS


def _pattern_notes(pattern: ET.Element, offset: int, limit: int, shift: int) -> list[Note]:
    out = []
    length = pattern_length(pattern)
    for note in pattern.findall("note"):
        pos = int(float(note.get("pos", "0")))
        if pos >= length or offset + pos >= limit:
            continue
        dur = int(float(note.get("len", "0")))
        dur = STEP if dur <= 0 else dur
        pitch = int(float(note.get("key", "57"))) + shift
        if not 0 <= pitch <= 127:
            continue
        vel = max(1, min(127, round(float(note.get("vol", "100")) * 0.9)))
        start = offset + pos
        out.append(Note(start, min(start + dur, limit), pitch, vel))
    return out


def _shift(track: ET.Element, master_pitch: int) -> int:
    it = track.find("instrumenttrack")
    shift = 69 - int(float(it.get("basenote", "57")))
    if it.get("usemasterpitch", "1") != "0":
        shift += master_pitch
    return shift + round(float(it.get("pitch", "0")) / 100)


def _track_info(track: ET.Element) -> tuple[str, str, str]:
    inst = track.find("instrumenttrack/instrument")
    plugin = inst.get("name", "") if inst is not None else ""
    afp = inst.find("audiofileprocessor") if inst is not None else None
    sample = afp.get("src", "") if afp is not None else ""
    return track.get("name", ""), plugin, sample


def parse(xml_text: str) -> Project:
    root = ET.fromstring(xml_text)
    head = root.find("head")
    attrs = head.attrib if head is not None else {}
    bpm = float(attrs.get("bpm", "120"))
    num, den = _meter(int(attrs.get("timesig_numerator", "4")), int(attrs.get("timesig_denominator", "4")))
    master = int(float(attrs.get("masterpitch", "0")))
    container = root.find("song/trackcontainer")
    tracks = container.findall("track") if container is not None else []
    sources: list[_Source] = []
    bb_tracks = [t for t in tracks if t.get("type") == "1"]
    bb_inner: list[ET.Element] = []
    for bb in bb_tracks:
        inner = bb.find("bbtrack/trackcontainer")
        if inner is not None:
            bb_inner += inner.findall("track")
    far = 1 << 40
    # Song-level instrument tracks.
    for track in tracks:
        if track.get("type") != "0" or _muted(track) or track.find("instrumenttrack") is None:
            continue
        shift = _shift(track, master)
        notes = []
        for pattern in track.findall("pattern"):
            if _muted(pattern):
                continue
            notes += _pattern_notes(pattern, int(float(pattern.get("pos", "0"))), far, shift)
        sources.append(_Source(*_track_info(track), "", notes))
    # BB instruments: pattern i of each inner track plays wherever BB track i has a segment.
    inner_patterns = []
    for track in bb_inner:
        if track.get("type") != "0" or _muted(track) or track.find("instrumenttrack") is None:
            continue
        by_bb = {int(float(p.get("pos", "0"))) // BAR_TICKS: p for p in track.findall("pattern")}
        inner_patterns.append((track, by_bb))
    for index, bb in enumerate(bb_tracks):
        if _muted(bb):
            continue
        length = BAR_TICKS * num // den
        for _track, by_bb in inner_patterns:
            p = by_bb.get(index)
            if p is not None and p.findall("note"):
                length = max(length, pattern_length(p))
        bar = BAR_TICKS * num // den
        length = -(-length // bar) * bar
        for track, by_bb in inner_patterns:
            pattern = by_bb.get(index)
            if pattern is None or _muted(pattern) or not pattern.findall("note"):
                continue
            shift = _shift(track, master)
            notes = []
            for seg in bb.findall("bbtco"):
                if _muted(seg):
                    continue
                start, seg_len = int(float(seg.get("pos", "0"))), int(float(seg.get("len", "0")))
                for loop in range(start, start + seg_len, length):
                    notes += _pattern_notes(pattern, loop, start + seg_len, shift)
            if notes:
                sources.append(_Source(*_track_info(track), bb.get("name", ""), notes))
    by_class: dict[str, list[Note]] = {}
    assigned: list[tuple[str, str]] = []
    for src in sources:
        if not src.notes:
            continue
        cls, notes = classify(src)
        label = src.name + (f" [{src.bb_name}]" if src.bb_name else "")
        if cls not in CLASSES:
            assigned.append((label, cls))
            continue
        if cls == "bass":
            notes = bass_register(notes)
        assigned.append((label, cls))
        by_class.setdefault(cls, []).extend(notes)
    out = {c: sorted(set(ns), key=lambda n: (n.start, n.pitch, n.end)) for c, ns in by_class.items()}
    bar = BAR_TICKS * num // den
    last = max((n.end for ns in out.values() for n in ns), default=0)
    return Project(bpm, num, den, out, -(-last // bar) * bar, assigned)


def classify(src: _Source) -> tuple[str, list[Note]]:
    """(class, notes) of one instrument's notes; a class outside CLASSES is a "skipped: why" line."""
    name, sample = _words(src.name), _words(src.sample)
    if _SKIP.search(name) or _SKIP.search(sample):
        return "skipped: a sound effect", []
    unnamed = named_class(src.name) is None
    generic = named_class(src.name, src.sample) is None and not _is_drum_sample(src.sample)
    if src.bb_name and generic and _SKIP.search(_words(src.bb_name)):
        return "skipped: a sound effect", []
    drum = (
        _is_drum_sample(src.sample)
        or (src.plugin in ("audiofileprocessor", "kicker") and not src.sample and unnamed and drum_key(src.name))
        or (unnamed and bool(_DRUM_WORD.search(name)))
    )
    if drum:
        key = drum_key(src.name, src.sample.rsplit("/", 1)[-1].rsplit(".", 1)[0])
        if key is None:
            return "skipped: a drum sound with no GM key", []
        return "drums", [Note(n.start, n.start + STEP, key, n.velocity) for n in src.notes]
    cls = named_class(src.name, src.sample) or (named_class(src.bb_name) if src.bb_name else None)
    return cls or fallback_class(src.notes), src.notes


@dataclass
class Licence:
    spdx: str | None  # None: only the catch-all `Files: *` covers it (unclear for data, see the module's README)
    copyright: list[str]


def copyright_stanzas(text: str) -> list[tuple[list[str], str, list[str]]]:
    """(file globs, licence short name, copyright lines) of each `Files:` stanza of a DEP-5 debian/copyright."""
    stanzas = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, list[str]] = {}
        current = None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and current:
                fields[current].append(line.strip())
            elif ":" in line:
                current, _, value = line.partition(":")
                fields[current] = [value.strip()] if value.strip() else []
        if "Files" in fields and "License" in fields:
            globs = " ".join(fields["Files"]).split()
            stanzas.append((globs, fields["License"][0], [c for c in fields.get("Copyright", []) if c != "."]))
    return stanzas


def licence_of(path: str, stanzas: list[tuple[list[str], str, list[str]]]) -> Licence:
    """Licence of a source path (e.g. data/projects/demos/X.mmpz): the last matching stanza wins (DEP-5)."""
    found = None
    for globs, licence, holders in stanzas:
        if any(fnmatch.fnmatchcase(path, g) for g in globs):
            found = (globs, licence, holders)
    if found is None or found[0] == ["*"]:
        return Licence(None, found[2] if found else [])
    return Licence(SPDX.get(found[1], found[1]), found[2])
