"""The music21 corpus collections we use, and the conversion of one score file to a GM MIDI file.

music21 is a build-time dependency of this recipe only (not of getmusic). Each collection was checked for the
rights its files state (see training/MODEL_CARD.md); collections whose encodings reserve rights are not listed.
"""

from __future__ import annotations

import signal
import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from corpus.voices import Measure, Voice, VoiceNote, assign_classes, bar_layout, write_voices

PUBLIC_DOMAIN_NOTE = (
    "composition in the public domain; encoding distributed with music21 (BSD-3-Clause package) "
    "with no licence restriction stated in the file"
)


@dataclass(frozen=True)
class Collection:
    name: str  # also the output sub-folder
    patterns: tuple[str, ...]  # globs relative to music21's corpus folder
    ensemble: str  # 'vocal' or 'instrumental' (voice rule) for every file not in `keyboard`
    keyboard: tuple[str, ...] = ()  # files (relative paths) that are keyboard works: every staff → piano
    exclude: tuple[str, ...] = ()  # files left out (the reason is in EXCLUDED)
    bpm: float = 100.0  # used when the score gives no metronome mark
    licence: str = PUBLIC_DOMAIN_NOTE
    encoder: str = ""


COLLECTIONS: tuple[Collection, ...] = (
    Collection(
        "bach",
        ("bach/*.mxl", "bach/*.xml"),
        "vocal",
        exclude=("bach/bwv846.mxl",),
        bpm=80.0,
        encoder="Margaret Greentree (jsbchorales.net), distributed with music21 by permission",
    ),
    Collection(
        "mozart",
        ("mozart/*/*.mxl",),
        "instrumental",
        keyboard=("mozart/k545/movement1_exposition.mxl",),
        bpm=120.0,
        encoder="unnamed music21 contributors (Finale)",
    ),
    Collection(
        "haydn",
        ("haydn/*/*.mxl",),
        "instrumental",
        bpm=120.0,
        encoder="unnamed music21 contributors (Finale, MuseScore)",
    ),
    # Some files hold a whole quartet (all movements in one score); the largest takes about a minute.
    Collection(
        "beethoven",
        ("beethoven/*.mxl", "beethoven/*/*.mxl"),
        "instrumental",
        bpm=120.0,
        encoder="unnamed music21 contributors",
    ),
)

# Collections and files looked at and left out (recorded in the manifest and the model card).
EXCLUDED: dict[str, str] = {
    "bach/bwv846.mxl": "keyboard prelude taken from a MuseScore.com user upload (musescore.com/score/117279); "
    "no licence stated",
    "bach/*.krn": "3 Humdrum files: 'Copyright 1994, CCARH; rights to all derivative electronic formats reserved' "
    "(the same chorales are also present as MusicXML and are used from there)",
    "palestrina": "every file: 'Copyright 2000, John Miller; rights to all derivative electronic formats "
    "reserved; must be accompanied by the licensing agreement'",
    "monteverdi": "two files carry 'UT ORPHEUS EDIZIONI 2003 ©' credits (encodings made from a copyrighted modern "
    "edition); provenance of the rest unclear, so the whole collection is left out",
    "essenFolksong": "licence: permission for non-commercial distribution and use only",
    "beethoven/**/*.krn": "4 Humdrum files (op. 18 no. 1, encoded by Craig Stuart Sapp) duplicate MusicXML files "
    "that are used instead",
}


def corpus_root() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def music21_version() -> str:
    import music21

    return music21.__version__


def collection_files(collection: Collection, root: Path) -> list[Path]:
    files = {p for pattern in collection.patterns for p in root.glob(pattern) if p.is_file()}
    return sorted(p for p in files if p.relative_to(root).as_posix() not in collection.exclude)


class ConversionTimeout(Exception):
    pass


def _on_alarm(signum, frame):  # noqa: ARG001
    raise ConversionTimeout()


def _fraction(x) -> Fraction:
    return Fraction(x).limit_denominator(960)


def _voices(score) -> list[Voice]:
    voices = []
    for part in score.parts:
        flat = part.flatten()
        voice = Voice(part.partName or part.id or "")
        for el in flat.notes:
            duration = _fraction(el.duration.quarterLength)
            if duration <= 0 or el.duration.isGrace:
                continue  # grace notes take no time in the notation
            start = _fraction(flat.elementOffset(el))
            for p in el.pitches:
                voice.notes.append(VoiceNote(start, duration, int(p.midi)))
        voices.append(voice)
    return voices


def _measures(score) -> list[Measure]:
    part = score.parts[0]
    ms = list(part.getElementsByClass("Measure"))
    out: list[Measure] = []
    num, den = 4, 4
    for i, m in enumerate(ms):
        if m.timeSignature is not None:
            num, den = m.timeSignature.numerator, m.timeSignature.denominator
        offset = _fraction(m.offset)
        if i + 1 < len(ms):
            length = _fraction(ms[i + 1].offset) - offset
        else:
            length = _fraction(max(m.duration.quarterLength, m.highestTime))
        out.append(Measure(offset, length, num, den, _fraction(m.paddingLeft or 0)))
    return out


def _bpm(score, default: float) -> float:
    for mark in score.flatten().getElementsByClass("MetronomeMark"):
        bpm = mark.getQuarterBPM()
        if bpm and 20 <= bpm <= 300:
            return float(bpm)
    return default


def convert(job: tuple[str, str, str, str, float, int]) -> dict:
    """Worker: (source path, relative name, ensemble, output path, bpm, timeout s) → result dict.

    Runs in a pool process; SIGALRM ends a conversion that runs past its timeout (music21 is pure Python).
    """
    source, rel, ensemble, out, bpm, timeout = job
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(timeout)
    warnings.simplefilter("ignore")  # music21 warns about every overfull measure it repairs
    try:
        from music21 import converter

        score = converter.parse(source, forceSource=True, storePickle=False).stripTies()
        voices = _voices(score)
        classes = assign_classes(voices, ensemble)
        if not any(classes):
            return {"rel": rel, "ok": False, "reason": "no notes", "cache_failure": True}
        shift, sigs = bar_layout(_measures(score))
        n = write_voices(Path(out), voices, classes, ensemble, shift=shift, time_signatures=sigs, bpm=_bpm(score, bpm))
        roles = [[v.name, c] for v, c in zip(voices, classes) if c]
        return {"rel": rel, "ok": True, "notes": n, "voices": roles}
    except ConversionTimeout:
        return {"rel": rel, "ok": False, "reason": f"timeout after {timeout} s", "cache_failure": False}
    except Exception as exc:  # noqa: BLE001  (any music21 failure skips the file, with its reason listed)
        msg = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        return {"rel": rel, "ok": False, "reason": msg, "cache_failure": True}
    finally:
        signal.alarm(0)
