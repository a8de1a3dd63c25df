"""The GETDiff denoising network (reference §4), written with plain torch.

One shared token table embeds every cell; the 14 rows of a column are concatenated into one transformer
position, so attention runs over columns (L positions), not cells. The output head is tied to the token
table (``logits``); the sampler usually applies it only to the ids allowed in a row (runtime/base.py).

State-dict keys (the bundle format, keep them stable):
``token_embedding.weight``, ``condition_embedding.weight``, ``time_mlp.{0,2}.{weight,bias}``,
``embed_norm.{weight,bias}``, ``input_project.{0,2}.{weight,bias}``,
``layers.{n}.{query,key,value,attn_out,ffn_in,ffn_out}.{weight,bias}``,
``layers.{n}.{attn_norm,ffn_norm}.{weight,bias}``, ``output_project.{0,2}.{weight,bias}``, ``head_bias``;
``bar_position_embedding.weight`` only in a model with ``bar_positions`` (not in the original network).

Bar positions: RoPE tells a column how far it is from another, never where it sits in its bar, so a network
without them has to guess the downbeat from the notes (a chorale melody in quarters looks the same from beat 1
and from beat 2) and puts snare hits on any beat. With ``bar_positions`` each column also gets an embedding
of its place in its bar (0 = downbeat, from the song's time-signature map), added after the input projection.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from getmusic_cli.errors import GetMusicError
from getmusic_cli.model.config import ModelConfig

BAND_MASK_VALUE = -10000.0  # the original adds -1e4 (not -inf) outside the band


def timestep_sinusoid(t: torch.Tensor, width: int) -> torch.Tensor:
    """(B,) integer steps -> (B, width) as [cos(t*f), sin(t*f)], f_i = 10000^(-i/half) (cos first)."""
    half = width // 2
    i = torch.arange(half, device=t.device, dtype=torch.float32)
    freqs = torch.exp(-math.log(10000.0) * i / half)
    angles = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


def rotary_cos_sin(length: int, head_dim: int, base: float, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin of shape (L, head_dim), each angle repeated for its interleaved pair (2i, 2i+1).

    Angles are formed in float64 and rounded once to float32, as the original's stored table was: float32
    angles would be off by up to 1e-4 rad at column 1535.
    """
    i = torch.arange(head_dim // 2, dtype=torch.float64)
    inv_freq = base ** (-2.0 * i / head_dim)
    angles = torch.arange(length, dtype=torch.float64)[:, None] * inv_freq[None, :]
    cos = angles.cos().repeat_interleave(2, dim=-1).float()
    sin = angles.sin().repeat_interleave(2, dim=-1).float()
    return cos.to(device), sin.to(device)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """GPT-J style rotation of interleaved pairs: (x0, x1) -> (x0 cos - x1 sin, x1 cos + x0 sin)."""
    # In float32 even under bf16 autocast: bf16 angles would blur positions far from 0.
    xf = x.float()
    even, odd = xf[..., 0::2], xf[..., 1::2]
    rotated = torch.stack([-odd, even], dim=-1).flatten(-2)
    return (xf * cos.float() + rotated * sin.float()).to(x.dtype)


def band_mask(length: int, band_width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(L, L) additive mask: 0 where |i-j| <= band_width, -10000 elsewhere."""
    pos = torch.arange(length, device=device)
    outside = (pos[:, None] - pos[None, :]).abs() > band_width
    mask = torch.zeros(length, length, device=device, dtype=dtype)
    return mask.masked_fill(outside, BAND_MASK_VALUE)


class EncoderLayer(nn.Module):
    """Post-LN transformer layer with rotary Q/K (BERT/RoFormer layout)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        h = config.hidden_size
        if h % config.n_heads:
            raise GetMusicError(f"hidden_size {h} is not a multiple of n_heads {config.n_heads}")
        self.n_heads = config.n_heads
        self.dropout = config.dropout
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)
        self.attn_out = nn.Linear(h, h)
        self.attn_norm = nn.LayerNorm(h, eps=config.layer_norm_eps)
        self.ffn_in = nn.Linear(h, config.ffn_size)
        self.ffn_out = nn.Linear(config.ffn_size, h)
        self.ffn_norm = nn.LayerNorm(h, eps=config.layer_norm_eps)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, l, h = x.shape
        return x.view(b, l, self.n_heads, h // self.n_heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, l, h = x.shape
        q = apply_rotary(self._heads(self.query(x)), cos, sin)
        k = apply_rotary(self._heads(self.key(x)), cos, sin)
        v = self._heads(self.value(x))
        if mask is not None:
            mask = mask.to(q.dtype)
        p = self.dropout if self.training else 0.0
        attn = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        attn = attn.transpose(1, 2).reshape(b, l, h)
        x = self.attn_norm(x + F.dropout(self.attn_out(attn), self.dropout, self.training))
        ffn = self.ffn_out(F.gelu(self.ffn_in(x)))
        return self.ffn_norm(x + F.dropout(ffn, self.dropout, self.training))


class GETDiffNetwork(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        k, e, r, h = config.vocab_size, config.embed_dim, config.n_rows, config.hidden_size
        self.token_embedding = nn.Embedding(k, e, padding_idx=config.empty_id)
        self.condition_embedding = nn.Embedding(2, e)
        self.time_mlp = nn.Sequential(nn.Linear(config.time_embed_dim, e), nn.SiLU(), nn.Linear(e, e))
        self.embed_norm = nn.LayerNorm(r * e, eps=config.layer_norm_eps)
        self.input_project = nn.Sequential(nn.Linear(r * e, h), nn.SiLU(), nn.Linear(h, h))
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.n_layers))
        self.output_project = nn.Sequential(nn.Linear(h, r * e), nn.SiLU(), nn.Linear(r * e, r * e))
        if config.bar_positions:
            self.bar_position_embedding = nn.Embedding(config.bar_positions, h)
        self.head_bias = nn.Parameter(torch.zeros(k))
        self._rotary_tables: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def forward(
        self, tokens: torch.Tensor, t: torch.Tensor, condition: torch.Tensor, bar_position: torch.Tensor | None = None
    ) -> torch.Tensor:
        """tokens (B,R,L) int64, t (B,) int64, condition (B,R,L) bool -> features (B,R,L,E).

        bar_position (B,L) int64: each column's place in its bar (timeline.positions_in_bar); required by a
        model with ``bar_positions``, ignored by one without.
        """
        cfg = self.config
        b, r, l = tokens.shape
        cfg.check_window(r, l)
        if cfg.bar_positions and bar_position is None:
            raise ValueError("this model needs each column's place in its bar (bar_position)")
        time = self.time_mlp(timestep_sinusoid(t, cfg.time_embed_dim))
        cells = self.token_embedding(tokens) + self.condition_embedding(condition.long()) + time[:, None, None, :]
        # One transformer position per column: feature index = row * E + d.
        x = cells.permute(0, 2, 1, 3).reshape(b, l, r * cfg.embed_dim)
        x = F.dropout(self.embed_norm(x), cfg.dropout, self.training)
        x = self.input_project(x)
        if cfg.bar_positions:
            x = x + self.bar_position_embedding(bar_position.clamp(0, cfg.bar_positions - 1))
        cos, sin = self._rotary(x.device)
        cos, sin = cos[:l], sin[:l]
        mask = None
        if not self.training and cfg.band_width > 0 and l > cfg.train_length:
            mask = band_mask(l, cfg.band_width, x.device, torch.float32)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        x = self.output_project(x)
        return x.view(b, l, r, cfg.embed_dim).permute(0, 2, 1, 3)

    def _rotary(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The (max_length, head_dim) rotary table on DEVICE, made once per device (not a state-dict entry)."""
        key = str(device)
        if key not in self._rotary_tables:
            cfg = self.config
            # Ordinary tensors even when first asked for under inference_mode: training reuses them.
            with torch.inference_mode(False):
                self._rotary_tables[key] = rotary_cos_sin(
                    cfg.max_length, cfg.hidden_size // cfg.n_heads, cfg.rope_base, device
                )
        return self._rotary_tables[key]

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """Tied head over the real tokens only: (..., E) -> (..., n_real_tokens)."""
        n = self.config.n_real_tokens
        return F.linear(features, self.token_embedding.weight[:n], self.head_bias[:n])


def init_weights(network: GETDiffNetwork, seed: int = 0) -> None:
    """Seeded init independent of the global RNG: N(0, 0.02) weights, zero biases, LN 1/0, [EMPTY] row 0."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                # Drawn on CPU then copied, so a seed gives the same weights on every device.
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * 0.02)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()
        network.token_embedding.weight[network.config.empty_id].zero_()
        network.head_bias.zero_()
        if network.config.bar_positions:
            # Zero: a fine-tune that adds bar positions starts from the model it was given.
            network.bar_position_embedding.weight.zero_()


def build_network(config: ModelConfig, weights: Path | None = None, seed: int = 0) -> GETDiffNetwork:
    """The network of CONFIG with the safetensors WEIGHTS, or a seeded random init when WEIGHTS is None.

    With WEIGHTS the layers are created without their random initialisation and the loaded tensors are
    assigned to them: no initialisation whose time and memory would be thrown away.
    """
    if weights is None:
        network = GETDiffNetwork(config)
        init_weights(network, seed)
        return network
    return network_from_state(config, read_weights(weights), str(weights))


def read_weights(weights: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(weights))
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for bad files
        raise GetMusicError(f"cannot read model weights {weights}: {exc}") from None


def network_from_state(config: ModelConfig, state: dict[str, torch.Tensor], origin: str) -> GETDiffNetwork:
    """The network of CONFIG holding STATE, its layers created without a random initialisation."""
    with _uninitialised_layers():
        network = GETDiffNetwork(config)
    load_state(network, state, origin)
    return network


@contextlib.contextmanager
def _uninitialised_layers():
    """Layers keep the uninitialised memory torch.empty gave them (never written, so never resident).

    Not the meta device: its first use imports torch._dynamo, 1.5-3 s of start-up on a 2-core machine.
    """
    layer_types = (nn.Linear, nn.Embedding, nn.LayerNorm)
    saved = [layer.__dict__["reset_parameters"] for layer in layer_types]
    try:
        for layer in layer_types:
            layer.reset_parameters = lambda self: None
        yield
    finally:
        for layer, method in zip(layer_types, saved):
            layer.reset_parameters = method


BAR_POSITION_KEY = "bar_position_embedding.weight"
TOKEN_EMBEDDING_KEY = "token_embedding.weight"  # the input embedding, also the output head's weights
HEAD_BIAS_KEY = "head_bias"


def add_bar_positions(state: dict[str, torch.Tensor], config: ModelConfig) -> dict[str, torch.Tensor]:
    """STATE of a model without bar positions, with a zero bar-position embedding for CONFIG (a fine-tune's start)."""
    if not config.bar_positions or BAR_POSITION_KEY in state:
        return state
    return {**state, BAR_POSITION_KEY: torch.zeros(config.bar_positions, config.hidden_size)}


def grow_vocabulary(state: dict[str, torch.Tensor], old_vocab, new_vocab) -> dict[str, torch.Tensor]:
    """STATE of a model with OLD_VOCAB, re-indexed for NEW_VOCAB (which holds every old token; a fine-tune's start).

    Old tokens keep their embedding and output bias under their new ids. A new composite starts from its single
    notes: the mean of their embeddings and the mean of their output biases.
    """
    missing = [t for t in old_vocab.tokens if new_vocab.get(t) is None]
    if missing:
        raise GetMusicError(f"the new vocabulary lacks {len(missing)} of the model's tokens, e.g. {missing[0]!r}")
    embedding, bias = state[TOKEN_EMBEDDING_KEY], state[HEAD_BIAS_KEY]
    new_embedding = embedding.new_zeros((new_vocab.size, embedding.shape[1]))
    new_bias = bias.new_zeros(new_vocab.size)
    for new_id, token in enumerate(new_vocab.tokens):
        old_id = old_vocab.get(token)
        if old_id is None:
            instrument, pitches = new_vocab.parse_pitch_token(token)
            old_id = [old_vocab.id(new_vocab.pitch_token(instrument, (p,))) for p in pitches]
        new_embedding[new_id] = embedding[old_id].reshape(-1, embedding.shape[1]).mean(0)
        new_bias[new_id] = bias[old_id].reshape(-1).mean()
    for old_id, new_id in ((old_vocab.empty_id, new_vocab.empty_id), (old_vocab.mask_id, new_vocab.mask_id)):
        new_embedding[new_id] = embedding[old_id]
        new_bias[new_id] = bias[old_id]
    return {**state, TOKEN_EMBEDDING_KEY: new_embedding, HEAD_BIAS_KEY: new_bias}


def load_state(network: GETDiffNetwork, state: dict[str, torch.Tensor], origin: str = "weights") -> None:
    """Strict load with a one-line error naming the first mismatches."""
    own = network.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in own.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = []
    if missing:
        problems.append(f"missing {_few(missing)}")
    if unexpected:
        problems.append(f"unexpected {_few(unexpected)}")
    if wrong:
        problems.append(f"wrong shape {_few(wrong)}")
    if problems:
        raise GetMusicError(f"{origin} do not fit the model config: " + "; ".join(problems))
    # assign: the loaded tensors become the parameters (no copy into the uninitialised ones).
    network.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True, assign=True)


def _few(items: list[str], n: int = 3) -> str:
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return ", ".join(items[:n]) + more
