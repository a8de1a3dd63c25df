"""``getmusic evaluate``: the scorecard. Make tracks for held-out songs and compare them with the real ones.

For each song (the valid split of DATA_DIR by the training split rule, or every file), ``--windows`` windows
of the model's training length are taken one after another from the start. The model's input is built by
:func:`getmusic_cli.score.conditioning.generation_input`, the function ``generate`` uses: the kept tracks, the
chords heard in them (``--no-chords``: none; ``--oracle-chords``: the whole real song's, the paper's chord-given
setting, labelled so) and the made classes masked. A window counts only if every kept class plays in it and
every made class plays in the real song in it.

Each window is made on its own from the kept tracks, unless ``--continued``: then each song is made from its
start as ``generate`` makes it (overlapping windows, each continuing what the one before made, the same seeds),
up to the end of its last scored window, and the same windows are scored from that. The first window is made
the same way either way; the later ones are what a user of ``generate`` gets past a song's first 16 bars.

The model and the random reference sample as ``generate`` does, with the default playable range of each class
(``score.ranges``). Every system is scored on the same windows in the same run:

* ``model``: the model under test;
* ``rule accompanist``: roots on the beat, a rock beat, block chords (``eval.rule``), from the same chords;
* ``shuffled real``: the real made tracks of other songs, on this window's bar grid and in its key, averaged
  over several derangements of the songs;
* ``debug random``: an untrained network;
* ``real parts``: the real tracks themselves (the ceiling; groove and register figures to compare with).

Metrics: the paper's chord accuracy and pitch / duration / IOI overlapped areas (mean over made classes, and
per class), and a musician's metrics per class (``eval.musician``). A system's figure is the mean over songs
(each song the mean of its windows) with its standard error; model minus each reference is paired by song.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from getmusic_cli.errors import GetMusicError
from getmusic_cli.eval import metrics, musician, rule
from getmusic_cli.eval.meter import BarGrid
from getmusic_cli.pipeline import check_anchor, check_drum_repeat
from getmusic_cli.score.conditioning import (
    CHORDS_KEPT,
    CHORDS_NONE,
    CHORDS_ORACLE,
    GenerationInput,
    generation_input,
    heard_chords,
    only,
    pitched_notes,
)
from getmusic_cli.score.keys import Key, detect_key
from getmusic_cli.score.song import Note, Song
from getmusic_cli.score.tracks import INSTRUMENTS
from getmusic_cli.train import sources as src

SYSTEM_MODEL = "model"
SYSTEM_RULE = "rule accompanist"
SYSTEM_SHUFFLED = "shuffled real"
SYSTEM_RANDOM = "debug random"
SYSTEM_REAL = "real parts"
REFERENCES = (SYSTEM_RULE, SYSTEM_SHUFFLED, SYSTEM_RANDOM)
PAPER_METRICS = ("chord_accuracy", "pitch", "duration", "ioi")
MAKE_ALL = "all"  # --make all: every class the model covers that a song has, besides the kept ones
BATCH = 8
CHORD_LABELS = {
    CHORDS_KEPT: "chords heard in the kept tracks",
    CHORDS_NONE: "no chords",
    CHORDS_ORACLE: "ORACLE chords from the whole real song",
}


@dataclass
class EvalOptions:
    model: str | None
    data_dir: Path
    keep: list[str]
    make: list[str]  # or [MAKE_ALL]
    n: int = 50
    steps: int | None = None
    seed: int = 0
    device: str = "auto"
    split: str = "valid"  # valid: held-out files by hash (all files if none); all: every file
    chords: str = CHORDS_KEPT  # kept | none | oracle
    references: bool = True
    windows: int = 1  # windows per song, one after another from its start
    temperature: float = 1.0  # sampler settings, for the model and the random reference alike
    top_p: float = 1.0
    drum_repeat: float | None = None  # the drum repeat bias; None = the model's
    kit_anchor: float | None = None  # the drums' kit anchor; None = the model's
    onset_anchor: float | None = None  # the drums' onset anchor; None = the model's
    continued: bool = False  # make each song as generate does, later windows continuing earlier ones
    shuffles: int = 5  # derangements the shuffled-real reference is averaged over
    threads: int | None = None  # intra-op threads (runtime/threads.py chooses when None)
    backend: str = "torch"  # the model under test's back end (the debug reference always runs in torch)
    int8: bool = False  # ONNX Runtime int8 (with backend "onnx")


@dataclass(eq=False)
class SongCase:
    """One evaluated song: the real song, what is made of it, and its usable windows."""

    rel: str  # the file, relative to DATA_DIR
    song: Song
    keep: list[str]
    make: list[str]
    key: Key  # of the whole real song (for in-key shares and the shuffled reference's transposition)
    oracle_chords: list  # per bar, lag 0, from every pitched track of the real song
    rule_chords: list  # per bar, lag 0, from what the model is allowed to hear
    windows: list[EvalWindow] = field(default_factory=list)


@dataclass(eq=False)
class EvalWindow:
    case: SongCase
    start: int  # first column (a bar line)
    columns: int  # columns of the window inside the song (at most the model's length)
    grid: BarGrid
    real: dict[str, list[Note]]  # real notes of the made classes with onsets in the window
    real_chords: list  # per bar of the window, heard (lag 0) in the real made tracks


@dataclass
class EvalReport:
    model: str
    keep: list[str]
    make: list[str]
    chords: str
    songs: list[str]
    skipped: list[tuple[str, str]]
    per_window: dict[str, list[dict]] = field(default_factory=dict)  # system -> one metrics dict per window
    summary: dict[str, dict] = field(default_factory=dict)  # system -> mean ± standard error over songs
    paired: dict[str, dict] = field(default_factory=dict)  # reference -> model minus reference, per metric
    sampling: dict = field(default_factory=dict)  # how the model's parts were drawn, to make them again

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "keep": self.keep,
            "make": self.make,
            "chords": self.chords,
            "chords_label": CHORD_LABELS[self.chords],
            "songs": self.songs,
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "summary": self.summary,
            "paired": self.paired,
            "per_window": self.per_window,
            "sampling": self.sampling,
        }

    @classmethod
    def from_json(cls, data: dict) -> EvalReport:
        skipped = [(s["file"], s["reason"]) for s in data["skipped"]]
        report = cls(data["model"], data["keep"], data["make"], data["chords"], data["songs"], skipped)
        report.per_window, report.summary, report.paired = data["per_window"], data["summary"], data["paired"]
        report.sampling = data.get("sampling", {})  # reports saved before it was recorded have none
        return report


# ----- songs and windows -----


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


def classes_to_make(song: Song, options: EvalOptions, covered: list[str]) -> list[str]:
    if options.make != [MAKE_ALL]:
        return list(options.make)
    return [c for c in INSTRUMENTS if c in covered and c in song.classes() and c not in options.keep]


def _notes_between(notes: list[Note], timeline, start: int, end: int) -> list[Note]:
    return [n for n in notes if start <= timeline.tick_to_column(n.start) < end]


def _window_chords(notes: list[Note], window: EvalWindow) -> list:
    """The chord of every bar that starts inside the window, recognised (lag 0) from these notes."""
    from getmusic_cli.score import chords as chordlib

    timeline = window.grid.timeline
    chords = chordlib.recognize_chords(notes, timeline, window.start + window.columns, lag=0)
    return [c for b, c in zip(timeline.bar_starts(window.start + window.columns), chords) if b >= window.start]


def prepare_song(song: Song, rel: str, bundle, options: EvalOptions) -> SongCase | str:
    """The real side of a song's usable windows, or why none can be used (the reason of each window)."""
    from getmusic_cli.score import chords as chordlib

    config = bundle.config
    present = song.classes()
    make = classes_to_make(song, options, list(config.classes))
    if not make:
        return "nothing to make: it has no class besides the kept ones that the model covers"
    missing = [c for c in make if c not in present]
    if missing:
        return f"no {', '.join(missing)} to compare with"
    absent = [c for c in options.keep if c not in present]
    if absent:
        return f"no {', '.join(absent)} to keep"
    # The model's own input decides the windows' columns, so the real side lines up with what it makes.
    prepared = generation_input(song, options.keep, make, bundle.vocab, transpose=config.transpose, chord_lag=0)
    timeline, n_columns = prepared.timeline, prepared.score.tokens.shape[1]
    heard = song if options.chords == CHORDS_ORACLE else only(song, options.keep)
    whole = pitched_notes(song)
    case = SongCase(
        rel=rel,
        song=song,
        keep=list(options.keep),
        make=make,
        key=detect_key(whole, song.ticks_per_beat),
        oracle_chords=chordlib.recognize_chords(whole, timeline, n_columns, lag=0),
        rule_chords=heard_chords(heard, timeline, n_columns) or [None] * len(timeline.bar_starts(n_columns)),
    )
    reasons = []
    for k, start in enumerate(
        window_starts(prepared.score.bar_starts, n_columns, config.train_length, options.windows)
    ):
        end = min(start + config.train_length, n_columns)
        silent_kept = [c for c in options.keep if not _notes_between(song.notes[c], timeline, start, end)]
        silent_made = [c for c in make if not _notes_between(song.notes[c], timeline, start, end)]
        if silent_kept or silent_made:
            bars = f"bars {timeline.bar_of_column(start) + 1}-{timeline.bar_of_column(end - 1) + 1}"
            why = [f"no {c} to keep" for c in silent_kept] + [f"no real {c}" for c in silent_made]
            reasons.append(f"window {k + 1} ({bars}): {', '.join(why)}")
            continue
        grid = BarGrid(timeline, song.time_signatures, start, end)
        real = {c: _notes_between(song.notes[c], timeline, start, end) for c in make}
        w = EvalWindow(case, start, end - start, grid, real, [])
        w.real_chords = _window_chords([n for c in make if c != "drums" for n in real[c]], w)
        case.windows.append(w)
    return case if case.windows else "; ".join(reasons)


