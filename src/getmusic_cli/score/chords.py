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
    "": "null",
    "maj": "null",
    "M": "null",
    ":maj": "null",
    "m": "m",
    "mi": "m",
    "min": "m",
    "-": "m",
    ":min": "m",
    "+": "+",
    "aug": "+",
    ":aug": "+",
    "dim": "dim",
    "o": "dim",
    "°": "dim",
    ":dim": "dim",
    "7": "seven",
    "dom7": "seven",
    ":7": "seven",
    "maj7": "maj7",
    "M7": "maj7",
    "Δ": "maj7",
    "Δ7": "maj7",
    ":maj7": "maj7",
    "m7": "m7",
    "mi7": "m7",
    "min7": "m7",
    "-7": "m7",
    ":min7": "m7",
    "m7b5": "m7b5",
    "m7-5": "m7b5",
    "min7b5": "m7b5",
    "ø": "m7b5",
    "ø7": "m7b5",
    "hdim7": "m7b5",
    ":hdim7": "m7b5",
}
_NO_CHORD = {"N.C.", "N.C", "NC", "N", "-"}
_CHORD_RE = re.compile(r"^([A-Ga-g])([#b]?)(.*)$")


def parse_chord(text: str) -> Chord:
    """One chord symbol (C, Am, A:min, G7, Fmaj7, Bdim, Caug, C+, F#m7b5, N.C. ...) → (root, kind) or None."""
    text = text.replace("♯", "#").replace("♭", "b")
    if text.upper() in _NO_CHORD:
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


def _chord_given_key() -> np.ndarray:
    """12 × 97: P(chord | key) for a fresh chord. Chords whose notes all lie in the key's major scale share
    1 − OUT_OF_KEY; every other chord (N.C. included: it has no scale notes) shares OUT_OF_KEY."""
    in_key = np.zeros((12, len(CHORDS) + 1), dtype=bool)
    for key in range(12):
        scale = {(key + s) % 12 for s in _MAJOR}
        for c, (root, kind) in enumerate(CHORDS, 1):
            in_key[key, c] = all((root + p) % 12 in scale for p in KIND_PITCHES[kind])
    return np.where(
        in_key, (1 - OUT_OF_KEY) / in_key.sum(1, keepdims=True), OUT_OF_KEY / (~in_key).sum(1, keepdims=True)
    )


def _log_transitions() -> tuple[np.ndarray, np.ndarray]:
    """Log transition probabilities over states (key, chord), in two factors.

    Key changes (probability KEY_CHANGE, to any of the 11 other keys) draw the new chord from the new key's
    distribution, whatever the old chord: ``fresh[k2, c2]``. Within a key the chord stays with probability
    1 − CHORD_CHANGE; otherwise it moves to another chord drawn from the key's distribution, the old chord's share
    spread evenly over the others: ``same[k, c1, c2]``. Each row of the full matrix sums to 1.
    """
    dist = _chord_given_key()
    n_keys, n_chords = dist.shape
    fresh = KEY_CHANGE / (n_keys - 1) * dist
    same = CHORD_CHANGE * (dist[:, None, :] + dist[:, :, None] / (n_chords - 1))
    same[:, np.arange(n_chords), np.arange(n_chords)] = 1 - CHORD_CHANGE
    return np.log(fresh), np.log((1 - KEY_CHANGE) * same)


_TEMPLATES = _templates()
_TRANSITIONS: tuple[np.ndarray, np.ndarray] | None = None


def bar_vectors(notes: list[Note], timeline, bar_starts: list[int], n_columns: int) -> np.ndarray:
    """Duration-weighted pitch-class vector per bar (in 16th columns), L2-normalised (zeros for silence)."""
    edges = np.array(bar_starts + [n_columns])
    vec = np.zeros((len(bar_starts), 12))
    for n in notes:
        start, end = (
            timeline.tick_to_column(n.start),
            max(timeline.tick_to_column(n.end), timeline.tick_to_column(n.start) + 1),
        )
        first = max(0, np.searchsorted(edges, start, side="right") - 1)
        for b in range(first, len(bar_starts)):
            overlap = min(end, edges[b + 1]) - max(start, edges[b])
            if overlap <= 0:
                break
            vec[b, n.pitch % 12] += overlap
    norms = np.linalg.norm(vec, axis=1, keepdims=True)
    return np.divide(vec, norms, out=np.zeros_like(vec), where=norms > 0)


def recognize_chords(notes: list[Note], timeline, n_columns: int, lag: int = 0) -> list[Chord]:
    """The chord of every bar of the timeline up to ``n_columns`` (pitched notes only, drums excluded).

    ``lag=1`` shifts the bar frames one bar later, as the original did: bar b gets the harmony of bar b−1 and
    bar 0 (an empty frame) the chord the smoothing carries back from bar 0's own harmony.
    """
    bar_starts = timeline.bar_starts(n_columns)
    if not notes:
        return [None] * len(bar_starts)
    frames = bar_vectors(notes, timeline, bar_starts, n_columns)
    if lag:
        frames = np.vstack([np.zeros((lag, 12)), frames])[: len(bar_starts)]
    emit = CONCENTRATION * frames @ _TEMPLATES.T  # (frames, 97); the same under every key
    return [None if c == 0 else CHORDS[c - 1] for c in viterbi(emit)]


def viterbi(emit: np.ndarray) -> list[int]:
    """Most likely chord index (0 = N.C.) per frame, given (frames, 97) log emissions, over (key, chord) states.

    Uses the two-factor transitions: O(keys·chords²) per frame instead of O((keys·chords)²).
    """
    global _TRANSITIONS
    if _TRANSITIONS is None:
        _TRANSITIONS = _log_transitions()
    log_fresh, log_same = _TRANSITIONS
    n_keys, n_chords = log_fresh.shape
    n_frames = len(emit)
    score = np.broadcast_to(emit[0] - np.log(n_keys * n_chords), (n_keys, n_chords))
    back_key = np.zeros((n_frames, n_keys, n_chords), dtype=np.int64)
    back_chord = np.zeros((n_frames, n_keys, n_chords), dtype=np.int64)
    keys = np.arange(n_keys)
    for f in range(1, n_frames):
        # Staying in the key: best previous chord for each (key, new chord).
        cand = score[:, :, None] + log_same  # (key, c1, c2)
        stay_chord = cand.argmax(1)
        stay = np.take_along_axis(cand, stay_chord[:, None, :], 1)[:, 0, :]
        # Changing key: the best state of the best other key, whatever its chord.
        best_per_key = score.max(1)
        order = np.argsort(-best_per_key, kind="stable")
        other = np.where(order[0] == keys, order[1], order[0])  # best key that is not the new one
        move = best_per_key[other][:, None] + log_fresh
        use_move = move > stay
        back_key[f] = np.where(use_move, other[:, None], keys[:, None])
        back_chord[f] = np.where(use_move, score.argmax(1)[other][:, None], stay_chord)
        score = np.where(use_move, move, stay) + emit[f][None, :]

    key, chord = np.unravel_index(int(score.argmax()), score.shape)
    path = [int(chord)]
    for f in range(n_frames - 1, 0, -1):
        key, chord = back_key[f, key, chord], back_chord[f, key, chord]
        path.append(int(chord))
    path.reverse()
    return path
