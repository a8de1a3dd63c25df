"""TorchDenoiser, select_device and load_denoiser on CPU."""

from __future__ import annotations

import pytest
import torch

from getmusic_cli.errors import GetMusicError
from getmusic_cli.hub.bundle import Bundle
from getmusic_cli.model.config import debug_config
from getmusic_cli.model.network import build_network
from getmusic_cli.runtime.device import select_device
from getmusic_cli.runtime.loader import load_denoiser
from getmusic_cli.runtime.torch_backend import TorchDenoiser

CONFIG = debug_config(vocab_size=806)


def _inputs(length=20):
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, CONFIG.n_real_tokens, (1, 14, length), generator=g)
    tokens[0, 3] = CONFIG.mask_id
    condition = torch.rand(1, 14, length, generator=g) < 0.5
    return tokens, torch.tensor([7]), condition


def _denoiser(seed=0) -> TorchDenoiser:
    return TorchDenoiser(build_network(CONFIG, seed=seed), CONFIG, torch.device("cpu"))


def test_features_match_the_network_in_eval_mode():
    den = _denoiser()
    den.network.train()  # features() must switch to eval itself
    tokens, t, condition = _inputs()
    features = den.features(tokens, t, condition)
    assert features.dtype == torch.float32 and features.shape == (1, 14, 20, CONFIG.embed_dim)
    with torch.no_grad():
        torch.testing.assert_close(features, den.network.eval()(tokens, t, condition))
    features[0, 0, 0] = 0.0  # callers may edit the result in place (not an inference tensor)


def test_restricted_log_probs_are_the_renormalised_full_ones():
    den = _denoiser()
    features = den.features(*_inputs())
    full = den.full_log_probs(features)
    assert full.shape == (1, 14, 20, CONFIG.n_real_tokens)
    torch.testing.assert_close(full.exp().sum(-1), torch.ones(1, 14, 20))
    ids = torch.tensor([15, 16, 17, 40, 300, 803])
    subset = den.log_probs(features, ids)
    expected = full[..., ids] - torch.logsumexp(full[..., ids], dim=-1, keepdim=True)
    torch.testing.assert_close(subset, expected, rtol=1e-5, atol=1e-5)


def test_head_is_tied_to_the_token_embedding():
    den = _denoiser()
    assert den.head_weight is den.network.token_embedding.weight
    assert den.head_bias is den.network.head_bias


def test_select_device():
    assert select_device("cpu") == torch.device("cpu")
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(GetMusicError, match="unknown device"):
        select_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(GetMusicError, match="CUDA was asked for"):
        select_device("cuda")


def test_load_denoiser_without_weights_is_the_seeded_init():
    bundle = Bundle(CONFIG, vocab=None, root=None)
    a, b = load_denoiser(bundle, device="cpu"), load_denoiser(bundle, device="cpu")
    inputs = _inputs()
    torch.testing.assert_close(a.features(*inputs), b.features(*inputs), rtol=0, atol=0)
    torch.testing.assert_close(a.features(*inputs), _denoiser(seed=0).features(*inputs), rtol=0, atol=0)


def test_load_denoiser_back_ends():
    bundle = Bundle(CONFIG, vocab=None, root=None)
    with pytest.raises(GetMusicError, match="unknown back end"):
        load_denoiser(bundle, device="cpu", backend="tensorflow")