# ----- metrics of one window -----


def window_metrics(made: dict[str, list[Note]], window: EvalWindow) -> dict:
    """The paper's metrics (mean over made classes, and per class) and the musician's, for one window.

    A class missing from ``made`` (a shuffled partner without it) is not scored; an empty list scores 0 overlap.
    """
    case = window.case
    tpb = case.song.ticks_per_beat
    scored = [c for c in case.make if c in made]
    out: dict[str, float | None] = {}
    pitched = [c for c in scored if c != "drums"]
    out["chord_accuracy"] = None
    if pitched:
        gen_chords = _window_chords([n for c in pitched for n in made[c]], window)
        out["chord_accuracy"] = metrics.chord_accuracy(gen_chords, window.real_chords)
    per_class = {c: metrics.track_similarity(made[c], window.real[c], tpb) for c in scored}
    for name in ("pitch", "duration", "ioi"):
        # A made track with no notes at all has nothing in common with the real one: 0.
        values = {c: 0.0 if s[name] is None else s[name] for c, s in per_class.items()}
        out[name] = metrics.mean(list(values.values()))
        out.update({f"{c}.{name}": v for c, v in values.items()})
    for c in scored:
        out.update(musician.class_metrics(c, made[c], window.real[c], window.grid, case.key, case.oracle_chords))
    return out


