"""GETDiffNetwork: shapes, rotary layout, band mask, conditioning inputs, parameter count, weight loading."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from safetensors.torch import save_file

from getmusic_cli.errors import GetMusicError
from getmusic_cli.model.config import debug_config, original_config
from getmusic_cli.model.network import (
    GETDiffNetwork,
    apply_rotary,
    build_network,
    grow_vocabulary,
    load_state,
    rotary_cos_sin,
    timestep_sinusoid,
)

K = 806  # 804 real tokens + [EMPTY] + [MASK]


def _config(**changes):
    return dataclasses.replace(debug_config(vocab_size=K), **changes)


def _inputs(b=2, length=40, seed=0, config=None):
    config = config or _config()
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, config.n_real_tokens, (b, config.n_rows, length), generator=g)
    t = torch.randint(0, config.num_timesteps, (b,), generator=g)
    condition = torch.rand(b, config.n_rows, length, generator=g) < 0.5
    return tokens, t, condition


def test_shapes_and_tied_head():
    config = _config()
    net = build_network(config).eval()
    tokens, t, condition = _inputs(b=3, length=24)
    with torch.no_grad():
        features = net(tokens, t, condition)
        logits = net.logits(features)
    assert features.shape == (3, 14, 24, config.embed_dim)
    assert logits.shape == (3, 14, 24, config.n_real_tokens)
    expected = features @ net.token_embedding.weight[: K - 2].T + net.head_bias[: K - 2]
    torch.testing.assert_close(logits, expected)


def _slow_rotary(x: torch.Tensor, base: float) -> torch.Tensor:
    """Explicit per-position, per-pair rotation of (..., L, D): pair (2i, 2i+1) turns by p * base^(-2i/D)."""
    out = x.clone()
    length, d = x.shape[-2], x.shape[-1]
    for p in range(length):
        for i in range(d // 2):
            angle = p * base ** (-2 * i / d)
            c, s = math.cos(angle), math.sin(angle)
            a, b = x[..., p, 2 * i], x[..., p, 2 * i + 1]
            out[..., p, 2 * i] = a * c - b * s
            out[..., p, 2 * i + 1] = b * c + a * s
    return out


def test_rotary_rotates_interleaved_pairs():
    x = torch.randn(2, 3, 11, 8, dtype=torch.float64)
    cos, sin = rotary_cos_sin(11, 8, 10000.0, x.device)
    fast = apply_rotary(x, cos.double(), sin.double())
    torch.testing.assert_close(fast, _slow_rotary(x, 10000.0), rtol=1e-5, atol=1e-5)
    # Not the half-split (NeoX) layout: pairing dims (0, 4) instead of (0, 1) gives something else.
    half = torch.cat([x[..., 0::2], x[..., 1::2]], dim=-1)
    assert not torch.allclose(fast, _slow_rotary(half, 10000.0))


def test_rotary_scores_depend_on_relative_position_only():
    q, k = torch.randn(8, dtype=torch.float64), torch.randn(8, dtype=torch.float64)
    cos, sin = rotary_cos_sin(30, 8, 10000.0, q.device)
    rq = apply_rotary(q.expand(30, 8), cos.double(), sin.double())
    rk = apply_rotary(k.expand(30, 8), cos.double(), sin.double())
    assert torch.isclose(rq[5] @ rk[2], rq[20] @ rk[17])
    assert not torch.isclose(rq[5] @ rk[2], rq[5] @ rk[3])


def test_timestep_sinusoid_is_cos_then_sin():
    emb = timestep_sinusoid(torch.tensor([0, 7]), 16)
    assert emb.shape == (2, 16)
    torch.testing.assert_close(emb[0], torch.cat([torch.ones(8), torch.zeros(8)]))
    f1 = math.exp(-math.log(10000.0) / 8)
    assert emb[1, 1].item() == pytest.approx(math.cos(7 * f1), abs=1e-6)
    assert emb[1, 9].item() == pytest.approx(math.sin(7 * f1), abs=1e-6)


def _far_column_changes(net, config, length=100) -> bool:
    """Does changing column 0 move the features of the last column? (2 layers x band 20 reach 40 columns.)"""
    tokens, t, condition = _inputs(b=1, length=length, config=config)
    other = tokens.clone()
    other[:, :, 0] = (other[:, :, 0] + 1) % config.n_real_tokens
    with torch.no_grad():
        a = net(tokens, t, condition)[..., -1, :]
        b = net(other, t, condition)[..., -1, :]
    return not torch.allclose(a, b, atol=1e-6, rtol=0)


def test_band_mask_only_in_eval_and_only_past_train_length():
    config = _config(band_width=20, train_length=64, dropout=0.0)
    net = build_network(config)
    assert not _far_column_changes(net.eval(), config)  # eval, L=100 > 64: band applies
    assert _far_column_changes(net.train(), config)  # training: full attention
    longer = dataclasses.replace(config, train_length=128)
    net_long = build_network(longer).eval()
    assert _far_column_changes(net_long, longer)  # L=100 <= 128: full attention
    no_band = dataclasses.replace(config, band_width=0)
    assert _far_column_changes(build_network(no_band).eval(), no_band)


def test_timestep_and_condition_change_the_output():
    net = build_network(_config()).eval()
    tokens, t, condition = _inputs()
    with torch.no_grad():
        base = net(tokens, t, condition)
        other_t = net(tokens, (t + 5) % 20, condition)
        other_c = net(tokens, t, ~condition)
    assert not torch.allclose(base, other_t)
    assert not torch.allclose(base, other_c)


def test_empty_row_is_zero_and_gets_no_gradient():
    config = _config()
    net = build_network(config, seed=3)
    assert torch.count_nonzero(net.token_embedding.weight[config.empty_id]) == 0
    assert torch.count_nonzero(net.token_embedding.weight[config.mask_id]) > 0
    tokens, t, condition = _inputs(length=12)
    tokens[:, :4] = config.empty_id
    net(tokens, t, condition).sum().backward()
    assert torch.count_nonzero(net.token_embedding.weight.grad[config.empty_id]) == 0


def test_seeded_init_is_deterministic():
    config = _config()
    a, b, c = build_network(config, seed=1), build_network(config, seed=1), build_network(config, seed=2)
    for key, value in a.state_dict().items():
        torch.testing.assert_close(value, b.state_dict()[key], rtol=0, atol=0)
    assert not torch.equal(a.input_project[0].weight, c.input_project[0].weight)
    assert torch.count_nonzero(a.input_project[0].bias) == 0


def test_original_parameter_count():
    with torch.device("meta"):
        net = GETDiffNetwork(original_config())
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == 90_696_265
    # The rotary table is computed, not stored: the original's 210 parameters minus its RoPE table.
    assert list(net.buffers()) == [] and len(net.state_dict()) == len(list(net.parameters())) == 209


def test_weights_round_trip_and_mismatch(tmp_path):
    config = _config()
    net = build_network(config, seed=4).eval()
    path = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    loaded = build_network(config, path).eval()
    tokens, t, condition = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(loaded(tokens, t, condition), net(tokens, t, condition), rtol=0, atol=0)
    with pytest.raises(GetMusicError, match="do not fit the model config.*layers.2"):
        build_network(_config(n_layers=3), path)
    with pytest.raises(GetMusicError, match="wrong shape"):
        build_network(_config(embed_dim=8), path)
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(GetMusicError, match="cannot read model weights"):
        build_network(config, tmp_path / "bad.safetensors")


def test_too_many_columns_is_an_error():
    config = _config(max_length=32)
    net = build_network(config).eval()
    with pytest.raises(GetMusicError, match="exceed"):
        net(*_inputs(b=1, length=33, config=config))


def test_rotary_table_is_exact_at_the_last_column():
    # The original's table was made in float64: float32 angles would be off by ~1e-4 here.
    cos, sin = rotary_cos_sin(1536, 64, 10000.0, torch.device("cpu"))
    for i in range(32):
        angle = 1535 * 10000.0 ** (-2 * i / 64)
        assert abs(cos[1535, 2 * i].item() - math.cos(angle)) < 1e-6
        assert abs(sin[1535, 2 * i + 1].item() - math.sin(angle)) < 1e-6


def test_training_works_after_an_inference_mode_call():
    net = build_network(_config())
    tokens, t, condition = _inputs(length=16)
    with torch.inference_mode():
        net.eval()(tokens, t, condition)  # first call builds the cached rotary table
    net.train()(tokens, t, condition).sum().backward()
    assert net.layers[0].query.weight.grad is not None


def test_layers_are_post_layer_norm():
    # With LN gain 1 / bias 0 (the init), a post-LN layer's output is normalised at every position.
    net = build_network(_config()).eval()
    outputs = []
    for layer in net.layers:
        layer.register_forward_hook(lambda module, args, out: outputs.append(out))
    with torch.no_grad():
        net(*_inputs(length=10))
    assert len(outputs) == 2
    for out in outputs:
        torch.testing.assert_close(out.mean(-1), torch.zeros(out.shape[:-1]), atol=1e-5, rtol=0)
        torch.testing.assert_close(out.var(-1, unbiased=False), torch.ones(out.shape[:-1]), atol=1e-3, rtol=0)


def test_loading_weights_skips_the_random_initialisation(tmp_path, monkeypatch):
    from getmusic_cli.model import network as network_module

    config = debug_config()
    source = network_module.build_network(config, seed=4)
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(tmp_path / "w.safetensors"))

    def no_init(*_args, **_kwargs):
        raise AssertionError("a network loaded from weights was randomly initialised")

    monkeypatch.setattr(network_module, "init_weights", no_init)
    for layer in (torch.nn.Linear, torch.nn.Embedding, torch.nn.LayerNorm):
        monkeypatch.setattr(layer, "reset_parameters", no_init)  # torch's own per-layer init
    loaded = network_module.build_network(config, tmp_path / "w.safetensors")
    for key, value in source.state_dict().items():
        got = loaded.state_dict()[key]
        assert got.device.type == "cpu" and torch.equal(got, value), key
    assert torch.nn.Linear.reset_parameters is no_init  # put back after the build


def test_a_grown_vocabulary_keeps_what_the_model_says_of_its_old_tokens():
    from collections import Counter

    from getmusic_cli.score.vocab import Vocabulary

    old_vocab = Vocabulary.basic()
    new_vocab = old_vocab.extended({"drums": Counter({(36, 42): 9}), "piano": Counter({(60, 64, 67): 9})})
    old_net = build_network(_config(), seed=1)
    new_config = dataclasses.replace(_config(), vocab_size=new_vocab.size)
    new_net = build_network(new_config, seed=2)
    load_state(new_net, grow_vocabulary(old_net.state_dict(), old_vocab, new_vocab))
    tokens, t, condition = _inputs()
    # The same input under the new ids: every old token moves to its new id, [EMPTY] and [MASK] to theirs.
    id_map = torch.tensor([new_vocab.id(tok) for tok in old_vocab.tokens] + [new_vocab.empty_id, new_vocab.mask_id])
    tokens[:, :, :3] = old_vocab.mask_id
    old_net.eval()
    new_net.eval()
    with torch.inference_mode():
        old_logits = old_net.logits(old_net(tokens, t, condition))
        new_logits = new_net.logits(new_net(id_map[tokens], t, condition))
    assert torch.allclose(new_logits[..., id_map[: len(old_vocab)]], old_logits, atol=1e-5)
    kick_hat = new_vocab.id("D164 170")
    singles = [old_vocab.id("D164"), old_vocab.id("D170")]
    embedding = old_net.token_embedding.weight.detach()
    assert torch.allclose(new_net.token_embedding.weight[kick_hat], embedding[singles].mean(0))
    with pytest.raises(GetMusicError, match="lacks"):
        grow_vocabulary(old_net.state_dict(), new_vocab, old_vocab)
