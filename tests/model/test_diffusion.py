"""Diffusion: schedule, forward noising, posterior vs explicit transition matrices, the exact loss
shortcut vs the brute-force posterior, timestep importance sampling, and the task collater."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from getmusic_cli.model.config import debug_config, original_config
from getmusic_cli.model.diffusion import (
    LOG_MIN,
    Schedule,
    TimestepSampler,
    cell_losses,
    choose_task,
    diffusion_loss,
    head_losses,
    posterior,
    predicted_log_p0,
    q_sample,
)
from getmusic_cli.model.network import build_network

K = 8  # 6 real tokens + [EMPTY] + [MASK]
T = 5


def _config(k=K, t=T, **changes):
    return dataclasses.replace(debug_config(vocab_size=k), num_timesteps=t, **changes)


# A schedule with real uniform noise, so the beta terms matter (the original's are ~1e-10).
NOISY = dict(alpha_start=0.9, alpha_end=0.05, gamma_start=0.05, gamma_end=0.8)


def _matrices(s: Schedule):
    """Explicit one-step and cumulative K x K kernels, Q[t][from, to]; cumulative[-1] = identity."""
    k, m = s.K, s.K - 1

    def kernel(a, b, c):
        q = np.full((k, k), b)
        q[np.arange(k), np.arange(k)] += a
        q[:, m] = c
        q[m, :] = 0.0
        q[m, m] = 1.0
        return q

    step = [kernel(s.alpha[t], s.beta[t], s.gamma[t]) for t in range(s.T)]
    cum = [kernel(s.alpha_bar[t], s.beta_bar[t], s.gamma_bar[t]) for t in range(s.T)]
    return step, cum


def _brute_posterior(p0: np.ndarray, x_t: int, t: int, s: Schedule) -> np.ndarray:
    step, cum = _matrices(s)
    prev = np.eye(s.K) if t == 0 else cum[t - 1]
    p0 = p0.copy()
    p0[-1] = 0.0  # the recipe replaces the [MASK] entry of p0 by ~0
    out = np.zeros(s.K)
    for j in range(s.K):
        if p0[j] > 0:
            out += p0[j] * prev[j, :] * step[t][:, x_t] / cum[t][j, x_t]
    return out


def _random_log_p0(m: int, k: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    lp = torch.log_softmax(torch.randn(m, k - 2, generator=g) * 2, dim=-1)
    return torch.cat([lp, torch.full((m, 2), LOG_MIN)], dim=-1).clamp(LOG_MIN, 0.0)


def test_schedule_matches_reference_values():
    s = Schedule(original_config())
    assert s.N == 11880 and s.T == 100
    assert s.alpha_bar[0] == pytest.approx(0.99999) and s.gamma_bar[-1] == pytest.approx(0.99999)
    assert s.beta_bar[50] == pytest.approx(1e-6 / 11880, rel=1e-6)
    assert s.alpha[0] == pytest.approx(0.99999) and s.gamma[0] == pytest.approx(9e-6)
    assert s.alpha[49] == pytest.approx(0.98039, abs=1e-5) and s.gamma[49] == pytest.approx(0.019607, abs=1e-5)
    assert s.alpha[99] == pytest.approx(0.00089, abs=1e-5) and s.gamma[99] == pytest.approx(0.99901, abs=1e-5)
    # cumulative index T is the identity
    assert float(s.log_at_cum[100]) == 0.0 and float(s.log_bt_cum[100]) == -np.inf
    assert float(s.log_ct_cum[100]) == -np.inf


def test_cumulative_kernels_are_products_of_steps():
    s = Schedule(_config(**NOISY))
    step, cum = _matrices(s)
    acc = np.eye(s.K)
    for t in range(s.T):
        acc = acc @ step[t]
        np.testing.assert_allclose(acc, cum[t], atol=1e-12)


@pytest.mark.parametrize("changes", [{}, NOISY])
def test_posterior_matches_transition_matrices(changes):
    s = Schedule(_config(**changes))
    log_p0 = _random_log_p0(6, K, seed=1)
    for t in range(T):
        for x_t in range(K):  # every observed class, [EMPTY] and [MASK] included
            got = posterior(log_p0, torch.full((6,), x_t), t, s).exp().numpy()
            for c in range(6):
                want = _brute_posterior(log_p0[c].double().exp().numpy(), x_t, t, s)
                np.testing.assert_allclose(got[c], want, atol=2e-6)
                assert got[c].sum() == pytest.approx(1.0, abs=1e-5)


def test_posterior_at_t0_is_p0():
    s = Schedule(_config(k=40, t=10))
    log_p0 = _random_log_p0(50, 40, seed=2)
    for x_t in (0, 5, 38, 39):
        post = posterior(log_p0, torch.full((50,), x_t), 0, s)
        torch.testing.assert_close(post[:, :-1], log_p0[:, :-1], atol=1e-5, rtol=0)


def test_posterior_batched_t_broadcasts_per_sample():
    s = Schedule(_config(**NOISY))
    log_p0 = _random_log_p0(2 * 3 * 4, K, seed=3).view(2, 3, 4, K)
    x_t = torch.randint(0, K, (2, 3, 4), generator=torch.Generator().manual_seed(0))
    t = torch.tensor([1, 4])
    both = posterior(log_p0, x_t, t, s)
    for b in range(2):
        torch.testing.assert_close(both[b], posterior(log_p0[b], x_t[b], int(t[b]), s))


@pytest.mark.parametrize("changes,k,t_len", [({}, K, T), (NOISY, K, T), ({}, 60, 100)])
def test_cell_losses_equal_brute_force_posterior_kl(changes, k, t_len):
    s = Schedule(_config(k=k, t=t_len, **changes))
    m = 600
    g = torch.Generator().manual_seed(4)
    log_p0 = _random_log_p0(m, k, seed=5)
    x0 = torch.randint(0, k - 2, (m,), generator=g)
    t = torch.randint(0, t_len, (m,), generator=g)
    t[:20] = 0
    kind = torch.rand(m, generator=g)
    other = torch.randint(0, k - 1, (m,), generator=g)
    x_t = torch.where(kind < 0.4, torch.full_like(x0, k - 1), torch.where(kind < 0.7, other, x0))
    model = posterior(log_p0, x_t, t, s)
    truth = posterior(torch.log(F.one_hot(x0, k).float().clamp(min=1e-30)), x_t, t, s)
    kl = (truth.exp() * (truth - model)).sum(-1)
    nll = -model.gather(1, x0[:, None])[:, 0]
    want = torch.where(t == 0, nll, kl)
    vlb, ce = cell_losses(log_p0, x0, x_t, t, s)
    torch.testing.assert_close(vlb, want, atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(ce, -log_p0.gather(1, x0[:, None])[:, 0])
    # gradients too: the shortcut is the same function of log_p0
    lp1 = log_p0.clone().requires_grad_(True)
    lp2 = log_p0.clone().requires_grad_(True)
    cell_losses(lp1, x0, x_t, t, s)[0].sum().backward()
    m2 = posterior(lp2, x_t, t, s)
    torch.where(t == 0, -m2.gather(1, x0[:, None])[:, 0], (truth.exp() * (truth - m2)).sum(-1)).sum().backward()
    torch.testing.assert_close(lp1.grad, lp2.grad, atol=1e-4, rtol=1e-4)


def test_q_sample_statistics():
    s = Schedule(_config(k=12, t=T, **NOISY))
    x0 = torch.randint(0, 10, (200_000,), generator=torch.Generator().manual_seed(0))
    for t in (0, 2, 4):
        x_t = q_sample(x0, t, s, torch.Generator().manual_seed(t))
        masked = (x_t == 11).float().mean().item()
        changed = ((x_t != x0) & (x_t != 11)).float().mean().item()
        assert masked == pytest.approx(s.gamma_bar[t], abs=4e-3)
        assert changed == pytest.approx(s.beta_bar[t] * (s.N - 1), abs=4e-3)
        assert int(x_t.max()) <= 11
    # same generator seed, same draw; per-sample t broadcasts over the trailing dims
    grid = x0[:120].view(2, 3, 20)
    a = q_sample(grid, torch.tensor([0, 4]), s, torch.Generator().manual_seed(9))
    b = q_sample(grid, torch.tensor([0, 4]), s, torch.Generator().manual_seed(9))
    assert torch.equal(a, b)
    assert (a[1] == 11).sum() > (a[0] == 11).sum()


class FixedT:
    """A t sampler that always returns the given timesteps with p(t) = 1/T (for evaluation)."""

    def __init__(self, t: torch.Tensor, n_t: int):
        self.t, self.n_t = t, n_t

    def sample(self, batch, generator=None):
        return self.t[:batch].clone(), torch.full((batch,), 1.0 / self.n_t)


def _brute_loss(network, x0, condition, not_empty, t, schedule, generator):
    """diffusion_loss re-done with K-wide brute-force posteriors (what the reference computes)."""
    cfg = network.config
    x_t = q_sample(x0, t, schedule, generator)
    x_t = torch.where(condition, x0, x_t)
    x_t = torch.where(not_empty, x_t, torch.full_like(x_t, cfg.empty_id))
    feats = network(x_t, t, condition)
    lp = F.log_softmax(network.logits(feats).float(), -1)
    lp = torch.cat([lp, torch.full(lp.shape[:-1] + (2,), LOG_MIN)], -1).clamp(LOG_MIN, 0)
    model = posterior(lp, x_t, t, schedule)
    truth = posterior(torch.log(F.one_hot(x0, cfg.vocab_size).float().clamp(min=1e-30)), x_t, t, schedule)
    kl = (truth.exp() * (truth - model)).sum(-1)
    nll = -model.gather(-1, x0[..., None])[..., 0]
    tt = t.view(-1, 1, 1).expand_as(x0)
    vlb = torch.where(tt == 0, nll, kl)
    ce = -lp.gather(-1, x0[..., None])[..., 0]
    w = not_empty.float() * torch.where(condition, cfg.cond_weight, 1.0)
    n = (w > 0).flatten(1).sum(1).float()
    per = ((w * vlb).flatten(1).sum(1) + cfg.aux_weight * (2 - t / cfg.num_timesteps) * (w * ce).flatten(1).sum(1)) / n
    return (per * cfg.num_timesteps).mean()


def _toy_batch(config, b=3, length=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randint(0, config.n_real_tokens, (b, config.n_rows, length), generator=g)
    x0[:, 4:6] = config.empty_id  # an absent track
    x0[0, 0, 10:] = config.empty_id  # an empty tail
    condition = torch.zeros_like(x0, dtype=torch.bool)
    condition[:, 6:10] = True
    return x0, condition, x0 != config.empty_id


def test_diffusion_loss_equals_brute_force_reference():
    config = dataclasses.replace(debug_config(vocab_size=30), num_timesteps=10, dropout=0.0, **NOISY)
    net = build_network(config, seed=1)
    schedule = Schedule(config)
    x0, condition, not_empty = _toy_batch(config)
    t = torch.tensor([0, 3, 9])
    loss, stats = diffusion_loss(net, x0, condition, not_empty, FixedT(t, 10), torch.Generator().manual_seed(5))
    want = _brute_loss(net, x0, condition, not_empty, t, schedule, torch.Generator().manual_seed(5))
    assert loss.item() == pytest.approx(want.item(), rel=1e-4)
    assert torch.equal(stats["t"], t) and stats["sample_losses"].shape == (3,)
    assert set(stats) >= {"loss", "vlb", "aux", "t", "p_t", "sample_losses"}


def test_head_losses_in_chunks_equal_one_pass_with_gradients():
    config = dataclasses.replace(debug_config(vocab_size=50), num_timesteps=10, **NOISY)
    net = build_network(config, seed=2)
    schedule = Schedule(config)
    g = torch.Generator().manual_seed(6)
    m = 37
    feats = torch.randn(m, config.embed_dim, generator=g)
    x0 = torch.randint(0, config.n_real_tokens, (m,), generator=g)
    x_t = torch.where(torch.rand(m, generator=g) < 0.5, torch.full_like(x0, config.mask_id), x0)
    t = torch.randint(0, 10, (m,), generator=g)

    def run(chunked: bool):
        net.zero_grad()
        f = feats.clone().requires_grad_(True)
        if chunked:  # 50 classes x 8 cells per chunk: 5 chunks, the last one short
            vlb, ce = head_losses(net, f, x0, x_t, t, schedule, chunk_elements=8 * 50)
        else:
            vlb, ce = cell_losses(predicted_log_p0(net, f), x0, x_t, t, schedule)
        (vlb * torch.linspace(0.5, 1.5, m) + 0.1 * ce).sum().backward()
        return vlb.detach(), ce.detach(), f.grad, net.token_embedding.weight.grad.clone(), net.head_bias.grad.clone()

    for got, want in zip(run(True), run(False)):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    with torch.no_grad():  # evaluation: same values without the checkpointing
        vlb, _ = head_losses(net, feats, x0, x_t, t, schedule, chunk_elements=8 * 50)
    torch.testing.assert_close(vlb, run(False)[0])
    empty = head_losses(net, feats[:0], x0[:0], x_t[:0], t[:0], schedule)
    assert empty[0].shape == (0,)


def test_loss_is_finite_and_falls_when_overfitting():
    config = dataclasses.replace(debug_config(vocab_size=40), num_timesteps=10)
    torch.manual_seed(0)
    net = build_network(config, seed=0)
    x0, condition, not_empty = _toy_batch(config, b=2, length=16, seed=3)
    # learnable content: a token per row and column parity, the same in both samples
    pattern = (torch.arange(14)[:, None] * 2 + torch.arange(16)[None, :] % 2) % config.n_real_tokens
    x0 = torch.where(not_empty, pattern.expand_as(x0), x0)
    eval_t = torch.tensor([2, 7])

    def evaluate() -> float:
        net.eval()
        with torch.no_grad():
            losses = [
                diffusion_loss(net, x0, condition, not_empty, FixedT(eval_t, 10), torch.Generator().manual_seed(s))[0]
                for s in range(3)
            ]
        net.train()
        return float(torch.stack(losses).mean())

    before = evaluate()
    assert np.isfinite(before)
    sampler = TimestepSampler(config)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(1)
    for _ in range(50):
        loss, stats = diffusion_loss(net, x0, condition, not_empty, sampler, gen)
        assert torch.isfinite(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sampler.update(stats["t"], stats["sample_losses"])
    after = evaluate()
    assert after < 0.5 * before, (before, after)


def test_timestep_sampler_uniform_then_importance_and_exact_resume():
    s = TimestepSampler(6)
    p = s.probabilities()
    assert torch.allclose(p, torch.full((6,), 1 / 6, dtype=torch.float64))
    t, p_t = s.sample(4, torch.Generator().manual_seed(0))
    assert t.dtype == torch.long and torch.allclose(p_t, torch.full((4,), 1 / 6))
    for _ in range(11):  # every t seen 11 times: importance sampling switches on
        s.update(torch.arange(6), torch.tensor([9.0, 1.0, 2.0, 3.0, 4.0, 5.0]))
    p = s.probabilities()
    losses = torch.tensor([1.0, 1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64)  # entry 0 copies entry 1
    hist = losses.square() * (1 - 0.9**11)
    want = torch.sqrt(hist + 1e-10) + 1e-4
    assert torch.allclose(p, want / want.sum())
    # round trip: identical future draws
    copy = TimestepSampler(6)
    copy.load_state_dict(s.state_dict())
    a = s.sample(50, torch.Generator().manual_seed(3))
    b = copy.sample(50, torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.raises(ValueError):
        TimestepSampler(7).load_state_dict(s.state_dict())


def _song_batch(b, empty, length=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randint(0, 50, (b, 14, length), generator=g)
    x0[:, :, -2:] = empty  # empty tail on every row
    for i in range(b):  # a random set of absent tracks per sample (chord absent sometimes)
        for j in range(7):
            if torch.rand((), generator=g) < 0.35:
                x0[i, 2 * j : 2 * j + 2] = empty
    return x0


def test_choose_task_invariants():
    empty = 99
    x0 = _song_batch(400, empty)
    out, cond, not_empty = choose_task(x0, torch.Generator().manual_seed(0), empty)
    assert torch.equal(not_empty, out != empty)
    assert bool(((out == x0) | (out == empty)).all())  # only ever blanks whole tracks
    chord_kept = 0
    for i in range(x0.shape[0]):
        filled = [bool((out[i, 2 * j : 2 * j + 2] != empty).any()) for j in range(7)]
        for j in range(7):
            rows = cond[i, 2 * j : 2 * j + 2]
            assert bool(rows.all()) or not bool(rows.any())  # condition is per track, every column
            if not filled[j]:
                assert not bool(rows.any())
        targets = [j for j in range(6) if filled[j] and not bool(cond[i, 2 * j].any())]
        if any(filled[:6]):
            assert len(targets) >= 1
        if filled[6]:
            assert bool(cond[i, 12:14].all())  # a kept chord is always a condition
            chord_kept += 1
        # a blanked chord is dropout, never a target
        original_chord = bool((x0[i, 12:14] != empty).any())
        assert filled[6] <= original_chord
    n_with_chord = int(((x0[:, 12:14] != empty).flatten(1).any(1)).sum())
    assert 0.15 < chord_kept / n_with_chord < 0.35


def test_choose_task_single_track_and_determinism():
    empty = 99
    x0 = torch.full((1, 14, 6), empty)
    x0[0, 2:4] = 5  # only bass
    out, cond, not_empty = choose_task(x0, torch.Generator().manual_seed(0), empty)
    assert torch.equal(out, x0) and not bool(cond.any())  # lone track: unconditional target
    x0 = _song_batch(20, empty, seed=4)
    a = choose_task(x0, torch.Generator().manual_seed(7), empty)
    b = choose_task(x0, torch.Generator().manual_seed(7), empty)
    assert all(torch.equal(p, q) for p, q in zip(a, b))

    class Ids:
        empty_id = empty

    c = choose_task(x0, torch.Generator().manual_seed(7), Ids())
    assert torch.equal(a[1], c[1])
    # the single-track case happens about 1 time in 10
    x0 = _song_batch(1, empty, seed=1)
    x0[:, :, :] = 3
    singles = 0
    for seed in range(300):
        out, _, _ = choose_task(x0, torch.Generator().manual_seed(seed), empty)
        singles += sum(bool((out[0, 2 * j : 2 * j + 2] != empty).any()) for j in range(6)) == 1
    assert 15 < singles < 50


def test_choose_task_drop_conditions():
    empty = 99
    x0 = _song_batch(300, empty, seed=5)
    x0[:, :12] = torch.where(x0[:, :12] == empty, 7, x0[:, :12])  # every instrument track present
    x0[:, :, -2:] = empty
    base = choose_task(x0, torch.Generator().manual_seed(3), empty)
    same = choose_task(x0, torch.Generator().manual_seed(3), empty, drop_conditions=0.0)
    assert all(torch.equal(p, q) for p, q in zip(base, same))  # 0 draws exactly as the reference
    out, cond, _ = choose_task(x0, torch.Generator().manual_seed(3), empty, drop_conditions=0.5)

    def blank_tracks(batch, i):
        return sum(not bool((batch[i, 2 * j : 2 * j + 2] != empty).any()) for j in range(6))

    dropped = base_dropped = 0
    for i in range(x0.shape[0]):
        filled = [bool((out[i, 2 * j : 2 * j + 2] != empty).any()) for j in range(6)]
        targets = [j for j in range(6) if filled[j] and not bool(cond[i, 2 * j].any())]
        conditions = [j for j in range(6) if bool(cond[i, 2 * j].any())]
        assert targets  # targets are never dropped
        if sum(filled) > len(targets):
            assert conditions  # at least one kept track stays
        dropped += blank_tracks(out, i)
        base_dropped += blank_tracks(base[0], i)
    assert dropped > base_dropped + 150  # many condition tracks left out


def test_choose_task_gives_a_lead_only_task_the_lead_chords():
    empty, heard_in_lead = 99, 42
    x0 = _song_batch(400, empty, seed=6)
    x0[:, 12:14] = 7  # chords heard in the whole song, in every window
    lead_chords = torch.full((400, 2, x0.shape[2]), heard_in_lead)
    base = choose_task(x0, torch.Generator().manual_seed(1), empty, 0.9)  # many tasks keep one track
    out, cond, _ = choose_task(x0, torch.Generator().manual_seed(1), empty, 0.9, lead_chords)
    assert torch.equal(cond, base[1])  # the same tasks
    swapped = 0
    for i in range(x0.shape[0]):
        if not bool(cond[i, 12].any()):
            assert torch.equal(out[i, 12:14], base[0][i, 12:14])  # chords dropped or absent: untouched
            continue
        pitched = [j for j in (0, 1, 3, 4, 5) if bool(cond[i, 2 * j].any())]
        expected = heard_in_lead if pitched == [0] else 7
        assert bool((out[i, 12:14] == expected).all()), (i, pitched)
        swapped += pitched == [0]
    assert swapped >= 10


def _bar_positions(b, bars=16, bar=4):
    """(b, bars * bar) places in a bar of ``bar`` columns."""
    return torch.arange(bars * bar).remainder(bar).expand(b, -1)


def test_bar_span_tasks_give_the_targets_bars_outside_one_span():
    empty, bar = 99, 4
    x0 = _song_batch(400, empty, length=16 * bar, seed=8)
    x0[:, :, -2 * bar :] = empty  # the song ends two bars before the window does
    positions = _bar_positions(400, bar=bar)
    base = choose_task(x0, torch.Generator().manual_seed(2), empty)
    same = choose_task(x0, torch.Generator().manual_seed(2), empty, bar_spans=0.0, bar_position=positions)
    assert all(torch.equal(p, q) for p, q in zip(base, same))  # 0 draws exactly as the reference
    out, cond, _ = choose_task(x0, torch.Generator().manual_seed(2), empty, bar_spans=1.0, bar_position=positions)
    continued = infilled = 0
    for i in range(x0.shape[0]):
        filled = [bool((out[i, 2 * j : 2 * j + 2] != empty).any()) for j in range(6)]
        partial = [j for j in range(6) if filled[j] and bool(cond[i, 2 * j].any()) and not bool(cond[i, 2 * j].all())]
        whole = [j for j in range(6) if filled[j] and bool(cond[i, 2 * j].all())]
        assert partial  # every task makes its targets over a span only
        made = ~cond[i, 2 * partial[0]]
        columns = made.nonzero().flatten()
        start, end = int(columns[0]), int(columns[-1]) + 1
        assert bool(made[start:end].all())  # one span, in every target row alike
        assert all(torch.equal(~cond[i, 2 * j], made) and torch.equal(~cond[i, 2 * j + 1], made) for j in partial)
        assert start % bar == 0 and (end % bar == 0 or end == x0.shape[2])
        assert start < 14 * bar  # the span starts inside the song
        assert all(j not in partial for j in whole)
        # a continuation runs to the window's end from its middle half; an infill span is 1 to 8 bars
        to_end_from_middle = end == x0.shape[2] and 4 * bar <= start <= 12 * bar
        assert to_end_from_middle or end - start <= 8 * bar
        continued += end - start > 8 * bar
        infilled += end < x0.shape[2]
    assert continued > 50 and infilled > 100
    with pytest.raises(ValueError):
        choose_task(x0, torch.Generator().manual_seed(2), empty, bar_spans=0.5)
