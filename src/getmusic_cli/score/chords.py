"""One chord per bar: 12 roots × 8 kinds, found by an HMM over (key, chord) with Viterbi (reference §2.7).

Each bar gives a duration-weighted, L2-normalised pitch-class vector; a chord's emission log-likelihood is
100 × the cosine with its template. Hidden states are (key, chord) pairs; keys rarely change (0.001), chords
change with probability 0.5, and a changed chord leaves the key's scale with probability 0.01.
``lag=1`` reproduces the original's rows, where the chord stored at bar b is the harmony of bar b−1.
"""

from __future__ import annotations

import re

import numpy as np

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.song import Note
from getmusic_cli.score.vocab import KINDS, ROOTS

Chord = tuple[int, str] | None  # (root pitch class, kind) or None for no chord

KIND_PITCHES: dict[str, tuple[int, ...]] = {
    "null": (0, 4, 7),
    "m": (0, 3, 7),
    "+": (0, 4, 8),
    "dim": (0, 3, 6),
    "seven": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "m7b5": (0, 3, 6, 10),
}
KIND_SUFFIX = {"null": "", "m": "m", "+": "+", "dim": "dim", "seven": "7", "maj7": "maj7", "m7": "m7", "m7b5": "m7b5"}

CONCENTRATION = 100.0
KEY_CHANGE = 0.001
CHORD_CHANGE = 0.5
OUT_OF_KEY = 0.01
_MAJOR = (0, 2, 4, 5, 7, 9, 11)

# All chords after N.C. (state 0): root-major order, 96 of them.
CHORDS: list[tuple[int, str]] = [(r, k) for r in range(12) for k in KINDS]


def chord_name(chord: Chord) -> str:
    if chord is None:
        return "N.C."
    root, kind = chord
    return ROOTS[root] + KIND_SUFFIX[kind]


_NOTE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_SUFFIXES = {
    "": "null", "maj": "null", "M": "null", ":maj": "null",
    "m": "m", "min": "m", "-": "m", ":min": "m",
    "+": "+", "aug": "+", ":aug": "+",
    "dim": "dim", "o": "dim", ":dim": "dim",
    "7": "seven", "dom7": "seven", ":7": "seven",
    "maj7": "maj7", "M7": "maj7", ":maj7": "maj7",
    "m7": "m7", "min7": "m7", "-7": "m7", ":min7": "m7",
    "m7b5": "m7b5", "ø": "m7b5", "ø7": "m7b5", "hdim7": "m7b5", ":hdim7": "m7b5", "min7b5": "m7b5",
}
_CHORD_RE = re.compile(r"^([A-Ga-g])([#b]?)(.*)$")


def parse_chord(text: str) -> Chord:
    if text.upper() in ("N.C.", "NC", "N", "-"):
        return None
    m = _CHORD_RE.match(text)
    if not m or m.group(3) not in _SUFFIXES:
        raise GetMusicError(f"unknown chord {text!r}: write chords like C, Am, G7, Fmaj7, Bdim, Caug, F#m7b5, N.C.")
    root = (_NOTE[m.group(1).upper()] + {"#": 1, "b": -1, "": 0}[m.group(2)]) % 12
    return root, _SUFFIXES[m.group(3)]


def parse_chords(text: str) -> list[Chord]:
    """'Am F C G' (spaces, commas or bars between) → chords, one per bar."""
    return [parse_chord(part) for part in re.split(r"[\s,|]+", text.strip()) if part]


def _templates() -> np.ndarray:
    """97 × 12 unit vectors: N.C. (uniform) then the 96 chords."""
    rows = [np.ones(12)]
    for root, kind in CHORDS:
        v = np.zeros(12)
        v[[(root + p) % 12 for p in KIND_PITCHES[kind]]] = 1
        rows.append(v)
    t = np.array(rows)
    return t / np.linalg.norm(t, axis=1, keepdims=True)


