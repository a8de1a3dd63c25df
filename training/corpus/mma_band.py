"""Band songs with a real melody: a corpus song's lead line on top of an `mma` groove playing that song's own
harmony (one recognised chord per bar, in the song's meter and tempo).

For one source song: cut it into segments of whole bars in one supported meter, recognise a chord per bar with
getmusic's own chord recognition (score/chords.py, on every pitched class), write an MMA chart, render it with
the packaged `mma` (system python3), map mma's tracks to the classes and put the melody on top as `lead`.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from corpus.mma_grooves import Groove
from getmusic_cli.score.chords import recognize_chords
from getmusic_cli.score.midi_io import OutTrack, read_midi, write_midi
from getmusic_cli.score.song import Note, Song, TempoChange, TimeSignature
from getmusic_cli.score.timeline import Timeline
from getmusic_cli.score.tracks import program_class

LICENCE = "GPL-2.0-or-later"  # the accompaniment is rendered from mma's groove library
MMA_SCRIPT = "usr/bin/mma"
MMA_HOME = "usr/share/mma"
OUT_TICKS_PER_BEAT = 480

SEGMENT_BARS = 16
MIN_SEGMENT_BARS = 4
MIN_LEAD_NOTES_PER_BAR = 1.5  # a segment whose lead barely plays teaches nothing about melody + band
# Meters the groove library covers (see mma_grooves.fitting); other bars are not rendered.
METERS = ((4, 4), (2, 2), (3, 4), (6, 8))

# MMA's spelling of getmusic's chord kinds. MMA's "dim" is a diminished seventh; the triad is "mb5".
MMA_KIND = {"null": "", "m": "m", "+": "aug", "dim": "mb5", "seven": "7", "maj7": "M7", "m7": "m7", "m7b5": "m7b5"}
MMA_ROOT = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# Playable bass: a rendered bass note below E1 moves up by octaves (some grooves voice the bass an octave low).
BASS_FLOOR = 28
# What mma's tracks become. A melodic groove part (flute arpeggios, a synth solo) must not compete with the
# real melody, so a program that reads as `lead` plays as `strings`.
CLASS_PROGRAM = {"bass": 33, "guitar": 25, "piano": 0, "strings": 48}


class RenderError(RuntimeError):
    pass


@dataclass(frozen=True)
class Segment:
    first_bar: int
    n_bars: int
    meter: tuple[int, int]
    start_tick: int
    end_tick: int
    chords: tuple  # one (root, kind) per bar, gaps filled from neighbours


def chord_symbol(chord: tuple[int, str]) -> str:
    root, kind = chord
    return MMA_ROOT[root] + MMA_KIND[kind]


def chart(segment: Segment, groove: Groove, bpm: float, seed: int) -> str:
    """An MMA file: the groove, a fixed random seed (mma humanises timing and velocity), tempo, one chord a bar."""
    lines = [
        f"// {groove.label}",
        f"RndSeed {seed}",
        f"Tempo {max(30, min(300, round(bpm)))}",
        f"Use {groove.style}",
        f"Groove {groove.name}",
    ]
    lines += [f"{i} {chord_symbol(c)}" for i, c in enumerate(segment.chords, 1)]
    return "\n".join(lines) + "\n"


def render(package_root: Path, text: str, timeout: float = 60) -> Song:
    """Run mma on a chart; the rendered MIDI as a Song (getmusic's reader, so the track mapping is the real one)."""
    with tempfile.TemporaryDirectory(prefix="mma-") as tmp:
        src, out = Path(tmp) / "song.mma", Path(tmp) / "song.mid"
        src.write_text(text, encoding="utf-8")
        env = dict(os.environ, MMA_HOME=str(package_root / MMA_HOME), PYTHONHASHSEED="0")
        run = subprocess.run(
            ["python3", str(package_root / MMA_SCRIPT), str(src), "-f", str(out)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
        if run.returncode != 0 or not out.is_file():
            err = [ln for ln in (run.stdout + run.stderr).splitlines() if "Error" in ln]
            raise RenderError((err[-1] if err else f"mma exited with {run.returncode}")[:200])
        return read_midi(out)


def _bar_meter(song: Song, tick: int) -> tuple[int, int]:
    active = (4, 4)
    for ts in sorted(song.time_signatures, key=lambda t: t.tick):
        if ts.tick <= tick:
            active = (ts.numerator, ts.denominator)
    return active


def _fill_gaps(chords: list) -> list | None:
    """No-chord bars take the previous chord (the first ones the next); None if the segment has no chord."""
    known = [c for c in chords if c is not None]
    if not known:
        return None
    out, last = [], known[0]
    for c in chords:
        last = c if c is not None else last
        out.append(last)
    return out


def segments(song: Song) -> list[Segment]:
    """Consecutive runs of up to SEGMENT_BARS whole bars in one supported meter, with a lead line and chords."""
    timeline = Timeline(song.ticks_per_beat, song.time_signatures)
    last_col = timeline.tick_to_column(song.end_tick)
    starts = timeline.bar_starts(timeline.end_column(max(last_col - 1, 0)))
    n_cols = timeline.end_column(max(last_col - 1, 0))
    edges = starts + [n_cols]
    pitched = [n for c, notes in song.notes.items() if c != "drums" for n in notes]
    chords = recognize_chords(pitched, timeline, n_cols)
    lead = song.notes.get("lead", [])
    out: list[Segment] = []
    b = 0
    while b < len(starts):
        tick = timeline.column_to_tick(starts[b])
        meter = _bar_meter(song, tick)
        bar_cols = round(meter[0] * 16 / meter[1])
        run = 0
        while (
            b + run < len(starts)
            and run < SEGMENT_BARS
            and edges[b + run + 1] - edges[b + run] == bar_cols
            and _bar_meter(song, timeline.column_to_tick(starts[b + run])) == meter
        ):
            run += 1
        if run == 0:
            b += 1
            continue
        start_tick, end_tick = tick, timeline.column_to_tick(edges[b + run])
        filled = _fill_gaps(chords[b : b + run])
        n_lead = sum(start_tick <= n.start < end_tick for n in lead)
        if meter in METERS and run >= MIN_SEGMENT_BARS and filled and n_lead >= MIN_LEAD_NOTES_PER_BAR * run:
            out.append(Segment(b, run, meter, start_tick, end_tick, tuple(filled)))
        b += run
    return out


def tempo_at(song: Song, tick: int) -> float:
    bpm = 120.0
    for t in sorted(song.tempos, key=lambda t: t.tick):
        if t.tick <= tick:
            bpm = t.bpm
    return bpm


def _rescale(notes, src_tpb: int, offset: int = 0) -> list[Note]:
    f = OUT_TICKS_PER_BEAT / src_tpb
    out = []
    for n in notes:
        start, end = round((n.start - offset) * f), round((n.end - offset) * f)
        out.append(Note(start, max(end, start + 1), n.pitch, n.velocity))
    return out


def band_tracks(rendered: Song, n_ticks: int) -> tuple[list[OutTrack], dict]:
    """mma's tracks as one track per class (named after it, with a program of that class), cut at the
    segment's end; bass notes below E1 lifted by octaves. Returns the tracks and counts of what was changed."""
    merged: dict[str, list[Note]] = {}
    programs: dict[str, int] = {}
    dropped = []
    for src in rendered.sources:
        if not src.notes:
            continue
        cls = "drums" if src.is_drum else program_class(src.program)
        if cls == "lead":
            cls = "strings"
        if cls is None:
            dropped.append(src.name or f"program {src.program}")
            continue
        programs.setdefault(cls, src.program)
        merged.setdefault(cls, []).extend(_rescale(src.notes, rendered.ticks_per_beat))
    lifted = 0
    tracks = []
    for cls in ("bass", "drums", "guitar", "piano", "strings"):
        notes = [n for n in merged.get(cls, []) if n.start < n_ticks]
        notes = [Note(n.start, min(n.end, n_ticks), n.pitch, n.velocity) for n in notes]
        if not notes:
            continue
        if cls == "bass":
            fixed = []
            for n in notes:
                pitch = n.pitch
                while pitch < BASS_FLOOR:
                    pitch += 12
                lifted += pitch != n.pitch
                fixed.append(Note(n.start, n.end, pitch, n.velocity))
            notes = fixed
        program = 0 if cls == "drums" else programs[cls]
        if cls != "drums" and program_class(program) != cls:
            program = CLASS_PROGRAM[cls]
        tracks.append(OutTrack(cls, program, cls == "drums", notes))
    return tracks, {"bass_lifted": lifted, "dropped_tracks": dropped}


def lead_track(song: Song, segment: Segment) -> OutTrack:
    lead_sources = [s for s in song.sources if s.instrument == "lead"]
    program = lead_sources[0].program if lead_sources else 80
    notes = [n for n in song.notes["lead"] if segment.start_tick <= n.start < segment.end_tick]
    notes = [Note(n.start, min(n.end, segment.end_tick), n.pitch, n.velocity) for n in notes]
    return OutTrack("lead", program, False, _rescale(notes, song.ticks_per_beat, segment.start_tick))


def make_band_song(package_root: Path, song: Song, segment: Segment, groove: Groove, seed: int, out: Path) -> dict:
    """Render one segment under one groove and write lead + band to ``out``. Returns what was made."""
    bpm = tempo_at(song, segment.start_tick)
    rendered = render(package_root, chart(segment, groove, bpm, seed))
    bar_ticks = round(segment.meter[0] * 4 * OUT_TICKS_PER_BEAT / segment.meter[1])
    n_ticks = segment.n_bars * bar_ticks
    # A groove whose bar is not the song's bar (mma's meter words are loose in a few style files) would slide
    # against the melody: the render must end within the segment's last bar.
    scale = OUT_TICKS_PER_BEAT / rendered.ticks_per_beat
    rendered_end = max((n.start for s in rendered.sources for n in s.notes), default=0) * scale
    if not (n_ticks - bar_ticks <= rendered_end < n_ticks):
        raise RenderError(f"groove bar does not match the {segment.meter[0]}/{segment.meter[1]} bar")
    band, info = band_tracks(rendered, n_ticks)
    if not any(t.name == "bass" for t in band) or not any(t.name == "drums" for t in band):
        raise RenderError("groove has no bass or no drums")
    write_midi(
        out,
        ticks_per_beat=OUT_TICKS_PER_BEAT,
        tempos=[TempoChange(0, bpm)],
        time_signatures=[TimeSignature(0, *segment.meter)],
        tracks=[lead_track(song, segment), *band],
    )
    return {"classes": [t.name for t in band], **info}


# ----- one source song → its band renders (a worker job of the corpus build) -----

RENDERS_PER_SONG = (4, 8)  # at least 4 renders (several grooves per segment), at most 8 (one per segment)
TRIES = 3  # grooves tried per render before the render is given up (a groove can fail the bar check)


def plan(n_segments: int) -> list[tuple[int, int]]:
    """(segment index, variant) of every render: segments evenly spread, several grooves when there are few."""
    if n_segments == 0:
        return []
    lo, hi = RENDERS_PER_SONG
    if n_segments >= lo:
        count = min(hi, n_segments)
        picks = sorted({round(i * (n_segments - 1) / max(count - 1, 1)) for i in range(count)})
        return [(s, 0) for s in picks]
    per = -(-lo // n_segments)
    return [(s, v) for s in range(n_segments) for v in range(per)]


def render_song(job: tuple) -> dict:
    """Worker: every planned render of one source song into ``out_dir`` (the cache entry of that song).

    job = (package root, catalog, source MIDI path, key, out_dir). Returns {"made": [...], "failed": [...]}.
    """
    from corpus.mma_grooves import choose

    package_root, grooves, src_path, key, out_dir = job
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    made, failed = [], []
    try:
        song = read_midi(src_path)
        segs = segments(song)
    except Exception as exc:  # noqa: BLE001  (an unreadable source is listed, not fatal)
        return {"made": [], "failed": [{"reason": f"cannot segment: {exc}"[:200]}]}
    for seg_index, variant in plan(len(segs)):
        seg = segs[seg_index]
        for attempt in range(TRIES):
            groove = choose(grooves, seg.meter, f"{key}:{seg_index}", variant + attempt * 7)
            if groove is None:
                failed.append({"segment": seg_index, "reason": f"no groove in {seg.meter[0]}/{seg.meter[1]}"})
                break
            name = f"b{seg.first_bar + 1:03d}-{groove.style.replace('/', '-')}-{groove.name}.mid"
            try:
                info = make_band_song(Path(package_root), song, seg, groove, 1 + seg_index, out_dir / name)
            except (RenderError, subprocess.TimeoutExpired) as exc:
                failed.append({"segment": seg_index, "groove": groove.label, "reason": str(exc)[:200]})
                continue
            made.append(
                {
                    "file": name,
                    "groove": groove.label,
                    "genre": groove.genre,
                    "bars": f"{seg.first_bar + 1}-{seg.first_bar + seg.n_bars}",
                    "meter": f"{seg.meter[0]}/{seg.meter[1]}",
                    **info,
                }
            )
            break
    return {"made": made, "failed": failed}