def _row(window: EvalWindow, values: dict) -> dict:
    first_bar = window.grid.timeline.bar_of_column(window.start) + 1
    return {"song": window.case.rel, "first_bar": first_bar} | values


# ----- the systems -----


def _window_arrays(prepared: GenerationInput, start: int, length: int, empty_id: int) -> tuple[np.ndarray, np.ndarray]:
    """The sampler's tokens and condition for the window at ``start``, [EMPTY] past the end of the song."""
    tokens = np.full((prepared.task.tokens.shape[0], length), empty_id, dtype=np.int64)
    condition = np.zeros(tokens.shape, dtype=bool)
    part = prepared.task.tokens[:, start : start + length]
    tokens[:, : part.shape[1]] = part
    condition[:, : part.shape[1]] = prepared.task.condition[:, start : start + length]
    return tokens, condition


def model_input(case: SongCase, bundle, chords: str) -> GenerationInput:
    """What the model is given for this song: the same function generate uses."""
    config = bundle.config
    return generation_input(
        case.song,
        case.keep,
        case.make,
        bundle.vocab,
        transpose=config.transpose,
        chord_lag=config.chord_lag,
        chords=chords,
    )


def _run_network(
    bundle, cases: list[SongCase], options: EvalOptions, progress=None, backend: str = "torch"
) -> list[dict]:
    """Generate with one model on every window (in that model's vocabulary); metrics per window."""
    from getmusic_cli.runtime.loader import load_denoiser

    int8 = options.int8 and backend == "onnx"
    denoiser = load_denoiser(bundle, device=options.device, backend=backend, threads=options.threads, int8=int8)
    run = _continued_rows if options.continued else _independent_rows
    return run(denoiser, bundle, cases, options, progress)


