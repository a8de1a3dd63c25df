"""Import the original GETMusic checkpoint (microsoft/muzic ``checkpoint.pth``) into one of our bundles.

The file is a ``torch.save`` dict written by the original trainer (reference §7): ``ema`` holds the EMA weights
the original inference uses (keys without ``rfm.``), ``model`` the raw weights (keys with ``rfm.``), plus
optimizer state we never touch. It is read once with ``torch.load(weights_only=True)``: plain containers and
tensors only, never arbitrary pickled objects. The network keys follow HF RoFormer naming (reference §4.3);
they are renamed to ours (model/network.py), the tied ``lm_head.weight`` is checked and dropped, and the
RoPE table and diffusion buffers are checked against the formulas our code recomputes them from.

Other sizes in the same layout (a smaller GETMusic trained with the original code) are accepted: every size
is read from the tensor shapes; the head count comes from the RoPE table's width (the head dimension).
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import torch

from getmusic_cli.errors import GetMusicError
from getmusic_cli.hub.bundle import save_bundle
from getmusic_cli.model.config import ModelConfig, original_config

NET = "roformer.input_transformers."  # prefix of the network keys once "rfm." is gone
ROPE_KEY = NET + "encoder.embed_positions.weight"
TIED_KEY = NET + "lm_head.weight"
LOG_BUFFERS = (
    "log_at", "log_bt", "log_ct", "log_cumprod_at", "log_cumprod_bt", "log_cumprod_ct",
    "log_1_min_ct", "log_1_min_cumprod_ct",
)  # fmt: skip
STAT_BUFFERS = ("Lt_history", "Lt_count")  # training-only importance-sampling statistics
ROPE_TOLERANCE = 1e-6
SCHEDULE_TOLERANCE = 1e-3  # in log space

_TOP = {
    "embeddings.word_embeddings.weight": "token_embedding.weight",
    "embeddings.token_type_embeddings.weight": "condition_embedding.weight",
    "lm_head.bias": "head_bias",
}
_PAIRS = {  # original module -> ours, each with .weight and .bias
    "embeddings.time_embeddings.0": "time_mlp.0",
    "embeddings.time_embeddings.2": "time_mlp.2",
    "embeddings.LayerNorm": "embed_norm",
    "embeddings_project.0": "input_project.0",
    "embeddings_project.2": "input_project.2",
    "outputs_project.0": "output_project.0",
    "outputs_project.2": "output_project.2",
}
_LAYER_PAIRS = {
    "attention.self.query": "query",
    "attention.self.key": "key",
    "attention.self.value": "value",
    "attention.output.dense": "attn_out",
    "attention.output.LayerNorm": "attn_norm",
    "intermediate.dense": "ffn_in",
    "output.dense": "ffn_out",
    "output.LayerNorm": "ffn_norm",
}
# Keys the sizes are read from; without them the layout cannot even be guessed.
_SIZE_KEYS = (
    "embeddings.word_embeddings.weight",
    "embeddings.time_embeddings.0.weight",
    "embeddings.LayerNorm.weight",
    "embeddings_project.0.weight",
    "encoder.layer.0.intermediate.dense.weight",
    "encoder.embed_positions.weight",
)


def key_map(n_layers: int) -> dict[str, str]:
    """Original network key (without ``rfm.``) -> our state-dict key, for every renamed tensor."""
    names = {NET + k: v for k, v in _TOP.items()}
    for orig, ours in _PAIRS.items():
        for p in ("weight", "bias"):
            names[f"{NET}{orig}.{p}"] = f"{ours}.{p}"
    for n in range(n_layers):
        for orig, ours in _LAYER_PAIRS.items():
            for p in ("weight", "bias"):
                names[f"{NET}encoder.layer.{n}.{orig}.{p}"] = f"layers.{n}.{ours}.{p}"
    return names


def import_original(
    checkpoint: str | Path,
    dict_txt: str | Path,
    out_dir: str | Path,
    *,
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Convert CHECKPOINT (+ its vocabulary DICT_TXT) into a bundle folder OUT_DIR; returns OUT_DIR."""
    from getmusic_cli.score.vocab import Vocabulary

    warn = warn or (lambda message: warnings.warn(message, stacklevel=3))
    checkpoint = Path(checkpoint)
    state, source = _pick_state(_load(checkpoint), checkpoint)
    config = _config_from_shapes(state, checkpoint, source)
    _check_keys(state, config, checkpoint, source)
    ours = _rename(state, config, checkpoint)
    _check_rope(state[ROPE_KEY], config, checkpoint)
    for problem in _schedule_problems(state, config):
        warn(f"{checkpoint.name}: {problem} (getmusic recomputes the schedule; sampling may differ)")
    vocab = Vocabulary.load(dict_txt)
    if vocab.size != config.vocab_size:
        raise GetMusicError(
            f"{dict_txt} has {len(vocab)} tokens but {checkpoint.name} was trained with {config.n_real_tokens}: "
            "give the dict.txt that belongs to this checkpoint"
        )
    return save_bundle(out_dir, config, vocab, ours)


