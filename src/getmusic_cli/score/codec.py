"""Song ↔ GETScore: the 14-row token grid (reference §2.3), with reduction instead of silent drops.

Columns are 16th notes from the song's start; bars follow the time-signature map (see Timeline). A track's
simultaneous onsets form one composite pitch token; its duration token is the lowest note's duration code.
Groups missing from the vocabulary are reduced to the nearest token present (lead: its top note; other
tracks: the largest subset present), and the report counts every note reduced or dropped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.durations import decode_duration, encode_duration
from getmusic_cli.score.keys import detect_key
from getmusic_cli.score.song import Note, Song
from getmusic_cli.score.timeline import Timeline
from getmusic_cli.score.tracks import CHORDS, DEFAULT_VELOCITY, INSTRUMENTS, duration_row, pitch_row
from getmusic_cli.score.vocab import KINDS, Vocabulary

# Subsets tried when reducing an out-of-vocabulary group; bigger groups fall back to fewer candidates.
_MAX_SUBSET_SEARCH = 8


@dataclass
class GETScore:
    tokens: np.ndarray  # (14, L) int64
    bar_starts: list[int]  # first column of each bar
    pitch_shift: int  # semitones added to pitched notes before encoding (decode subtracts it)


@dataclass
class ClassReport:
    notes: int = 0  # notes in the input
    encoded: int = 0  # notes that made it into the score unchanged
    reduced: int = 0  # notes removed to fit a group into the vocabulary
    dropped: int = 0  # notes lost for another reason (see reasons)
    lengthened: int = 0  # notes of groups shorter than half a 16th, kept as 16ths
    reasons: Counter = field(default_factory=Counter)


@dataclass
class CodecReport:
    classes: dict[str, ClassReport] = field(default_factory=dict)

    def summary(self) -> list[str]:
        lines = []
        for name, r in self.classes.items():
            line = f"{name}: {r.encoded}/{r.notes} notes encoded"
            if r.reduced:
                line += f", {r.reduced} reduced to fit the vocabulary"
            if r.lengthened and name != "drums":  # short hits are the norm for drums: not worth a word
                line += f", {r.lengthened} very short notes kept as 16ths"
            if r.dropped:
                line += f", {r.dropped} dropped (" + ", ".join(f"{k}: {v}" for k, v in r.reasons.items()) + ")"
            lines.append(line)
        return lines


def song_columns(song: Song, timeline: Timeline) -> int:
    """Columns of the whole song: up to the end of the bar holding its last note onset or end."""
    last = max(timeline.tick_to_column(song.end_tick) - 1, 0)
    return timeline.end_column(last)


def encode(
    song: Song,
    vocab: Vocabulary,
    *,
    chords: list | None = None,
    transpose: bool = True,
    length: int | None = None,
) -> tuple[GETScore, CodecReport]:
    """Encode the song's instrument classes; ``chords`` (one per bar, song's own key) fills the chord rows."""
    timeline = Timeline(song.ticks_per_beat, song.time_signatures)
    song_length = n_columns = song_columns(song, timeline)
    if length is not None:
        if length < n_columns:
            raise GetMusicError(f"the song needs {n_columns} columns but only {length} were asked for")
        n_columns = length
    pitched = [n for c in INSTRUMENTS if c != "drums" for n in song.notes.get(c, [])]
    shift = detect_key(pitched, song.ticks_per_beat).shift if transpose else 0

    tokens = np.full((len(INSTRUMENTS) * 2 + 2, n_columns), vocab.empty_id, dtype=np.int64)
    report = CodecReport()
    for name in INSTRUMENTS:
        notes = song.notes.get(name, [])
        if not notes:
            continue
        r = report.classes[name] = ClassReport(notes=len(notes))
        tokens[[pitch_row(name), duration_row(name)]] = vocab.pad_id
        groups: dict[int, list[Note]] = defaultdict(list)
        for n in notes:
            col = timeline.tick_to_column(n.start)
            if col >= n_columns:
                r.dropped += 1
                r.reasons["past the end"] += 1
                continue
            groups[col].append(n)
        for col, group in sorted(groups.items()):
            _encode_group(name, col, group, shift if name != "drums" else 0, timeline, vocab, tokens, r)

    bar_starts = timeline.bar_starts(n_columns)
    if chords is not None:
        tokens[[pitch_row(CHORDS), duration_row(CHORDS)]] = chord_rows(chords, bar_starts, n_columns, shift, vocab)
    tokens[:, song_length:] = vocab.empty_id  # past the song's end: nothing, as in training windows
    return GETScore(tokens, bar_starts, shift), report


def chord_rows(chords: list, bar_starts: list[int], n_columns: int, shift: int, vocab: Vocabulary) -> np.ndarray:
    """(2, n_columns) chord rows: root and kind ids over each bar (chords in the song's own key, moved by shift)."""
    rows = np.full((2, n_columns), vocab.pad_id, dtype=np.int64)
    edges = bar_starts + [n_columns]
    for b, chord in enumerate(chords[: len(bar_starts)]):
        if chord is None:
            continue
        root, kind = chord
        rows[0, edges[b] : edges[b + 1]] = vocab.chord_root_id((root + shift) % 12)
        rows[1, edges[b] : edges[b + 1]] = vocab.chord_kind_id(kind)
    return rows


def _encode_group(name, col, group, shift, timeline, vocab, tokens, r: ClassReport) -> None:
    """One onset column of one track: a (possibly reduced) pitch token and the duration of its lowest note."""
    in_range = [n for n in group if 0 <= n.pitch + shift < 128]
    lost_range = len(group) - len(in_range)
    if lost_range:
        r.dropped += lost_range
        r.reasons["pitch out of range after transposition"] += lost_range
    if not in_range:
        return
    chosen = _nearest_token(name, tuple(sorted({n.pitch + shift for n in in_range})), vocab)
    kept = [n for n in in_range if n.pitch + shift in chosen]
    r.encoded += len(kept)
    r.reduced += len(in_range) - len(kept)
    # The group's duration is its lowest note's (the shortest one if that pitch sounds twice).
    lowest = min(kept, key=lambda n: (n.pitch, n.end))
    code = encode_duration(timeline.tick_to_column(lowest.end) - col)
    if code == 0:
        code = 1  # shorter than half a 16th: keep it as a 16th rather than lose it
        r.lengthened += len(kept)
    tokens[pitch_row(name), col] = vocab.id(vocab.pitch_token(name, chosen))
    tokens[duration_row(name), col] = vocab.duration_id(code)


def _nearest_token(name: str, pitches: tuple[int, ...], vocab: Vocabulary) -> tuple[int, ...]:
    """The group itself if it is a token; else the lead's top note, or the largest subset that is a token.

    Among subsets of one size, those keeping the outer notes (bass line and top line) come first, then the
    higher ones (drums: the lower ones, kick and snare before cymbals). Single pitches are always tokens.
    """
    if vocab.get(vocab.pitch_token(name, pitches)) is not None:
        return pitches
    low_first = name in ("bass", "drums")
    if name == "lead" or len(pitches) == 1:
        return (pitches[-1],)
    # Very large groups: search among the outer notes only (subset count grows as 2^n).
    search = pitches if len(pitches) <= _MAX_SUBSET_SEARCH else pitches[:2] + pitches[-(_MAX_SUBSET_SEARCH - 2) :]
    sign = 1 if low_first else -1

    def preference(subset: tuple[int, ...]):
        outer = (subset[0] == pitches[0]) + (subset[-1] == pitches[-1])
        return -outer, [sign * p for p in subset]

    largest = len(search) if len(search) < len(pitches) else len(search) - 1
    for size in range(largest, 1, -1):
        for subset in sorted(combinations(search, size), key=preference):
            if vocab.get(vocab.pitch_token(name, subset)) is not None:
                return subset
    return (pitches[0],) if low_first else (pitches[-1],)


def decode(
    score: GETScore, vocab: Vocabulary, timeline: Timeline, classes: list[str] | None = None
) -> dict[str, list[Note]]:
    """Notes per class, in ticks, from the onset columns whose duration cell holds a T token.

    [MASK], [EMPTY] and ``<pad>`` cells produce nothing; the pitch shift is undone (not for drums); notes get
    the class's default velocity (GETScore has none).
    """
    out: dict[str, list[Note]] = {}
    for name in classes or list(INSTRUMENTS):
        prow, drow = score.tokens[pitch_row(name)], score.tokens[duration_row(name)]
        shift = 0 if name == "drums" else score.pitch_shift
        lo, hi = vocab.pitch_range(name)
        notes = []
        for col in np.flatnonzero((prow >= lo) & (prow <= hi)):
            code = vocab.code_of_duration_id(int(drow[col]))
            if code is None:
                continue  # a pitch without a duration token is no note
            _, pitches = vocab.parse_pitch_token(vocab.token(int(prow[col])))
            start = timeline.column_to_tick(int(col))
            end = timeline.column_to_tick(int(col) + decode_duration(code))
            for p in pitches:
                if 0 <= p - shift < 128:
                    notes.append(Note(start, end, p - shift, DEFAULT_VELOCITY[name]))
        out[name] = sorted(notes, key=lambda n: (n.start, n.pitch))
    return out


def decode_chords(score: GETScore, vocab: Vocabulary) -> list[tuple[int, str] | None]:
    """The chord per bar read from the chord rows at each bar's first column, in the song's own key."""
    roots = {int(i): r for r, i in enumerate(vocab.allowed_ids(pitch_row(CHORDS))[1:])}
    kinds = {int(i): k for i, k in zip(vocab.allowed_ids(duration_row(CHORDS))[1:], KINDS)}
    out: list[tuple[int, str] | None] = []
    for col in score.bar_starts:
        root = roots.get(int(score.tokens[pitch_row(CHORDS), col]))
        kind = kinds.get(int(score.tokens[duration_row(CHORDS), col]))
        out.append(None if root is None or kind is None else ((root - score.pitch_shift) % 12, kind))
    return out
