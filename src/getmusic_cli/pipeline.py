"""The public verbs: generate and infill (the CLI's and the Python API's).

read → map → encode → task → sample (windows) → decode → merge with the untouched input → write.
Kept tracks go back out from the ORIGINAL notes; only generated notes come from the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score import chords as chordlib
from getmusic_cli.score.codec import GETScore, decode, encode, song_columns
from getmusic_cli.score.midi_io import OutTrack, read_midi, write_midi
from getmusic_cli.score.song import Note, Song
from getmusic_cli.score.task import Task, generation_task, infill_task
from getmusic_cli.score.timeline import Timeline
from getmusic_cli.score.tracks import DEFAULT_PROGRAM, DEFAULT_VELOCITY, INSTRUMENTS

# progress(label, steps_done, steps_total)
Progress = Callable[[str, int, int], None]


@dataclass
class Options:
    """Everything shared by generate and infill (CLI flags mirror these fields)."""

    model: str | None = None
    device: str = "auto"
    backend: str = "torch"
    steps: int | None = None
    seed: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    variations: int = 1
    chords: str | None = None  # "Am F C G": one chord per bar, cycled
    no_chords: bool = False
    maps: dict[str, str] = field(default_factory=dict)  # track name or index -> class
    programs: dict[str, int] = field(default_factory=dict)  # class -> GM program for generated tracks
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)  # class -> (low, high) MIDI pitch, on defaults
    force: bool = False
    cache_dir: Path | None = None


@dataclass
class Result:
    path: Path
    kept: list[str]
    made: list[str]
    bars: int
    notes_made: int
    seconds: float


class Generator:
    """A loaded model plus the options; generate/infill any number of songs with it."""

    def __init__(self, options: Options):
        from getmusic_cli.hub.resolve import resolve_model
        from getmusic_cli.runtime.loader import load_denoiser

        self.options = options
        self.bundle = resolve_model(options.model, cache_dir=options.cache_dir)
        self.config = self.bundle.config
        self.vocab = self.bundle.vocab
        self.denoiser = load_denoiser(self.bundle, device=options.device, backend=options.backend)
        if options.steps is not None and not 1 <= options.steps <= self.config.num_timesteps:
            raise GetMusicError(f"--steps must be between 1 and {self.config.num_timesteps} for this model")
        self.steps = options.steps or self.config.sample_steps  # the model may suggest fewer than T
        if options.variations < 1:
            raise GetMusicError("--variations must be at least 1")

    # ----- the two verbs -----

    def generate(
        self,
        path: Path,
        make: list[str],
        keep: list[str] | None = None,
        outputs: list[Path] | None = None,
        progress: Progress | None = None,
    ) -> list[Result]:
        started = time.perf_counter()
        song = read_midi(path, self.options.maps or None)
        present = song.classes()
        if not make:
            raise GetMusicError("nothing to make: name at least one track with --make")
        if keep is None:
            keep = [c for c in present if c not in make]
        overlap = sorted(set(keep) & set(make), key=INSTRUMENTS.index)
        if overlap:
            raise GetMusicError(f"{', '.join(overlap)} cannot be both kept and made")
        _require_present(path, keep, present, "keep")
        self._check_covered(make)
        outputs = outputs or plan_outputs(path, None, None, self.options.variations, self.options.force)

        timeline = Timeline(song.ticks_per_beat, song.time_signatures)
        kept_song = _only(song, keep)
        # The whole song's length, so made tracks may go on where the kept ones have ended.
        length = song_columns(song, timeline)
        chords = self._chords(kept_song, timeline, length)
        score, _ = encode(kept_song, self.vocab, chords=chords, transpose=self.config.transpose, length=length)
        task = generation_task(score.tokens, make, self.vocab.mask_id, self.vocab.empty_id)
        sampled = self._sample(task, score, progress, label=path.name)

        results = []
        for out_path, tokens in zip(outputs, sampled):
            made_notes = decode(_with_tokens(score, tokens), self.vocab, timeline, classes=make)
            tracks = [_source_out(s) for s in song.sources if s.instrument in keep]
            tracks += [self._made_track(c, made_notes.get(c, [])) for c in make]
            _write(song, tracks, out_path)
            results.append(
                Result(
                    out_path,
                    keep,
                    make,
                    timeline.n_bars(score.tokens.shape[1]),
                    sum(len(made_notes.get(c, [])) for c in make),
                    time.perf_counter() - started,
                )
            )
        return results

    def infill(
        self,
        path: Path,
        bars: str,
        tracks: list[str] | None = None,
        outputs: list[Path] | None = None,
        progress: Progress | None = None,
    ) -> list[Result]:
        started = time.perf_counter()
        song = read_midi(path, self.options.maps or None)
        present = song.classes()
        tracks = tracks or present
        _require_present(path, tracks, present, "infill")
        self._check_covered(tracks)
        outputs = outputs or plan_outputs(path, None, None, self.options.variations, self.options.force)

        timeline = Timeline(song.ticks_per_beat, song.time_signatures)
        score, _ = encode(
            song,
            self.vocab,
            chords=self._chords(song, timeline, song_columns(song, timeline)),
            transpose=self.config.transpose,
        )
        n_columns = score.tokens.shape[1]
        regions = [timeline.bar_range_to_columns(a, b, n_columns) for a, b in parse_bars(bars)]
        task = infill_task(score.tokens, regions, tracks, self.vocab.mask_id, self.vocab.empty_id)
        sampled = self._sample(task, score, progress, label=path.name)

        tick_regions = [(timeline.column_to_tick(a), timeline.column_to_tick(b)) for a, b in regions]

        def inside(note: Note) -> bool:
            return any(a <= note.start < b for a, b in tick_regions)

        def cut(note: Note) -> Note:
            # A made note ends with its region: one ringing into the kept bars could overlap a kept note of the
            # same pitch, and MIDI's note-off pairing would then shorten or lengthen the kept one.
            end = min(note.end, next(b for a, b in tick_regions if a <= note.start < b))
            return Note(note.start, end, note.pitch, note.velocity)

        results = []
        for out_path, tokens in zip(outputs, sampled):
            made_notes = decode(_with_tokens(score, tokens), self.vocab, timeline, classes=tracks)
            out_tracks, n_made, placed = [], 0, set()
            for source in song.sources:
                if source.instrument is None:
                    continue
                notes = source.notes
                if source.instrument in tracks:
                    notes = [n for n in notes if not inside(n)]
                    if source.instrument not in placed:  # new notes go to the first track of their class
                        placed.add(source.instrument)
                        new = [
                            self._velocity(cut(n), source.instrument)
                            for n in made_notes.get(source.instrument, [])
                            if inside(n)
                        ]
                        n_made += len(new)
                        notes = sorted(notes + new, key=lambda n: (n.start, n.pitch))
                out_tracks.append(OutTrack(source.name, source.program, source.is_drum, notes))
            _write(song, out_tracks, out_path)
            results.append(
                Result(
                    out_path,
                    [c for c in present if c not in tracks],
                    tracks,
                    timeline.n_bars(n_columns),
                    n_made,
                    time.perf_counter() - started,
                )
            )
        return results

    # ----- shared steps -----

    def _check_covered(self, classes: list[str]) -> None:
        uncovered = [c for c in classes if c not in self.config.classes]
        if uncovered and not self.options.force:
            raise GetMusicError(
                f"model '{self.config.name}' was not trained on {', '.join(uncovered)} "
                f"(it covers {_list(self.config.classes)}); use --force to try anyway"
            )

    def _chords(self, song: Song, timeline: Timeline, n_columns: int) -> list | None:
        """The chord per bar: given by the user (cycled), inferred from the pitched tracks, or off."""
        n_bars = timeline.n_bars(n_columns)
        if self.options.no_chords:
            return None
        if self.options.chords:
            given = chordlib.parse_chords(self.options.chords)
            if not given:
                raise GetMusicError("--chords needs at least one chord, e.g. --chords 'Am F C G'")
            return [given[i % len(given)] for i in range(n_bars)]
        pitched = [n for c in song.classes() if c != "drums" for n in song.notes[c]]
        if not pitched:
            return None  # nothing to hear chords in (e.g. only drums kept)
        return chordlib.recognize_chords(pitched, timeline, n_columns, lag=self.config.chord_lag)

    def _sample(self, task: Task, score: GETScore, progress: Progress | None, label: str) -> np.ndarray:
        import torch

        from getmusic_cli.model.sampler import SamplerOptions
        from getmusic_cli.model.windows import sample_windows
        from getmusic_cli.score.ranges import allowed_pitch_ids, class_ranges

        n = self.options.variations
        device = self.denoiser.device
        tokens = torch.from_numpy(task.tokens).to(device).unsqueeze(0).repeat(n, 1, 1)
        condition = torch.from_numpy(task.condition).to(device).unsqueeze(0).repeat(n, 1, 1)
        options = SamplerOptions(
            steps=self.steps,
            temperature=self.options.temperature,
            top_p=self.options.top_p,
            seed=self.options.seed,
            allowed_ids=allowed_pitch_ids(self.vocab, class_ranges(self.options.ranges), score.pitch_shift),
        )
        report = (lambda done, total: progress(label, done, total)) if progress else None
        out = sample_windows(
            self.denoiser,
            self.vocab,
            tokens,
            condition,
            self.config.train_length,
            options,
            bar_starts=score.bar_starts,
            progress=report,
        )
        return out.cpu().numpy()

    def _made_track(self, name: str, notes: list[Note]) -> OutTrack:
        program = self.options.programs.get(name, DEFAULT_PROGRAM.get(name, 0))
        notes = [self._velocity(n, name) for n in notes]
        return OutTrack(f"{name} (getmusic)", program, name == "drums", notes)

    @staticmethod
    def _velocity(note: Note, name: str) -> Note:
        return Note(note.start, note.end, note.pitch, DEFAULT_VELOCITY[name])


# ----- small helpers -----


def example_song() -> Path:
    """The public-domain example shipped in the package (Bach, chorale BWV 253: lead, strings, bass)."""
    return Path(__file__).parent / "assets" / "examples" / "bach_bwv253.mid"


def parse_bars(text: str) -> list[tuple[int, int]]:
    """'9-12' or '1-4,9-12' or '7' → [(first, last)], 1-based and inclusive."""
    ranges = []
    for part in text.replace(" ", "").split(","):
        pieces = part.split("-")
        try:
            if len(pieces) == 1:
                first = last = int(pieces[0])
            elif len(pieces) == 2:
                first, last = int(pieces[0]), int(pieces[1])
            else:
                raise ValueError
        except ValueError:
            raise GetMusicError(f"--bars {text!r}: write bar ranges like 9-12 or 1-4,9-12") from None
        if first < 1 or last < first:
            raise GetMusicError(f"--bars {text!r}: bars count from 1 and a range goes up, like 9-12")
        ranges.append((first, last))
    return ranges


def plan_outputs(path: Path, output: Path | None, out_dir: Path | None, variations: int, force: bool) -> list[Path]:
    """Where the results of one input go: ``-o``, else ``--out-dir``/``IN.getmusic.mid``, else beside the input.

    Variations get -1..-N suffixes. Refuses (before any work) to overwrite an existing file without ``force``.
    """
    if output is not None:
        base = output
    else:
        base = (out_dir or path.parent) / f"{path.stem}.getmusic.mid"
    if variations == 1:
        paths = [base]
    else:
        paths = [base.with_name(f"{base.stem}-{i}{base.suffix}") for i in range(1, variations + 1)]
    for p in paths:
        if not p.parent.is_dir():
            raise GetMusicError(f"folder {p.parent} does not exist")
        if p.exists() and not force:
            raise GetMusicError(f"{p} exists; use --force to overwrite it")
    return paths


def _list(classes: list[str]) -> str:
    return ", ".join(classes) or "no tracks"


def _require_present(path: Path, wanted: list[str], present: list[str], verb: str) -> None:
    missing = [c for c in wanted if c not in present]
    if missing:
        raise GetMusicError(f"{path.name} has no {', '.join(missing)} track to {verb} (it has: {_list(present)})")


def _only(song: Song, classes: list[str]) -> Song:
    return Song(
        ticks_per_beat=song.ticks_per_beat,
        tempos=song.tempos,
        time_signatures=song.time_signatures,
        sources=[s for s in song.sources if s.instrument in classes],
        notes={c: n for c, n in song.notes.items() if c in classes},
        name=song.name,
    )


def _with_tokens(score: GETScore, tokens: np.ndarray) -> GETScore:
    return GETScore(tokens=tokens, bar_starts=score.bar_starts, pitch_shift=score.pitch_shift)


def _source_out(source) -> OutTrack:
    return OutTrack(source.name, source.program, source.is_drum, source.notes)


def _write(song: Song, tracks: list[OutTrack], path: Path) -> None:
    write_midi(
        path,
        ticks_per_beat=song.ticks_per_beat,
        tempos=song.tempos,
        time_signatures=song.time_signatures,
        tracks=tracks,
    )


def parse_programs(items: list[str]) -> dict[str, int]:
    """['bass=33', 'lead=73'] → {'bass': 33, 'lead': 73}: GM programs for generated tracks."""
    from getmusic_cli.score.tracks import parse_class

    programs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit() or not 0 <= int(value) <= 127:
            raise GetMusicError(f"--program {item!r}: write CLASS=PROGRAM with a GM program 0-127, e.g. bass=33")
        programs[parse_class(name.strip())] = int(value)
    return programs
