"""The public verbs: generate and infill (the CLI's and the Python API's).

read → map → encode → task → sample (windows) → decode → merge with the untouched input → write.
Kept tracks go back out from the ORIGINAL notes and events; only generated notes come from the model. Generated
notes of a class the input has go back into its tracks (score/assign.py says which note goes where), keeping
their names, programs, channels and every non-note event; a class the input lacks gets one new track.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from getmusic_cli.errors import GetMusicError, printable
from getmusic_cli.files import check_output
from getmusic_cli.score.assign import split_notes
from getmusic_cli.score.codec import GETScore, decode, encode, song_columns
from getmusic_cli.score.conditioning import (
    CHORDS_GIVEN,
    CHORDS_KEPT,
    CHORDS_NONE,
    chord_rows,
    generation_input,
)
from getmusic_cli.score.limits import Limits
from getmusic_cli.score.midi_io import OutTrack, assign_channels, read_midi, write_midi
from getmusic_cli.score.song import MidiEvent, Note, Song, SourceTrack
from getmusic_cli.score.task import Task, infill_task
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
    threads: int | None = None  # intra-op threads; None = GETMUSIC_THREADS, else chosen (runtime/threads.py)
    int8: bool = False  # ONNX Runtime dynamic int8 (--backend onnx only; off by default)
    steps: int | None = None
    seed: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    drum_repeat: float | None = None  # log-odds for a made drum hit the neighbouring bars hold; None = the model's
    kit_anchor: float | None = None  # strength of the drums' kit anchor; None = the model's
    onset_anchor: float | None = None  # strength of the drums' onset anchor; None = the model's
    variations: int = 1
    chords: str | None = None  # "Am F C G": one chord per bar, cycled
    no_chords: bool = False
    maps: dict[str, str] = field(default_factory=dict)  # track name or index -> class
    programs: dict[str, int] = field(default_factory=dict)  # class -> GM program for generated tracks
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)  # class -> (low, high) MIDI pitch, on defaults
    force: bool = False  # overwrite existing outputs
    allow_uncovered: bool = False  # make classes the model was not trained on
    cache_dir: Path | None = None
    limits: Limits | None = None  # longest song taken on (default: Limits.from_env())


@dataclass
class Result:
    path: Path
    kept: list[str]
    made: list[str]
    bars: int
    notes_made: int
    seconds: float
    warnings: list[str] = field(default_factory=list)  # e.g. a made track that had to share a MIDI channel
    changed_bars: list[tuple[int, int]] | None = None  # infill: the bar ranges regenerated (1-based, inclusive)
    previews: list[Path] = field(default_factory=list)  # WAV / PNG written beside the output (--preview, --plot)

    def kept_text(self) -> str:
        if self.changed_bars is not None:
            return ", ".join(self.kept + ["all tracks outside those bars"])
        return ", ".join(self.kept) or "-"

    def made_text(self) -> str:
        made = ", ".join(self.made)
        if self.changed_bars is None:
            return made
        ranges = ",".join(f"{a}-{b}" if b > a else str(a) for a, b in self.changed_bars)
        return f"{made} (bars {ranges} only)"


class Generator:
    """A loaded model plus the options; generate/infill any number of songs with it."""

    def __init__(self, options: Options | None = None):
        from getmusic_cli.hub.resolve import resolve_model
        from getmusic_cli.runtime.loader import load_denoiser

        options = options or Options()
        if options.variations < 1:  # cheap checks first: resolving may download, loading may export
            raise GetMusicError("variations must be at least 1")
        self.options = options
        self.bundle = resolve_model(options.model, cache_dir=options.cache_dir)
        self.config = self.bundle.config
        self.vocab = self.bundle.vocab
        self.denoiser = load_denoiser(
            self.bundle,
            device=options.device,
            backend=options.backend,
            threads=options.threads,
            int8=options.int8,
            cache_dir=options.cache_dir,
        )
        self.steps = self._checked_steps(options)

    def with_options(self, **changes) -> Generator:
        """The same loaded model under other options (sampling, mapping, outputs), without loading it again.

        The fields that choose and load the model (model, device, backend, threads, int8, cache_dir) stay as they are.
        """
        fixed = sorted(set(changes) & {"model", "device", "backend", "threads", "int8", "cache_dir"})
        if fixed:
            raise ValueError(f"with_options cannot change {', '.join(fixed)}: make a new Generator")
        options = replace(self.options, **changes)
        if options.variations < 1:
            raise GetMusicError("variations must be at least 1")
        other = copy.copy(self)
        other.options = options
        other.steps = other._checked_steps(options)
        return other

    def _checked_steps(self, options: Options) -> int:
        if options.steps is not None and not 1 <= options.steps <= self.config.num_timesteps:
            raise GetMusicError(f"steps must be between 1 and {self.config.num_timesteps} for this model")
        return options.steps or self.config.sample_steps  # the model may suggest fewer than T

    # ----- the two verbs -----

    def generate(
        self,
        path: str | Path,
        make: str | Sequence[str],
        keep: str | Sequence[str] | None = None,
        outputs: Sequence[str | Path] | None = None,
        progress: Progress | None = None,
    ) -> list[Result]:
        """Make the ``make`` classes ("bass,drums" or a list) under the ``keep`` ones (default: every other class
        present; "" or [] keeps nothing). One Result per variation."""
        started = time.perf_counter()
        path = Path(path)
        make = _classes(make, allow_empty=True)
        keep = None if keep is None else _classes(keep, allow_empty=True)
        if not make:
            raise GetMusicError("nothing to make: name at least one track class", "e.g. --make bass,drums")
        outputs = self._outputs(path, outputs)
        song = read_midi(path, self.options.maps or None, self.options.limits)
        present = song.classes()
        if keep is None:
            keep = [c for c in present if c not in make]
        overlap = sorted(set(keep) & set(make), key=INSTRUMENTS.index)
        if overlap:
            raise GetMusicError(f"{', '.join(overlap)} cannot be both kept and made")
        _require_present(path, keep, present, "keep")
        self._check_covered(make)

        prepared = generation_input(
            song,
            keep,
            make,
            self.vocab,
            transpose=self.config.transpose,
            chord_lag=self.config.chord_lag,
            chords=self._chord_mode(),
            given_chords=self.options.chords,
        )
        timeline, score = prepared.timeline, prepared.score
        sampled = self._sample(prepared.task, score, progress, label=path.name)

        results = []
        # A made class goes back into the input's tracks of that class, unless --program asks for another sound.
        homes = {c: [s for s in song.sources if s.instrument == c] for c in make if c not in self.options.programs}
        for out_path, tokens in zip(outputs, sampled):
            made_notes = decode(_with_tokens(score, tokens), self.vocab, timeline, classes=make)
            new = {c: [self._velocity(n, c) for n in made_notes.get(c, [])] for c in make}
            shares = {c: _split(new[c], homes[c], song.ticks_per_beat) for c in make if homes.get(c)}
            tracks = []
            for source in song.sources:
                if source.instrument in keep:
                    tracks.append(_source_out(source, source.notes))
                elif source.instrument in shares:
                    tracks.append(_source_out(source, shares[source.instrument][id(source)]))
            tracks += [self._made_track(c, new[c]) for c in make if c not in shares]
            warnings = _write(song, tracks, out_path, self.options.force)
            results.append(
                Result(
                    out_path,
                    keep,
                    make,
                    timeline.n_bars(score.tokens.shape[1]),
                    sum(len(v) for v in new.values()),
                    time.perf_counter() - started,
                    warnings,
                )
            )
        return results

    def infill(
        self,
        path: str | Path,
        bars: str,
        tracks: str | Sequence[str] | None = None,
        outputs: Sequence[str | Path] | None = None,
        progress: Progress | None = None,
    ) -> list[Result]:
        """Regenerate ``bars`` ("9-12" or "1-4,9-12") of ``tracks`` ("bass,piano" or a list; default: every class
        present), keeping everything else. One Result per variation."""
        started = time.perf_counter()
        path = Path(path)
        chosen = None if tracks is None else _classes(tracks)
        bar_ranges = parse_bars(bars)
        outputs = self._outputs(path, outputs)
        song = read_midi(path, self.options.maps or None, self.options.limits)
        present = song.classes()
        tracks = chosen or present
        _require_present(path, tracks, present, "infill")
        self._check_covered(tracks)

        timeline = Timeline(song.ticks_per_beat, song.time_signatures)
        score, _ = encode(
            song,
            self.vocab,
            chords=self._chords(song, timeline, song_columns(song, timeline)),
            transpose=self.config.transpose,
        )
        n_columns = score.tokens.shape[1]
        regions = [timeline.bar_range_to_columns(a, b, n_columns) for a, b in bar_ranges]
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
        homes = {c: [s for s in song.sources if s.instrument == c] for c in tracks}
        for out_path, tokens in zip(outputs, sampled):
            made_notes = decode(_with_tokens(score, tokens), self.vocab, timeline, classes=tracks)
            new = {c: [self._velocity(cut(n), c) for n in made_notes.get(c, []) if inside(n)] for c in tracks}
            shares = {c: _split(new[c], homes[c], song.ticks_per_beat) for c in tracks}
            out_tracks = []
            for source in song.sources:
                if source.instrument is None:
                    continue
                notes = source.notes
                if source.instrument in tracks:
                    share = shares[source.instrument][id(source)]
                    notes = sorted([n for n in notes if not inside(n)] + share, key=lambda n: (n.start, n.pitch))
                out = _source_out(source, notes)
                if source.instrument in tracks and source.instrument in self.options.programs:
                    # a program asked for a regenerated class applies to its tracks
                    out = _with_program(out, self.options.programs[source.instrument])
                out_tracks.append(out)
            warnings = _write(song, out_tracks, out_path, self.options.force)
            results.append(
                Result(
                    out_path,
                    [c for c in present if c not in tracks],
                    tracks,
                    timeline.n_bars(n_columns),
                    sum(len(v) for v in new.values()),
                    time.perf_counter() - started,
                    warnings,
                    changed_bars=bar_ranges,
                )
            )
        return results

    # ----- shared steps -----

    def _outputs(self, path: Path, outputs: Sequence[str | Path] | None) -> list[Path]:
        """The given outputs (one per variation) or the default ones, checked before any work."""
        if outputs is None:
            return plan_outputs(path, None, None, self.options.variations, self.options.force)
        paths = [Path(p) for p in outputs]
        if len(paths) != self.options.variations:
            raise GetMusicError(f"{len(paths)} output paths for {self.options.variations} variations")
        for p in paths:
            check_output(p, overwrite=self.options.force)
        return paths

    def _check_covered(self, classes: list[str]) -> None:
        uncovered = [c for c in classes if c not in self.config.classes]
        if uncovered and not self.options.allow_uncovered:
            raise GetMusicError(
                f"model '{self.config.name}' was not trained on {', '.join(uncovered)} "
                f"(it covers {_list(self.config.classes)})",
                cli_hint="use --allow-uncovered to try anyway",
            )

    def _chord_mode(self) -> str:
        if self.options.no_chords:
            return CHORDS_NONE
        return CHORDS_GIVEN if self.options.chords else CHORDS_KEPT

    def _chords(self, song: Song, timeline: Timeline, n_columns: int) -> list | None:
        """The chord per bar: given by the user (cycled), inferred from the pitched tracks, or off."""
        return chord_rows(song, timeline, n_columns, self.config.chord_lag, self._chord_mode(), self.options.chords)

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
            drum_repeat=self.options.drum_repeat,
            kit_anchor=self.options.kit_anchor,
            onset_anchor=self.options.onset_anchor,
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
        """A new track for a made class (its notes already carry the class's velocity)."""
        program = self.options.programs.get(name, DEFAULT_PROGRAM.get(name, 0))
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
            raise GetMusicError(f"bars {text!r}: write bar ranges like 9-12 or 1-4,9-12") from None
        if first < 1 or last < first:
            raise GetMusicError(f"bars {text!r}: bars count from 1 and a range goes up, like 9-12")
        ranges.append((first, last))
    return ranges


def plan_outputs(
    path: str | Path, output: str | Path | None, out_dir: str | Path | None, variations: int, force: bool
) -> list[Path]:
    """Where the results of one input go: ``output``, else ``out_dir``/``IN.getmusic.mid``, else beside the input.

    Variations get -1..-N suffixes (``out.mid`` → ``out-1.mid``, ``out-2.mid``, ...). Refuses (before any work)
    an output that cannot be written, or an existing file without ``force``.
    """
    path = Path(path)
    output = None if output is None else Path(output)
    out_dir = None if out_dir is None else Path(out_dir)
    if output is not None:
        base = output
    else:
        base = (out_dir or path.parent) / f"{path.stem}.getmusic.mid"
    if variations == 1:
        paths = [base]
    else:
        paths = [base.with_name(f"{base.stem}-{i}{base.suffix}") for i in range(1, variations + 1)]
    for p in paths:
        check_output(p, overwrite=force)
    return paths


def _list(classes: list[str]) -> str:
    return ", ".join(classes) or "no tracks"


def _classes(value: str | Sequence[str], *, allow_empty: bool = False) -> list[str]:
    """ "bass,drums" or ["bass", "drums"] (aliases allowed) → canonical classes in row order."""
    from getmusic_cli.score.tracks import parse_class_list

    text = value if isinstance(value, str) else ",".join(str(v) for v in value)
    if allow_empty and not text.replace(",", "").strip():
        return []
    return parse_class_list(text)


def _require_present(path: Path, wanted: list[str], present: list[str], verb: str) -> None:
    missing = [c for c in wanted if c not in present]
    if missing:
        raise GetMusicError(
            f"{printable(path.name)} has no {', '.join(missing)} track to {verb} (it has: {_list(present)})"
        )


def _with_tokens(score: GETScore, tokens: np.ndarray) -> GETScore:
    return GETScore(tokens=tokens, bar_starts=score.bar_starts, pitch_shift=score.pitch_shift)


def _source_out(source: SourceTrack, notes: list[Note]) -> OutTrack:
    """An input track with the given notes and all of its own events, on its own channel."""
    return OutTrack(source.name, source.program, source.is_drum, notes, source.channel, source.events)


def _with_program(track: OutTrack, program: int) -> OutTrack:
    """The track with another GM program: its own program changes on its channel say the new one too."""
    channel = track.channel
    events = [
        MidiEvent(e.tick, bytes((e.data[0], program)))
        if len(e.data) == 2 and e.data[0] & 0xF0 == 0xC0 and (channel is None or e.data[0] & 0x0F == channel)
        else e
        for e in track.events
    ]
    return OutTrack(track.name, program, track.is_drum, track.notes, track.channel, events)


def _split(notes: list[Note], homes: list[SourceTrack], ticks_per_beat: int) -> dict[int, list[Note]]:
    """New notes of one class per input track of that class (keyed by id of the SourceTrack)."""
    shares = split_notes(notes, [h.notes for h in homes], ticks_per_beat)
    return {id(h): share for h, share in zip(homes, shares)}


def _write(song: Song, tracks: list[OutTrack], path: Path, overwrite: bool) -> list[str]:
    """Write the tracks with the song's maps and events; return lines about channels that had to be shared."""
    warnings = assign_channels(tracks, song.events)
    write_midi(
        path,
        ticks_per_beat=song.ticks_per_beat,
        tempos=song.tempos,
        time_signatures=song.time_signatures,
        tracks=tracks,
        events=song.events,
        end_of_file=song.end_of_file,
        overwrite=overwrite,
    )
    return warnings


def check_drum_repeat(value: float | None) -> None:
    """--drum-repeat is log-odds added for a hit the bars around hold: a negative one would push grooves apart."""
    _check_strength("--drum-repeat", value, "log-odds; 2-3 steadies the drums")


def check_anchor(flag: str, value: float | None) -> None:
    """--kit-anchor and --onset-anchor scale a pull back to a target: a negative one would push away from it."""
    _check_strength(flag, value, "1 keeps the target, 0 turns it off")


def _check_strength(flag: str, value: float | None, hint: str) -> None:
    if value is not None and not 0 <= value < float("inf"):
        raise GetMusicError(f"{flag} must be 0 or more ({hint}), not {value}")


def parse_programs(items: list[str]) -> dict[str, int]:
    """['bass=33', 'lead=73'] → {'bass': 33, 'lead': 73}: GM programs for generated tracks."""
    from getmusic_cli.score.tracks import parse_class

    programs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit() or not 0 <= int(value) <= 127:
            raise GetMusicError(f"program {item!r}: write CLASS=PROGRAM with a GM program 0-127, e.g. bass=33")
        programs[parse_class(name.strip())] = int(value)
    return programs
