"""ONNX export, parity with torch, the ONNX Runtime back end and `getmusic export onnx`.

The network under test is debug-sized with its weights scaled up, so attention is sharp, log-probabilities are
far from uniform and the band mask changes them by ~1: a wrong graph cannot pass the 1e-3 parity limit by
accident.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import pytest
import torch

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("onnxscript")

import onnx  # noqa: E402

from getmusic_cli.errors import GetMusicError  # noqa: E402
from getmusic_cli.hub.bundle import Bundle, debug_bundle, load_bundle, save_bundle  # noqa: E402
from getmusic_cli.model.config import debug_config  # noqa: E402
from getmusic_cli.model.network import build_network  # noqa: E402
from getmusic_cli.runtime.loader import load_denoiser  # noqa: E402
from getmusic_cli.runtime.onnx_backend import OnnxDenoiser, import_onnxruntime  # noqa: E402
from getmusic_cli.runtime.onnx_export import (  # noqa: E402
    META_FINGERPRINT,
    TOLERANCE,
    example_inputs,
    export_network,
    parity_shapes,
    verify_onnx,
)
from getmusic_cli.score.vocab import Vocabulary  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"
VOCAB = Vocabulary.basic()
CONFIG = debug_config(vocab_size=VOCAB.size)
HAS_CUDA_EP = "CUDAExecutionProvider" in ort.get_available_providers()


def sharp_network(seed: int = 3):
    network = build_network(CONFIG, seed=seed)
    with torch.no_grad():
        for p in network.parameters():
            if p.dim() == 2:
                p.mul_(8.0)
    return network.eval()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Bundle:
    """A debug-sized bundle with sharp weights and its model.onnx (exported once for the module)."""
    root = tmp_path_factory.mktemp("onnx") / "sharp"
    network = sharp_network()
    save_bundle(root, CONFIG, VOCAB, network.state_dict())
    export_network(network, root / "model.onnx")
    return load_bundle(root)


@pytest.fixture(scope="module")
def network(bundle):
    return build_network(bundle.config, bundle.weights_path).eval()


def test_the_file_has_dynamic_batch_and_length_and_names_its_weights(bundle):
    model = onnx.load(str(bundle.onnx_path))
    inputs = {i.name: i.type.tensor_type for i in model.graph.input}
    assert list(inputs) == ["tokens", "t", "condition"]
    assert inputs["tokens"].elem_type == onnx.TensorProto.INT64
    assert inputs["condition"].elem_type == onnx.TensorProto.BOOL
    dims = [d.dim_param or d.dim_value for d in inputs["tokens"].shape.dim]
    assert isinstance(dims[0], str) and dims[1] == 14 and isinstance(dims[2], str)
    meta = {p.key: p.value for p in model.metadata_props}
    assert len(meta[META_FINGERPRINT]) == 32
    assert len(model.graph.output) == 1  # the trunk only: the head stays with the Denoiser


def test_parity_at_every_shape_including_the_band_mask_path(bundle, network):
    shapes = parity_shapes(CONFIG) + [(1, 1), (3, CONFIG.train_length + 1)]
    assert any(b == 2 and l > CONFIG.train_length for b, l in shapes)
    cases = verify_onnx(network, bundle.onnx_path, shapes=shapes)
    assert [(c.batch, c.length) for c in cases] == shapes
    assert all(c.max_abs_diff <= TOLERANCE for c in cases)


def test_the_band_mask_really_is_in_the_graph(bundle, network):
    """Past train_length, ONNX must follow the banded network, not the unbanded one (the trace-time trap)."""
    tokens, t, condition = example_inputs(CONFIG, 1, CONFIG.train_length + 120, seed=7)
    session = ort.InferenceSession(str(bundle.onnx_path), providers=["CPUExecutionProvider"])
    got = torch.from_numpy(
        session.run(None, {"tokens": tokens.numpy(), "t": t.numpy(), "condition": condition.numpy()})[0]
    )
    unbanded = build_network(dataclasses.replace(CONFIG, band_width=0), bundle.weights_path).eval()
    with torch.no_grad():
        banded_gap = (got - network(tokens, t, condition)).abs().max().item()
        unbanded_gap = (got - unbanded(tokens, t, condition)).abs().max().item()
    assert banded_gap < 1e-4
    assert unbanded_gap > 0.1


def test_a_model_with_bar_positions_takes_them_as_an_input(tmp_path):
    config = dataclasses.replace(CONFIG, bar_positions=24)
    network = build_network(config, seed=5).eval()
    with torch.no_grad():
        network.bar_position_embedding.weight.normal_(0, 1.0)  # zero at init: make the positions matter
    root = tmp_path / "bars"
    save_bundle(root, config, VOCAB, network.state_dict())
    export_network(network, root / "model.onnx")
    model = onnx.load(str(root / "model.onnx"))
    assert [i.name for i in model.graph.input] == ["tokens", "t", "condition", "bar_position"]
    assert all(c.max_abs_diff <= TOLERANCE for c in verify_onnx(network, root / "model.onnx"))
    # Through the back end: other positions give other features, and leaving them out is refused.
    den = load_denoiser(load_bundle(root), device="cpu", backend="onnx", threads=1)
    tokens, t, condition, positions = example_inputs(config, 1, 32)
    a = den.features(tokens, t, condition, positions)
    b = den.features(tokens, t, condition, (positions + 1) % 12)
    assert (a - b).abs().max() > 1e-3
    with pytest.raises(ValueError, match="place in its bar"):
        den.features(tokens, t, condition)


def test_verification_fails_for_other_weights(bundle):
    with pytest.raises(GetMusicError, match="ONNX and torch disagree"):
        verify_onnx(sharp_network(seed=4), bundle.onnx_path, shapes=[(1, 16)])


def test_onnx_denoiser_matches_the_torch_denoiser(bundle):
    onnx_den = load_denoiser(bundle, device="cpu", backend="onnx")
    torch_den = load_denoiser(bundle, device="cpu", backend="torch")
    assert isinstance(onnx_den, OnnxDenoiser) and onnx_den.device == torch.device("cpu")
    inputs = example_inputs(CONFIG, 2, CONFIG.train_length + 40, seed=11)
    fo, ft = onnx_den.features(*inputs), torch_den.features(*inputs)
    assert fo.shape == ft.shape == (2, 14, CONFIG.train_length + 40, CONFIG.embed_dim)
    torch.testing.assert_close(fo, ft, rtol=0, atol=1e-4)
    ids = torch.from_numpy(VOCAB.allowed_ids(2))
    restricted_o, restricted_t = onnx_den.log_probs(fo[:, 2], ids), torch_den.log_probs(ft[:, 2], ids)
    assert restricted_o.shape == (2, CONFIG.train_length + 40, len(ids))
    torch.testing.assert_close(restricted_o, restricted_t, rtol=0, atol=1e-3)
    full = onnx_den.full_log_probs(fo)
    assert (full - torch_den.full_log_probs(ft)).abs().max().item() <= TOLERANCE
    assert full.exp().sum(-1).sub(1).abs().max().item() < 1e-4
    fo[0, 0, 0] = 0.0  # callers may edit features in place


def test_onnx_denoiser_refuses_what_the_network_refuses(bundle):
    den = load_denoiser(bundle, device="cpu", backend="onnx")
    tokens, t, condition = example_inputs(CONFIG, 1, CONFIG.max_length + 1)
    with pytest.raises(GetMusicError, match="exceed the model's maximum"):
        den.features(tokens, t, condition)


@pytest.mark.skipif(HAS_CUDA_EP, reason="onnxruntime-gpu is installed")
def test_device_choice_without_a_cuda_provider(bundle):
    assert load_denoiser(bundle, device="auto", backend="onnx").provider == "cpu"
    with pytest.raises(GetMusicError, match=r"no CUDA provider: install getmusic-cli\[onnx-gpu\]"):
        load_denoiser(bundle, device="cuda", backend="onnx")
    with pytest.raises(GetMusicError, match="unknown device"):
        load_denoiser(bundle, device="tpu", backend="onnx")


def test_a_bundle_without_model_onnx_is_exported_once_into_the_cache(tmp_path, capfd):
    save_bundle(tmp_path / "plain", CONFIG, VOCAB, sharp_network().state_dict())
    plain = load_bundle(tmp_path / "plain")
    cache = tmp_path / "cache"
    den = load_denoiser(plain, device="cpu", backend="onnx", cache_dir=cache)
    said = capfd.readouterr().err
    assert "Exporting the" in said and "matches torch" in said
    (exported,) = (cache / "onnx").glob("*/model.onnx")
    stamp = exported.stat().st_mtime_ns
    again = load_denoiser(plain, device="cpu", backend="onnx", cache_dir=cache)
    assert "Exporting" not in capfd.readouterr().err and exported.stat().st_mtime_ns == stamp
    assert not (tmp_path / "plain" / "model.onnx").exists()  # the bundle itself is left alone
    tokens, t, condition = example_inputs(CONFIG, 2, 40)
    with torch.inference_mode():
        expected = sharp_network()(tokens, t, condition)
    for d in (den, again):
        assert torch.allclose(d.features(tokens, t, condition), expected, atol=1e-4)
    # Other weights under the same config get their own export (the key hashes the weights).
    save_bundle(tmp_path / "other", CONFIG, VOCAB, sharp_network(seed=5).state_dict())
    load_denoiser(load_bundle(tmp_path / "other"), device="cpu", backend="onnx", cache_dir=cache)
    assert len(list((cache / "onnx").glob("*/model.onnx"))) == 2


def test_the_debug_model_runs_on_onnx_without_an_export_step(tmp_path):
    den = load_denoiser(debug_bundle(), device="cpu", backend="onnx", cache_dir=tmp_path)
    tokens, t, condition = example_inputs(debug_bundle().config, 1, 24)
    with torch.inference_mode():
        expected = build_network(debug_bundle().config)(tokens, t, condition)
    assert torch.allclose(den.features(tokens, t, condition), expected, atol=1e-4)


def test_int8_is_quantised_once_and_stays_close(bundle, tmp_path, capfd):
    den = load_denoiser(bundle, device="cpu", backend="onnx", int8=True, cache_dir=tmp_path)
    assert "int8" in capfd.readouterr().err
    (quantised,) = (tmp_path / "onnx").glob("*/model.int8.onnx")
    assert quantised.stat().st_size < 0.9 * bundle.onnx_path.stat().st_size  # MatMul weights in int8
    load_denoiser(bundle, device="cpu", backend="onnx", int8=True, cache_dir=tmp_path)
    assert "int8" not in capfd.readouterr().err
    tokens, t, condition = example_inputs(CONFIG, 1, 40)
    fp32 = load_denoiser(bundle, device="cpu", backend="onnx").features(tokens, t, condition)
    got = den.features(tokens, t, condition)
    assert not torch.equal(got, fp32)  # really another graph
    assert (got - fp32).abs().mean() < 0.1 * fp32.abs().mean()
    with pytest.raises(GetMusicError, match="int8 runs in ONNX Runtime only"):
        load_denoiser(bundle, device="cpu", backend="torch", int8=True)


def test_model_onnx_from_other_weights_is_refused(bundle, tmp_path):
    other = tmp_path / "other"
    save_bundle(other, CONFIG, VOCAB, sharp_network(seed=5).state_dict())
    shutil.copy(bundle.onnx_path, other / "model.onnx")
    with pytest.raises(GetMusicError, match="exported from other weights"):
        load_denoiser(load_bundle(other), device="cpu", backend="onnx")


def test_settings_outside_the_network_may_change_after_export(bundle, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(bundle.root, copy)
    for field, value in (("description", "edited"), ("chord_lag", 1)):
        dataclasses.replace(CONFIG, **{field: value}).save(copy / "config.json")
        assert isinstance(load_denoiser(load_bundle(copy), device="cpu", backend="onnx"), OnnxDenoiser)
    dataclasses.replace(CONFIG, band_width=CONFIG.band_width + 1).save(copy / "config.json")
    with pytest.raises(GetMusicError, match="another network shape"):
        load_denoiser(load_bundle(copy), device="cpu", backend="onnx")


def test_missing_onnxruntime_names_both_extras(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` raise ImportError
    with pytest.raises(GetMusicError, match=r"getmusic-cli\[onnx\] \(CPU\) or getmusic-cli\[onnx-gpu\]"):
        import_onnxruntime()
    with pytest.raises(GetMusicError, match=r"getmusic-cli\[onnx\]"):
        load_denoiser(debug_bundle(), device="cpu", backend="onnx")


def test_same_seed_gives_the_same_tokens_with_both_back_ends(bundle):
    sampler = pytest.importorskip("getmusic_cli.model.sampler")
    g = torch.Generator().manual_seed(0)
    length = 48
    tokens = torch.full((1, 14, length), VOCAB.empty_id, dtype=torch.long)
    lead = torch.from_numpy(VOCAB.allowed_ids(0))
    tokens[0, 0] = lead[torch.randint(1, len(lead), (length,), generator=g)]
    tokens[0, 1] = VOCAB.duration_id(2)
    tokens[0, 2:4] = VOCAB.mask_id  # make bass
    condition = torch.zeros(1, 14, length, dtype=torch.bool)
    condition[0, 0:2] = True
    options = sampler.SamplerOptions(steps=5, seed=123)
    outs = [
        sampler.sample(load_denoiser(bundle, device="cpu", backend=backend), VOCAB, tokens.clone(), condition, options)
        for backend in ("torch", "onnx")
    ]
    assert torch.equal(outs[0], outs[1])
    assert not (outs[1][0, 2:4] == VOCAB.mask_id).any()
    assert torch.equal(outs[1][0, 0:2], tokens[0, 0:2])


def test_generate_through_onnx_matches_torch_end_to_end(bundle, cli, tmp_path):
    pytest.importorskip("getmusic_cli.model.sampler")
    miditoolkit = pytest.importorskip("miditoolkit")
    notes = {}
    for backend in ("torch", "onnx"):
        out = tmp_path / f"{backend}.mid"
        result = cli(
            "generate",
            DATA / "multitrack.mid",
            "--make",
            "bass",
            "--keep",
            "lead",
            "--model",
            bundle.root,
            "--backend",
            backend,
            "--device",
            "cpu",
            "--steps",
            "4",
            "--seed",
            "9",
            "-o",
            out,
        )
        assert result.exit_code == 0, result.stderr
        midi = miditoolkit.MidiFile(str(out))
        notes[backend] = sorted((n.start, n.end, n.pitch) for inst in midi.instruments for n in inst.notes)
    assert notes["onnx"] and notes["onnx"] == notes["torch"]


@pytest.mark.slow
def test_cli_export_debug_writes_a_complete_bundle_and_never_overwrites(cli, tmp_path):
    out = tmp_path / "debug-onnx"
    result = cli("export", "onnx", "debug", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "parity" in result.stdout and "--backend onnx" in result.stdout
    exported = load_bundle(out)  # a normal bundle: config, vocabulary, weights (the seeded init) and model.onnx
    assert exported.onnx_path is not None and exported.weights_path.is_file()
    den = load_denoiser(exported, device="cpu", backend="onnx")
    reference = load_denoiser(debug_bundle(), device="cpu", backend="torch")
    inputs = example_inputs(exported.config, 1, 32)
    torch.testing.assert_close(den.features(*inputs), reference.features(*inputs), rtol=0, atol=1e-4)

    again = cli("export", "onnx", "debug", "-o", out)
    assert again.exit_code == 1 and "already exists" in again.stderr and "--force" in again.stderr
    in_place = cli("export", "onnx", out, "-o", out)
    assert in_place.exit_code == 1 and "model.onnx already exists" in in_place.stderr
    before = (out / "model.onnx").stat().st_mtime_ns
    forced = cli("export", "onnx", out, "-o", out, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert (out / "model.onnx").stat().st_mtime_ns != before
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.onnx", "model.safetensors", "vocab.txt"]
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no staging leftovers
