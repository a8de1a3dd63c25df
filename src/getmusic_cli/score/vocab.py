"""Vocabulary: token ↔ id, the per-row id ranges, and the specials, in the original dict.txt layout.

File format (the original's, and ours): one ``token<TAB>count`` per line, id = 0-based line number.
Composite tokens hold spaces (``P60 64 67``), so a line is split on the TAB only. Layout, in order:
T1..T15, ``<pad>``, lead M0..M127, then for bass, drums, guitar, piano, strings the 128 single pitches
followed by that instrument's composites, then the 12 chord roots and 8 chord kinds.
[EMPTY] = number of lines, [MASK] = number of lines + 1.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.tracks import CHORDS, DRUM_PITCH_OFFSET, INSTRUMENTS, TOKEN_PREFIX, duration_row, pitch_row

PAD = "<pad>"
N_DURATIONS = 15  # T1..T15
ROOTS: tuple[str, ...] = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
KINDS: tuple[str, ...] = ("null", "m", "+", "dim", "seven", "maj7", "m7", "m7b5")
_PREFIX_CLASS = {p: c for c, p in TOKEN_PREFIX.items()}


def _single_pitches(instrument: str) -> list[str]:
    offset = DRUM_PITCH_OFFSET if instrument == "drums" else 0
    return [f"{TOKEN_PREFIX[instrument]}{p + offset}" for p in range(128)]


def _is_int(text: str) -> bool:
    text = text.strip()
    return text.lstrip("-").isdigit()


class Vocabulary:
    def __init__(self, tokens: list[str], counts: list[int] | None = None):
        self.tokens = list(tokens)
        self.counts = list(counts) if counts is not None else [0] * len(tokens)
        self._ids: dict[str, int] = {}
        for i, t in enumerate(self.tokens):
            if t in self._ids:
                raise GetMusicError(f"token {t!r} appears twice (lines {self._ids[t] + 1} and {i + 1})")
            self._ids[t] = i
        self._index_layout()

    # ----- layout -----

    def _index_layout(self) -> None:
        def need(token: str) -> int:
            if token not in self._ids:
                raise GetMusicError(f"the token {token!r} is missing")
            return self._ids[token]

        self.pad_id = need(PAD)
        self._duration_ids = [need(f"T{c}") for c in range(1, N_DURATIONS + 1)]
        self._duration_codes = {id_: code for code, id_ in enumerate(self._duration_ids, 1)}
        # Instrument blocks are found by scanning prefixes (chord names such as "Bb" or "m7" are no pitch tokens).
        block_ids: dict[str, list[int]] = {name: [] for name in INSTRUMENTS}
        for i, t in enumerate(self.tokens):
            instrument = _PREFIX_CLASS.get(t[:1])
            if instrument is not None and t[1:2] and (t[1].isdigit() or t[1] == "-"):
                if not all(_is_int(p) for p in t[1:].split(" ")):
                    raise GetMusicError(f"line {i + 1}: {t!r} is not a pitch token")
                block_ids[instrument].append(i)
        self._blocks: dict[str, tuple[int, int]] = {}
        for instrument, ids in block_ids.items():
            if not ids:
                raise GetMusicError(f"there are no {instrument} tokens")
            lo, hi = ids[0], ids[-1]
            if hi - lo + 1 != len(ids):
                raise GetMusicError(f"the {instrument} tokens are not one contiguous block (lines {lo + 1}-{hi + 1})")
            for p in range(128):  # the codec relies on every single pitch being a token
                need(self.pitch_token(instrument, (p,)))
            self._blocks[instrument] = (lo, hi)
        self._root_ids = [need(r) for r in ROOTS]
        self._kind_ids = [need(k) for k in KINDS]
        self._allowed: dict[int, np.ndarray] = {}
        for instrument in INSTRUMENTS:
            lo, hi = self._blocks[instrument]
            self._allowed[pitch_row(instrument)] = np.array([self.pad_id, *range(lo, hi + 1)], dtype=np.int64)
            self._allowed[duration_row(instrument)] = np.array([self.pad_id, *self._duration_ids], dtype=np.int64)
        self._allowed[pitch_row(CHORDS)] = np.array([self.pad_id, *self._root_ids], dtype=np.int64)
        self._allowed[duration_row(CHORDS)] = np.array([self.pad_id, *self._kind_ids], dtype=np.int64)

    # ----- sizes and specials -----

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def size(self) -> int:
        """K: real tokens + [EMPTY] + [MASK] (= ModelConfig.vocab_size)."""
        return len(self.tokens) + 2

    @property
    def empty_id(self) -> int:
        return len(self.tokens)

    @property
    def mask_id(self) -> int:
        return len(self.tokens) + 1

    # ----- lookups -----

    def id(self, token: str) -> int:
        return self._ids[token]

    def get(self, token: str) -> int | None:
        return self._ids.get(token)

    def token(self, id_: int) -> str:
        if id_ == self.empty_id:
            return "[EMPTY]"
        if id_ == self.mask_id:
            return "[MASK]"
        return self.tokens[id_]

    def duration_id(self, code: int) -> int:
        """Id of the token T<code>, code 1..15 (code 0, shorter than a 16th, has no token)."""
        if not 1 <= code <= N_DURATIONS:
            raise ValueError(f"duration code {code} has no token (codes 1..{N_DURATIONS})")
        return self._duration_ids[code - 1]

    def code_of_duration_id(self, id_: int) -> int | None:
        """Duration code 1..15 of a T token id, or None for any other id."""
        return self._duration_codes.get(id_)

    def pitch_range(self, instrument: str) -> tuple[int, int]:
        return self._blocks[instrument]

    def chord_root_id(self, root: int) -> int:
        return self._root_ids[root]

    def chord_kind_id(self, kind: str) -> int:
        return self._kind_ids[KINDS.index(kind)]

    def allowed_ids(self, row: int) -> np.ndarray:
        return self._allowed[row]

    @staticmethod
    def pitch_token(instrument: str, pitches) -> str:
        offset = DRUM_PITCH_OFFSET if instrument == "drums" else 0
        return TOKEN_PREFIX[instrument] + " ".join(str(p + offset) for p in sorted(set(pitches)))

    @staticmethod
    def parse_pitch_token(token: str) -> tuple[str, tuple[int, ...]]:
        instrument = _PREFIX_CLASS[token[0]]
        offset = DRUM_PITCH_OFFSET if instrument == "drums" else 0
        return instrument, tuple(int(p) - offset for p in token[1:].split())

    # ----- files -----

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GetMusicError(f"cannot read vocabulary {path}: {exc}") from None
        text = text.rstrip("\r\n")  # blank lines at the end are harmless
        if not text:
            raise GetMusicError(f"vocabulary {path} is empty")
        tokens, counts = [], []
        for n, line in enumerate(text.split("\n"), 1):
            token, sep, count = line.removesuffix("\r").partition("\t")
            if not sep or not token or not _is_int(count):
                raise GetMusicError(f"vocabulary {path}: line {n} is not 'token<TAB>count'")
            tokens.append(token)
            counts.append(int(count))
        try:
            return cls(tokens, counts)
        except GetMusicError as exc:
            raise GetMusicError(f"vocabulary {path}: {exc}") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text("".join(f"{t}\t{c}\n" for t, c in zip(self.tokens, self.counts)), encoding="utf-8")

    def extended(self, counts: dict[str, Counter], min_count: int = 0, coverage: float = 1.0) -> Vocabulary:
        """These tokens plus the composites that ``build`` would take from COUNTS and these lack, each put at
        the end of its instrument's block. Every token keeps its meaning; ids after a grown block move."""
        fresh = Vocabulary.build(counts, min_count=min_count, coverage=coverage)
        block_end = {hi: instrument for instrument, (_, hi) in self._blocks.items()}
        tokens, freq = [], []
        for i, (token, count) in enumerate(zip(self.tokens, self.counts)):
            tokens.append(token)
            freq.append(count)
            instrument = block_end.get(i)
            if instrument is None:
                continue
            lo, hi = fresh._blocks[instrument]
            new = [j for j in range(lo, hi + 1) if fresh.tokens[j] not in self._ids]
            tokens += [fresh.tokens[j] for j in new]
            freq += [fresh.counts[j] for j in new]
        return Vocabulary(tokens, freq)

    @classmethod
    def basic(cls) -> Vocabulary:
        """Single pitches only (804 lines): the floor of every vocabulary, and the debug model's."""
        return cls.build({})

    @classmethod
    def build(cls, counts: dict[str, Counter], min_count: int = 0, coverage: float = 1.0) -> Vocabulary:
        """From per-instrument counts of note groups (tuples of MIDI pitches, drums without the +128).

        Every single pitch is kept. Composites are taken by descending count (ties by token text) while their
        count exceeds ``min_count`` and until they cover ``coverage`` of that instrument's groups. The lead
        stays monophonic. Deterministic for the same counts.
        """
        tokens = [f"T{c}" for c in range(1, N_DURATIONS + 1)] + [PAD]
        freq = [0] * len(tokens)
        for instrument in INSTRUMENTS:
            groups = counts.get(instrument, Counter())
            singles = _single_pitches(instrument)
            single_counts = {cls.pitch_token(instrument, (p,)): 0 for p in range(128)}
            for group, n in groups.items():
                if len(set(group)) == 1 and 0 <= group[0] < 128:
                    single_counts[cls.pitch_token(instrument, group)] += n
            tokens += singles
            freq += [single_counts[t] for t in singles]
            if instrument == "lead":
                continue
            composites = Counter()
            for group, n in groups.items():
                if len(set(group)) > 1 and all(0 <= p < 128 for p in group):
                    composites[cls.pitch_token(instrument, group)] += n
            total = sum(groups.values()) or 1
            covered = sum(single_counts.values())
            for token, n in sorted(composites.items(), key=lambda kv: (-kv[1], kv[0])):
                if n <= min_count or covered / total >= coverage:
                    break
                tokens.append(token)
                freq.append(n)
                covered += n
        tokens += list(ROOTS) + list(KINDS)
        freq += [0] * (len(ROOTS) + len(KINDS))
        return cls(tokens, freq)
