"""Sampler: run against a fake Denoiser whose features depend only on (cell, t), so every expected
token can be computed independently; plus one run on the real torch back end."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from getmusic_cli.model.config import debug_config
from getmusic_cli.model.sampler import SamplerOptions, same_place_columns, sample, timesteps, unmask_schedule
from getmusic_cli.model.windows import sample_windows
from getmusic_cli.runtime.base import Denoiser
from getmusic_cli.score.vocab import Vocabulary

VOCAB = Vocabulary.basic()
L = 24


class FakeDenoiser(Denoiser):
    """Deterministic random features per (row, column) plus a t-dependent shift; records every call."""

    def __init__(self, n_t: int = 10, e: int = 8, seed: int = 0):
        self.config = dataclasses.replace(debug_config(vocab_size=VOCAB.size), num_timesteps=n_t)
        self.device = torch.device("cpu")
        g = torch.Generator().manual_seed(seed)
        self.head_weight = torch.randn(VOCAB.size, e, generator=g) * 2
        self.head_bias = torch.zeros(VOCAB.size)
        self.base = torch.randn(14, 512, e, generator=g)
        self.shift = torch.randn(e, generator=g)
        self.calls: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.bar_positions: list[torch.Tensor] = []

    def cell_features(self, length: int, t: int) -> torch.Tensor:
        return self.base[:, :length] + 0.1 * t * self.shift

    def features(self, tokens, t, condition, bar_position=None):
        self.calls.append((tokens.clone(), t.clone()))
        self.bar_positions.append(bar_position.clone())
        return torch.stack([self.cell_features(tokens.shape[-1], int(tt)) for tt in t])


def _task(b=1, seed=0):
    """Lead = condition, bass + drums masked (with [EMPTY] tails), other tracks absent, chords given."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.full((b, 14, L), VOCAB.empty_id)
    condition = torch.zeros((b, 14, L), dtype=torch.bool)
    for row in (0, 1, 12, 13):
        ids = torch.as_tensor(VOCAB.allowed_ids(row))
        tokens[:, row] = ids[torch.randint(0, len(ids), (b, L), generator=g)]
        condition[:, row] = True
    tokens[:, 2:6] = VOCAB.mask_id
    tokens[:, 2:6, L - 4 :] = VOCAB.empty_id
    return tokens, condition


def _run(denoiser=None, tokens=None, condition=None, **options):
    denoiser = denoiser or FakeDenoiser()
    if tokens is None:
        tokens, condition = _task()
    return sample(denoiser, VOCAB, tokens, condition, SamplerOptions(**options)), denoiser


def test_only_mask_cells_change_and_ids_are_allowed():
    tokens, condition = _task(b=2)
    out, _ = _run(tokens=tokens, condition=condition, seed=1)
    assert out.shape == tokens.shape and out.dtype == torch.long
    masked = tokens == VOCAB.mask_id
    assert torch.equal(out[~masked], tokens[~masked])  # conditions and [EMPTY] untouched
    assert not bool((out == VOCAB.mask_id).any())
    for b in range(2):
        for row in range(14):
            cols = masked[b, row].nonzero(as_tuple=True)[0]
            allowed = set(VOCAB.allowed_ids(row).tolist())
            assert set(out[b, row, cols].tolist()) <= allowed
            if cols.numel():
                assert len(allowed) > 16 or row % 2 == 1


def test_condition_cells_are_clamped_before_every_call():
    tokens, condition = _task()
    _, den = _run(tokens=tokens, condition=condition, seed=0, steps=5)
    for seen, _t in den.calls:
        assert torch.equal(seen[condition], tokens[condition])
        assert bool((seen[tokens == VOCAB.empty_id] == VOCAB.empty_id).all())


def test_seed_reproducible_and_different_seeds_differ():
    a, _ = _run(seed=3)
    b, _ = _run(seed=3)
    c, _ = _run(seed=4)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_steps_make_exactly_that_many_calls_with_descending_t():
    progress = []
    den = FakeDenoiser(n_t=10)
    tokens, condition = _task()
    sample(
        den, VOCAB, tokens, condition, SamplerOptions(steps=4, seed=0), progress=lambda d, n: progress.append((d, n))
    )
    assert len(den.calls) == 4
    assert [int(t[0]) for _, t in den.calls] == [9, 6, 3, 0] == timesteps(10, 4)
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    _, den = _run(FakeDenoiser(n_t=10), seed=0)  # default: T calls
    assert [int(t[0]) for _, t in den.calls] == list(range(9, -1, -1))
    with pytest.raises(ValueError):
        _run(FakeDenoiser(n_t=10), steps=11)


