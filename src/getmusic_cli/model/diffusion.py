"""GETDiff's discrete diffusion (reference §5): schedule, forward noising, posterior, training loss,
importance sampling of timesteps, and the collater's choice of target/condition tracks.

Classes: K = vocab_size; ids 0..K-3 are real tokens, K-2 is [EMPTY], K-1 is [MASK]. Uniform noise is
spread over the N = K-1 non-mask classes. Timestep index t in 0..T-1 stands for diffusion step t+1;
cumulative index T is the identity kernel (used as "t-1" when t = 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from getmusic_cli.model.config import ModelConfig
from getmusic_cli.score.tracks import track_index

LOG_EPS = math.log(1e-30)  # log of the "zero" used by the reference for one-hots and the mask column
LOG_MIN = -70.0  # every log-probability is clamped to [LOG_MIN, 0]

CHORD_ROWS = (12, 13)
N_INSTRUMENT_TRACKS = 6
LEAD_TRACK, DRUM_TRACK = track_index("lead"), track_index("drums")


def _log(values: np.ndarray) -> torch.Tensor:
    with np.errstate(divide="ignore"):
        return torch.from_numpy(np.log(values)).float()


class Schedule:
    """Mask-and-replace schedule: cumulative (bar) and one-step values, as float32 logs."""

    def __init__(self, config: ModelConfig):
        k, t_len = config.vocab_size, config.num_timesteps
        if t_len < 1:
            raise ValueError("num_timesteps must be at least 1")
        n = k - 1
        self.K, self.N, self.T = k, n, t_len
        frac = np.arange(t_len, dtype=np.float64) / max(t_len - 1, 1)
        at = config.alpha_start + frac * (config.alpha_end - config.alpha_start)
        ct = config.gamma_start + frac * (config.gamma_end - config.gamma_start)
        bt = (1.0 - at - ct) / n
        if (bt < -1e-12).any() or (at <= 0).any() or (ct < 0).any():
            raise ValueError("diffusion schedule needs alpha > 0, gamma >= 0 and alpha + gamma <= 1")
        bt = np.maximum(bt, 0.0)
        at_prev = np.concatenate([[1.0], at[:-1]])
        ct_prev = np.concatenate([[0.0], ct[:-1]])
        a_step = at / at_prev
        c_step = 1.0 - (1.0 - ct) / (1.0 - ct_prev)
        b_step = np.maximum((1.0 - a_step - c_step) / n, 0.0)
        self.alpha_bar, self.beta_bar, self.gamma_bar = at, bt, ct  # float64 numpy, for tests/inspection
        self.alpha, self.beta, self.gamma = a_step, b_step, c_step
        # Cumulative tables have T+1 entries; entry T is the identity (alpha 1, beta 0, gamma 0).
        at_c = np.concatenate([at, [1.0]])
        bt_c = np.concatenate([bt, [0.0]])
        ct_c = np.concatenate([ct, [0.0]])
        self._cpu = {
            "log_at_cum": _log(at_c),
            "log_bt_cum": _log(bt_c),
            "log_ct_cum": _log(ct_c),
            "log_1mct_cum": _log(1.0 - ct_c),
            "log_same_cum": _log(at_c + bt_c),  # log q(x_t = j | x_0 = j), j non-mask
            "log_at": _log(a_step),
            "log_bt": _log(b_step),
            "log_ct": _log(c_step),
            "log_same": _log(a_step + b_step),  # log q(x_t = j | x_{t-1} = j)
        }
        self._by_device: dict[str, dict[str, torch.Tensor]] = {"cpu": self._cpu}

    def tables(self, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        key = str(torch.device(device))
        if key not in self._by_device:
            self._by_device[key] = {name: v.to(device) for name, v in self._cpu.items()}
        return self._by_device[key]

    def __getattr__(self, name: str) -> torch.Tensor:
        cpu = self.__dict__.get("_cpu")
        if cpu is not None and name in cpu:
            return cpu[name]
        raise AttributeError(name)


def _cell_t(t: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
    """t as an int64 tensor of like's shape: scalars broadcast, (B,) is per leading-dim sample."""
    t = torch.as_tensor(t, dtype=torch.long, device=like.device)
    if t.dim() == 1 and like.dim() > 1 and t.shape[0] == like.shape[0]:
        t = t.view(-1, *([1] * (like.dim() - 1)))
    return t.expand_as(like)


