"""The studio's state, in memory: the song being edited, the variations of the last generation, undo, and the one
generation job at a time. No web framework here (app.py serves it), so all of it is tested without a server.

The pipeline reads and writes MIDI files and the synthesizer writes WAVs, so every version of the song lives as a
file in the server's private temporary folder (removed when the server stops); nothing is written anywhere else:
the user's own files come only from the browser's downloads.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from getmusic_cli.errors import GetMusicError, first_line, printable
from getmusic_cli.score.limits import Limits
from getmusic_cli.score.midi_io import read_midi
from getmusic_cli.score.song import Song
from getmusic_cli.score.tracks import DROP, INSTRUMENTS, display_name, gm_name, parse_class

MAX_UPLOAD_MB = 5.0  # a page upload; the song-length limits of score/limits.py apply as well
MAX_VARIATIONS = 8
WAVS_KEPT = 6  # rendered versions kept in memory, at most
WAV_BYTES_KEPT = 256 * 2**20  # and at most this much WAV (a minute is 10.6 MB), the newest one always
GETMUSIC_SUFFIX = " (getmusic)"  # the name the pipeline gives a new track of a made class


class Cancelled(GetMusicError):
    """Raised from the progress callback when the user presses Stop."""


class Busy(GetMusicError):
    """A change asked for while a generation runs (the server answers 409)."""


@dataclass
class Version:
    """One version of the song: the opened file, or a variation made from the version before it."""

    id: int
    label: str  # "original", "B2: bars 5-8 of bass (seed 7)"
    filename: str  # name the browser downloads it under
    path: Path  # the MIDI file in the work folder
    song: Song  # read with ``overrides``
    overrides: dict[str, str] = field(default_factory=dict)  # track index (str) -> class or "drop", as --map
    set_here: set[str] = field(default_factory=set)  # override keys the user chose (the rest carried over)
    base: Version | None = None  # the version it was made from (candidates)
    seed: int | None = None
    warnings: list[str] = field(default_factory=list)
    wav: bytes | None = None


@dataclass
class Job:
    id: int = 0
    state: str = "idle"  # idle | running | done | error | cancelled
    done: int = 0
    total: int = 0
    message: str = ""
    started: float = 0.0
    seconds: float = 0.0
    cancel: threading.Event = field(default_factory=threading.Event)

    def view(self) -> dict:
        elapsed = (time.perf_counter() - self.started) if self.state == "running" else self.seconds
        return {
            "id": self.id,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "message": self.message,
            "seconds": round(elapsed, 1),
        }


def safe_filename(name: str | None) -> str:
    """An uploaded file's name as a plain ``NAME.mid`` (no folders, no odd characters)."""
    stem = Path(str(name or "")).name
    stem = re.sub(r"\.(midi?|kar|rmi)$", "", stem, flags=re.IGNORECASE)
    stem = re.sub(r"[^A-Za-z0-9._ -]+", "_", stem).strip(" ._")[:80]
    return f"{stem or 'song'}.mid"