def test_unmasking_follows_the_per_track_schedule():
    tokens, condition = _task(b=2)
    tokens[1, 4:6, :10] = VOCAB.empty_id  # sample 1 has fewer drum cells
    steps = 6
    _, den = _run(tokens=tokens, condition=condition, seed=2, steps=steps)
    for b in range(2):
        for j in (1, 2):
            n = int((tokens[b, 2 * j : 2 * j + 2] == VOCAB.mask_id).sum())
            plan = unmask_schedule(n, steps - 1)
            assert sum(plan) == n
            for call, (seen, _t) in enumerate(den.calls):
                left = int((seen[b, 2 * j : 2 * j + 2] == VOCAB.mask_id).sum())
                assert left == n - sum(plan[:call])
    assert unmask_schedule(10, 4) == [3, 2, 3, 2]
    assert unmask_schedule(2, 5) == [1, 0, 0, 1, 0]
    assert unmask_schedule(7, 5) == [2, 1, 1, 2, 1]


def test_batch_of_three_runs_per_sample():
    tokens, condition = _task(b=3, seed=5)
    tokens[2, 2:6] = VOCAB.empty_id  # nothing to generate in sample 2
    out, den = _run(tokens=tokens, condition=condition, seed=0, steps=3)
    assert len(den.calls) == 3 and den.calls[0][0].shape[0] == 3
    assert torch.equal(out[2], tokens[2])
    assert not bool((out == VOCAB.mask_id).any())


def test_tiny_temperature_and_top_p_give_the_argmax_of_the_last_call():
    tokens, condition = _task()
    den = FakeDenoiser()
    feats = den.cell_features(L, 0)  # the last call runs at t = 0 and resamples every generated cell
    want = tokens.clone()
    for row in range(2, 6):
        ids = torch.as_tensor(VOCAB.allowed_ids(row))
        best = ids[den.log_probs(feats[row], ids).argmax(-1)]
        cols = tokens[0, row] == VOCAB.mask_id
        want[0, row, cols] = best[cols]
    for opts in (dict(temperature=1e-6), dict(temperature=0.0), dict(top_p=1e-9), dict(top_p=0.0)):
        out, _ = _run(FakeDenoiser(), tokens, condition, seed=7, steps=3, **opts)
        assert torch.equal(out, want), opts
    sampled, _ = _run(FakeDenoiser(), tokens, condition, seed=7, steps=3)
    assert not torch.equal(sampled, want)  # at temperature 1 the draw is not the argmax


def test_mask_in_chord_rows_or_condition_is_rejected():
    tokens, condition = _task()
    bad = tokens.clone()
    bad[0, 12, 0] = VOCAB.mask_id
    with pytest.raises(ValueError, match="chord"):
        sample(FakeDenoiser(), VOCAB, bad, condition, SamplerOptions())
    bad = tokens.clone()
    bad[0, 0, 0] = VOCAB.mask_id
    with pytest.raises(ValueError, match="condition"):
        sample(FakeDenoiser(), VOCAB, bad, condition, SamplerOptions())