def q_sample(
    x0: torch.Tensor, t: torch.Tensor | int, schedule: Schedule, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draw x_t ~ q(x_t | x_0): [MASK] w.p. gamma_bar, uniform non-mask class w.p. N*beta_bar, else x_0."""
    t = _cell_t(t, x0)
    gen_device = generator.device if generator is not None else x0.device
    u = torch.rand(x0.shape, generator=generator, device=gen_device).to(x0.device, torch.float64)
    uniform = torch.randint(0, schedule.N, x0.shape, generator=generator, device=gen_device).to(x0.device)
    gamma = torch.from_numpy(schedule.gamma_bar).to(x0.device)[t]
    replace = torch.from_numpy(schedule.N * schedule.beta_bar).to(x0.device)[t]
    out = torch.where(u < gamma + replace, uniform, x0)
    return torch.where(u < gamma, torch.full_like(x0, schedule.K - 1), out)


def posterior(log_p0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor | int, schedule: Schedule) -> torch.Tensor:
    """log p(x_{t-1} | x_t) from a distribution log_p0 (..., K) over x_0, the reference §5.2 recipe.

    Brute force over all K classes: used by tests, and as the ground truth for the loss's exact shortcut.
    """
    k = log_p0.shape[-1]
    s = schedule.tables(log_p0.device)
    t = _cell_t(t, x_t)
    prev = (t - 1) % (schedule.T + 1)
    is_mask = (x_t == k - 1)[..., None]
    at_xt = F.one_hot(x_t, k).bool()
    col = lambda table, idx: table[idx][..., None]  # noqa: E731
    log_q = torch.where(
        is_mask, col(s["log_ct_cum"], t), torch.where(at_xt, col(s["log_same_cum"], t), col(s["log_bt_cum"], t))
    )
    r = log_p0 - log_q
    r = torch.cat([r[..., :-1], torch.full_like(r[..., -1:], LOG_EPS)], dim=-1)
    z = torch.logsumexp(r, dim=-1, keepdim=True)
    r = r - z
    step4 = torch.cat(
        [
            torch.logaddexp(r[..., :-1] + col(s["log_at_cum"], prev), col(s["log_bt_cum"], prev)),
            torch.logaddexp(r[..., -1:] + col(s["log_1mct_cum"], prev), col(s["log_ct_cum"], prev)),
        ],
        dim=-1,
    )
    step5_real = torch.where(
        is_mask, col(s["log_ct"], t), torch.where(at_xt[..., :-1], col(s["log_same"], t), col(s["log_bt"], t))
    )
    step5_mask = torch.where(is_mask, 0.0, LOG_EPS).to(step5_real.dtype)
    step5 = torch.cat([step5_real, step5_mask], dim=-1)
    return (step4 + step5 + z).clamp(LOG_MIN, 0.0)


def _lse(*terms: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(torch.stack(torch.broadcast_tensors(*terms)), dim=0)


def cell_losses(
    log_p0: torch.Tensor, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, schedule: Schedule
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-cell VLB term and x_0 cross entropy for flat cells: log_p0 (M, K), x0/x_t/t (M,).

    VLB = KL(true posterior || model posterior) for t > 0, -log model posterior(x_0) for t = 0.
    Exact, without K-wide posteriors: given the one-hot x_0 the true posterior takes one common value
    on every class except x_0, x_t and [MASK]; the model posterior on those common classes is an
    elementwise function g of log_p0, so the KL needs only a few gathered entries and one sum of g.
    """
    k = log_p0.shape[-1]
    s = schedule.tables(log_p0.device)
    mask_id = k - 1
    prev = (t - 1) % (schedule.T + 1)
    la_p, lb_p = s["log_at_cum"][prev], s["log_bt_cum"][prev]
    lc_p, l1mc_p = s["log_ct_cum"][prev], s["log_1mct_cum"][prev]
    is_mask = x_t == mask_id
    real_xt = ~is_mask
    same_x = (x0 == x_t) & real_xt  # x_0 is never [MASK]
    d = torch.where(is_mask, s["log_ct_cum"][t], s["log_bt_cum"][t])  # log q(x_t | x_0=j), j != x_t
    same_t = s["log_same_cum"][t]  # log q(x_t | x_0=x_t)
    e = torch.where(is_mask, s["log_ct"][t], s["log_bt"][t])  # log q(x_t | x_{t-1}=i), i != x_t, non-mask
    same_s = s["log_same"][t]
    step5_mask = torch.where(is_mask, 0.0, LOG_EPS)
    clamp = lambda v: v.clamp(LOG_MIN, 0.0)  # noqa: E731

    # ----- model posterior -----
    lp_real = log_p0[:, :-1]  # the N non-mask classes; the mask column is replaced by LOG_EPS (step 2)
    xt_idx = torch.where(is_mask, torch.zeros_like(x_t), x_t)[:, None]
    lse_all = torch.logsumexp(lp_real, dim=-1)
    lse_excl = torch.logsumexp(lp_real.scatter(1, xt_idx, float("-inf")), dim=-1)
    lp_xt = lp_real.gather(1, xt_idx)[:, 0]
    lp_x0 = log_p0.gather(1, x0[:, None])[:, 0]
    eps = torch.full_like(lse_all, LOG_EPS)
    z = torch.where(is_mask, _lse(lse_all - d, eps), _lse(lse_excl - d, lp_xt - same_t, eps))

    def g(lp: torch.Tensor, zz: torch.Tensor) -> torch.Tensor:  # generic non-mask class, any shape vs (M,)
        pad = (...,) + (None,) * (lp.dim() - 1)
        return clamp(torch.logaddexp(lp - (d - la_p + zz)[pad], lb_p[pad]) + (e + zz)[pad])

    m_mask = clamp(torch.logaddexp(LOG_EPS - z + l1mc_p, lc_p) + step5_mask + z)
    m_xt = clamp(torch.logaddexp(lp_xt - same_t - z + la_p, lb_p) + same_s + z)
    m_x0 = torch.where(same_x, m_xt, g(lp_x0, z))
    g_all = g(lp_real, z).sum(dim=-1)
    # Sum of the model posterior over the common classes: all non-mask classes but x_0 (and x_t).
    g_generic = g_all - g(lp_x0, z) - torch.where(real_xt & ~same_x, g(lp_xt, z), 0.0)

    # ----- true posterior from the one-hot x_0 (log 0 = LOG_EPS, as in the reference) -----
    extra_xt = real_xt & ~same_x  # x_t is a second special non-mask class
    n_other = (k - 2) - extra_xt.long()  # non-mask classes other than x_0 (and x_t)
    r_x0 = -torch.where(same_x, same_t, d)
    r_xt = LOG_EPS - same_t
    r_other = LOG_EPS - d + torch.log(n_other.to(d.dtype))
    zt = torch.where(extra_xt, _lse(r_x0, r_xt, r_other, eps), _lse(r_x0, r_other, eps))
    t_mask = clamp(torch.logaddexp(LOG_EPS - zt + l1mc_p, lc_p) + step5_mask + zt)
    t_x0 = torch.where(
        same_x,
        clamp(torch.logaddexp(r_x0 - zt + la_p, lb_p) + same_s + zt),
        clamp(torch.logaddexp(r_x0 - zt + la_p, lb_p) + e + zt),
    )
    t_xt = clamp(torch.logaddexp(r_xt - zt + la_p, lb_p) + same_s + zt)
    t_gen = clamp(torch.logaddexp(LOG_EPS - d - zt + la_p, lb_p) + e + zt)
    n_gen = (k - 2) - extra_xt.long()

    kl = (
        t_mask.exp() * (t_mask - m_mask)
        + t_x0.exp() * (t_x0 - m_x0)
        + torch.where(extra_xt, t_xt.exp() * (t_xt - m_xt), 0.0)
        + t_gen.exp() * (n_gen.to(t_gen.dtype) * t_gen - g_generic)
    )
    vlb = torch.where(t == 0, -m_x0, kl)
    return vlb, -lp_x0


HEAD_CHUNK_ELEMENTS = 1 << 23  # K-wide work per chunk: 8 M floats (32 MB) per temporary


def predicted_log_p0(network: torch.nn.Module, features: torch.Tensor) -> torch.Tensor:
    """Network log p(x_0) over all K classes: float32 log_softmax, the two special classes at -70."""
    log_p0 = F.log_softmax(network.logits(features).float(), dim=-1)
    special = log_p0.new_full((*log_p0.shape[:-1], 2), LOG_MIN)
    return torch.cat([log_p0, special], dim=-1).clamp(LOG_MIN, 0.0)


def head_losses(
    network: torch.nn.Module,
    features: torch.Tensor,
    x0: torch.Tensor,
    x_t: torch.Tensor,
    t: torch.Tensor,
    schedule: Schedule,
    chunk_elements: int = HEAD_CHUNK_ELEMENTS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """cell_losses straight from flat cell features (M, E), a chunk of cells at a time.

    The (cells, K) logits and the dozen K-wide temporaries of cell_losses exist for one chunk only:
    with gradients on, each chunk is recomputed in the backward pass (activation checkpointing), so
    the head costs one chunk of memory instead of ~3.4 GB per 14 x 512 sample at K = 11,881, for the
    price of running the tied head twice.
    """
    if features.shape[0] == 0:
        empty = features.new_zeros(0, dtype=torch.float32)
        return empty, empty
    chunk = max(1, chunk_elements // schedule.K)

    def run(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return cell_losses(predicted_log_p0(network, f), a, b, c, schedule)

    vlb, ce = [], []
    for start in range(0, features.shape[0], chunk):
        part = [v[start : start + chunk] for v in (features, x0, x_t, t)]
        if torch.is_grad_enabled():
            # No randomness inside, so the RNG state need not be saved for the recomputation.
            out = checkpoint(run, *part, use_reentrant=False, preserve_rng_state=False)
        else:
            out = run(*part)
        vlb.append(out[0])
        ce.append(out[1])
    return torch.cat(vlb), torch.cat(ce)


def _target_span(bar_position: torch.Tensor, in_song: torch.Tensor, rand, randint) -> tuple[int, int]:
    """Columns [start, end) a bar-span task makes; both ends on bar lines (or the window's end).

    Half the spans continue the bars before them to the window's end, from a bar line in the window's middle
    half (``generate`` gives a later window the first 8 of its 16 bars); half are 1 to 8 bars anywhere, as
    ``infill`` regenerates them. A window with fewer than two bar lines in the song is made whole.
    """
    length = int(bar_position.shape[0])
    lines = [c for c in range(length) if int(bar_position[c]) == 0 and bool(in_song[c])]
    if len(lines) < 2:
        return 0, length
    if rand() < 0.5:
        middle = [c for c in lines[1:] if length // 4 <= c <= 3 * length // 4] or lines[1:]
        return middle[randint(len(middle))], length
    first = randint(len(lines))
    last = first + 1 + randint(8)
    return lines[first], lines[last] if last < len(lines) else length


def diffusion_loss(
    network: torch.nn.Module,
    x0: torch.Tensor,
    condition: torch.Tensor,
    not_empty: torch.Tensor,
    t_sampler: TimestepSampler,
    generator: torch.Generator | None = None,
    schedule: Schedule | None = None,
    bar_position: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Training loss of reference §5.3 on x0 (B, R, L); returns (loss, stats).

    bar_position (B, L): each column's place in its bar, for a model with ``bar_positions``.

    stats: loss, vlb, aux (batch means, detached), t (B,), p_t (B,), sample_losses (B,) = per-sample VLB
    before importance weighting: feed ``t_sampler.update(stats["t"], stats["sample_losses"])``.
    The batch loss is the mean over samples (the reference sums; only the learning-rate scale differs).
    The tied head runs only on cells of weight > 0, in checkpointed chunks (head_losses).
    """
    inner = getattr(network, "module", network)  # DDP / compiled wrappers keep the config on the module
    inner = getattr(inner, "_orig_mod", inner)
    config: ModelConfig = inner.config
    if schedule is None:
        schedule = _schedule_for(inner, config)
    b = x0.shape[0]
    device = x0.device
    t, p_t = t_sampler.sample(b, generator)
    t, p_t = t.to(device), p_t.to(device)
    x_t = q_sample(x0, t, schedule, generator)
    x_t = torch.where(condition, x0, x_t)
    x_t = torch.where(not_empty, x_t, torch.full_like(x_t, config.empty_id))
    features = network(x_t, t, condition, bar_position)

    weight = not_empty.float() * torch.where(condition, config.cond_weight, 1.0)
    sel = weight > 0
    b_idx = sel.nonzero(as_tuple=True)[0]
    # Logits only for weighted cells: empty cells would cost K floats each for nothing.
    vlb_cell, ce_cell = head_losses(inner, features[sel], x0[sel], x_t[sel], t[b_idx], schedule)
    w = weight[sel]
    vlb = torch.zeros(b, device=device).index_add(0, b_idx, w * vlb_cell)
    aux = torch.zeros(b, device=device).index_add(0, b_idx, w * ce_cell)
    count = sel.flatten(1).sum(dim=1).clamp(min=1).float()
    vlb, aux = vlb / count, aux / count
    aux = config.aux_weight * (2.0 - t.float() / schedule.T) * aux
    per_sample = (vlb + aux) / p_t
    loss = per_sample.mean()
    stats = {
        "loss": loss.detach(),
        "vlb": vlb.detach().mean(),
        "aux": aux.detach().mean(),
        "t": t.detach(),
        "p_t": p_t.detach(),
        "sample_losses": vlb.detach(),
    }
    return loss, stats


def _schedule_for(module: torch.nn.Module, config: ModelConfig) -> Schedule:
    cached = getattr(module, "_getmusic_schedule", None)
    if cached is None or cached.K != config.vocab_size or cached.T != config.num_timesteps:
        cached = Schedule(config)
        object.__setattr__(module, "_getmusic_schedule", cached)  # plain attribute, not a submodule
    return cached


class TimestepSampler:
    """Importance sampling of t (reference §5.3): uniform until every t was seen more than 10 times,
    then p(t) proportional to sqrt(EMA of the loss squared) + 1e-4, with p(0) copied from p(1)."""

    def __init__(self, num_timesteps: int | ModelConfig):
        t_len = num_timesteps.num_timesteps if isinstance(num_timesteps, ModelConfig) else int(num_timesteps)
        self.T = t_len
        self.history = torch.zeros(t_len, dtype=torch.float64)
        self.count = torch.zeros(t_len, dtype=torch.long)

    def probabilities(self) -> torch.Tensor:
        if not bool((self.count > 10).all()):
            return torch.full((self.T,), 1.0 / self.T, dtype=torch.float64)
        weights = torch.sqrt(self.history + 1e-10) + 1e-4
        if self.T > 1:
            weights[0] = weights[1]
        return weights / weights.sum()

    def sample(self, batch: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(t (batch,) int64, p_t (batch,) float32) on the CPU (or on the generator's device)."""
        p = self.probabilities()
        device = generator.device if generator is not None else torch.device("cpu")
        t = torch.multinomial(p.to(device), batch, replacement=True, generator=generator)
        return t, p.to(device)[t].float()

    def update(self, t: torch.Tensor, losses: torch.Tensor) -> None:
        t = torch.as_tensor(t).detach().long().cpu()
        losses = torch.as_tensor(losses).detach().double().cpu()
        new = 0.1 * losses.square() + 0.9 * self.history[t]
        self.history.scatter_(0, t, new)
        self.count.index_add_(0, t, torch.ones_like(t))

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history.clone(), "count": self.count.clone(), "num_timesteps": self.T}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        t_len = int(state.get("num_timesteps", self.T))
        if t_len != self.T or state["history"].shape[0] != self.T:
            raise ValueError(f"timestep sampler state is for {t_len} steps, this model has {self.T}")
        self.history = torch.as_tensor(state["history"]).double().cpu().clone()
        self.count = torch.as_tensor(state["count"]).long().cpu().clone()


def _empty_id(ids: Any) -> int:
    return int(ids.empty_id) if hasattr(ids, "empty_id") else int(ids)


def choose_task(
    x0: torch.Tensor,
    generator: torch.Generator | None,
    empty_id: Any,
    drop_conditions: float = 0.0,
    lead_chords: torch.Tensor | None = None,
    bar_spans: float = 0.0,
    bar_position: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reference §5.4 collater: per sample pick target tracks, condition tracks and chord dropout.

    x0 (B, R, L) with R = 14 (6 instrument tracks of 2 rows, then the 2 chord rows); empty_id is an int
    or anything with ``.empty_id`` (a Vocabulary or ModelConfig). Returns (x0', condition, not_empty).
    ``drop_conditions`` (not in the reference; 0 draws exactly as it does) blanks each condition track with
    that probability, keeping at least one: a user keeps a lead and leaves the guitar out, while a full band
    window would always give the network every track that is not a target. ``lead_chords`` (B, 2, L), not in the
    reference either: the chords heard in the lead alone, given instead of the whole song's when the lead is the
    only pitched condition, as ``generate`` hears them in the kept tracks. ``bar_spans`` (not in the reference;
    needs ``bar_position`` (B, L), each column's place in its bar): the chance that a task's targets are made
    over a span of bars only, the rest of each target track given as a condition, as in a long song's later
    windows (the bars an earlier window made are given) and in ``infill`` (the kept bars around the chosen ones).
    """
    if bar_spans > 0 and bar_position is None:
        raise ValueError("bar_spans needs bar_position")
    empty = _empty_id(empty_id)
    x0 = x0.clone()
    b, r, length = x0.shape
    condition = torch.zeros(x0.shape, dtype=torch.bool, device=x0.device)
    gen = generator

    def rand() -> float:
        return float(torch.rand((), generator=gen))

    def randint(n: int) -> int:
        return int(torch.randint(0, n, (), generator=gen))

    row_filled = (x0 != empty).any(dim=-1).cpu()  # (B, R)
    for i in range(b):
        tracks = [j for j in range(N_INSTRUMENT_TRACKS) if bool(row_filled[i, 2 * j : 2 * j + 2].any())]
        chord = bool(row_filled[i, list(CHORD_ROWS)].any())
        if tracks and rand() < 0.1:
            keep = tracks[randint(len(tracks))]
            for j in tracks:
                if j != keep:
                    x0[i, 2 * j : 2 * j + 2] = empty
            tracks = [keep]
        n = len(tracks) + int(chord)
        if not tracks:
            targets: list[int] = []
        elif n <= 1:
            targets = list(tracks)  # a lone instrument track: unconditional generation
        else:
            n_targets = 1 + randint(min(n - 1, len(tracks)))
            order = torch.randperm(len(tracks), generator=gen).tolist()
            targets = sorted(tracks[o] for o in order[:n_targets])
            conditions = [j for j in tracks if j not in targets]
            if drop_conditions > 0 and len(conditions) > 1:
                kept = [j for j in conditions if rand() >= drop_conditions]
                kept = kept or [conditions[randint(len(conditions))]]
                for j in conditions:
                    if j not in kept:
                        x0[i, 2 * j : 2 * j + 2] = empty
                tracks = targets + kept
        for j in tracks:
            if j not in targets:
                condition[i, 2 * j : 2 * j + 2] = True
        if bar_spans > 0 and targets and rand() < bar_spans:
            in_song = (x0[i] != empty).any(dim=0).cpu()
            start, end = _target_span(bar_position[i].cpu(), in_song, rand, randint)
            given = torch.ones(length, dtype=torch.bool, device=x0.device)
            given[start:end] = False
            for j in targets:
                condition[i, 2 * j : 2 * j + 2, given] = True
        if chord:
            if rand() < 0.75:
                x0[i, list(CHORD_ROWS)] = empty
            else:
                condition[i, list(CHORD_ROWS)] = True
                pitched = [j for j in tracks if j not in targets and j != DRUM_TRACK]
                if lead_chords is not None and pitched == [LEAD_TRACK]:
                    x0[i, list(CHORD_ROWS)] = lead_chords[i]
    not_empty = x0 != empty
    return x0, condition, not_empty
