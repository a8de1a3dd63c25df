"""Import of the original GETMusic checkpoint: key layout, EMA preference, parity with an independent forward.

The synthetic checkpoints are laid out by rules written here from reference §4.3 (cross-checked against
official-state-dict.txt when /work/shared is present), filled with random values, saved with torch.save the
way the original trainer does (``model`` with ``rfm.``, ``ema`` without). The reference forward below is
written from reference §4.2 with the original's key names and explicit loops; it shares no code with
model/network.py.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from pathlib import Path

import pytest
import torch

from getmusic_cli.errors import GetMusicError
from getmusic_cli.hub.bundle import load_bundle
from getmusic_cli.hub.original import import_original
from getmusic_cli.model.config import original_config
from getmusic_cli.model.network import build_network
from getmusic_cli.score.vocab import Vocabulary

REFERENCE_KEYS = Path("/work/shared/reference/official-state-dict.txt")
I = "roformer.input_transformers."
ORIGINAL = dict(K=11881, E=96, time=128, rows=14, H=768, layers=12, F=3072, max_len=1536, head=64, T=100)
TINY = dict(K=806, E=8, time=16, rows=14, H=32, layers=2, F=64, max_len=1536, head=16, T=100)


# ----- the original layout, from rules -----


def layout(K, E, time, rows, H, layers, F, max_len, head, T) -> dict[str, list[int]]:
    """Key (without ``rfm.``) -> shape of the original DiffusionRFM state dict."""
    keys: dict[str, list[int]] = {}
    for name in ("log_at", "log_bt", "log_ct"):
        keys[name] = [T]
    for name in ("log_cumprod_at", "log_cumprod_bt", "log_cumprod_ct"):
        keys[name] = [T + 1]
    keys["log_1_min_ct"], keys["log_1_min_cumprod_ct"] = [T], [T + 1]
    keys["Lt_history"], keys["Lt_count"] = [T], [T]

    def linear(prefix, n_in, n_out):
        keys[f"{I}{prefix}.weight"], keys[f"{I}{prefix}.bias"] = [n_out, n_in], [n_out]

    keys[I + "embeddings.word_embeddings.weight"] = [K, E]
    keys[I + "embeddings.token_type_embeddings.weight"] = [2, E]
    linear("embeddings.time_embeddings.0", time, E)
    linear("embeddings.time_embeddings.2", E, E)
    keys[I + "embeddings.LayerNorm.weight"] = keys[I + "embeddings.LayerNorm.bias"] = [rows * E]
    linear("embeddings_project.0", rows * E, H)
    linear("embeddings_project.2", H, H)
    linear("outputs_project.0", H, rows * E)
    linear("outputs_project.2", rows * E, rows * E)
    keys[I + "encoder.embed_positions.weight"] = [max_len, head]
    for n in range(layers):
        p = f"encoder.layer.{n}."
        for part in ("query", "key", "value"):
            linear(p + "attention.self." + part, H, H)
        linear(p + "attention.output.dense", H, H)
        keys[f"{I}{p}attention.output.LayerNorm.weight"] = keys[f"{I}{p}attention.output.LayerNorm.bias"] = [H]
        linear(p + "intermediate.dense", H, F)
        linear(p + "output.dense", F, H)
        keys[f"{I}{p}output.LayerNorm.weight"] = keys[f"{I}{p}output.LayerNorm.bias"] = [H]
    keys[I + "lm_head.weight"], keys[I + "lm_head.bias"] = [K, E], [K]
    return keys


@pytest.mark.skipif(not REFERENCE_KEYS.is_file(), reason="needs /work/shared/reference")
def test_layout_rules_are_the_original_221_keys():
    listed = {}
    for line in REFERENCE_KEYS.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape, dtype, _kind = line.split("\t")
        listed[key] = [int(n) for n in shape.strip("[]").split(",")]
        assert dtype == "float32"
    ours = {"rfm." + k: v for k, v in layout(**ORIGINAL).items()}
    assert len(listed) == 221
    assert ours == listed


def rope_table(max_len: int, dim: int) -> torch.Tensor:
    """The frozen HF RoFormer table: angle p / 10000^(2*(j//2)/dim), sin of even j | cos of odd j."""
    table = torch.empty(max_len, dim, dtype=torch.float64)
    for j in range(0, dim, 2):
        angles = torch.arange(max_len, dtype=torch.float64) / 10000 ** (2 * (j // 2) / dim)
        table[:, j // 2] = angles.sin()
        table[:, dim // 2 + j // 2] = angles.cos()
    return table.float()


def schedule(K: int, T: int) -> dict[str, torch.Tensor]:
    """Reference §5.1 in float64, the way the original stores its log buffers (float32)."""
    n = K - 1
    att = [0.99999 + t / (T - 1) * (0.000009 - 0.99999) for t in range(T)]
    ctt = [0.000009 + t / (T - 1) * (0.99999 - 0.000009) for t in range(T)]
    at = [att[t] / (att[t - 1] if t else 1.0) for t in range(T)]
    ct = [1 - (1 - ctt[t]) / (1 - (ctt[t - 1] if t else 0.0)) for t in range(T)]
    bt = [(1 - a - c) / n for a, c in zip(at, ct)]
    att, ctt = att + [1.0], ctt + [0.0]
    btt = [(1 - a - c) / n for a, c in zip(att, ctt)]

    def log(values):
        return torch.tensor([math.log(v) if v > 0 else -math.inf for v in values], dtype=torch.float32)

    return {
        "log_at": log(at), "log_bt": log(bt), "log_ct": log(ct),
        "log_cumprod_at": log(att), "log_cumprod_bt": log(btt), "log_cumprod_ct": log(ctt),
        "log_1_min_ct": log([1 - c for c in ct]), "log_1_min_cumprod_ct": log([1 - c for c in ctt]),
    }  # fmt: skip


def random_state(sizes: dict, seed: int) -> dict[str, torch.Tensor]:
    """Values that make every part matter: unit-variance Q/K (rotary visible), LN gains away from 1."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in layout(**sizes).items():
        if key.endswith("lm_head.weight") or key.startswith(("log_", "Lt_")) or key.endswith("embed_positions.weight"):
            continue
        if "LayerNorm.weight" in key:
            value = 1 + 0.1 * torch.randn(shape, generator=g)
        elif key.endswith("bias") or "LayerNorm" in key:
            value = 0.1 * torch.randn(shape, generator=g)
        elif "embeddings.weight" in key:
            value = 0.5 * torch.randn(shape, generator=g)
        else:
            value = torch.randn(shape, generator=g) / math.sqrt(shape[1])
        state[key] = value
    state[I + "embeddings.word_embeddings.weight"][sizes["K"] - 2] = 0  # [EMPTY] = padding_idx
    state[I + "lm_head.weight"] = state[I + "embeddings.word_embeddings.weight"]  # tied: one tensor
    state[I + "encoder.embed_positions.weight"] = rope_table(sizes["max_len"], sizes["head"])
    state.update(schedule(sizes["K"], sizes["T"]))
    state["Lt_history"] = torch.rand(sizes["T"], generator=g)
    state["Lt_count"] = torch.randint(0, 50, (sizes["T"],), generator=g).float()
    return state


def save_checkpoint(path: Path, model: dict | None, ema: dict | None) -> Path:
    """The original trainer's file: model (rfm.-prefixed), ema, counters and an optimizer section."""
    ckpt = {"last_epoch": 3, "last_iter": 1200, "clip_grad_norm": {"max_norm": 0.5}}
    if model is not None:
        ckpt["model"] = {"rfm." + k: v for k, v in model.items()}
    if ema is not None:
        ckpt["ema"] = dict(ema)
    ckpt["optimizer_and_scheduler"] = {"none": {"name": "none", "optimizer": {"step_iteration": 1}}}
    torch.save(ckpt, path)
    return path


def vocabulary_file(path: Path, n_lines: int) -> Path:
    """A valid dict.txt of exactly N_LINES tokens (single pitches + bass/piano two-note composites)."""
    extra = n_lines - len(Vocabulary.basic())
    pairs = [(a, b) for a in range(128) for b in range(a + 1, 128)]
    counts = {"bass": Counter(), "piano": Counter()}
    for n in range(extra):
        counts["bass" if n < len(pairs) else "piano"][pairs[n % len(pairs)]] = extra - n
    vocab = Vocabulary.build(counts)
    assert len(vocab) == n_lines
    vocab.save(path)
    return path


# ----- an independent forward, from reference §4.2 -----


def reference_logits(sd: dict, tokens, t, condition, n_heads: int, *, band: bool) -> torch.Tensor:
    """(B, R, L) -> logits (B, R, L, K-2), float64, with the original's key names and explicit loops."""

    def w(name):
        return sd[I + name].double()

    def linear(x, name):
        return x @ w(name + ".weight").T + w(name + ".bias")

    def layer_norm(x, name, eps=1e-12):
        mean = x.mean(-1, keepdim=True)
        var = ((x - mean) ** 2).mean(-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + eps) * w(name + ".weight") + w(name + ".bias")

    def silu(x):
        return x * torch.sigmoid(x)

    def gelu(x):
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))

    b, rows, length = tokens.shape
    width = sd[I + "embeddings.time_embeddings.0.weight"].shape[1]
    half = width // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float64) / half)
    angles = t.double()[:, None] * freqs[None]
    time = linear(
        silu(linear(torch.cat([angles.cos(), angles.sin()], -1), "embeddings.time_embeddings.0")),
        "embeddings.time_embeddings.2",
    )
    cells = (
        w("embeddings.word_embeddings.weight")[tokens]
        + w("embeddings.token_type_embeddings.weight")[condition.long()]
        + time[:, None, None, :]
    )
    x = torch.cat([cells[:, r] for r in range(rows)], dim=-1)  # (B, L, rows*E): feature = row*E + d
    x = layer_norm(x, "embeddings.LayerNorm")
    x = linear(silu(linear(x, "embeddings_project.0")), "embeddings_project.2")
    table = sd[I + "encoder.embed_positions.weight"].double()
    hidden = x.shape[-1]
    head = hidden // n_heads
    sin, cos = table[:length, : head // 2], table[:length, head // 2 :]

    def rotate(v):  # interleaved pairs (2i, 2i+1), angle i
        out = v.clone()
        for i in range(head // 2):
            a, c = v[..., 2 * i], v[..., 2 * i + 1]
            out[..., 2 * i] = a * cos[:, i] - c * sin[:, i]
            out[..., 2 * i + 1] = c * cos[:, i] + a * sin[:, i]
        return out

    mask = torch.zeros(length, length, dtype=torch.float64)
    if band:
        for i in range(length):
            for j in range(length):
                if abs(i - j) > 255:
                    mask[i, j] = -10000.0
    n = 0
    while f"{I}encoder.layer.{n}.attention.self.query.weight" in sd:
        p = f"encoder.layer.{n}."
        q, k, v = (linear(x, p + "attention.self." + part) for part in ("query", "key", "value"))
        heads = []
        for h in range(n_heads):
            cut = slice(h * head, (h + 1) * head)
            scores = rotate(q[..., cut]) @ rotate(k[..., cut]).transpose(-1, -2) / math.sqrt(head) + mask
            heads.append(torch.softmax(scores, dim=-1) @ v[..., cut])
        x = layer_norm(x + linear(torch.cat(heads, -1), p + "attention.output.dense"), p + "attention.output.LayerNorm")
        ffn = linear(gelu(linear(x, p + "intermediate.dense")), p + "output.dense")
        x = layer_norm(x + ffn, p + "output.LayerNorm")
        n += 1
    y = linear(silu(linear(x, "outputs_project.0")), "outputs_project.2")
    e = w("embeddings.word_embeddings.weight").shape[1]
    features = torch.stack([y[..., r * e : (r + 1) * e] for r in range(rows)], dim=1)  # (B, R, L, E)
    logits = features @ w("lm_head.weight").T + w("lm_head.bias")
    return logits[..., :-2]  # [EMPTY] and [MASK] are never predicted


def inputs(K: int, length: int, seed: int = 0, batch: int = 2):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, K - 2, (batch, 14, length), generator=g)
    tokens[:, 4:6] = K - 2  # an absent track
    tokens[0, 8, : length // 2] = K - 1  # [MASK] cells
    condition = torch.rand(batch, 14, length, generator=g) < 0.4
    t = torch.randint(0, 100, (batch,), generator=g)
    return tokens, t, condition


def our_logits(bundle_dir: Path, tokens, t, condition) -> torch.Tensor:
    bundle = load_bundle(bundle_dir)
    net = build_network(bundle.config, bundle.weights_path).eval()
    with torch.no_grad():
        return net.logits(net(tokens, t, condition)).double()


# ----- tests -----


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A small model in the original layout, with different ``model`` and ``ema`` weights."""
    folder = tmp_path_factory.mktemp("tiny")
    model, ema = random_state(TINY, seed=1), random_state(TINY, seed=2)
    ckpt = save_checkpoint(folder / "checkpoint.pth", model, ema)
    dict_txt = vocabulary_file(folder / "dict.txt", TINY["K"] - 2)
    return ckpt, dict_txt, model, ema


def _import(ckpt, dict_txt, out):
    problems: list[str] = []
    path = import_original(ckpt, dict_txt, out, warn=problems.append)
    return path, problems


def test_tiny_checkpoint_imports_the_ema_weights(tiny, tmp_path):
    ckpt, dict_txt, model, ema = tiny
    path, problems = _import(ckpt, dict_txt, tmp_path / "bundle")
    assert problems == []
    bundle = load_bundle(path)
    cfg = bundle.config
    assert (cfg.vocab_size, cfg.embed_dim, cfg.hidden_size, cfg.n_layers, cfg.n_heads, cfg.ffn_size) == (
        806,
        8,
        32,
        2,
        2,
        64,
    )
    assert (cfg.time_embed_dim, cfg.max_length, cfg.train_length, cfg.band_width, cfg.chord_lag) == (
        16,
        1536,
        512,
        255,
        1,
    )
    assert (path / cfg.vocab_file).read_bytes() == dict_txt.read_bytes()
    tokens, t, condition = inputs(806, length=16)
    ours = our_logits(path, tokens, t, condition)
    want = reference_logits(ema, tokens, t, condition, n_heads=2, band=False)
    assert ours.shape == want.shape == (2, 14, 16, 804)
    assert (ours - want).abs().max().item() <= 1e-4
    # The raw weights give something else: it really was the EMA copy.
    raw = reference_logits(model, tokens, t, condition, n_heads=2, band=False)
    assert (ours - raw).abs().max().item() > 0.1


def test_tiny_checkpoint_band_attention_past_512_columns(tiny, tmp_path):
    ckpt, dict_txt, _, ema = tiny
    path, _ = _import(ckpt, dict_txt, tmp_path / "bundle")
    tokens, t, condition = inputs(806, length=520, batch=1)
    ours = our_logits(path, tokens, t, condition)
    banded = reference_logits(ema, tokens, t, condition, n_heads=2, band=True)
    assert (ours - banded).abs().max().item() <= 1e-4
    full = reference_logits(ema, tokens, t, condition, n_heads=2, band=False)
    assert (ours - full).abs().max().item() > 1e-3  # the band mattered


def test_model_entry_without_ema_has_rfm_stripped(tiny, tmp_path):
    _, dict_txt, model, _ = tiny
    ckpt = save_checkpoint(tmp_path / "no_ema.pth", model, None)
    path, problems = _import(ckpt, dict_txt, tmp_path / "bundle")
    assert problems == []
    tokens, t, condition = inputs(806, length=12, seed=3)
    want = reference_logits(model, tokens, t, condition, n_heads=2, band=False)
    assert (our_logits(path, tokens, t, condition) - want).abs().max().item() <= 1e-4


def test_imported_bundle_samples(tiny, tmp_path):
    from getmusic_cli.model.sampler import SamplerOptions, sample
    from getmusic_cli.runtime.loader import load_denoiser

    ckpt, dict_txt, _, _ = tiny
    bundle = load_bundle(_import(ckpt, dict_txt, tmp_path / "bundle")[0])
    vocab, length = bundle.vocab, 16
    tokens = torch.full((1, 14, length), vocab.empty_id)
    tokens[0, 2:4] = vocab.mask_id  # make the bass
    tokens[0, 0, :] = vocab.pad_id  # keep a lead line
    tokens[0, 0, ::4] = vocab.id("M60")
    tokens[0, 1, :] = vocab.pad_id
    tokens[0, 1, ::4] = vocab.duration_id(4)
    condition = torch.zeros(1, 14, length, dtype=torch.bool)
    condition[0, :2] = True
    out = sample(load_denoiser(bundle, device="cpu"), vocab, tokens, condition, SamplerOptions(steps=5, seed=0))
    assert torch.equal(out[0, :2], tokens[0, :2]) and torch.equal(out[0, 4:], tokens[0, 4:])
    lo, hi = vocab.pitch_range("bass")
    assert all(x == vocab.pad_id or lo <= x <= hi for x in out[0, 2].tolist())


@pytest.mark.slow
def test_full_size_checkpoint_with_the_221_keys(tmp_path):
    state = random_state(ORIGINAL, seed=7)
    assert len(state) == 221
    # ema shares the model's tensors (torch.save stores them once): a 360 MB file, not 720 MB.
    ckpt = save_checkpoint(tmp_path / "checkpoint.pth", state, state)
    dict_txt = vocabulary_file(tmp_path / "dict.txt", 11879)
    path, problems = _import(ckpt, dict_txt, tmp_path / "bundle")
    assert problems == []
    bundle = load_bundle(path)
    assert bundle.config == original_config()
    net = build_network(bundle.config, bundle.weights_path).eval()
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == 90_696_265
    tokens, t, condition = inputs(11881, length=16)
    with torch.no_grad():
        ours = net.logits(net(tokens, t, condition)).double()
    want = reference_logits(state, tokens, t, condition, n_heads=12, band=False)
    assert (ours - want).abs().max().item() <= 1e-4


# ----- what goes wrong -----


def test_missing_and_unexpected_keys_are_one_error(tiny, tmp_path):
    _, dict_txt, _, ema = tiny
    broken = dict(ema)
    del broken[I + "encoder.layer.1.attention.self.key.bias"]
    broken[I + "encoder.layer.0.attention.self.rotary.weight"] = torch.zeros(3)
    ckpt = save_checkpoint(tmp_path / "broken.pth", None, broken)
    with pytest.raises(GetMusicError) as err:
        import_original(ckpt, dict_txt, tmp_path / "bundle")
    message = str(err.value)
    assert "\n" not in message
    assert "1 missing" in message and "layer.1.attention.self.key.bias" in message
    assert "1 unexpected" in message and "rotary.weight" in message
    assert not (tmp_path / "bundle").exists()


def test_foreign_files_are_one_line_errors(tiny, tmp_path):
    _, dict_txt, _, ema = tiny
    cases = {
        "random.pth": lambda p: p.write_bytes(bytes(range(256)) * 40),
        "tensor.pth": lambda p: torch.save(torch.zeros(3), p),
        "other.pth": lambda p: torch.save({"state_dict": {"fc.weight": torch.zeros(2, 2)}, "epoch": 1}, p),
        "objects.pth": lambda p: torch.save({"ema": argparse.Namespace(lr=1e-4)}, p),
        "bare.pth": lambda p: torch.save({"fc.weight": torch.zeros(2, 2)}, p),
    }
    expected = {
        "random.pth": "not a readable PyTorch checkpoint",
        "tensor.pth": "not a GETMusic checkpoint",
        "other.pth": "no 'ema' or 'model' weights",
        "objects.pth": r"objects besides tensors \(argparse.Namespace\).*weights_only",
        "bare.pth": "its saved weights are not in the GETMusic layout: 211 missing",
    }
    for name, write in cases.items():
        write(tmp_path / name)
        with pytest.raises(GetMusicError, match=expected[name]) as err:
            import_original(tmp_path / name, dict_txt, tmp_path / "bundle")
        assert "\n" not in str(err.value), name
    with pytest.raises(GetMusicError, match="does not exist"):
        import_original(tmp_path / "nowhere.pth", dict_txt, tmp_path / "bundle")


def test_wrong_vocabulary_untied_head_and_rope_are_errors(tiny, tmp_path):
    ckpt, _, _, ema = tiny
    with pytest.raises(GetMusicError, match="has 900 tokens but checkpoint.pth was trained with 804"):
        import_original(ckpt, vocabulary_file(tmp_path / "big.txt", 900), tmp_path / "bundle")
    dict_txt = tiny[1]
    untied = dict(ema)
    untied[I + "lm_head.weight"] = untied[I + "lm_head.weight"] + 1
    with pytest.raises(GetMusicError, match="not tied"):
        import_original(save_checkpoint(tmp_path / "untied.pth", None, untied), dict_txt, tmp_path / "b")
    neox = dict(ema)  # a half-split table (other rotary layout) would silently change every output
    neox[I + "encoder.embed_positions.weight"] = torch.roll(rope_table(1536, 16), 1, dims=1)
    with pytest.raises(GetMusicError, match="RoPE table differs"):
        import_original(save_checkpoint(tmp_path / "neox.pth", None, neox), dict_txt, tmp_path / "b")


def test_schedule_buffers_are_checked_not_loaded(tiny, tmp_path):
    _, dict_txt, _, ema = tiny
    odd = dict(ema)
    odd["log_cumprod_at"] = odd["log_cumprod_at"] * 0.5
    path, problems = _import(save_checkpoint(tmp_path / "odd.pth", None, odd), dict_txt, tmp_path / "bundle")
    assert len(problems) == 1 and "log_cumprod_at differs" in problems[0]
    no_buffers = {k: v for k, v in ema.items() if not k.startswith(("log_", "Lt_"))}
    _, problems = _import(save_checkpoint(tmp_path / "nobuf.pth", None, no_buffers), dict_txt, tmp_path / "b2")
    assert problems == [] and load_bundle(path).config == load_bundle(tmp_path / "b2").config
