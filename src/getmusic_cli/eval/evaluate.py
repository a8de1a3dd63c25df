"""``getmusic evaluate``: generate target tracks for held-out songs and compare them with the real ones.

For each song (the valid split of DATA_DIR by the training split rule, or every file), ``--windows`` windows of
the model's training length are taken one after another from the start of the song; in each, the ``--keep``
tracks (and the chord rows, as the model was trained) are the condition and the ``--make`` tracks are
generated. Then, per window:

* chord accuracy: chords recognised (lag 0) from the generated tracks vs chords recognised from the real
  target tracks of the window, bar by bar (a perfect generation scores 1);
* overlapped area of the pitch, duration and inter-onset-interval histograms of each generated track vs the
  real track of the same class.

A system's score is the mean over songs (each song the mean of its windows) with its standard error over songs.
Two references are measured in the same run, on the same windows: the real target tracks of a window of another
held-out song, put on this window's bar grid and in its key (what "real music that fits the meter and key, but
not this song" scores), and the ``debug`` random model (what an untrained network scores). The model minus each
reference is reported per song, paired, with its standard error.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from getmusic_cli.errors import GetMusicError
from getmusic_cli.eval import metrics
from getmusic_cli.score.tracks import INSTRUMENTS, duration_row, pitch_row
from getmusic_cli.train import sources as src

SYSTEM_MODEL = "model"
SYSTEM_SHUFFLED = "shuffled real"
SYSTEM_RANDOM = "debug random"
METRICS = ("chord_accuracy", "pitch", "duration", "ioi")
BATCH = 8


@dataclass
class EvalOptions:
    model: str | None
    data_dir: Path
    keep: list[str]
    make: list[str]
    n: int = 50
    steps: int | None = None
    seed: int = 0
    device: str = "auto"
    split: str = "valid"  # valid: held-out files by hash (all files if none); all: every file
    chords: bool = True  # condition on the chord rows, as in training
    references: bool = True
    windows: int = 1  # windows per song, one after another from its start
    temperature: float = 1.0  # sampler settings, for the model and the random reference alike
    top_p: float = 1.0
    threads: int | None = None  # intra-op threads (runtime/threads.py chooses when None)


@dataclass(eq=False)
class EvalWindow:
    """The real side of one window of one held-out song, in the evaluated model's vocabulary."""

    rel: str  # the song's file, relative to DATA_DIR
    song: int  # index of the song among the evaluated ones
    timeline: object
    tpb: int
    start: int  # first column of the window (a bar line)
    columns: int  # columns of the window inside the song (at most the model's window)
    song_columns: int  # columns of the whole song
    pitch_shift: int  # the song's transposition into C (see score.keys)
    tokens: np.ndarray  # real tokens of the window, (14, columns)
    real: dict[str, list] = field(default_factory=dict)  # real notes per class, in ticks of the song
    real_chords: list = field(default_factory=list)  # per bar of the window, from the real target tracks


@dataclass
class EvalReport:
    model: str
    keep: list[str]
    make: list[str]
    songs: list[str]
    skipped: list[tuple[str, str]]
    per_window: dict[str, list[dict]] = field(default_factory=dict)  # system -> one metrics dict per window
    summary: dict[str, dict] = field(default_factory=dict)  # system -> mean ± standard error over songs
    paired: dict[str, dict] = field(default_factory=dict)  # reference -> model minus reference, per metric

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "keep": self.keep,
            "make": self.make,
            "songs": self.songs,
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "summary": self.summary,
            "paired": self.paired,
            "per_window": self.per_window,
        }


def pick_files(data_dir: Path, split: str) -> list[src.SourceFile]:
    files = src.hash_sources(data_dir, src.scan_midi_files(data_dir))
    unique: dict[str, src.SourceFile] = {}
    for f in files:
        if f.sha256 and f.sha256 not in unique:
            unique[f.sha256] = f
    chosen = list(unique.values())
    if split == "valid":
        splits = src.assign_splits(list(unique))
        held = [f for f in chosen if splits[f.sha256] == "valid"]
        chosen = held or chosen
    elif split != "all":
        raise GetMusicError(f"--split must be 'valid' or 'all', not {split!r}")
    # Hash order: deterministic and independent of file names.
    return sorted(chosen, key=lambda f: src.hash_fraction(f.sha256))