def _log_transitions() -> np.ndarray:
    """(12·97) × (12·97) log transition matrix over states (key, chord), index key*97 + chord."""
    n_chords = len(CHORDS) + 1
    # P(chord | key) for a chord change: in-key chords share 1-OUT_OF_KEY, the rest (N.C. included) OUT_OF_KEY.
    in_key = np.zeros((12, n_chords), dtype=bool)
    for key in range(12):
        scale = {(key + s) % 12 for s in _MAJOR}
        for c, (root, kind) in enumerate(CHORDS, 1):
            in_key[key, c] = all((root + p) % 12 in scale for p in KIND_PITCHES[kind])
    given_key = np.where(in_key, (1 - OUT_OF_KEY) / in_key.sum(1, keepdims=True),
                         OUT_OF_KEY / (~in_key).sum(1, keepdims=True))
    key_trans = np.full((12, 12), KEY_CHANGE / 11)
    np.fill_diagonal(key_trans, 1 - KEY_CHANGE)
    trans = np.zeros((12, n_chords, 12, n_chords))
    for k2 in range(12):
        change = CHORD_CHANGE * given_key[k2]  # (n_chords,) over the new chord
        for c1 in range(n_chords):
            row = change.copy()
            row[c1] += 1 - CHORD_CHANGE
            trans[:, c1, k2, :] = key_trans[:, k2, None] * row[None, :]
    return np.log(trans.reshape(12 * n_chords, 12 * n_chords))


_TEMPLATES = _templates()
_LOG_TRANS: np.ndarray | None = None


def _bar_vectors(notes: list[Note], timeline, bar_starts: list[int], n_columns: int) -> np.ndarray:
    """Duration-weighted pitch-class vector per bar (in 16th columns), L2-normalised (zeros for silence)."""
    edges = np.array(bar_starts + [n_columns])
    vec = np.zeros((len(bar_starts), 12))
    for n in notes:
        start, end = timeline.tick_to_column(n.start), max(timeline.tick_to_column(n.end), timeline.tick_to_column(n.start) + 1)
        first = max(0, np.searchsorted(edges, start, side="right") - 1)
        for b in range(first, len(bar_starts)):
            overlap = min(end, edges[b + 1]) - max(start, edges[b])
            if overlap <= 0:
                break
            vec[b, n.pitch % 12] += overlap
    norms = np.linalg.norm(vec, axis=1, keepdims=True)
    return np.divide(vec, norms, out=np.zeros_like(vec), where=norms > 0)


def recognize_chords(notes: list[Note], timeline, n_columns: int, lag: int = 0) -> list[Chord]:
    """The chord of every bar of the timeline up to ``n_columns`` (pitched notes only, drums excluded)."""
    global _LOG_TRANS
    if _LOG_TRANS is None:
        _LOG_TRANS = _log_transitions()
    bar_starts = timeline.bar_starts(n_columns)
    if not notes:
        return [None] * len(bar_starts)
    frames = _bar_vectors(notes, timeline, bar_starts, n_columns)
    if lag:
        frames = np.vstack([np.zeros((lag, 12)), frames])[: len(bar_starts)]
    emit_chord = CONCENTRATION * frames @ _TEMPLATES.T  # (frames, 97)
    emit = np.tile(emit_chord, (1, 12))  # same emission under every key
    n_states = emit.shape[1]
    score = emit[0] - np.log(n_states)
    back = np.zeros((len(frames), n_states), dtype=np.int64)
    for f in range(1, len(frames)):
        cand = score[:, None] + _LOG_TRANS
        back[f] = cand.argmax(0)
        score = cand.max(0) + emit[f]
    path = [int(score.argmax())]
    for f in range(len(frames) - 1, 0, -1):
        path.append(int(back[f, path[-1]]))
    path.reverse()
    n_chords = len(CHORDS) + 1
    return [None if s % n_chords == 0 else CHORDS[s % n_chords - 1] for s in path]
