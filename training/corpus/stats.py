"""Per-file facts for the manifest (classes, notes, bars) read back with getmusic's own MIDI reader, so the
numbers are what training will see after track mapping."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from getmusic_cli.score.midi_io import read_midi
from getmusic_cli.score.song import Song


def bar_starts(song: Song) -> list[int]:
    """Tick of every bar start up to the song's end (a time-signature change mid-bar starts a new bar)."""
    end = song.end_tick
    sigs = sorted(song.time_signatures, key=lambda t: t.tick) or []
    if not sigs or sigs[0].tick > 0:
        from getmusic_cli.score.song import TimeSignature

        sigs = [TimeSignature(0, 4, 4)] + sigs
    starts: list[int] = []
    for i, sig in enumerate(sigs):
        stop = sigs[i + 1].tick if i + 1 < len(sigs) else max(end, sig.tick + 1)
        length = max(1, round(sig.numerator * 4 * song.ticks_per_beat / sig.denominator))
        tick = sig.tick
        while tick < stop:
            starts.append(tick)
            tick += length
    return [t for t in starts if t < max(end, 1)]


def file_facts(path: Path) -> dict:
    song = read_midi(path)
    starts = bar_starts(song)

    def bar_of(tick: int) -> int:
        lo, hi = 0, len(starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if starts[mid] <= tick:
                lo = mid
            else:
                hi = mid - 1
        return lo

    classes = {}
    for cls in song.classes():
        notes = song.notes[cls]
        classes[cls] = {"notes": len(notes), "bars": len({bar_of(n.start) for n in notes})}
    sigs = sorted({f"{t.numerator}/{t.denominator}" for t in song.time_signatures} or {"4/4"})
    dropped = [s.name or f"track {s.index}" for s in song.sources if s.instrument is None and s.notes]
    return {
        "bars": len(starts),
        "time_signatures": sigs,
        "classes": classes,
        "dropped_tracks": dropped,
        "ticks_per_beat": song.ticks_per_beat,
    }


def summarize(entries: list[dict]) -> dict:
    """Counts per source and per class: files, bars (song bars and bars where the class plays)."""
    out: dict = {
        "files": len(entries),
        "bars": sum(e["bars"] for e in entries),
        "by_source": {},
        "by_class": {},
        "by_split": dict(Counter(e["split"] for e in entries)),
    }
    for e in entries:
        src = out["by_source"].setdefault(e["collection"], {"files": 0, "bars": 0, "valid_files": 0})
        src["files"] += 1
        src["bars"] += e["bars"]
        src["valid_files"] += e["split"] == "valid"
        for cls, c in e["classes"].items():
            k = out["by_class"].setdefault(cls, {"files": 0, "bars_playing": 0, "notes": 0})
            k["files"] += 1
            k["bars_playing"] += c["bars"]
            k["notes"] += c["notes"]
    out["by_class"] = {c: out["by_class"][c] for c in sorted(out["by_class"])}
    return out