def window_starts(bar_starts: list[int], song_columns: int, length: int, count: int) -> list[int]:
    """Up to ``count`` windows one after another from column 0. Each starts at the last bar line the previous
    window reaches (a bar cut by a window's end is seen whole in the next one); after the first, only whole
    windows are used, so that a short tail does not count as much as a full window."""
    starts = [0]
    while len(starts) < count:
        reach = starts[-1] + length
        nxt = max((b for b in bar_starts if starts[-1] < b <= reach), default=None)
        if nxt is None or nxt + length > song_columns:
            break
        starts.append(nxt)
    return starts


def _encode_song(song, config, vocab, chords_on: bool):
    """GETScore of the whole song (chord rows as the model expects them) and its timeline."""
    from getmusic_cli.score import chords as chordlib
    from getmusic_cli.score.codec import encode
    from getmusic_cli.score.timeline import Timeline

    timeline = Timeline(song.ticks_per_beat, song.time_signatures)
    n_columns = timeline.tick_to_column(song.end_tick) + 1
    pitched = [n for c in song.classes() if c != "drums" for n in song.notes[c]]
    chords = (
        chordlib.recognize_chords(pitched, timeline, n_columns, lag=config.chord_lag) if chords_on and pitched else None
    )
    score, _ = encode(song, vocab, chords=chords, transpose=config.transpose)
    return score, timeline


def _window_tokens(tokens: np.ndarray, start: int, length: int, empty_id: int) -> np.ndarray:
    """(14, length) tokens of the window at ``start``, [EMPTY] past the end of the song."""
    part = tokens[:, start : start + length]
    out = np.full((tokens.shape[0], length), empty_id, dtype=np.int64)
    out[:, : part.shape[1]] = part
    return out


def _decode_window(tokens: np.ndarray, window: EvalWindow, pitch_shift: int, vocab, classes) -> dict[str, list]:
    """Notes of window-sized tokens put at the window's place in the song (ticks of the song, its bar grid)."""
    from getmusic_cli.score.codec import GETScore, decode

    n = min(tokens.shape[1], window.columns)
    full = np.full((tokens.shape[0], window.song_columns), vocab.empty_id, dtype=np.int64)
    full[:, window.start : window.start + n] = tokens[:, :n]
    return decode(GETScore(full, [], pitch_shift), vocab, window.timeline, classes=list(classes))


def _window_chords(notes: list, window: EvalWindow) -> list:
    """The chord of every bar that starts inside the window, recognised from these notes."""
    from getmusic_cli.score import chords as chordlib

    end = window.start + window.columns
    chords = chordlib.recognize_chords(notes, window.timeline, end, lag=0)
    return [c for b, c in zip(window.timeline.bar_starts(end), chords) if b >= window.start]


def _task(tokens: np.ndarray, song_columns: int, keep: list[str], make: list[str], vocab, chords_on: bool):
    """Condition = kept tracks (+ chords); make tracks = [MASK] inside the song; the rest [EMPTY]."""
    tokens = tokens.copy()
    condition = np.zeros_like(tokens, dtype=bool)
    for cls in INSTRUMENTS:
        rows = [pitch_row(cls), duration_row(cls)]
        if cls in make:
            tokens[rows] = vocab.empty_id
            tokens[rows, :song_columns] = vocab.mask_id
        elif cls in keep:
            condition[rows] = (tokens[rows] != vocab.empty_id).any()
        else:
            tokens[rows] = vocab.empty_id
    chord_rows = [12, 13]
    if chords_on and (tokens[chord_rows] != vocab.empty_id).any():
        condition[chord_rows] = True
    else:
        tokens[chord_rows] = vocab.empty_id
    return tokens, condition