class Studio:
    """A loaded model (a pipeline Generator) plus the song the page works on.

    Every method is safe to call from several request threads; generation runs in one worker thread at a time.
    """

    def __init__(
        self, generator, workdir: str | Path, *, limits: Limits | None = None, audio_problem: str | None = None
    ):
        self.generator = generator
        self.workdir = Path(workdir)
        self.limits = limits or Limits.from_env()
        self.max_upload_bytes = int(min(MAX_UPLOAD_MB, self.limits.max_file_mb) * 2**20)
        self.audio_problem = audio_problem  # None: audio works; else the one line that says what to install
        self._lock = threading.RLock()
        self._ids = 0
        self.current: Version | None = None
        self.candidates: list[Version] = []
        self.history: list[tuple[Version, list[Version]]] = []  # undo stack: (current, candidates) before a change
        self.job = Job()
        self._thread: threading.Thread | None = None
        self._rendered: list[Version] = []  # versions holding a WAV, oldest first

    # ----- opening and mapping -----

    def open(self, name: str | None, data: bytes) -> None:
        """Open a MIDI file's bytes as the new song (undo goes back to the song before)."""
        if len(data) > self.max_upload_bytes:
            raise GetMusicError(
                f"{printable(safe_filename(name))}: {len(data) / 2**20:.1f} MB is too large "
                f"(the studio takes MIDI files up to {self.max_upload_bytes / 2**20:g} MB)"
            )
        filename = safe_filename(name)
        with self._lock:
            self._refuse_while_running()
            version = self._new_version("original", filename, data, {})
            if self.current is not None:
                self.history.append((self.current, self.candidates))
            self.current, self.candidates = version, []

    def open_path(self, path: str | Path) -> None:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise GetMusicError(f"{printable(path)}: cannot read ({first_line(exc.strerror or exc)})") from None
        self.open(path.name, data)

    def set_class(self, index: int, choice: str) -> None:
        """Map track ``index`` of the current version to a class, "drop", or "auto" (the automatic mapping)."""
        with self._lock:
            self._refuse_while_running()
            current = self._require_song()
            if not any(s.index == index for s in current.song.sources):
                raise GetMusicError(f"no track {index} in this song")
            overrides, set_here = dict(current.overrides), set(current.set_here)
            key = str(index)
            if choice == "auto":
                overrides.pop(key, None)
                set_here.discard(key)
            else:
                overrides[key] = DROP if choice == DROP else parse_class(choice)
                set_here.add(key)
            song = read_midi(current.path, overrides or None, self.limits)
            self.history.append((current, self.candidates))
            self.current = Version(
                self._next_id(), current.label, current.filename, current.path, song, overrides, set_here
            )
            self.candidates = []

    # ----- choosing among versions -----

    def accept(self, version_id: int) -> None:
        """Make a variation the current version (the one the next generation starts from)."""
        with self._lock:
            self._refuse_while_running()
            chosen = self._find(version_id)
            if chosen not in self.candidates:
                raise GetMusicError("only a variation of the last generation can be kept")
            self.history.append((self.current, self.candidates))
            self.current, self.candidates = chosen, []

    def undo(self) -> None:
        with self._lock:
            self._refuse_while_running()
            if not self.history:
                raise GetMusicError("nothing to undo")
            self.current, self.candidates = self.history.pop()

    def discard(self) -> None:
        with self._lock:
            self._refuse_while_running()
            if self.candidates:
                self.history.append((self.current, self.candidates))
                self.candidates = []

    # ----- files for the browser -----

    def midi(self, version_id: int) -> tuple[str, bytes]:
        version = self._find(version_id)
        return version.filename, version.path.read_bytes()

    def wav(self, version_id: int) -> tuple[str, bytes]:
        """The version rendered with the General MIDI soundfont (the 'audio' extra), cached in memory."""
        from getmusic_cli.preview.audio import render_wav

        version = self._find(version_id)
        if self.audio_problem:
            raise GetMusicError(self.audio_problem)
        data = version.wav
        if data is None:
            wav = version.path.with_suffix(".wav")
            try:
                render_wav(version.path, wav)
                data = wav.read_bytes()
            finally:
                wav.unlink(missing_ok=True)
            with self._lock:
                version.wav = data
                self._rendered = [v for v in self._rendered if v is not version] + [version]
                kept, size = [], 0
                for v in reversed(self._rendered):
                    size += len(v.wav)
                    if kept and (len(kept) >= WAVS_KEPT or size > WAV_BYTES_KEPT):
                        v.wav = None
                    else:
                        kept.insert(0, v)
                self._rendered = kept
        return Path(version.filename).with_suffix(".wav").name, data

    # ----- generation -----

    def start(self, request: dict) -> int:
        """Check a generation request and run it in a worker thread; returns the job id (poll ``job``)."""
        with self._lock:
            self._refuse_while_running()
            current = self._require_song()
            run, describe, options = self._plan(request, current)
            self.job = Job(id=self.job.id + 1, state="running", message="starting", started=time.perf_counter())
            job = self.job
            self._thread = threading.Thread(
                target=self._work, args=(job, current, run, describe, options), name="getmusic-studio", daemon=True
            )
            self._thread.start()
            return job.id

    def cancel(self) -> None:
        self.job.cancel.set()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the running job (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _plan(self, request: dict, current: Version):
        """The pipeline call a request asks for, checked before anything runs: (run, describe, options)."""
        from getmusic_cli.pipeline import parse_bars, parse_programs
        from getmusic_cli.score.ranges import parse_range_option
        from getmusic_cli.score.tracks import parse_class_list

        seed = _integer(request, "seed", None, 0, 2**31 - 1)
        if seed is None:
            seed = random.randrange(2**31)  # drawn here so the page can show it and the user can repeat it
        chords = str(request.get("chords") or "").strip() or None
        no_chords = bool(request.get("no_chords"))
        if chords and no_chords:
            raise GetMusicError("give chords or switch them off, not both")
        temperature = _number(request, "temperature", 1.0, 0.0, 10.0)
        top_p = _number(request, "top_p", 1.0, 0.0, 1.0)
        drum_repeat = _number(request, "drum_repeat", None, 0.0, 10.0)  # None: the model's own
        kit_anchor = _number(request, "kit_anchor", None, 0.0, 10.0)  # None: the model's own
        onset_anchor = _number(request, "onset_anchor", None, 0.0, 10.0)
        options = dict(
            steps=_integer(request, "steps", None, 1, 10_000),
            seed=seed,
            temperature=temperature,
            top_p=top_p,
            drum_repeat=drum_repeat,
            kit_anchor=kit_anchor,
            onset_anchor=onset_anchor,
            variations=_integer(request, "variations", 1, 1, MAX_VARIATIONS),
            chords=chords,
            no_chords=no_chords,
            maps=dict(current.overrides),
            programs=parse_programs(_items(request.get("programs"))),
            ranges=parse_range_option(_items(request.get("ranges"))),
            allow_uncovered=bool(request.get("allow_uncovered")),
            force=True,  # outputs go to fresh names in the work folder
        )
        mode = request.get("mode")
        present = current.song.classes()
        if mode == "infill":
            bars_text = str(request.get("bars") or "").strip()
            if not bars_text:
                raise GetMusicError("select the bars to regenerate: drag over the grid, or type them like 5-8")
            bar_ranges = parse_bars(bars_text)
            tracks = parse_class_list(",".join(_items(request.get("tracks")))) if request.get("tracks") else present
            bars = ",".join(f"{a}-{b}" if b > a else str(a) for a, b in bar_ranges)

            def run(generator, path, outputs, progress):
                return generator.infill(path, bars, tracks, outputs, progress)

            describe = f"bars {bars} of {', '.join(tracks)}"
        elif mode == "generate":
            make = parse_class_list(",".join(_items(request.get("make")))) if request.get("make") else []
            if not make:
                raise GetMusicError("nothing to make: tick at least one class to make")
            keep = parse_class_list(",".join(_items(request.get("keep")))) if request.get("keep") else []

            def run(generator, path, outputs, progress):
                return generator.generate(path, make, keep, outputs, progress)

            describe = f"made {', '.join(make)}" + (f" under {', '.join(keep)}" if keep else " from nothing")
        else:
            raise GetMusicError("choose what to do: regenerate selected bars, or make tracks")
        self.generator.with_options(**options)  # bad steps or variations fail now, not in the worker
        return run, describe, options

    def _work(self, job: Job, base: Version, run, describe: str, options: dict) -> None:
        started = time.perf_counter()
        made: list[Version] = []
        try:
            generator = self.generator.with_options(**options)
            folder = self.workdir / f"job-{job.id}"
            folder.mkdir()
            n = options["variations"]
            stem = Path(base.filename).stem.removesuffix(".getmusic")
            names = [f"{stem}.getmusic-{job.id}{'abcdefgh'[i] if n > 1 else ''}.mid" for i in range(n)]

            def progress(_label, done, total):
                if job.cancel.is_set():
                    raise Cancelled("stopped")
                job.done, job.total, job.message = done, total, f"step {done} of {total}"

            results = run(generator, base.path, [folder / name for name in names], progress)
            for i, (result, name) in enumerate(zip(results, names)):
                label = f"B{i + 1}: {describe} (seed {options['seed']}" + (f", variation {i + 1})" if n > 1 else ")")
                version = self._candidate(base, label, name, result.path)
                version.seed, version.warnings = options["seed"], list(result.warnings)
                made.append(version)
            outcome = ("done", f"{len(made)} variation{'s' * (len(made) > 1)} ready")
        except Cancelled:
            outcome = ("cancelled", "stopped")
        except GetMusicError as exc:
            outcome = ("error", first_line(str(exc)))
        except MemoryError:
            outcome = ("error", "out of memory")
        except Exception as exc:  # the server keeps running; the page shows one line
            outcome = ("error", f"internal error: {type(exc).__name__}: {first_line(exc)}")
        with self._lock:
            if outcome[0] == "done":
                self.history.append((self.current, self.candidates))
                self.candidates = made
            job.seconds = time.perf_counter() - started
            job.state, job.message = outcome

    # ----- versions -----

    def _candidate(self, base: Version, label: str, filename: str, path: Path) -> Version:
        """A generated file as a version: its tracks keep the classes they had in ``base`` (matched by name)."""
        auto = read_midi(path, None, self.limits)
        classes = {}
        unused = list(base.song.sources)
        for source in auto.sources:
            match = next((s for s in unused if s.name == source.name), None)
            if match is not None:
                unused.remove(match)
                classes[source.index] = match.instrument or DROP
            elif source.name.endswith(GETMUSIC_SUFFIX) and source.name[: -len(GETMUSIC_SUFFIX)] in INSTRUMENTS:
                classes[source.index] = source.name[: -len(GETMUSIC_SUFFIX)]
        overrides = {
            str(s.index): classes[s.index] for s in auto.sources if classes.get(s.index, s.instrument) != s.instrument
        }
        song = read_midi(path, overrides, self.limits) if overrides else auto
        version = Version(self._next_id(), label, filename, path, song, overrides, base=base)
        return version

    def _new_version(self, label: str, filename: str, data: bytes, overrides: dict[str, str]) -> Version:
        vid = self._next_id()
        folder = self.workdir / f"v{vid}"
        folder.mkdir()
        path = folder / filename
        path.write_bytes(data)
        song = read_midi(path, overrides or None, self.limits)
        return Version(vid, label, filename, path, song, overrides)

    def _next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def _find(self, version_id: int) -> Version:
        with self._lock:
            known = [self.current, *self.candidates] + [v for cur, cands in self.history for v in (cur, *cands)]
        for version in known:
            if version is not None and version.id == version_id:
                return version
        raise GetMusicError(f"no version {version_id} in this session")

    def _require_song(self) -> Version:
        if self.current is None:
            raise GetMusicError("open a MIDI file first")
        return self.current

    def _refuse_while_running(self) -> None:
        if self.job.state == "running":
            raise Busy("a generation is running: wait for it, or press Stop")

    # ----- what the page shows -----

    def state(self) -> dict:
        with self._lock:
            current, candidates = self.current, list(self.candidates)
            return {
                "model": self.generator.config.name,
                "classes": list(INSTRUMENTS),
                "model_classes": list(self.generator.config.classes),
                "audio": self.audio_problem,
                "max_upload_mb": self.max_upload_bytes / 2**20,
                "defaults": {
                    "steps": self.generator.steps,
                    "max_steps": self.generator.config.num_timesteps,
                    "max_variations": MAX_VARIATIONS,
                },
                "undo": len(self.history),
                "current": song_view(current) if current else None,
                "candidates": [song_view(v) for v in candidates],
                "job": self.job.view(),
            }


def song_view(version: Version) -> dict:
    """What the page draws of a version: tracks and their classes, bars (start, length, seconds, chord), key, and
    the notes of each class on the 16th-note grid (for a variation: which notes are new against its base)."""
    from getmusic_cli.inspect import song_seconds
    from getmusic_cli.score.chords import chord_name
    from getmusic_cli.score.codec import song_columns
    from getmusic_cli.score.conditioning import heard_chords, pitched_notes
    from getmusic_cli.score.keys import detect_key
    from getmusic_cli.score.timeline import Timeline

    song = version.song
    tpb = song.ticks_per_beat
    timeline = Timeline(tpb, song.time_signatures)
    n_columns = song_columns(song, timeline)
    starts = timeline.bar_starts(n_columns)
    ends = starts[1:] + [n_columns]
    pitched = pitched_notes(song)
    key = detect_key(pitched, tpb).name if pitched else None
    chords = heard_chords(song, timeline, n_columns) or [None] * len(starts)
    bars = [
        {
            "start": a,
            "length": b - a,
            "seconds": round(song_seconds(song, timeline.column_to_tick(a)), 4),
            "chord": chord_name(chords[i]) if i < len(chords) and chords[i] is not None else "",
        }
        for i, (a, b) in enumerate(zip(starts, ends))
    ]
    base_notes = version.base.song.notes if version.base is not None else None
    notes = {}
    for cls, class_notes in song.notes.items():
        old = Counter((n.start, n.end, n.pitch) for n in (base_notes or {}).get(cls, []))
        drawn = []
        for n in class_notes:
            new = base_notes is not None and old[(n.start, n.end, n.pitch)] <= 0
            if not new and base_notes is not None:
                old[(n.start, n.end, n.pitch)] -= 1
            drawn.append([round(n.start * 4 / tpb, 3), round((n.end - n.start) * 4 / tpb, 3), n.pitch, int(new)])
        notes[cls] = drawn
    tracks = [
        {
            "index": s.index,
            "name": printable(display_name(s)),
            "program": "drums (ch 10)" if s.is_drum else f"{s.program} {gm_name(s.program)}",
            "notes": len(s.notes),
            "class": s.instrument or DROP,
            "reason": _reason(version, s),
        }
        for s in song.sources
    ]
    return {
        "id": version.id,
        "label": version.label,
        "filename": version.filename,
        "base": version.base.id if version.base is not None else None,
        "seed": version.seed,
        "warnings": [printable(w) for w in version.warnings],
        "tracks": tracks,
        "bars": bars,
        "columns": n_columns,
        "seconds": round(song_seconds(song, timeline.column_to_tick(n_columns)), 4),
        "key": key,
        "bpm": round(song.tempos[0].bpm, 1) if song.tempos else 120.0,
        "meter": f"{song.time_signatures[0].numerator}/{song.time_signatures[0].denominator}"
        if song.time_signatures
        else "4/4",
        "notes": notes,
        "new_notes": sum(n[3] for ns in notes.values() for n in ns),
    }


def _reason(version: Version, source) -> str:
    key = str(source.index)
    if key in version.set_here:
        return "chosen here"
    if key in version.overrides:
        return "as in the version it was made from"
    return printable(source.reason)


def _items(value) -> list[str]:
    """A list of strings from a JSON list or a comma/space separated text ("bass=33 lead=73")."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"[,\s]+", value) if part]
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    raise GetMusicError(f"expected a list, not {type(value).__name__}")


def _number(request: dict, name: str, default: float | None, low: float, high: float) -> float | None:
    value = request.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GetMusicError(f"{name.replace('_', '-')} must be a number, not {printable(value)!r}") from None
    if not low <= number <= high:
        raise GetMusicError(f"{name.replace('_', '-')} must be between {low:g} and {high:g}")
    return number


def _integer(request: dict, name: str, default: int | None, low: int, high: int) -> int | None:
    value = request.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not re.fullmatch(r"\s*-?\d+\s*", str(value)):
        raise GetMusicError(f"{name} must be a whole number, not {printable(value)!r}")
    number = int(value)
    if not low <= number <= high:
        raise GetMusicError(f"{name} must be between {low} and {high}")
    return number
