"""The vectorised sampler against the loop sampler it replaced (tests/model/reference_sampler.py).

Argmax mode with a deterministic unmasking order must give identical tokens; with sampling, the two must draw
from the same distribution: per-cell frequencies of what the first call unmasks, of the tokens it writes and of
the final tokens are compared over many seeds (one batch of variations each) with a pooled chi-square test.
The same test must reject a sampler that ignores the confidences, so it can fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from reference_sampler import reference_sample

from getmusic_cli.hub.bundle import debug_bundle
from getmusic_cli.model import sampler as vectorised
from getmusic_cli.model.network import build_network
from getmusic_cli.model.sampler import SamplerOptions, sample
from getmusic_cli.runtime.torch_backend import TorchDenoiser

BUNDLE = debug_bundle()
VOCAB = BUNDLE.vocab
L = 8


class Recording(TorchDenoiser):
    """The debug network plus a fixed per-cell offset and a random head, so that confidences differ from cell to
    cell (the random-init trunk alone gives near-uniform predictions); keeps every input it is called with."""

    def __init__(self):
        super().__init__(build_network(BUNDLE.config, seed=0), BUNDLE.config, torch.device("cpu"))
        g = torch.Generator().manual_seed(3)
        embed = BUNDLE.config.embed_dim
        self.head_weight = torch.randn(BUNDLE.config.vocab_size, embed, generator=g)
        self.offset = torch.randn(14, L, embed, generator=g)
        self.inputs: list[torch.Tensor] = []

    def features(self, tokens, t, condition, bar_position=None):
        self.inputs.append(tokens.clone())
        return 5 * super().features(tokens, t, condition, bar_position) + self.offset[:, : tokens.shape[-1]]


def _task(b: int, seed: int = 0, make=(1,)):
    """Lead and chords given, the tracks in MAKE masked (the last column of each [EMPTY]), the rest absent."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.full((1, 14, L), VOCAB.empty_id)
    condition = torch.zeros((1, 14, L), dtype=torch.bool)
    for row in (0, 1, 12, 13):
        ids = torch.as_tensor(VOCAB.allowed_ids(row))
        tokens[:, row] = ids[torch.randint(0, len(ids), (1, L), generator=g)]
        condition[:, row] = True
    for j in make:
        tokens[:, 2 * j : 2 * j + 2, : L - 1] = VOCAB.mask_id
    return tokens.repeat(b, 1, 1), condition.repeat(b, 1, 1)


def _narrow(rows=(2, 3), size=(4, 3)) -> dict[int, list[int]]:
    """A few ids per row (as a pitch-range guard would allow), so per-cell frequencies are well estimated."""
    return {r: [int(i) for i in VOCAB.allowed_ids(r)[1 : 1 + n]] for r, n in zip(rows, size)}


@pytest.mark.parametrize("steps", [1, 2])
@pytest.mark.parametrize("narrow", [False, True])
def test_argmax_with_a_fixed_order_is_identical(steps, narrow):
    # steps 1: only the final joint resample; steps 2: the one unmasking call takes every cell.
    tokens, condition = _task(b=3, seed=2, make=(1, 2, 4))
    tokens[1, 4:6] = VOCAB.empty_id  # samples differ in what they generate
    options = SamplerOptions(steps=steps, temperature=0, seed=5, allowed_ids=_narrow() if narrow else None)
    den = Recording()
    new = sample(den, VOCAB, tokens, condition, options)
    ref = reference_sample(den, VOCAB, tokens, condition, options)
    assert torch.equal(new, ref)
    assert not bool((new == VOCAB.mask_id).any())


def test_allowed_ids_are_honoured_per_row():
    tokens, condition = _task(b=16, make=(1, 2))
    narrow = _narrow(rows=(2, 3, 4), size=(2, 3, 5))
    out = sample(Recording(), VOCAB, tokens, condition, SamplerOptions(steps=4, seed=0, allowed_ids=narrow))
    target = tokens == VOCAB.mask_id
    for row in range(2, 6):
        allowed = set(narrow.get(row, VOCAB.allowed_ids(row).tolist()))
        drawn = set(out[:, row][target[:, row]].tolist())
        assert drawn <= allowed
        assert len(drawn) > 1 or len(allowed) == 1


def _frequencies(run, n: int) -> list[np.ndarray]:
    """Per-cell category counts over N variations: unmasked by the first call, its tokens, the final tokens."""
    tokens, condition = _task(b=n)
    den = Recording()
    out = run(den, tokens, condition)
    target = (tokens == VOCAB.mask_id)[0, 2:4]
    after_first = den.inputs[1][:, 2:4][:, target]  # (n, cells) what the second call saw
    final = out[:, 2:4][:, target]

    def counts(values: torch.Tensor) -> np.ndarray:
        values = values.numpy()
        return np.stack([np.bincount(values[:, c], minlength=VOCAB.size) for c in range(values.shape[1])])

    unmasked = (after_first != VOCAB.mask_id).long()
    return [counts(unmasked), counts(after_first), counts(final)]


def _chi_square_p(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """p-value of 'same distribution' from per-cell two-sample chi-squares pooled over every table."""
    stat, dof = 0.0, 0
    for ca, cb in zip(a, b):
        for row_a, row_b in zip(ca, cb):
            keep = (row_a + row_b) > 0
            table = np.stack([row_a[keep], row_b[keep]]).astype(float)
            if table.shape[1] < 2:
                continue
            expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
            stat += float(((table - expected) ** 2 / expected).sum())
            dof += table.shape[1] - 1
    # Wilson-Hilferty: (X/k)^(1/3) is close to normal with mean 1 - 2/(9k), variance 2/(9k).
    z = ((stat / dof) ** (1 / 3) - (1 - 2 / (9 * dof))) / math.sqrt(2 / (9 * dof))
    return 0.5 * math.erfc(z / math.sqrt(2))


N_SEEDS = 1500
OPTIONS = dict(steps=3, allowed_ids=_narrow())
FAMILIES = ("cells the first call unmasks", "tokens the first call writes", "final tokens")


def _new(den, tokens, condition):
    return sample(den, VOCAB, tokens, condition, SamplerOptions(seed=1, **OPTIONS))


def _reference(den, tokens, condition):
    return reference_sample(den, VOCAB, tokens, condition, SamplerOptions(seed=2, **OPTIONS))


@pytest.fixture(scope="module")
def reference_counts():
    return _frequencies(_reference, N_SEEDS)


def test_same_distribution_as_the_loop_sampler(reference_counts):
    new = _frequencies(_new, N_SEEDS)
    for name, a, b in zip(FAMILIES, new, reference_counts):
        p = _chi_square_p([a], [b])
        assert p > 1e-3 / len(FAMILIES), f"{name}: the vectorised sampler draws from another distribution (p = {p:.2e})"


def test_the_distribution_test_rejects_a_sampler_that_ignores_confidence(reference_counts, monkeypatch):
    choose = vectorised._choose
    monkeypatch.setattr(vectorised, "_choose", lambda conf, *rest: choose(torch.zeros_like(conf), *rest))
    unmasked = _frequencies(_new, N_SEEDS)[0]
    assert _chi_square_p([unmasked], [reference_counts[0]]) < 1e-6
