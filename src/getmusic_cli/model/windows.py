"""Songs longer than the model's window: overlapping windows, each conditioned on what came before.

A window that contains cells to generate is sampled; what it produced becomes a condition for the windows
after it, so a 200-bar song comes out whole and continuous. Windows start on bar lines where possible.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch

from getmusic_cli.model.sampler import SamplerOptions, network_calls, sample
from getmusic_cli.score.timeline import positions_in_bar


def window_starts(length: int, window: int, bar_starts: list[int], overlap: float = 0.5) -> list[int]:
    """Start columns of the windows covering ``length`` columns; consecutive windows overlap by ~``overlap``."""
    if length <= window:
        return [0]
    hop = max(1, int(window * (1.0 - overlap)))
    starts = [0]
    while starts[-1] + window < length:
        ideal = starts[-1] + hop
        # Snap back to the last bar line after the previous start, so windows begin like real music.
        on_bar = [b for b in bar_starts if starts[-1] < b <= ideal]
        nxt = on_bar[-1] if on_bar else ideal
        if nxt + window >= length:
            nxt = length - window  # the last window is full length and ends with the song
        starts.append(nxt)
    return starts


def sample_windows(
    denoiser,
    vocab,
    tokens: torch.Tensor,
    condition: torch.Tensor,
    window: int,
    options: SamplerOptions,
    bar_starts: list[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    stop: int | None = None,
) -> torch.Tensor:
    """Sample every [MASK] cell of ``tokens`` (B, R, L) window by window; returns the filled tokens.

    With ``stop``, only the windows that start before column ``stop`` are sampled and later cells stay [MASK]:
    the first ``stop`` columns come out exactly as a run over the whole song makes them (same windows, seeds).
    """
    tokens = tokens.clone()
    song_cells = condition
    condition = condition.clone()
    length = tokens.shape[-1]
    starts = window_starts(length, window, bar_starts or [])
    positions = torch.as_tensor(positions_in_bar(bar_starts or [0], 0, length), dtype=torch.long)
    todo = [s for s in starts if (stop is None or s < stop) and (tokens[..., s : s + window] == vocab.mask_id).any()]
    steps = network_calls(denoiser.config, options.steps or denoiser.config.num_timesteps)
    total = steps * len(todo)
    for k, start in enumerate(todo):
        end = min(start + window, length)
        part = tokens[..., start:end]
        if not (part == vocab.mask_id).any():
            continue  # an earlier window already produced all of it
        seed = None if options.seed is None else options.seed + k
        opts = dataclasses.replace(options, seed=seed)
        done_before = k * steps

        def report(done: int, _total: int, offset: int = done_before) -> None:
            if progress is not None:
                progress(offset + done, total)

        was_masked = part == vocab.mask_id
        out = sample(
            denoiser,
            vocab,
            part,
            condition[..., start:end],
            opts,
            progress=report,
            bar_position=positions[start:end],
            song_cells=song_cells[..., start:end],
        )
        tokens[..., start:end] = out
        # What this window produced is context for the next one.
        condition[..., start:end] |= was_masked
    if progress is not None:
        progress(total, total)
    return tokens