def _sampler_options(options: EvalOptions, steps: int, seed: int, allowed):
    """The model's sampler settings of this run (as generate would draw them) with this seed."""
    from getmusic_cli.model.sampler import SamplerOptions

    return SamplerOptions(
        steps=steps, temperature=options.temperature, top_p=options.top_p, seed=seed, allowed_ids=allowed,
        drum_repeat=options.drum_repeat, kit_anchor=options.kit_anchor, onset_anchor=options.onset_anchor,
    )  # fmt: skip


def _scored(window: EvalWindow, prepared: GenerationInput, made: np.ndarray, vocab) -> dict:
    """One window's metrics row from the model's tokens MADE (R, the window's columns)."""
    from getmusic_cli.score.codec import GETScore, decode

    timeline, end = window.grid.timeline, window.start + window.columns
    full = np.full((made.shape[0], prepared.score.tokens.shape[1]), vocab.empty_id, dtype=np.int64)
    full[:, window.start : end] = made
    notes = decode(GETScore(full, [], prepared.score.pitch_shift), vocab, timeline, classes=window.case.make)
    notes = {c: _notes_between(notes[c], timeline, window.start, end) for c in window.case.make}
    return _row(window, window_metrics(notes, window))


def _independent_rows(denoiser, bundle, cases: list[SongCase], options: EvalOptions, progress) -> list[dict]:
    """Every window made on its own from the kept tracks, windows batched (BATCH at a time)."""
    import torch

    from getmusic_cli.model.sampler import sample
    from getmusic_cli.score.ranges import allowed_pitch_ids, class_ranges
    from getmusic_cli.score.timeline import positions_in_bar

    vocab, length = bundle.vocab, bundle.config.train_length
    jobs = []  # (window, prepared input)
    for case in cases:
        prepared = model_input(case, bundle, options.chords)
        jobs += [(w, prepared) for w in case.windows]
    # The playable-range guard depends on the song's pitch shift, as in generate: a batch holds one shift.
    shift = lambda i: jobs[i][1].score.pitch_shift  # noqa: E731
    batches, current = [], []
    for i in sorted(range(len(jobs)), key=shift):
        if current and (len(current) == BATCH or shift(current[0]) != shift(i)):
            batches.append(current)
            current = []
        current.append(i)
    batches += [current] if current else []
    steps = model_steps(options, bundle.config)
    rows: list[dict] = [{} for _ in jobs]
    for b, indices in enumerate(batches):
        batch = [jobs[i] for i in indices]
        arrays = [_window_arrays(p, w.start, length, vocab.empty_id) for w, p in batch]
        tokens = torch.from_numpy(np.stack([a[0] for a in arrays])).to(denoiser.device)
        cond = torch.from_numpy(np.stack([a[1] for a in arrays])).to(denoiser.device)
        positions = torch.tensor([positions_in_bar(p.score.bar_starts, w.start, length) for w, p in batch])
        allowed = allowed_pitch_ids(vocab, class_ranges(), batch[0][1].score.pitch_shift)
        opts = _sampler_options(options, steps, options.seed + b, allowed)
        result = sample(denoiser, vocab, tokens, cond, opts, bar_position=positions).cpu().numpy()
        for i, out, (w, prepared) in zip(indices, result, batch):
            rows[i] = _scored(w, prepared, out[:, : w.columns], vocab)
        if progress is not None:
            progress(len(batch))
    return rows


def _continued_rows(denoiser, bundle, cases: list[SongCase], options: EvalOptions, progress) -> list[dict]:
    """Each song made from its start as ``generate --seed SEED`` makes it (its overlapping windows, each
    continuing the one before), up to the end of its last scored window; the scored windows are cut from it."""
    import torch

    from getmusic_cli.model.windows import sample_windows
    from getmusic_cli.score.ranges import allowed_pitch_ids, class_ranges

    vocab, config = bundle.vocab, bundle.config
    steps = model_steps(options, config)
    rows = []
    for case in cases:
        prepared = model_input(case, bundle, options.chords)
        last = case.windows[-1]
        tokens = torch.from_numpy(prepared.task.tokens).to(denoiser.device).unsqueeze(0)
        cond = torch.from_numpy(prepared.task.condition).to(denoiser.device).unsqueeze(0)
        allowed = allowed_pitch_ids(vocab, class_ranges(), prepared.score.pitch_shift)
        opts = _sampler_options(options, steps, options.seed, allowed)
        out = sample_windows(
            denoiser, vocab, tokens, cond, config.train_length, opts,
            bar_starts=prepared.score.bar_starts, stop=last.start + last.columns,
        )[0].cpu().numpy()  # fmt: skip
        rows += [_scored(w, prepared, out[:, w.start : w.start + w.columns], vocab) for w in case.windows]
        if progress is not None:
            progress(len(case.windows))
    return rows