def test_runs_on_the_debug_model_with_the_torch_backend():
    from getmusic_cli.hub.bundle import debug_bundle
    from getmusic_cli.model.network import build_network
    from getmusic_cli.runtime.torch_backend import TorchDenoiser

    bundle = debug_bundle()
    den = TorchDenoiser(build_network(bundle.config, seed=0), bundle.config, torch.device("cpu"))
    tokens, condition = _task(b=3, seed=1)
    a = sample(den, bundle.vocab, tokens, condition, SamplerOptions(steps=3, seed=0))
    b = sample(den, bundle.vocab, tokens, condition, SamplerOptions(steps=3, seed=0))
    c = sample(den, bundle.vocab, tokens, condition, SamplerOptions(steps=3, seed=1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    masked = tokens == bundle.vocab.mask_id
    assert torch.equal(a[~masked], tokens[~masked]) and not bool((a == bundle.vocab.mask_id).any())
    for row in range(2, 6):
        assert set(a[:, row][masked[:, row]].tolist()) <= set(bundle.vocab.allowed_ids(row).tolist())


def test_every_call_gets_each_columns_place_in_its_bar():
    tokens, condition = _task(b=2)
    _, den = _run(tokens=tokens, condition=condition, steps=3, seed=0)
    assert all(p.tolist() == [list(range(16)) + list(range(8))] * 2 for p in den.bar_positions)  # 4/4 by default
    # Over a long song in 3/4, windows get the positions of their own columns.
    long = torch.cat([tokens] * 3, dim=-1)
    den = FakeDenoiser()
    bars = list(range(0, 3 * L, 12))
    sample_windows(den, VOCAB, long, torch.cat([condition] * 3, -1), L, SamplerOptions(steps=2, seed=0), bars)
    assert den.bar_positions and all(p[0].tolist() == [i % 12 for i in range(L)] for p in den.bar_positions)


def test_random_unmask_order_ignores_confidence():
    """Confidence order reveals the network's surest cells first; random order any masked cell alike."""

    def first_revealed_confidence(order: str) -> tuple[float, float]:
        revealed, everything = [], []
        for seed in range(60):
            den = FakeDenoiser()
            den.config = dataclasses.replace(den.config, unmask_order=order)
            tokens, condition = _task()
            sample(den, VOCAB, tokens, condition, SamplerOptions(steps=4, seed=seed))
            feats = den.cell_features(L, int(den.calls[0][1][0]))
            masked = tokens[0] == VOCAB.mask_id
            now = masked & (den.calls[1][0][0] != VOCAB.mask_id)  # unmasked by the first call
            for row in range(2, 6):
                ids = torch.as_tensor(VOCAB.allowed_ids(row))
                conf = den.log_probs(feats[row], ids).max(dim=-1).values.exp()
                revealed += conf[now[row]].tolist()
                everything += conf[masked[row]].tolist()
        return sum(revealed) / len(revealed), sum(everything) / len(everything)

    by_confidence, overall = first_revealed_confidence("confidence")
    at_random, same_overall = first_revealed_confidence("random")
    assert overall == same_overall
    assert by_confidence > overall + 0.02
    assert abs(at_random - overall) < 0.015
    den = FakeDenoiser()
    den.config = dataclasses.replace(den.config, unmask_order="sideways")
    with pytest.raises(ValueError, match="unmask_order"):
        sample(den, VOCAB, *_task(), SamplerOptions(steps=2))


def test_calls_with_nothing_to_unmask_are_skipped():
    tokens, condition = _task()
    tokens[:, 2:6] = VOCAB.empty_id
    tokens[0, 2, 5] = VOCAB.mask_id  # two cells to make: one bass pitch, one bass duration
    tokens[0, 3, 5] = VOCAB.mask_id
    progress = []
    den = FakeDenoiser(n_t=10)
    out = sample(
        den, VOCAB, tokens, condition, SamplerOptions(steps=6, seed=0), progress=lambda d, n: progress.append(d)
    )
    plan = unmask_schedule(2, 5)
    want_t = [t for t, n in zip(timesteps(10, 6), plan + [1]) if n > 0]
    assert [int(t[0]) for _, t in den.calls] == want_t and len(want_t) == 3
    assert progress == [1, 2, 3, 4, 5, 6]
    assert not bool((out == VOCAB.mask_id).any())
    # nothing to generate: no network call at all, the input comes back
    tokens[0, 2:4, 5] = VOCAB.empty_id
    den = FakeDenoiser(n_t=10)
    out = sample(den, VOCAB, tokens, condition, SamplerOptions(steps=4, seed=0))
    assert den.calls == [] and torch.equal(out, tokens)


def _final_call_probs(den: FakeDenoiser, row: int) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.as_tensor(VOCAB.allowed_ids(row))
    return ids, den.log_probs(den.cell_features(L, 0)[row], ids).exp()


def test_top_p_keeps_every_token_in_the_nucleus_and_temperature_sharpens():
    tokens, condition = _task(b=4, seed=2)
    den = FakeDenoiser()
    out = sample(den, VOCAB, tokens, condition, SamplerOptions(steps=3, seed=0, top_p=0.6))
    outside_full = 0
    full = sample(FakeDenoiser(), VOCAB, tokens, condition, SamplerOptions(steps=3, seed=0))
    for row in range(2, 6):
        ids, probs = _final_call_probs(den, row)
        for col in range(L):
            if tokens[0, row, col] != VOCAB.mask_id:
                continue
            p, order = probs[col].sort(descending=True)
            n_keep = int((p.cumsum(0) - p < 0.6).sum())  # smallest prefix reaching 0.6
            nucleus = set(ids[order[:n_keep]].tolist())
            assert set(out[:, row, col].tolist()) <= nucleus
            outside_full += sum(v not in nucleus for v in full[:, row, col].tolist())
    assert outside_full > 0  # without top-p some draws do fall outside (the test can fail)

    def argmax_share(temperature: float) -> float:
        got = sample(FakeDenoiser(), VOCAB, tokens, condition, SamplerOptions(steps=3, seed=1, temperature=temperature))
        hits = total = 0
        for row in range(2, 6):
            ids, probs = _final_call_probs(den, row)
            best = ids[probs.argmax(-1)]
            cols = tokens[0, row] == VOCAB.mask_id
            hits += int((got[:, row, cols] == best[cols]).sum())
            total += int(cols.sum()) * got.shape[0]
        return hits / total

    assert argmax_share(0.3) > argmax_share(1.0) > argmax_share(3.0)


def test_pitch_top_p_cuts_the_unlikely_notes_and_keeps_the_chance_of_playing():
    from getmusic_cli.model.sampler import _pick_tokens

    # One pitch row: a rest (id 0) at 0.5, two likely notes, one unlikely note (2 % of all, 4 % of the notes).
    probs = torch.tensor([0.5, 0.3, 0.18, 0.02])
    log_probs = probs.log().expand(20000, -1)
    rest = torch.tensor([True, False, False, False])

    def shares(**kw):
        picked = _pick_tokens(log_probs, 1.0, kw.pop("top_p", 1.0), torch.Generator().manual_seed(0), **kw)
        return torch.bincount(picked, minlength=4).float() / len(picked)

    plain = shares()
    assert plain[3] > 0.01  # without the nucleus the unlikely note is drawn
    nucleus = shares(rest=rest, pitch_top_p=0.9)
    assert nucleus[3] == 0 and abs(nucleus[0] - 0.5) < 0.015  # gone, and the rest keeps its share
    assert abs(nucleus[1] - 0.5 * 0.3 / 0.48) < 0.015
    assert torch.equal(shares(rest=rest, pitch_top_p=1.0), plain)  # 1 = off: the same draws
    # A drum row counts every id as "no note": its kit pieces are drawn as the network says.
    assert torch.equal(shares(rest=torch.ones(4, dtype=torch.bool), pitch_top_p=0.8), plain)


def test_pitch_top_p_narrows_pitched_rows_and_leaves_drums_alone():
    def made(pitch_top_p: float, tokens, condition):
        den = FakeDenoiser()
        den.config = dataclasses.replace(den.config, pitch_top_p=pitch_top_p)
        return sample(den, VOCAB, tokens, condition, SamplerOptions(steps=3, seed=0))

    tokens, condition = _task(b=2)
    assert not torch.equal(made(1.0, tokens, condition)[:, 2], made(0.05, tokens, condition)[:, 2])  # bass
    drums_only = tokens.clone()
    drums_only[:, 2:4] = VOCAB.empty_id
    assert torch.equal(made(1.0, drums_only, condition), made(0.05, drums_only, condition))


def test_drum_refine_passes_redraw_a_share_of_the_drums_from_the_rest():
    tokens, condition = _task(b=2, seed=3)
    plain = FakeDenoiser(n_t=10)
    base = sample(plain, VOCAB, tokens, condition, SamplerOptions(steps=4, seed=0))
    den = FakeDenoiser(n_t=10)
    den.config = dataclasses.replace(den.config, drum_refine_passes=3)
    progress = []
    out = sample(
        den, VOCAB, tokens, condition, SamplerOptions(steps=4, seed=0), progress=lambda d, n: progress.append((d, n))
    )
    assert progress == [(k, 7) for k in range(1, 8)]
    assert [int(t[0]) for _, t in den.calls] == [9, 6, 3, 0, 2, 2, 2]  # passes at the share's t: round(9 * 0.2)
    for (seen, _), (before, _) in zip(den.calls[:4], plain.calls):
        assert torch.equal(seen, before)  # the steps themselves are unchanged
    made = tokens == VOCAB.mask_id
    drums = made[:, 4]  # the drum rows are 4 (pitch) and 5 (duration)
    hidden_share = []
    for seen, _t in den.calls[4:]:
        hidden = seen == VOCAB.mask_id
        assert not bool(hidden[:, :4].any() or hidden[:, 6:].any())  # the bass stays as drawn
        assert torch.equal(hidden[:, 4], hidden[:, 5]) and not bool((hidden[:, 4] & ~drums).any())
        hidden_share.append(hidden[:, 4].sum() / drums.sum())
    assert 0.05 < float(sum(hidden_share)) / 3 < 0.4
    assert torch.equal(out[:, :4], base[:, :4])  # the last step's bass, untouched by the passes
    assert not torch.equal(out[:, 4:6], base[:, 4:6])  # the hidden drum cells were drawn again
    assert torch.equal(out[~made], tokens[~made]) and not bool((out == VOCAB.mask_id).any())


def test_progress_over_windows_counts_the_drum_refine_passes():
    tokens, condition = _task()
    den = FakeDenoiser(n_t=10)
    den.config = dataclasses.replace(den.config, drum_refine_passes=2)
    seen = []
    long_tokens, long_condition = torch.cat([tokens] * 2, -1), torch.cat([condition] * 2, -1)
    opts = SamplerOptions(steps=3, seed=0)
    sample_windows(den, VOCAB, long_tokens, long_condition, L, opts, progress=lambda d, n: seen.append((d, n)))
    windows = len(den.calls) // 5
    assert windows >= 2 and seen[-1] == (5 * windows, 5 * windows)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_same_place_columns_pair_each_column_with_its_place_in_the_neighbouring_bars():
    # A window from beat 4 of a 4/4 bar: the rest of that bar, a 4/4 bar, a 3/4 bar, the start of another.
    pos = [12, 13, 14, 15] + list(range(16)) + list(range(12)) + [0, 1, 2, 3]
    pairs = same_place_columns(torch.as_tensor([pos]))[0].tolist()
    assert pairs[0] == [-1, 16]  # the partial bar has no bar before it in the window
    assert pairs[4] == [-1, 20]  # the 4/4 downbeat: the 3/4 bar's downbeat after it
    assert pairs[16] == [0, -1]  # the 4/4 bar's beat 4: the partial bar's before it, none in the 3/4 bar
    assert pairs[20] == [4, 32] and pairs[21] == [5, 33]  # the 3/4 bar's downbeat and its 2nd 16th
    assert pairs[31] == [15, -1]  # the 3/4 bar's last 16th: the window ends in the next bar before it


def test_drum_repeat_bias_copies_the_hits_of_the_bar_before_and_leaves_the_rest_alone():
    """A kept bar of drums with two hits, the next bar made: with a large bias the made bar plays the two hits at
    the same places; at the silent places it draws what it draws without the bias; the bass is untouched."""
    tokens, condition = _task(b=4)  # L = 24: a bar and a half
    tokens[:, 2:6, 16:] = VOCAB.mask_id
    tokens[:, 2:4, :16] = VOCAB.mask_id
    kit, lengths = VOCAB.allowed_ids(4), VOCAB.allowed_ids(5)
    tokens[:, 4:6, :16] = VOCAB.pad_id
    tokens[:, 4, 0], tokens[:, 4, 4] = int(kit[1]), int(kit[2])
    tokens[:, 5, 0], tokens[:, 5, 4] = int(lengths[3]), int(lengths[1])
    condition[:, 4:6, :16] = True

    def made(bias: float) -> torch.Tensor:
        den = FakeDenoiser()
        den.config = dataclasses.replace(den.config, drum_repeat_bias=bias)
        return sample(den, VOCAB, tokens, condition, SamplerOptions(steps=4, seed=0))

    plain, biased = made(0.0), made(500.0)  # the fake network is very sure of itself
    hits = [16, 20]
    assert torch.equal(biased[:, 4:6, hits], tokens[:, 4:6, [0, 4]])
    assert not torch.equal(plain[:, 4:6, hits], tokens[:, 4:6, [0, 4]])
    silent = [c for c in range(16, L) if c not in hits]
    assert torch.equal(biased[:, 4:6, silent], plain[:, 4:6, silent])
    assert torch.equal(biased[:, :4], plain[:, :4])
    # A run's option stands in for the model's setting.
    assert torch.equal(
        sample(FakeDenoiser(), VOCAB, tokens, condition, SamplerOptions(steps=4, seed=0, drum_repeat=500.0)), biased
    )