def _pitched(notes: dict[str, list], classes) -> list:
    return [n for c in classes if c != "drums" for n in notes.get(c, [])]


def song_metrics(generated: dict[str, list], window: EvalWindow, make: list[str]) -> dict:
    """Metrics of generated notes per class against the real target tracks of one window."""
    ca = None
    if any(c != "drums" for c in make):
        gen_chords = _window_chords(_pitched(generated, make), window)
        ca = metrics.chord_accuracy(gen_chords, window.real_chords)
    per_track = [metrics.track_similarity(generated.get(c, []), window.real.get(c, []), window.tpb) for c in make]
    out = {"chord_accuracy": ca}
    for name in ("pitch", "duration", "ioi"):
        # A generated track with no notes at all has nothing in common with the real one: 0.
        out[name] = metrics.mean([0.0 if t[name] is None else t[name] for t in per_track])
    return out


def _row(window: EvalWindow, values: dict) -> dict:
    return {"song": window.rel, "first_bar": window.timeline.bar_of_column(window.start) + 1} | values


def _song_means(rows: list[dict]) -> dict[str, dict]:
    """Per song, the mean of its windows' metrics."""
    by_song: dict[str, list[dict]] = {}
    for row in rows:
        by_song.setdefault(row["song"], []).append(row)
    return {song: {m: metrics.mean([r[m] for r in rs]) for m in METRICS} for song, rs in by_song.items()}


def _mean_se(values: list) -> tuple[float | None, float | None]:
    """Mean and standard error of the defined values (se None for fewer than two)."""
    kept = [v for v in values if v is not None]
    if not kept:
        return None, None
    se = float(np.std(kept, ddof=1) / np.sqrt(len(kept))) if len(kept) > 1 else None
    return float(np.mean(kept)), se


def _summarise(rows: list[dict]) -> dict:
    """Mean ± standard error over songs, each song weighted once (its windows are not independent)."""
    songs = _song_means(rows)
    out: dict = {"songs": len(songs), "windows": len(rows), "se": {}}
    for m in METRICS:
        out[m], out["se"][m] = _mean_se([s[m] for s in songs.values()])
    return out


def _paired(model_rows: list[dict], reference_rows: list[dict]) -> dict:
    """Model minus reference per song, mean ± standard error: the comparison the references are there for."""
    a, b = _song_means(model_rows), _song_means(reference_rows)
    out = {}
    for m in METRICS:
        diffs = [a[s][m] - b[s][m] for s in a if s in b and a[s][m] is not None and b[s][m] is not None]
        mean, se = _mean_se(diffs)
        out[m] = {"diff": mean, "se": se}
    return out


def _generate(
    bundle, device, tokens_list, conditions, options: EvalOptions, seed: int, progress=None
) -> list[np.ndarray]:
    import torch

    from getmusic_cli.model.sampler import SamplerOptions, sample
    from getmusic_cli.runtime.loader import load_denoiser

    denoiser = load_denoiser(bundle, device=device, threads=options.threads)
    out = []
    for b in range(0, len(tokens_list), BATCH):
        tokens = torch.from_numpy(np.stack(tokens_list[b : b + BATCH]))
        cond = torch.from_numpy(np.stack(conditions[b : b + BATCH]))
        # Each model at its own step budget: --steps, capped by its T (the debug reference has a small T),
        # else the model's suggested default.
        steps = options.steps or bundle.config.sample_steps
        steps = min(steps, bundle.config.num_timesteps) if steps else None
        opts = SamplerOptions(steps=steps, temperature=options.temperature, top_p=options.top_p, seed=seed + b)
        result = sample(denoiser, bundle.vocab, tokens.to(denoiser.device), cond.to(denoiser.device), opts)
        out.extend(result.cpu().numpy())
        if progress is not None:
            progress(len(out))
    return out