def _rule_rows(cases: list[SongCase]) -> list[dict]:
    return [
        _row(w, window_metrics(rule.accompany(case.make, case.rule_chords, w.grid), w))
        for case in cases
        for w in case.windows
    ]


def _real_rows(cases: list[SongCase]) -> list[dict]:
    return [_row(w, window_metrics(w.real, w)) for case in cases for w in case.windows]


def _key_shift(to: Key, frm: Key) -> int:
    """Semitones (-6..5) that move music in key ``frm`` into key ``to`` (relative keys count as one)."""
    major = lambda k: (k.tonic + 3) % 12 if k.minor else k.tonic  # noqa: E731
    return (major(to) - major(frm) + 6) % 12 - 6


def _moved(other: EvalWindow, window: EvalWindow, cls: str) -> list[Note]:
    """The other window's real notes of ``cls`` on this window's columns, in this song's key and ticks."""
    src_tl, dst_tl = other.grid.timeline, window.grid.timeline
    shift = 0 if cls == "drums" else _key_shift(window.case.key, other.case.key)
    out = []
    for n in other.real[cls]:
        col = src_tl.tick_to_column(n.start) - other.start
        if col >= window.columns:
            continue
        cols = max(1, src_tl.tick_to_column(n.end) - src_tl.tick_to_column(n.start))
        pitch = n.pitch + shift
        if 0 <= pitch < 128:
            start = window.start + col
            out.append(Note(dst_tl.column_to_tick(start), dst_tl.column_to_tick(start + cols), pitch, n.velocity))
    return out


def _shuffled_rows(cases: list[SongCase], seed: int, shuffles: int) -> list[dict]:
    """Each window against the real made tracks of other songs (window k meets window k of its partner,
    cycling), averaged over ``shuffles`` derangements: real music that fits the meter and key, not this song."""
    if len(cases) < 2:
        return []
    partners = []
    for k in range(shuffles):
        order = list(range(len(cases)))
        random.Random(seed * 1000 + k).shuffle(order)
        partners.append({order[i]: order[(i + 1) % len(order)] for i in range(len(order))})  # a cycle
    rows = []
    for i, case in enumerate(cases):
        for j, w in enumerate(case.windows):
            draws = []
            for partner in partners:
                other_case = cases[partner[i]]
                other = other_case.windows[j % len(other_case.windows)]
                made = {c: _moved(other, w, c) for c in case.make if c in other_case.make}
                draws.append(window_metrics(made, w))
            keys = {k for d in draws for k in d}
            rows.append(_row(w, {k: metrics.mean([d.get(k) for d in draws]) for k in sorted(keys)}))
    return rows


# ----- summaries -----


def _metric_names(rows: list[dict]) -> list[str]:
    names = {k for r in rows for k in r if k not in ("song", "first_bar")}
    return [m for m in PAPER_METRICS if m in names] + sorted(names - set(PAPER_METRICS))


def _song_means(rows: list[dict]) -> dict[str, dict]:
    """Per song, the mean of its windows' metrics."""
    by_song: dict[str, list[dict]] = {}
    for row in rows:
        by_song.setdefault(row["song"], []).append(row)
    names = _metric_names(rows)
    return {song: {m: metrics.mean([r.get(m) for r in rs]) for m in names} for song, rs in by_song.items()}


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
    for m in _metric_names(rows):
        out[m], out["se"][m] = _mean_se([s.get(m) for s in songs.values()])
    return out


def paired_by_song(model_rows: list[dict], reference_rows: list[dict]) -> dict:
    """Model minus reference per song, mean ± standard error: the comparison the references are there for."""
    a, b = _song_means(model_rows), _song_means(reference_rows)
    out = {}
    for m in _metric_names(model_rows):
        diffs = [a[s][m] - b[s][m] for s in a if s in b and a[s].get(m) is not None and b[s].get(m) is not None]
        mean, se = _mean_se(diffs)
        out[m] = {"diff": mean, "se": se}
    return out


# ----- the verb -----


def chords_mode(no_chords: bool, oracle: bool) -> str:
    """The chord setting of the CLI's two flags."""
    if no_chords and oracle:
        raise GetMusicError("--no-chords and --oracle-chords cannot be used together")
    return CHORDS_NONE if no_chords else CHORDS_ORACLE if oracle else CHORDS_KEPT


