"""Turn what the user asked for (tracks to make, bars to infill) into the sampler's two arrays.

A Task holds ``tokens`` (rows x L): the known tokens, ``[MASK]`` where the model must generate and
``[EMPTY]`` where a track is absent; and ``condition`` (rows x L, bool): the cells the model is conditioned on.
Bars are the song's own bars (from the time-signature map), given here as column ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from getmusic_cli.score.tracks import INSTRUMENTS, duration_row, pitch_row


@dataclass
class Task:
    tokens: np.ndarray  # (rows, L) int64
    condition: np.ndarray  # (rows, L) bool
    targets: list[str]  # instrument classes that get generated somewhere


def _class_rows(name: str) -> list[int]:
    return [pitch_row(name), duration_row(name)]


def generation_task(tokens: np.ndarray, make: list[str], mask_id: int, empty_id: int) -> Task:
    """Generate the classes in ``make`` over the whole song, conditioned on every other non-empty row.

    ``tokens`` is an encoded score holding only the kept tracks (and chords); rows of ``make`` are overwritten.
    """
    tokens = tokens.copy()
    for name in make:
        tokens[_class_rows(name)] = mask_id
    # A row is a condition as a whole (as in training): its [EMPTY] tail keeps the flag too.
    present = (tokens != empty_id).any(axis=1) & (tokens != mask_id).all(axis=1)
    condition = np.repeat(present[:, None], tokens.shape[1], axis=1)
    return Task(tokens=tokens, condition=condition, targets=[c for c in INSTRUMENTS if c in make])


def infill_task(
    tokens: np.ndarray,
    regions: list[tuple[int, int]],
    tracks: list[str],
    mask_id: int,
    empty_id: int,
) -> Task:
    """Regenerate the cells of ``tracks`` inside the column ``regions`` (start, end exclusive); keep the rest.

    Tracks absent from the song stay [EMPTY]; asking to infill one of them is the caller's error to report.
    """
    tokens = tokens.copy()
    condition = tokens != empty_id
    for name in tracks:
        rows = _class_rows(name)
        for start, end in regions:
            tokens[rows, start:end] = mask_id
            condition[rows, start:end] = False
    return Task(tokens=tokens, condition=condition, targets=[c for c in INSTRUMENTS if c in tracks])
