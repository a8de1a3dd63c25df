"""Cut an encoded song (rows × song length) into training windows of L columns.

Windows start on bar lines, one every ~``stride`` columns. Inside a window a track without a single note
becomes [EMPTY] (the model learns "absent" from that, as in the original binarizer), and columns past the
end of the song are [EMPTY] in every row. A window is kept only if it still has at least ``min_tracks``
non-empty tracks (the chord track counts), since a task needs a condition or a second target.

A window has three rows more than the token grid. BAR_POSITION_ROW holds each column's place in its bar,
which a model with ``bar_positions`` is given (split off with ``split_bar_positions``). LEAD_CHORD_ROWS hold
the chords heard in the lead alone (``lead_chords``): what ``generate`` gives a model when only a lead is kept,
where the token grid's chord rows are heard in every track.
"""

from __future__ import annotations

import numpy as np

from getmusic_cli.score.timeline import positions_in_bar
from getmusic_cli.score.tracks import N_ROWS, TRACKS

BAR_POSITION_ROW = N_ROWS  # the row after the token grid
LEAD_CHORD_ROWS = (N_ROWS + 1, N_ROWS + 2)
WINDOW_ROWS = N_ROWS + 3


def window_starts(n_columns: int, length: int, stride: int, bar_starts: list[int]) -> list[int]:
    """First columns of the windows; each start is the last bar line at most ``stride`` after the previous."""
    starts = [0]
    bars = sorted(b for b in bar_starts if 0 < b < n_columns)
    while starts[-1] + length < n_columns:
        prev = starts[-1]
        ideal = prev + stride
        on_bar = [b for b in bars if prev < b <= ideal]
        starts.append(on_bar[-1] if on_bar else ideal)
    return starts


def cut_windows(
    tokens: np.ndarray,
    bar_starts: list[int],
    length: int,
    stride: int,
    pad_id: int,
    empty_id: int,
    min_tracks: int = 2,
    lead_chords: np.ndarray | None = None,
) -> np.ndarray:
    """(n_windows, WINDOW_ROWS, length) array of the useful windows of one song (may be empty).

    ``lead_chords``: (2, song length) chord rows heard in the lead alone; [EMPTY] when not given.
    """
    rows, n_columns = tokens.shape
    assert rows == N_ROWS
    kept = []
    for start in window_starts(n_columns, length, stride, bar_starts):
        win = np.full((WINDOW_ROWS, length), empty_id, dtype=np.int64)
        part = tokens[:, start : start + length]
        win[:rows, : part.shape[1]] = part
        win[BAR_POSITION_ROW] = positions_in_bar(bar_starts, start, length)
        if lead_chords is not None:
            part = lead_chords[:, start : start + length]
            win[list(LEAD_CHORD_ROWS), : part.shape[1]] = part
        present = 0
        for track in range(len(TRACKS)):
            pitch = win[2 * track]
            if ((pitch != pad_id) & (pitch != empty_id)).any():
                present += 1
            else:
                win[2 * track : 2 * track + 2] = empty_id
        if present >= min_tracks:
            kept.append(win)
    if not kept:
        return np.zeros((0, WINDOW_ROWS, length), dtype=np.int64)
    return np.stack(kept)


def split_bar_positions(windows):
    """Windows (B, WINDOW_ROWS, L) → token grids (B, rows, L) and bar positions (B, L); numpy or torch."""
    return windows[:, :BAR_POSITION_ROW], windows[:, BAR_POSITION_ROW]


def lead_chord_rows(windows):
    """Windows (B, WINDOW_ROWS, L) → the chord rows heard in the lead alone (B, 2, L); numpy or torch."""
    return windows[:, LEAD_CHORD_ROWS[0] : LEAD_CHORD_ROWS[1] + 1]


def present_tracks(windows: np.ndarray, empty_id: int) -> list[str]:
    """Tracks that are non-empty in at least one window."""
    if len(windows) == 0:
        return []
    pitch_rows = windows[:, 0:N_ROWS:2, :]
    present = (pitch_rows != empty_id).any(axis=(0, 2))
    return [name for name, p in zip(TRACKS, present) if p]
