"""``getmusic evaluate``: generate target tracks for held-out songs and compare them with the real ones.

For each song (the valid split of DATA_DIR by the training split rule, or every file), one window of the
model's training length from the start of the song is encoded; the ``--keep`` tracks (and the chord rows, as
the model was trained) are the condition, the ``--make`` tracks are generated. Then, per song:

* chord accuracy: chords recognised (lag 0) from the generated tracks vs chords recognised from the real
  target tracks of the window, bar by bar (a perfect generation scores 1);
* overlapped area of the pitch, duration and inter-onset-interval histograms of each generated track vs the
  real track of the same class.

Two references are measured in the same run, on the same songs: the real target tracks of another held-out
song (a shuffled pairing: what "unrelated but real music" scores) and the ``debug`` random model (what an
untrained network scores). A good model lies well above the random model and close to or above the shuffled
real songs.
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


@dataclass
class EvalSong:
    rel: str
    timeline: object
    tpb: int
    window: int  # columns
    real: dict[str, list]  # decoded real notes per class (inside the window)
    real_chords: list  # per bar, recognised from the real target tracks


@dataclass
class EvalReport:
    model: str
    keep: list[str]
    make: list[str]
    songs: list[str]
    skipped: list[tuple[str, str]]
    per_song: dict[str, list[dict]] = field(default_factory=dict)  # system -> one metrics dict per song
    summary: dict[str, dict] = field(default_factory=dict)  # system -> mean metrics

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "keep": self.keep,
            "make": self.make,
            "songs": self.songs,
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "summary": self.summary,
            "per_song": self.per_song,
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


def _encode_window(song, config, vocab, chords_on: bool, length: int):
    """(GETScore of the first window, timeline) for one song, chords as the model expects them."""
    from getmusic_cli.score import chords as chordlib
    from getmusic_cli.score.codec import GETScore, encode
    from getmusic_cli.score.timeline import Timeline

    timeline = Timeline(song.ticks_per_beat, song.time_signatures)
    n_columns = timeline.tick_to_column(song.end_tick) + 1
    pitched = [n for c in song.classes() if c != "drums" for n in song.notes[c]]
    chords = chordlib.recognize_chords(pitched, timeline, n_columns, lag=config.chord_lag) if chords_on and pitched else None
    score, _ = encode(song, vocab, chords=chords, transpose=config.transpose)
    tokens = np.full((score.tokens.shape[0], length), vocab.empty_id, dtype=np.int64)
    part = np.asarray(score.tokens)[:, :length]
    tokens[:, : part.shape[1]] = part
    return GETScore(tokens, [b for b in score.bar_starts if b < length], score.pitch_shift), timeline, part.shape[1]


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


def song_metrics(generated: dict[str, list], song: EvalSong, make: list[str]) -> dict:
    """Metrics of generated notes per class against the real target tracks of one song."""
    from getmusic_cli.score import chords as chordlib

    pitched_gen = _pitched(generated, make)
    ca = None
    if any(c != "drums" for c in make):
        gen_chords = chordlib.recognize_chords(pitched_gen, song.timeline, song.window, lag=0) if pitched_gen else []
        gen_chords = list(gen_chords) + [None] * (len(song.real_chords) - len(gen_chords))
        ca = metrics.chord_accuracy(gen_chords, song.real_chords)
    per_track = [metrics.track_similarity(generated.get(c, []), song.real.get(c, []), song.tpb) for c in make]
    out = {"chord_accuracy": ca}
    for name in ("pitch", "duration", "ioi"):
        # A generated track with no notes at all has nothing in common with the real one: 0.
        out[name] = metrics.mean([0.0 if t[name] is None else t[name] for t in per_track])
    return out


def _summarise(rows: list[dict]) -> dict:
    return {m: metrics.mean([r[m] for r in rows]) for m in METRICS} | {"songs": len(rows)}


def _generate(bundle, device, tokens_list, conditions, options: EvalOptions, seed: int, progress=None) -> list[np.ndarray]:
    import torch

    from getmusic_cli.model.sampler import SamplerOptions, sample
    from getmusic_cli.runtime.loader import load_denoiser

    denoiser = load_denoiser(bundle, device=device)
    out = []
    for b in range(0, len(tokens_list), BATCH):
        tokens = torch.from_numpy(np.stack(tokens_list[b : b + BATCH]))
        cond = torch.from_numpy(np.stack(conditions[b : b + BATCH]))
        # Each model at its own step budget: --steps, capped by its T (the debug reference has a small T),
        # else the model's suggested default.
        steps = options.steps or bundle.config.sample_steps
        steps = min(steps, bundle.config.num_timesteps) if steps else None
        opts = SamplerOptions(steps=steps, seed=seed + b)
        result = sample(denoiser, bundle.vocab, tokens.to(denoiser.device), cond.to(denoiser.device), opts)
        out.extend(result.cpu().numpy())
        if progress is not None:
            progress(len(out))
    return out


def _run_system(bundle, device, songs_raw, prepared, options, length, seed, progress=None) -> tuple[list[dict], dict]:
    """Generate with one model on every song; metrics per song."""
    from getmusic_cli.score.codec import GETScore, decode

    tokens_list, conditions, scores = [], [], []
    for raw in songs_raw:
        score, timeline, columns = _encode_window(raw, bundle.config, bundle.vocab, options.chords, length)
        tokens, cond = _task(np.asarray(score.tokens), columns, options.keep, options.make, bundle.vocab, options.chords)
        tokens_list.append(tokens)
        conditions.append(cond)
        scores.append((score, timeline))
    generated = _generate(bundle, device, tokens_list, conditions, options, seed, progress)
    rows = []
    for tokens, (score, timeline), song in zip(generated, scores, prepared):
        notes = decode(GETScore(tokens, score.bar_starts, score.pitch_shift), bundle.vocab, timeline, classes=options.make)
        rows.append(song_metrics(notes, song, options.make))
    return rows, _summarise(rows)


def prepare_song(song, rel: str, bundle, options: EvalOptions) -> EvalSong | str:
    """The real side of one song (its first window, decoded, and its target chords), or why it cannot be used."""
    from getmusic_cli.score import chords as chordlib
    from getmusic_cli.score.codec import decode

    config, vocab = bundle.config, bundle.vocab
    present = song.classes()
    missing = [c for c in options.make if c not in present]
    if missing:
        return f"no {', '.join(missing)} to compare with"
    if options.keep and not any(c in present for c in options.keep):
        return f"none of {', '.join(options.keep)} to keep"
    score, timeline, window = _encode_window(song, config, vocab, options.chords, config.train_length)
    real = decode(score, vocab, timeline, classes=[c for c in INSTRUMENTS if c in present])
    silent = [c for c in options.make if not real.get(c)]
    if silent:
        return f"{', '.join(silent)} silent in the first {window} columns"
    pitched = _pitched(real, options.make)  # the chords of the real target tracks
    real_chords = list(chordlib.recognize_chords(pitched, timeline, window, lag=0)) if pitched else []
    return EvalSong(rel, timeline, song.ticks_per_beat, window, real, real_chords)


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
    bundle = resolve_model(options.model)
    config, vocab = bundle.config, bundle.vocab
    uncovered = [c for c in options.make if c not in config.classes]
    if uncovered:
        raise GetMusicError(f"model '{config.name}' was not trained on {', '.join(uncovered)}")

    songs_raw, prepared, names, skipped = [], [], [], []
    for f in pick_files(Path(options.data_dir), options.split):
        if len(prepared) >= options.n:
            break
        try:
            song = read_midi(f.path)
        except GetMusicError as exc:
            skipped.append((f.rel, str(exc)))
            continue
        ready = prepare_song(song, f.rel, bundle, options)
        if isinstance(ready, str):
            skipped.append((f.rel, ready))
            continue
        songs_raw.append(song)
        prepared.append(ready)
        names.append(f.rel)
    if not prepared:
        detail = "; ".join(f"{f}: {r}" for f, r in skipped[:3])
        raise GetMusicError(f"no song under {options.data_dir} can be evaluated with --make {','.join(options.make)} ({detail})")

    report = EvalReport(config.name, list(options.keep), list(options.make), names, skipped)
    device = options.device
    progress = _progress(console, len(prepared) * (2 if options.references else 1))
    try:

        def tick(offset):
            def cb(n):
                if progress:
                    progress[0].update(progress[1], completed=offset + n)
            return cb

        length = config.train_length
        rows, summary = _run_system(bundle, device, songs_raw, prepared, options, length, options.seed, tick(0))
        report.per_song[SYSTEM_MODEL], report.summary[SYSTEM_MODEL] = rows, summary
        if options.references:
            rows = _shuffled_rows(prepared, options.make, options.seed)
            if rows:
                report.per_song[SYSTEM_SHUFFLED], report.summary[SYSTEM_SHUFFLED] = rows, _summarise(rows)
            debug = resolve_model("debug")  # same window length as the model under test
            rows, summary = _run_system(debug, device, songs_raw, prepared, options, length, options.seed, tick(len(prepared)))
            report.per_song[SYSTEM_RANDOM], report.summary[SYSTEM_RANDOM] = rows, summary
    finally:
        if progress:
            progress[0].stop()
    return report


def _shuffled_rows(prepared: list[EvalSong], make: list[str], seed: int) -> list[dict]:
    """Real target tracks of another song (a derangement of the songs) against each song."""
    n = len(prepared)
    if n < 2:
        return []
    order = list(range(n))
    random.Random(seed).shuffle(order)
    partner = {order[i]: order[(i + 1) % n] for i in range(n)}  # a cycle: nobody is paired with itself
    rows = []
    for i, song in enumerate(prepared):
        other = prepared[partner[i]]
        # Put the other song's notes on this song's bar grid by column, so chords compare bar by bar.
        notes = {c: _retime(other.real.get(c, []), other.tpb, song.tpb) for c in make}
        rows.append(song_metrics(notes, song, make))
    return rows


def _retime(notes: list, tpb_from: int, tpb_to: int) -> list:
    from getmusic_cli.score.song import Note

    if tpb_from == tpb_to:
        return list(notes)
    f = tpb_to / tpb_from
    return [Note(round(n.start * f), max(round(n.start * f) + 1, round(n.end * f)), n.pitch, n.velocity) for n in notes]


def _progress(console, total: int):
    if console is None:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console)
    task = progress.add_task("eval", total=total)
    progress.start()
    return progress, task


def render_table(report: EvalReport):
    """A rich Table: one row per system, one column per metric."""
    from rich.table import Table

    table = Table(title=f"keep {', '.join(report.keep) or '-'} → make {', '.join(report.make)} ({len(report.songs)} songs)")
    table.add_column("system")
    for name, label in zip(METRICS, ("chord acc.", "pitch OA", "duration OA", "IOI OA")):
        table.add_column(label, justify="right")
    for system, summary in report.summary.items():
        label = f"{system} ({report.model})" if system == SYSTEM_MODEL else system
        table.add_row(label, *("n/a" if summary[m] is None else f"{summary[m]:.3f}" for m in METRICS))
    return table


def run_command(options: EvalOptions, as_json: bool, console, err_console) -> None:
    """The CLI verb: progress on stderr, then the table (or JSON) on stdout."""
    import json

    report = evaluate(options, console=None if as_json else err_console)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        return
    console.print(render_table(report))
    if report.skipped:
        console.print(f"{len(report.skipped)} songs skipped (first: {report.skipped[0][0]}: {report.skipped[0][1]})",
                      highlight=False)