def _run_system(
    bundle, device, songs_raw, windows: list[EvalWindow], options, length, seed, progress=None
) -> list[dict]:
    """Generate with one model on every window (in that model's vocabulary); metrics per window."""
    scores: dict[int, object] = {}
    tokens_list, conditions, shifts = [], [], []
    for w in windows:
        if w.song not in scores:
            scores[w.song] = _encode_song(songs_raw[w.song], bundle.config, bundle.vocab, options.chords)[0]
        score = scores[w.song]
        part = _window_tokens(np.asarray(score.tokens), w.start, length, bundle.vocab.empty_id)
        tokens, cond = _task(part, w.columns, options.keep, options.make, bundle.vocab, options.chords)
        tokens_list.append(tokens)
        conditions.append(cond)
        shifts.append(score.pitch_shift)
    generated = _generate(bundle, device, tokens_list, conditions, options, seed, progress)
    rows = []
    for tokens, shift, w in zip(generated, shifts, windows):
        notes = _decode_window(tokens, w, shift, bundle.vocab, options.make)
        rows.append(_row(w, song_metrics(notes, w, options.make)))
    return rows


def prepare_song(song, rel: str, index: int, bundle, options: EvalOptions) -> list[EvalWindow] | str:
    """The real side of a song's windows (decoded, with their target chords), or why none can be used."""
    config, vocab = bundle.config, bundle.vocab
    present = song.classes()
    missing = [c for c in options.make if c not in present]
    if missing:
        return f"no {', '.join(missing)} to compare with"
    if options.keep and not any(c in present for c in options.keep):
        return f"none of {', '.join(options.keep)} to keep"
    score, timeline = _encode_song(song, config, vocab, options.chords)
    tokens = np.asarray(score.tokens)
    classes = [c for c in INSTRUMENTS if c in present]
    windows, reason = [], ""
    for start in window_starts(score.bar_starts, tokens.shape[1], config.train_length, options.windows):
        part = tokens[:, start : start + config.train_length]
        w = EvalWindow(
            rel, index, timeline, song.ticks_per_beat, start, part.shape[1], tokens.shape[1], score.pitch_shift, part
        )
        w.real = _decode_window(part, w, score.pitch_shift, vocab, classes)
        silent = [c for c in options.make if not w.real.get(c)]
        if silent:
            reason = reason or f"{', '.join(silent)} silent in columns {start}-{start + w.columns}"
            continue
        w.real_chords = _window_chords(_pitched(w.real, options.make), w)
        windows.append(w)
    return windows or reason


def evaluate(options: EvalOptions, console=None) -> EvalReport:
    from getmusic_cli.hub.resolve import resolve_model
    from getmusic_cli.score.midi_io import read_midi

    if not options.make:
        raise GetMusicError("nothing to evaluate: name the generated tracks with --make")
    overlap = set(options.keep) & set(options.make)
    if overlap:
        raise GetMusicError(f"{', '.join(sorted(overlap))} cannot be both kept and made")
    if options.n < 1:
        raise GetMusicError("--n must be at least 1")
    if options.windows < 1:
        raise GetMusicError("--windows must be at least 1")
    bundle = resolve_model(options.model)
    config = bundle.config
    uncovered = [c for c in options.make if c not in config.classes]
    if uncovered:
        raise GetMusicError(f"model '{config.name}' was not trained on {', '.join(uncovered)}")

    songs_raw, windows, names, skipped = [], [], [], []
    for f in pick_files(Path(options.data_dir), options.split):
        if len(names) >= options.n:
            break
        try:
            song = read_midi(f.path)
        except GetMusicError as exc:
            skipped.append((f.rel, str(exc)))
            continue
        ready = prepare_song(song, f.rel, len(songs_raw), bundle, options)
        if isinstance(ready, str):
            skipped.append((f.rel, ready))
            continue
        songs_raw.append(song)
        windows.extend(ready)
        names.append(f.rel)
    if not windows:
        detail = "; ".join(f"{f}: {r}" for f, r in skipped[:3])
        raise GetMusicError(
            f"no song under {options.data_dir} can be evaluated with --make {','.join(options.make)} ({detail})"
        )

    report = EvalReport(config.name, list(options.keep), list(options.make), names, skipped)
    progress = _progress(console, len(windows) * (2 if options.references else 1))
    try:

        def tick(offset):
            def cb(n):
                if progress:
                    progress[0].update(progress[1], completed=offset + n)

            return cb

        length = config.train_length  # the references use the same windows as the model under test
        model_rows = _run_system(bundle, options.device, songs_raw, windows, options, length, options.seed, tick(0))
        report.per_window[SYSTEM_MODEL] = model_rows
        if options.references:
            shuffled = _shuffled_rows(windows, options.make, options.seed, bundle.vocab)
            if shuffled:
                report.per_window[SYSTEM_SHUFFLED] = shuffled
            debug = resolve_model("debug")
            report.per_window[SYSTEM_RANDOM] = _run_system(
                debug, options.device, songs_raw, windows, options, length, options.seed, tick(len(windows))
            )
    finally:
        if progress:
            progress[0].stop()
    for system, rows in report.per_window.items():
        report.summary[system] = _summarise(rows)
        if system != SYSTEM_MODEL:
            report.paired[system] = _paired(model_rows, rows)
    return report


