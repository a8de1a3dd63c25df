"""From a folder of MIDI files to packed, memory-mapped training windows (``getmusic train``'s data side).

Two passes over the files, both in a process pool with a per-file timeout:

1. **read**: parse the MIDI, keep its notes per class in a compact cache file, and count the note groups
   (simultaneous pitches of one class at one 16th, after moving the song to C major / A minor) that the
   vocabulary is built from;
2. **encode**: with the vocabulary derived from all counts, infer the chords (lag 0), encode the song to a
   GETScore and cut it into L-column windows.

Both results are cached under ``RUN_DIR/data/cache`` by the file's content hash (the second one also by
the vocabulary and window settings), so a second run only re-reads what changed; when nothing changed
the packed shards are reused as they are. Every file that is left out is listed with the reason.

Layout of ``RUN_DIR/data``::

    manifest.json            settings, vocabulary hash, every source file (hash, split, windows or reason)
    vocab.txt                the vocabulary derived from the data (or the one of ``--init``'s model)
    train-00000.npy ...      (n, 15, L) int16/int32 windows (14 token rows + bar positions), memmapped
    valid-00000.npy ...
    cache/                   per-file read and encode results
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.song import Note, Song, TempoChange, TimeSignature
from getmusic_cli.score.tracks import INSTRUMENTS
from getmusic_cli.train import sources as src
from getmusic_cli.train.windows import cut_windows, present_tracks

DATA_FORMAT = "getmusic-data/1"
CACHE_VERSION = 4  # bump when what the read/encode passes produce changes
MANIFEST = "manifest.json"
VOCAB_FILE = "vocab.txt"
MIN_BARS = 2


@dataclass
class DataSettings:
    length: int  # L: columns per window (the model's train_length)
    stride: int = 0  # columns between window starts (0 = L/2)
    min_tracks: int = 2  # non-empty tracks a window needs (chords count)
    min_count: int = 4  # vocabulary: a note group must occur this often ...
    coverage: float = 0.95  # ... and composite groups are kept up to this share of all group occurrences
    valid_fraction: float = src.VALID_FRACTION
    timeout: float = 120.0  # seconds per file and pass
    workers: int = -1  # processes (-1 = one per CPU, 0 = in this process)
    shard_windows: int = 8192  # windows per shard file

    def effective_stride(self) -> int:
        return self.stride or max(1, self.length // 2)

    def key(self, vocab_sha: str) -> str:
        """Hash of everything an encoded window depends on."""
        parts = [CACHE_VERSION, vocab_sha, self.length, self.effective_stride(), self.min_tracks]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


@dataclass
class FileEntry:
    rel: str
    sha256: str
    split: str = ""  # train / valid ("" when skipped)
    windows: int = 0
    classes: list[str] = field(default_factory=list)
    reason: str = ""  # why the file was skipped ("" when used)


class WindowSet:
    """The windows of one split, read lazily from memory-mapped shards."""

    def __init__(self, paths: list[Path]):
        self.shards = [np.load(p, mmap_mode="r") for p in paths]
        self.offsets = np.cumsum([0] + [len(s) for s in self.shards])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def get(self, indices) -> np.ndarray:
        """(len(indices), rows, L) int64."""
        out = []
        for i in indices:
            if not 0 <= i < len(self):
                raise IndexError(i)
            s = int(np.searchsorted(self.offsets, i, side="right") - 1)
            out.append(np.asarray(self.shards[s][i - self.offsets[s]], dtype=np.int64))
        return np.stack(out) if out else np.zeros((0, 0, 0), dtype=np.int64)


@dataclass
class Dataset:
    root: Path
    vocab: object  # score.vocab.Vocabulary
    train: WindowSet
    valid: WindowSet
    classes: list[str]  # instrument classes present in the training windows
    files: list[FileEntry]
    reused: bool
    length: int

    @property
    def skipped(self) -> list[FileEntry]:
        return [f for f in self.files if f.reason]

    def summary(self) -> str:
        used = len(self.files) - len(self.skipped)
        return (
            f"{used} of {len(self.files)} files used, {len(self.train)} train / {len(self.valid)} valid windows of "
            f"{self.length} columns, vocabulary {len(self.vocab)} tokens, classes {', '.join(self.classes) or '-'}"
        )


# ---------------------------------------------------------------------------------------------------
# Per-file work (runs in worker processes)


class _Timeout(Exception):
    pass


def _on_alarm(signum, frame):  # pragma: no cover - only reached on a stuck file
    raise _Timeout()


def _with_timeout(seconds: float, fn: Callable, *args):
    """Run fn(*args); a stuck file raises _Timeout (SIGALRM, main thread of a process, POSIX only)."""
    use_alarm = seconds > 0 and hasattr(signal, "SIGALRM")
    if use_alarm:
        try:
            old = signal.signal(signal.SIGALRM, _on_alarm)
        except ValueError:  # not the main thread: run without a timeout
            use_alarm = False
    if use_alarm:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args)
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def _song_to_arrays(song: Song) -> dict[str, np.ndarray]:
    arrays = {
        "ticks_per_beat": np.array([song.ticks_per_beat], dtype=np.int64),
        "tempos": np.array([[t.tick, t.bpm] for t in song.tempos], dtype=np.float64).reshape(-1, 2),
        "time_signatures": np.array(
            [[t.tick, t.numerator, t.denominator] for t in song.time_signatures], dtype=np.int64
        ).reshape(-1, 3),
    }
    for cls in INSTRUMENTS:
        notes = song.notes.get(cls, [])
        arrays[f"notes_{cls}"] = np.array(
            [[n.start, n.end, n.pitch, n.velocity] for n in notes], dtype=np.int64
        ).reshape(-1, 4)
    return arrays


def _song_from_arrays(data) -> Song:
    return Song(
        ticks_per_beat=int(data["ticks_per_beat"][0]),
        tempos=[TempoChange(int(t), float(b)) for t, b in data["tempos"]],
        time_signatures=[TimeSignature(int(t), int(n), int(d)) for t, n, d in data["time_signatures"]],
        notes={
            cls: [Note(int(a), int(b), int(p), int(v)) for a, b, p, v in data[f"notes_{cls}"]]
            for cls in INSTRUMENTS
            if len(data[f"notes_{cls}"])
        },
    )


def _read_file(path: str, cache_path: str) -> dict:
    """Pass 1: MIDI → cached notes + note-group counts. Returns {'reason'} or {'counts', 'classes'}."""
    from getmusic_cli.score.midi_io import read_midi
    from getmusic_cli.train import groups

    try:
        song = read_midi(Path(path))
    except GetMusicError as exc:
        message = str(exc).removeprefix(f"{Path(path).name}: ")
        if "no notes" in message or "every track was dropped" in message:
            return {"reason": message}
        return {"reason": f"unreadable: {message}"}
    except Exception as exc:  # any parser failure on a broken file is a skip, never a crash
        return {"reason": f"unreadable: {type(exc).__name__}: {exc}"}
    classes = song.classes()
    if not classes:
        return {"reason": "no notes in a supported class"}
    n_bars = groups.song_bars(song)
    if n_bars < MIN_BARS:
        return {"reason": f"too short ({n_bars} bar)"}
    counts = groups.count_groups(song)
    tmp = cache_path + f".tmp-{os.getpid()}.npz"
    np.savez(tmp, **_song_to_arrays(song))
    os.replace(tmp, cache_path)
    return {"counts": {c: [[list(k), v] for k, v in cnt.items()] for c, cnt in counts.items()}, "classes": classes}


def _encode_file(cache_path: str, out_path: str, vocab_path: str, settings: dict) -> dict:
    """Pass 2: cached notes → chords → GETScore → windows (saved as .npy). Returns {'windows'} or {'reason'}."""
    from getmusic_cli.score import chords as chordlib
    from getmusic_cli.score.codec import chord_rows, encode, song_columns
    from getmusic_cli.score.melody_chords import recognize_melody_chords
    from getmusic_cli.score.timeline import Timeline

    vocab = _load_vocab_cached(vocab_path)
    with np.load(cache_path) as data:
        song = _song_from_arrays(data)
    timeline = Timeline(song.ticks_per_beat, song.time_signatures)
    n_columns = song_columns(song, timeline)
    pitched = [n for c in song.classes() if c != "drums" for n in song.notes[c]]
    chords = chordlib.recognize_chords(pitched, timeline, n_columns, lag=0) if pitched else None
    score, report = encode(song, vocab, chords=chords, transpose=True)
    lead = song.notes.get("lead", [])
    lead_chords = None
    if lead:
        heard = recognize_melody_chords(lead, timeline, n_columns, lag=0)  # as generate hears a lead kept alone
        lead_chords = chord_rows(heard, list(score.bar_starts), n_columns, score.pitch_shift, vocab)
    windows = cut_windows(
        np.asarray(score.tokens),
        list(score.bar_starts),
        settings["length"],
        settings["stride"],
        vocab.pad_id,
        vocab.empty_id,
        settings["min_tracks"],
        lead_chords,
    )
    if len(windows) == 0:
        return {
            "reason": f"no window with {settings['min_tracks']} non-empty tracks (has: {', '.join(song.classes())})"
        }
    dtype = np.int16 if vocab.size <= np.iinfo(np.int16).max else np.int32
    tmp = out_path + f".tmp-{os.getpid()}.npy"
    np.save(tmp, windows.astype(dtype))
    os.replace(tmp, out_path)
    return {"windows": int(len(windows)), "classes": present_tracks(windows, vocab.empty_id)}


_VOCABS: dict[str, object] = {}


def _load_vocab_cached(path: str):
    from getmusic_cli.score.vocab import Vocabulary

    if path not in _VOCABS:
        _VOCABS[path] = Vocabulary.load(Path(path))
    return _VOCABS[path]


def _guarded(timeout: float, fn: Callable, *args) -> dict:
    """Worker entry: a timeout or an unexpected error on one file becomes a skip reason."""
    try:
        return _with_timeout(timeout, fn, *args)
    except _Timeout:
        return {"reason": f"timed out after {timeout:g} s"}
    except GetMusicError as exc:
        return {"reason": str(exc)}
    except Exception as exc:
        return {"reason": f"failed: {type(exc).__name__}: {exc}"}


# ---------------------------------------------------------------------------------------------------
# Orchestration (main process)


def _run_jobs(jobs: dict[str, tuple], settings: DataSettings, label: str, progress) -> dict[str, dict]:
    """Run {key: (fn, *args)} through _guarded, in a process pool unless told otherwise."""
    results: dict[str, dict] = {}
    if not jobs:
        return results
    workers = settings.workers if settings.workers >= 0 else (os.cpu_count() or 1)
    workers = min(workers, len(jobs))
    task = progress.add_task(label, total=len(jobs)) if progress else None
    if workers <= 1 and (settings.workers == 0 or len(jobs) <= 2):
        for key, (fn, *args) in jobs.items():
            results[key] = _guarded(settings.timeout, fn, *args)
            if progress:
                progress.advance(task)
        return results
    # spawn: the parent may hold torch threads; forking those is unsafe.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_guarded, settings.timeout, fn, *args): key for key, (fn, *args) in jobs.items()}
        try:
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                if progress:
                    progress.advance(task)
        except BrokenProcessPool:
            for key in futures.values():
                results.setdefault(key, {"reason": "worker process died while reading this file"})
    return results


def _merge_counts(per_file: list[dict]) -> dict[str, Counter]:
    total: dict[str, Counter] = {c: Counter() for c in INSTRUMENTS}
    for counts in per_file:
        for cls, items in counts.items():
            for pitches, n in items:
                total[cls][tuple(pitches)] += n
    return total


def _vocab_sha(vocab) -> str:
    return hashlib.sha256("\n".join(vocab.token(i) for i in range(len(vocab))).encode()).hexdigest()


def _progress(console):
    if console is None:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    )


def build_dataset(
    data_dir: Path,
    out_dir: Path,
    settings: DataSettings,
    *,
    vocab=None,
    grow_from=None,
    console=None,
) -> Dataset:
    """Scan, read, derive the vocabulary (unless ``vocab`` is given; ``grow_from``'s tokens plus the data's
    composites it lacks when that is given), encode, split and pack ``data_dir``."""
    from getmusic_cli.score.vocab import Vocabulary

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    files = src.scan_midi_files(data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = out_dir / "cache"
    cache.mkdir(exist_ok=True)
    sources = src.hash_sources(data_dir, files)

    entries: list[FileEntry] = []
    first_of: dict[str, str] = {}
    for s in sources:
        e = FileEntry(s.rel, s.sha256)
        if not s.sha256:
            e.reason = "unreadable: cannot open the file"
        elif s.sha256 in first_of:
            e.reason = f"duplicate of {first_of[s.sha256]}"
        else:
            first_of[s.sha256] = s.rel
        entries.append(e)
    by_sha = {e.sha256: e for e in entries if not e.reason}
    paths = {s.sha256: s.path for s in sources}

    progress = _progress(console)
    if progress:
        progress.start()
    try:
        # ---- pass 1: read (cached per content hash) ----
        read_results: dict[str, dict] = {}
        jobs = {}
        for sha in by_sha:
            res = _load_json(cache / f"{sha}.read.json")
            if res and res.get("version") == CACHE_VERSION:
                if "reason" in res or (cache / f"{sha}.notes.npz").is_file():
                    read_results[sha] = res
                    continue
            jobs[sha] = (_read_file, str(paths[sha]), str(cache / f"{sha}.notes.npz"))
        for sha, res in _run_jobs(jobs, settings, "reading MIDI", progress).items():
            res["version"] = CACHE_VERSION
            _write_json(cache / f"{sha}.read.json", res)
            read_results[sha] = res
        for sha, res in read_results.items():
            if "reason" in res:
                by_sha[sha].reason = res["reason"]
        usable = [sha for sha in by_sha if not by_sha[sha].reason]
        if not usable:
            raise GetMusicError(f"no usable MIDI file under {data_dir}: {_reason_summary(entries)}")

        # ---- vocabulary ----
        if vocab is None:
            counts = _merge_counts([read_results[sha]["counts"] for sha in sorted(usable)])
            if grow_from is not None:
                vocab = grow_from.extended(counts, min_count=settings.min_count, coverage=settings.coverage)
            else:
                vocab = Vocabulary.build(counts, min_count=settings.min_count, coverage=settings.coverage)
        vocab_path = out_dir / VOCAB_FILE
        vsha = _vocab_sha(vocab)
        old_vocab_sha = None
        if vocab_path.is_file():
            try:
                old_vocab_sha = _vocab_sha(Vocabulary.load(vocab_path))
            except Exception:
                old_vocab_sha = None
        if old_vocab_sha != vsha:
            tmp = out_dir / f".{VOCAB_FILE}.tmp"
            vocab.save(tmp)
            os.replace(tmp, vocab_path)
        key = settings.key(vsha)

        # ---- pass 2: encode (cached per content hash + settings) ----
        wire = {"length": settings.length, "stride": settings.effective_stride(), "min_tracks": settings.min_tracks}
        encode_results: dict[str, dict] = {}
        jobs = {}
        for sha in usable:
            res = _load_json(cache / f"{sha}.{key}.json")
            if res and ("reason" in res or (cache / f"{sha}.{key}.npy").is_file()):
                encode_results[sha] = res
                continue
            jobs[sha] = (
                _encode_file,
                str(cache / f"{sha}.notes.npz"),
                str(cache / f"{sha}.{key}.npy"),
                str(vocab_path),
                wire,
            )
        for sha, res in _run_jobs(jobs, settings, "encoding", progress).items():
            _write_json(cache / f"{sha}.{key}.json", res)
            encode_results[sha] = res
    finally:
        if progress:
            progress.stop()

    splits = src.assign_splits(usable, settings.valid_fraction)
    for sha in usable:
        e, res = by_sha[sha], encode_results[sha]
        if "reason" in res:
            e.reason = res["reason"]
        else:
            e.windows, e.classes, e.split = res["windows"], res["classes"], splits[sha]
    if not any(e.windows for e in entries):
        raise GetMusicError(f"no usable MIDI file under {data_dir}: {_reason_summary(entries)}")
    if not any(e.windows and e.split == "train" for e in entries):
        # One usable piece only: it has to train; validation then reuses it (said in the summary).
        for e in entries:
            if e.windows:
                e.split = "train"

    manifest = {
        "format": DATA_FORMAT,
        "settings": _content_settings(settings),
        "key": key,
        "vocab_sha256": vsha,
        "files": [asdict(e) for e in entries],
    }
    old = _read_manifest(out_dir)
    reused = old is not None and _same_content(old, manifest) and _shards_exist(out_dir, old)
    if reused:
        manifest["shards"] = old["shards"]
    else:
        manifest["shards"] = _pack(out_dir, cache, key, entries, settings.shard_windows)
        _write_json(out_dir / MANIFEST, manifest)
    return _open(out_dir, manifest, vocab, reused)


def _load_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _content_settings(settings: DataSettings) -> dict:
    """The settings that change what is packed (not how fast it is built)."""
    out = asdict(settings) | {"stride": settings.effective_stride()}
    for k in ("workers", "timeout"):
        out.pop(k)
    return out


def _same_content(old: dict, new: dict) -> bool:
    return all(old.get(k) == new.get(k) for k in ("format", "settings", "key", "vocab_sha256", "files"))


def _shards_exist(out_dir: Path, manifest: dict) -> bool:
    return all((out_dir / s["file"]).is_file() for split in manifest.get("shards", {}).values() for s in split)


def _pack(out_dir: Path, cache: Path, key: str, entries: list[FileEntry], shard_windows: int) -> dict:
    """Write the windows of each split into shard .npy files (in manifest order); returns the shard list."""
    for old in out_dir.glob("*-[0-9][0-9][0-9][0-9][0-9].npy"):
        old.unlink()
    shards: dict[str, list[dict]] = {}
    for split in ("train", "valid"):
        members = [e for e in entries if e.split == split and e.windows]
        total = sum(e.windows for e in members)
        shards[split] = []
        written, idx, out, fill = 0, 0, None, 0
        for e in members:
            arr = np.load(cache / f"{e.sha256}.{key}.npy", mmap_mode="r")
            pos = 0
            while pos < len(arr):
                if out is None:
                    n = min(shard_windows, total - written)
                    name = f"{split}-{idx:05d}.npy"
                    out = np.lib.format.open_memmap(
                        out_dir / name, mode="w+", dtype=arr.dtype, shape=(n, *arr.shape[1:])
                    )
                    shards[split].append({"file": name, "windows": n})
                    fill = 0
                take = min(len(arr) - pos, len(out) - fill)
                out[fill : fill + take] = arr[pos : pos + take]
                fill, pos, written = fill + take, pos + take, written + take
                if fill == len(out):
                    out.flush()
                    del out
                    out, idx = None, idx + 1
    return shards


def _open(out_dir: Path, manifest: dict, vocab, reused: bool) -> Dataset:
    entries = [FileEntry(**f) for f in manifest["files"]]
    train = WindowSet([out_dir / s["file"] for s in manifest["shards"]["train"]])
    valid_paths = [out_dir / s["file"] for s in manifest["shards"]["valid"]]
    valid = WindowSet(valid_paths) if valid_paths else train
    seen = {c for e in entries if e.split == "train" for c in e.classes}
    classes = [c for c in INSTRUMENTS if c in seen]
    return Dataset(out_dir, vocab, train, valid, classes, entries, reused, int(manifest["settings"]["length"]))


def open_dataset(out_dir: Path) -> Dataset:
    """Open an already built data folder (other DDP ranks, --resume)."""
    from getmusic_cli.score.vocab import Vocabulary

    out_dir = Path(out_dir)
    manifest = _read_manifest(out_dir)
    if manifest is None or not _shards_exist(out_dir, manifest) or "shards" not in manifest:
        raise GetMusicError(f"{out_dir} holds no built data set")
    return _open(out_dir, manifest, Vocabulary.load(out_dir / VOCAB_FILE), True)


def _read_manifest(out_dir: Path) -> dict | None:
    try:
        data = json.loads((out_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("format") == DATA_FORMAT else None


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _reason_summary(entries: list[FileEntry]) -> str:
    reasons = Counter(e.reason.split(":")[0] for e in entries if e.reason)
    return ", ".join(f"{n} {r}" for r, n in reasons.most_common()) or "nothing to train on"
