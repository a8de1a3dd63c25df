"""Bundles: atomic save, load round trip, clear errors, the deterministic debug model."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from getmusic_cli.errors import GetMusicError
from getmusic_cli.hub.bundle import Bundle, debug_bundle, load_bundle, save_bundle
from getmusic_cli.model.network import build_network
from getmusic_cli.runtime.loader import load_denoiser


def _inputs(config, length=24):
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, config.n_real_tokens, (1, config.n_rows, length), generator=g)
    condition = torch.rand(1, config.n_rows, length, generator=g) < 0.5
    return tokens, torch.tensor([11]), condition


@pytest.fixture(scope="module")
def debug():
    return debug_bundle()


def _save(debug, path, seed=5, **kw):
    net = build_network(debug.config, seed=seed)
    return save_bundle(path, debug.config, debug.vocab, net.state_dict(), **kw), net


def test_debug_bundle_is_deterministic(debug):
    assert debug.root is None and debug.weights_path is None and debug.onnx_path is None
    assert debug.config.vocab_size == debug.vocab.size == len(debug.vocab) + 2
    inputs = _inputs(debug.config)
    a = load_denoiser(debug_bundle(), device="cpu").features(*inputs)
    b = load_denoiser(debug_bundle(), device="cpu").features(*inputs)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_save_load_round_trip_gives_identical_features(debug, tmp_path):
    path, net = _save(debug, tmp_path / "models" / "mine")
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors", "vocab.txt"]
    assert [p.name for p in path.parent.iterdir()] == ["mine"]  # no temporary folder left behind
    bundle = load_bundle(path)
    assert bundle.config == debug.config
    assert len(bundle.vocab) == len(debug.vocab) and bundle.vocab.token(100) == debug.vocab.token(100)
    assert bundle.weights_path == path / "model.safetensors" and bundle.onnx_path is None
    (path / "model.onnx").write_bytes(b"x")
    assert bundle.onnx_path == path / "model.onnx"
    inputs = _inputs(debug.config)
    with torch.no_grad():
        expected = net.eval()(*inputs)
    got = load_denoiser(bundle, device="cpu").features(*inputs)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    # ... and differs from the seed-0 debug model, so the weights really came from the file.
    assert not torch.allclose(got, load_denoiser(debug, device="cpu").features(*inputs))


def test_save_refuses_to_overwrite_unless_asked(debug, tmp_path):
    path, _ = _save(debug, tmp_path / "b", seed=1)
    before = (path / "model.safetensors").read_bytes()
    with pytest.raises(GetMusicError, match="already exists"):
        _save(debug, path, seed=2)
    assert (path / "model.safetensors").read_bytes() == before
    _save(debug, path, seed=2, overwrite=True)
    assert (path / "model.safetensors").read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]
    empty = tmp_path / "empty"
    empty.mkdir()
    _save(debug, empty)  # an empty folder is fine
    assert (empty / "config.json").is_file()


@pytest.mark.parametrize("missing", ["config.json", "vocab.txt", "model.safetensors"])
def test_load_names_the_missing_file(debug, tmp_path, missing):
    path, _ = _save(debug, tmp_path / "b")
    (path / missing).unlink()
    with pytest.raises(GetMusicError, match=missing.replace(".", r"\.")):
        load_bundle(path)


def test_load_errors(debug, tmp_path):
    with pytest.raises(GetMusicError, match="not a folder"):
        load_bundle(tmp_path / "nowhere")
    path, _ = _save(debug, tmp_path / "b")
    dataclasses.replace(debug.config, vocab_size=debug.config.vocab_size + 3).save(path / "config.json")
    with pytest.raises(GetMusicError, match="vocab_size"):
        load_bundle(path)


def test_save_checks_vocab_size(debug, tmp_path):
    config = dataclasses.replace(debug.config, vocab_size=999)
    with pytest.raises(GetMusicError, match="vocab_size 999"):
        save_bundle(tmp_path / "b", config, debug.vocab, {})
    assert not (tmp_path / "b").exists()


def test_bundle_paths_without_files():
    bundle = Bundle(debug_bundle().config, vocab=None, root=None)
    assert bundle.weights_path is None and bundle.onnx_path is None