def _shuffled_rows(windows: list[EvalWindow], make: list[str], seed: int, vocab) -> list[dict]:
    """Each window against the real target tracks of another song (a derangement of the songs; window k of a
    song meets window k of its partner, cycling), put on this window's bar grid and transposed into its key:
    real music that fits the meter and the key, but not this song."""
    by_song: dict[int, list[EvalWindow]] = {}
    for w in windows:
        by_song.setdefault(w.song, []).append(w)
    songs = list(by_song)
    if len(songs) < 2:
        return []
    order = songs[:]
    random.Random(seed).shuffle(order)
    partner = {order[i]: order[(i + 1) % len(order)] for i in range(len(order))}  # a cycle: never itself
    rows = []
    for song, own in by_song.items():  # the windows' own order: they come song by song
        others = by_song[partner[song]]
        for k, w in enumerate(own):
            other = others[k % len(others)]
            # This song's key, in the octave nearest the other song's register (a shift of at most 6 semitones).
            shift = w.pitch_shift + 12 * round((other.pitch_shift - w.pitch_shift) / 12)
            notes = _decode_window(other.tokens, w, shift, vocab, make)
            rows.append(_row(w, song_metrics(notes, w, make)))
    return rows


def _progress(console, total: int):
    if console is None:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    )
    task = progress.add_task("eval", total=total)
    progress.start()
    return progress, task


def _cell(value: float | None, se: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    text = f"{value:+.3f}" if signed else f"{value:.3f}"
    return text if se is None else f"{text} ± {se:.3f}"


def render_table(report: EvalReport):
    """A rich Table: one row per system (mean ± standard error over songs), then the model minus each reference."""
    from rich.table import Table

    windows = len(report.per_window.get(SYSTEM_MODEL, []))
    table = Table(
        title=f"keep {', '.join(report.keep) or '-'} → make {', '.join(report.make)} "
        f"({len(report.songs)} songs, {windows} windows)"
    )
    table.add_column("system")
    for label in ("chord acc.", "pitch OA", "duration OA", "IOI OA"):
        table.add_column(label, justify="right")
    for system, summary in report.summary.items():
        label = f"{system} ({report.model})" if system == SYSTEM_MODEL else system
        table.add_row(label, *(_cell(summary[m], summary["se"][m]) for m in METRICS))
    for system, diffs in report.paired.items():
        table.add_row(f"model − {system}", *(_cell(diffs[m]["diff"], diffs[m]["se"], signed=True) for m in METRICS))
    return table


def run_command(options: EvalOptions, as_json: bool, console, err_console) -> None:
    """The CLI verb: progress on stderr, then the table (or JSON) on stdout."""
    import json

    report = evaluate(options, console=None if as_json else err_console)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        return
    console.print(render_table(report))
    console.print("mean ± standard error over songs (each song the mean of its windows)", highlight=False)
    if report.skipped:
        console.print(
            f"{len(report.skipped)} songs skipped (first: {report.skipped[0][0]}: {report.skipped[0][1]})",
            highlight=False,
        )