# ----- reading -----


def _load(path: Path) -> object:
    if not path.is_file():
        raise GetMusicError(f"checkpoint {path} does not exist")
    try:
        try:  # mmap keeps the 1.4 GB file (optimizer state included) out of memory
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            return torch.load(path, map_location="cpu", weights_only=True)  # legacy (non-zip) format
    except Exception as exc:  # noqa: BLE001 - torch.load raises many types for foreign files
        text = str(exc)
        refused = re.search(r"Unsupported global: GLOBAL (\S+)", text)
        if refused:
            raise GetMusicError(
                f"{path} holds Python objects besides tensors ({refused.group(1)}); getmusic reads checkpoints "
                "with weights_only and will not unpickle them"
            ) from None
        detail = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", text)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        why = detail.group(1).strip() if detail else (lines[0] if lines else type(exc).__name__)
        raise GetMusicError(f"{path} is not a readable PyTorch checkpoint ({why[:160]})") from None


def _pick_state(obj: object, path: Path) -> tuple[dict[str, torch.Tensor], str]:
    """The EMA weights when present (what the original samples with), else ``model`` minus ``rfm.``."""
    if not isinstance(obj, Mapping):
        raise GetMusicError(f"{path} is not a GETMusic checkpoint (it holds a {type(obj).__name__}, not a dict)")
    if isinstance(obj.get("ema"), Mapping) and obj["ema"]:
        raw, source = obj["ema"], "ema"
    elif isinstance(obj.get("model"), Mapping) and obj["model"]:
        raw, source = obj["model"], "model"
    elif obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        raw, source = obj, "saved"  # a bare state dict saved on its own
    else:
        keys = ", ".join(sorted(map(str, obj))[:5]) or "none"
        raise GetMusicError(
            f"{path} has no 'ema' or 'model' weights (top-level keys: {keys}): not a GETMusic checkpoint"
        )
    state = {}
    for key, value in raw.items():
        if not isinstance(value, torch.Tensor):
            raise GetMusicError(f"{path}: {source} entry {key!r} is not a tensor: not a GETMusic checkpoint")
        key = str(key)
        state[key[len("rfm.") :] if key.startswith("rfm.") else key] = value
    return state, source


# ----- layout -----


def _config_from_shapes(state: Mapping[str, torch.Tensor], path: Path, source: str) -> ModelConfig:
    """original_config() with every size read from the tensors (equal to it for the published model)."""
    if any(NET + k not in state for k in _SIZE_KEYS):  # too little to guess sizes: report against the original
        _check_keys(state, original_config(), path, source)
    shape = {k: tuple(state[NET + k].shape) for k in _SIZE_KEYS}
    vocab_size, embed_dim = shape["embeddings.word_embeddings.weight"]
    time_dim = shape["embeddings.time_embeddings.0.weight"][1]
    cells = shape["embeddings.LayerNorm.weight"][0]
    hidden = shape["embeddings_project.0.weight"][0]
    ffn = shape["encoder.layer.0.intermediate.dense.weight"][0]
    max_length, head_dim = shape["encoder.embed_positions.weight"]
    layers = {int(m.group(1)) for k in state if (m := re.match(re.escape(NET) + r"encoder\.layer\.(\d+)\.", k))}
    base = original_config()
    if cells % embed_dim or cells // embed_dim != base.n_rows:
        raise GetMusicError(
            f"{path}: {cells} features per column is not {base.n_rows} rows of {embed_dim}: unsupported layout"
        )
    if head_dim % 2 or hidden % head_dim:
        raise GetMusicError(f"{path}: RoPE width {head_dim} does not split hidden size {hidden} into heads")
    sizes = dict(
        vocab_size=vocab_size,
        embed_dim=embed_dim,
        hidden_size=hidden,
        n_layers=max(layers) + 1,
        n_heads=hidden // head_dim,
        ffn_size=ffn,
        time_embed_dim=time_dim,
        max_length=max_length,
    )
    if "log_at" in state:
        sizes["num_timesteps"] = int(state["log_at"].shape[0])
    changed = {k: v for k, v in sizes.items() if getattr(base, k) != v}
    if not changed:
        return base
    return dataclasses.replace(base, name="original-layout", **changed)