def _check(options: EvalOptions) -> None:
    if not options.make:
        raise GetMusicError("nothing to evaluate: name the made tracks with --make (or --make all)")
    overlap = set(options.keep) & set(options.make)
    if overlap:
        raise GetMusicError(f"{', '.join(sorted(overlap))} cannot be both kept and made")
    if options.n < 1:
        raise GetMusicError("--n must be at least 1")
    if options.windows < 1:
        raise GetMusicError("--windows must be at least 1")
    if options.shuffles < 1:
        raise GetMusicError("--shuffles must be at least 1")
    check_drum_repeat(options.drum_repeat)
    check_anchor("--kit-anchor", options.kit_anchor)
    check_anchor("--onset-anchor", options.onset_anchor)
    if options.chords not in CHORD_LABELS:
        raise GetMusicError(f"chords must be one of {', '.join(CHORD_LABELS)}, not {options.chords!r}")


def evaluate(options: EvalOptions, console=None) -> EvalReport:
    from getmusic_cli.hub.resolve import resolve_model
    from getmusic_cli.score.midi_io import read_midi

    _check(options)
    bundle = resolve_model(options.model)
    config = bundle.config
    uncovered = [c for c in options.make if c != MAKE_ALL and c not in config.classes]
    if uncovered:
        raise GetMusicError(f"model '{config.name}' was not trained on {', '.join(uncovered)}")

    cases, skipped = [], []
    for f in pick_files(Path(options.data_dir), options.split):
        if len(cases) >= options.n:
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
        cases.append(ready)
    if not cases:
        detail = "; ".join(f"{f}: {r}" for f, r in skipped[:3])
        raise GetMusicError(
            f"no song under {options.data_dir} can be evaluated with --make {','.join(options.make)} ({detail})"
        )

    make = list(options.make) if options.make != [MAKE_ALL] else [MAKE_ALL]
    report = EvalReport(config.name, list(options.keep), make, options.chords, [c.rel for c in cases], skipped)
    report.sampling = sampling_settings(options, config)
    n_windows = sum(len(c.windows) for c in cases)
    progress = _progress(console, n_windows * (2 if options.references else 1))
    try:
        advance = (lambda n: progress[0].advance(progress[1], n)) if progress else None
        report.per_window[SYSTEM_MODEL] = _run_network(bundle, cases, options, advance, options.backend)
        if options.references:
            report.per_window[SYSTEM_RULE] = _rule_rows(cases)
            shuffled = _shuffled_rows(cases, options.seed, options.shuffles)
            if shuffled:
                report.per_window[SYSTEM_SHUFFLED] = shuffled
            report.per_window[SYSTEM_RANDOM] = _run_network(resolve_model("debug"), cases, options, advance)
        report.per_window[SYSTEM_REAL] = _real_rows(cases)
    finally:
        if progress:
            progress[0].stop()
    model_rows = report.per_window[SYSTEM_MODEL]
    for system, rows in report.per_window.items():
        report.summary[system] = _summarise(rows)
        if system in REFERENCES:
            report.paired[system] = paired_by_song(model_rows, rows)
    return report


def model_steps(options: EvalOptions, config) -> int:
    """Each model at its own step budget: --steps, capped by its T (the debug reference has a small T), else the
    model's suggested default, else its T."""
    steps = options.steps or config.sample_steps or config.num_timesteps
    return min(steps, config.num_timesteps)


def sampling_settings(options: EvalOptions, config) -> dict:
    """The settings that shape the model's draws, with the model's own where the run left them unset."""
    return {
        "seed": options.seed,
        "steps": model_steps(options, config),
        "temperature": options.temperature,
        "top_p": options.top_p,
        "pitch_top_p": config.pitch_top_p,
        "drum_repeat": config.drum_repeat_bias if options.drum_repeat is None else options.drum_repeat,
        "drum_refine_passes": config.drum_refine_passes,
        "drum_kit_anchor": config.drum_kit_anchor if options.kit_anchor is None else options.kit_anchor,
        "drum_onset_anchor": config.drum_onset_anchor if options.onset_anchor is None else options.onset_anchor,
        "drum_anchor_song_only": config.drum_anchor_song_only,
        "drum_anchor_continued_scale": config.drum_anchor_continued_scale,
        "windows": options.windows,
        "continued": options.continued,
        "split": options.split,
        "backend": options.backend,
    }


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
