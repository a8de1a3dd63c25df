"""Inference sampler (reference §5.5): confidence-weighted unmasking, then one final joint resample.

The grid holds condition tokens, [MASK] for cells to generate and [EMPTY] for absent regions. Over the
first S-1 network calls every instrument track unmasks a scheduled number of its masked cells; the
last call resamples every generated cell jointly from the network's p(x_0 | x_1), as the original does.
Only the ids allowed in a row are ever scored (Denoiser.log_probs), and only for cells still in play.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

CHORD_ROWS = (12, 13)
N_INSTRUMENT_TRACKS = 6


@dataclass
class SamplerOptions:
    steps: int | None = None  # network calls; None = the model's num_timesteps
    temperature: float = 1.0  # <= 0 means argmax
    top_p: float = 1.0
    seed: int | None = None
    # Row -> the ids the sampler may draw in that row (e.g. a class's playable range); None, or a row missing,
    # means vocab.allowed_ids(row).
    allowed_ids: dict[int, Sequence[int]] | None = None


def timesteps(n_timesteps: int, steps: int) -> list[int]:
    """Timestep of each network call: evenly from T-1 down to 0 (a single call uses T-1).

    With S = T this is the original's T-1, ..., 1, 0. With fewer calls, unmasking call k (of S-1) sees a
    masked share 1 - k/(S-1) of the target cells, and t_k = (T-1)(1 - k/(S-1)) is the step whose
    cumulative mask probability (linear in t, reference §5.1) matches that share; the last call is t = 0.
    """
    if steps == 1:
        return [n_timesteps - 1]
    return [int(round(v)) for v in np.linspace(n_timesteps - 1, 0, steps)]


def unmask_schedule(n_cells: int, n_calls: int) -> list[int]:
    """Cells to unmask at each of n_calls calls: floor(n / calls) each, the remainder spread from the start."""
    if n_calls <= 0:
        return []
    counts = [n_cells // n_calls] * n_calls
    left = n_cells - sum(counts)
    while left > 0:
        stride = -(-n_calls // left)  # ceil: spread evenly, first call first
        for i in range(0, n_calls, stride):
            if left == 0:
                break
            counts[i] += 1
            left -= 1
    return counts


def _pick_tokens(log_probs: torch.Tensor, temperature: float, top_p: float, gen: torch.Generator) -> torch.Tensor:
    """Column index per row of log_probs (n, V): top-p filter, then Gumbel-max at the temperature."""
    if temperature <= 0:
        return log_probs.argmax(dim=-1)
    scores = log_probs / temperature
    if top_p < 1.0:
        probs = torch.softmax(scores, dim=-1)
        sorted_p, order = probs.sort(dim=-1, descending=True)
        before = sorted_p.cumsum(dim=-1) - sorted_p  # mass strictly above each entry
        drop_sorted = before >= top_p  # keeps the smallest prefix reaching top_p
        drop_sorted[..., 0] = False  # and always the most likely token (top_p <= 0 = argmax)
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        scores = scores.masked_fill(drop, float("-inf"))
    u = torch.rand(scores.shape, generator=gen, device=gen.device).to(scores.device)
    gumbel = -torch.log(-torch.log(u.clamp(1e-20, 1.0 - 1e-7)))
    return (scores + gumbel).argmax(dim=-1)


def sample(
    denoiser,
    vocab,
    tokens: torch.Tensor,
    condition: torch.Tensor,
    options: SamplerOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Fill the [MASK] cells of tokens (B, R, L); returns a new (B, R, L) int64 tensor."""
    options = options or SamplerOptions()
    if tokens.dim() != 3:
        raise ValueError(f"tokens must be (batch, rows, columns), got shape {tuple(tokens.shape)}")
    if condition.shape != tokens.shape:
        raise ValueError("condition must have the shape of tokens")
    n_t = int(denoiser.config.num_timesteps)
    steps = int(options.steps or n_t)
    if not 1 <= steps <= n_t:
        raise ValueError(f"steps must be between 1 and {n_t}, got {steps}")
    device = torch.device(denoiser.device)
    mask_id = int(vocab.mask_id)
    source = tokens.to(device=device, dtype=torch.long)
    cond = condition.to(device=device, dtype=torch.bool)
    target = source == mask_id
    if bool(target[:, list(CHORD_ROWS)].any()):
        raise ValueError("chord rows cannot be generated: [MASK] found in a chord row")
    if bool((target & cond).any()):
        raise ValueError("condition cells cannot be [MASK]")

    gen = torch.Generator(device=device)
    if options.seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(options.seed))
    chosen_ids = options.allowed_ids or {}
    allowed = {
        row: torch.as_tensor(np.asarray(chosen_ids.get(row, vocab.allowed_ids(row))), dtype=torch.long, device=device)
        for row in range(2 * N_INSTRUMENT_TRACKS)
    }

    b_size = source.shape[0]
    ts = timesteps(n_t, steps)
    # counts[b][j][call]: cells of track j to unmask at each of the first S-1 calls (pitch + duration rows).
    counts = [
        [unmask_schedule(int(target[b, 2 * j : 2 * j + 2].sum()), steps - 1) for j in range(N_INSTRUMENT_TRACKS)]
        for b in range(b_size)
    ]
    cur = source.clone()
    still = target.clone()  # cells not yet unmasked
    any_target = bool(target.any())
    for call, t in enumerate(ts):
        last = call == steps - 1
        # A call that would unmask nothing is skipped, as the original skips such steps: its result would
        # be thrown away (tracks with fewer masked cells than calls, or nothing to generate at all).
        busy = any_target if last else any(plan[call] > 0 for per_b in counts for plan in per_b)
        if not busy:
            if progress is not None:
                progress(call + 1, steps)
            continue
        cur = torch.where(cond, source, cur)
        t_vec = torch.full((b_size,), t, dtype=torch.long, device=device)
        feats = denoiser.features(cur, t_vec, cond)
        for b in range(b_size):
            for j in range(N_INSTRUMENT_TRACKS):
                rows = (2 * j, 2 * j + 1)
                if last:
                    for row in rows:  # final joint resample of every generated cell
                        cols = target[b, row].nonzero(as_tuple=True)[0]
                        if cols.numel():
                            lp = denoiser.log_probs(feats[b, row, cols], allowed[row])
                            cur[b, row, cols] = allowed[row][_pick_tokens(lp, options.temperature, options.top_p, gen)]
                    continue
                n_pick = counts[b][j][call]
                if n_pick <= 0:
                    continue
                cells, scores, confidences = [], [], []
                for row in rows:
                    cols = still[b, row].nonzero(as_tuple=True)[0]
                    if cols.numel():
                        lp = denoiser.log_probs(feats[b, row, cols], allowed[row])
                        cells.append((row, cols))
                        scores.append(lp)
                        # Confidence = max probability over the row's allowed ids; the original takes the
                        # max over the whole vocabulary (its p0 is not restricted to the row).
                        confidences.append(lp.max(dim=-1).values.exp())
                if not cells:
                    continue
                conf = torch.cat(confidences)
                n_pick = min(n_pick, conf.numel())
                weights = torch.softmax(conf.float(), dim=0)
                chosen = torch.multinomial(weights, n_pick, replacement=False, generator=gen)
                offset = 0
                for (row, cols), lp in zip(cells, scores):
                    local = chosen[(chosen >= offset) & (chosen < offset + cols.numel())] - offset
                    offset += cols.numel()
                    if local.numel():
                        picked = _pick_tokens(lp[local], options.temperature, options.top_p, gen)
                        cur[b, row, cols[local]] = allowed[row][picked]
                        still[b, row, cols[local]] = False
        if progress is not None:
            progress(call + 1, steps)
    out = torch.where(cond, source, cur)
    return out.to(tokens.device)