def _expected(config: ModelConfig) -> dict[str, bool]:
    """Every key of the original layout for CONFIG -> required (False: buffers we can do without)."""
    keys = dict.fromkeys(key_map(config.n_layers), True)
    keys[TIED_KEY] = keys[ROPE_KEY] = True
    keys.update(dict.fromkeys(LOG_BUFFERS + STAT_BUFFERS, False))
    return keys


def _check_keys(state: Mapping[str, torch.Tensor], config: ModelConfig, path: Path, source: str) -> None:
    expected = _expected(config)
    missing = [k for k, required in expected.items() if required and k not in state]
    unexpected = sorted(k for k in state if k not in expected)
    if missing or unexpected:
        _layout_error(path, missing, unexpected, source)


def _layout_error(path: Path, missing: list[str], unexpected: list[str], source: str) -> None:
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing ({_few(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected ({_few(unexpected)})")
    raise GetMusicError(f"{path}: its {source} weights are not in the GETMusic layout: " + "; ".join(parts))


def _rename(state: Mapping[str, torch.Tensor], config: ModelConfig, path: Path) -> dict[str, torch.Tensor]:
    from getmusic_cli.model.network import GETDiffNetwork

    with torch.device("meta"):  # shapes only, no 360 MB allocation
        shapes = {k: tuple(v.shape) for k, v in GETDiffNetwork(config).state_dict().items()}
    ours = {}
    for orig, key in key_map(config.n_layers).items():
        tensor = state[orig]
        if tuple(tensor.shape) != shapes[key]:
            raise GetMusicError(f"{path}: {orig} has shape {list(tensor.shape)}, expected {list(shapes[key])}")
        ours[key] = tensor.to(torch.float32)
    if set(ours) != set(shapes):  # the mapping must cover our whole network
        raise GetMusicError(f"internal: the original layout leaves {_few(sorted(set(shapes) - set(ours)))} unset")
    head, table = state[TIED_KEY], ours["token_embedding.weight"]
    if head.shape != table.shape or not torch.equal(head.to(torch.float32), table):
        raise GetMusicError(f"{path}: lm_head.weight is not tied to word_embeddings.weight: not a GETMusic checkpoint")
    return ours


# ----- checks of what we recompute instead of loading -----


def rope_table(config: ModelConfig) -> torch.Tensor:
    """The original's (max_length, head_dim) table: row p = [sin(p*w_i) | cos(p*w_i)], w_i = base^(-2i/D)."""
    from getmusic_cli.model.network import rotary_cos_sin

    cos, sin = rotary_cos_sin(
        config.max_length, config.hidden_size // config.n_heads, config.rope_base, torch.device("cpu")
    )
    return torch.cat([sin[:, 0::2], cos[:, 0::2]], dim=-1)


def _check_rope(table: torch.Tensor, config: ModelConfig, path: Path) -> None:
    diff = (table.to(torch.float32) - rope_table(config)).abs().max().item()
    if not diff <= ROPE_TOLERANCE:  # also catches NaN
        raise GetMusicError(
            f"{path}: its RoPE table differs from the base-{config.rope_base:g} formula by {diff:.2g}: "
            "not a GETMusic checkpoint"
        )


def schedule_buffers(config: ModelConfig) -> dict[str, torch.Tensor]:
    """The original's log-schedule buffers as our Schedule computes them: per-step [T], cumulative [T+1]."""
    from getmusic_cli.model.diffusion import Schedule

    s = Schedule(config)
    return {
        "log_at": s.log_at,
        "log_bt": s.log_bt,
        "log_ct": s.log_ct,
        "log_cumprod_at": s.log_at_cum,
        "log_cumprod_bt": s.log_bt_cum,
        "log_cumprod_ct": s.log_ct_cum,
        "log_1_min_ct": torch.log1p(-s.log_ct.double().exp()),
        "log_1_min_cumprod_ct": s.log_1mct_cum,
    }


def _schedule_problems(state: Mapping[str, torch.Tensor], config: ModelConfig) -> list[str]:
    problems = []
    for name, want in schedule_buffers(config).items():
        if name not in state:
            continue
        got, want = state[name].to(torch.float64), want.to(torch.float64)
        if got.shape != want.shape:
            problems.append(f"buffer {name} has shape {list(got.shape)}, expected {list(want.shape)}")
            continue
        finite = torch.isfinite(want)
        same_inf = torch.equal(torch.isfinite(got), finite) and torch.equal(got[~finite], want[~finite])
        diff = (got[finite] - want[finite]).abs().max().item() if finite.any() else 0.0
        if not same_inf or not diff <= SCHEDULE_TOLERANCE:
            problems.append(f"buffer {name} differs from the GETMusic schedule (max {diff:.2g})")
    return problems


def _few(items: list[str], n: int = 3) -> str:
    more = f", +{len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more


__all__ = ["import_original", "key_map", "rope_table", "schedule_buffers"]
