"""ModelConfig: every number needed to rebuild a model, stored as ``config.json`` in every bundle.

No torch here: the CLI reads configs (classes a model covers, its licence) without importing torch.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.tracks import INSTRUMENTS, TRACKS

BUNDLE_FORMAT = "getmusic-bundle/1"


@dataclass
class ModelConfig:
    # --- network (reference §4) ---
    vocab_size: int = 11881  # K: real tokens + [EMPTY] + [MASK]
    n_rows: int = 14  # 2 rows per track, TRACKS order
    embed_dim: int = 96  # per-cell embedding
    hidden_size: int = 768
    n_layers: int = 12
    n_heads: int = 12
    ffn_size: int = 3072
    time_embed_dim: int = 128  # sinusoid width before the time MLP
    max_length: int = 1536  # RoPE table size = hard maximum of columns in one window
    train_length: int = 512  # columns per training window
    band_width: int = 255  # attention band (|i-j| <= band) at eval when L > train_length; 0 = off
    dropout: float = 0.1
    layer_norm_eps: float = 1e-12
    rope_base: float = 10000.0
    # Places in the bar (0 = downbeat) with an embedding of their own; 0 = none, as the original network.
    # RoPE alone tells a column only its distance to others, not whether it is beat 1 or beat 2.
    bar_positions: int = 0
    # --- diffusion (reference §5) ---
    num_timesteps: int = 100  # T
    alpha_start: float = 0.99999  # cumulative alpha at t=0 ...
    alpha_end: float = 0.000009  # ... and at t=T-1
    gamma_start: float = 0.000009
    gamma_end: float = 0.99999
    cond_weight: float = 0.5  # loss weight of condition cells
    aux_weight: float = 0.001  # lambda of the auxiliary x0 loss
    sample_steps: int | None = None  # default sampling steps (--steps); None = num_timesteps
    # Which masked cells each sampling call reveals: "confidence" draws them with probabilities
    # softmax(max probability), as the original; "random" draws them alike, the exact reverse of the uniform
    # masking the network was trained with (confidence favours sure silences, so parts come out sparse).
    unmask_order: str = "confidence"
    # Nucleus (top-p) over the notes a pitched class's row may start, leaving the chance of starting none
    # untouched: the unlikely tail (wrong notes) goes without making parts sparser, as plain top-p does. Drums
    # are left alone (a snare is rarer than a hi-hat, not wrong). 1 = off, as the original.
    pitch_top_p: float = 1.0
    # Passes after the last call that each hide a share of the made drum columns again and redraw them from the
    # rest (a Gibbs sweep over the network's own conditionals): drums drawn many cells at a time come to agree
    # with themselves, so the pattern repeats. Pitched parts are left alone: passes over them thinned chorale
    # bass and strings. 0 = off, as the original.
    drum_refine_passes: int = 0
    # Log-odds added, at every drum draw, to the kit piece (and its length) that the same place in the bar
    # before or after already holds: a drummer keeps a groove from bar to bar, which the network alone does too
    # seldom. Hits are copied, silences are not (copying silences thinned the drums and took out the odd hit).
    # 0 = off, as the original.
    drum_repeat_bias: float = 0.0
    # How strongly a made drum part keeps the mix of kit pieces the network expects at the first sampling call
    # (model/kit_anchor.py): drawn a few cells at a time, parts drift towards the hi-hat. 0 = off, as the
    # original.
    drum_kit_anchor: float = 0.0
    # How strongly a made drum part keeps its mix of onsets on the beat, on the 8th between and on the other 16ths
    # at the first call's, half-way towards the kept pitched tracks' (model/kit_anchor.py): drawn alone, parts
    # drift into 16ths. 0 = off, as the original.
    drum_onset_anchor: float = 0.0
    # Where a window continues drums an earlier window made (generate's later windows), the two anchors aim at
    # what the network expects with those drums hidden, from the song's own material, instead of at what it
    # expects with them in view: otherwise each window's drift becomes the next one's target. False = as before.
    drum_anchor_song_only: bool = False
    # Both anchors' strengths are multiplied by this in a window that continues drums an earlier window made:
    # every drawing call there sees those drums, which pull its draws further the way they drifted, so a firmer
    # hold keeps the later windows nearer the first's density. 1 = as before.
    drum_anchor_continued_scale: float = 1.0
    # --- representation (reference §2) ---
    tracks: list[str] = field(default_factory=lambda: list(TRACKS))
    positions_per_beat: int = 4  # 16th-note columns
    vocab_file: str = "vocab.txt"
    chord_lag: int = 0  # 1 reproduces the original one-bar-late chord rows
    transpose: bool = True  # songs are moved to C major / A minor before encoding
    # --- provenance ---
    name: str = "custom"
    classes: list[str] = field(default_factory=lambda: list(INSTRUMENTS))  # classes seen in training data
    licence: str = "unknown"
    description: str = ""

    @property
    def n_real_tokens(self) -> int:
        """Tokens the network can predict (the vocabulary file's lines): K minus [EMPTY] and [MASK]."""
        return self.vocab_size - 2

    @property
    def empty_id(self) -> int:
        return self.vocab_size - 2

    @property
    def mask_id(self) -> int:
        return self.vocab_size - 1

    def check_window(self, rows: int, length: int) -> None:
        """One-line error unless a (rows, length) token window fits this model (every back end checks the same)."""
        if rows != self.n_rows:
            raise GetMusicError(f"the network expects {self.n_rows} rows, got {rows}")
        if length > self.max_length:
            raise GetMusicError(f"{length} columns exceed the model's maximum of {self.max_length} in one window")

    def to_dict(self) -> dict:
        return {"format": BUNDLE_FORMAT, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        data = dict(data)
        fmt = data.pop("format", BUNDLE_FORMAT)
        if fmt != BUNDLE_FORMAT:
            raise GetMusicError(f"unsupported model format {fmt!r} (this getmusic reads {BUNDLE_FORMAT})")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise GetMusicError(f"model config has unknown fields {unknown}: made by a newer getmusic?")
        return cls(**data)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> ModelConfig:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise GetMusicError(f"cannot read model config {path}: {exc}") from None
        return cls.from_dict(data)


def original_config() -> ModelConfig:
    """The published GETMusic network (90.7 M parameters), with its one-bar chord lag."""
    return ModelConfig(name="original", chord_lag=1, licence="MIT (microsoft/muzic)")


def debug_config(vocab_size: int = 11881) -> ModelConfig:
    """Tiny random-init model for tests: every pipeline runs on CPU in well under a second per step."""
    return ModelConfig(
        vocab_size=vocab_size,
        embed_dim=16,
        hidden_size=32,
        n_layers=2,
        n_heads=2,
        ffn_size=64,
        time_embed_dim=16,
        max_length=1536,
        train_length=256,
        band_width=127,
        dropout=0.0,
        num_timesteps=20,
        name="debug",
    )


def small_config(vocab_size: int = 11881) -> ModelConfig:
    """The size of the embedded default model: fits 2 CPU cores for training and fast generation."""
    return ModelConfig(
        vocab_size=vocab_size,
        embed_dim=32,
        hidden_size=256,
        n_layers=4,
        n_heads=4,
        ffn_size=1024,
        time_embed_dim=64,
        max_length=1536,
        train_length=256,
        band_width=127,
        dropout=0.1,
        num_timesteps=100,
        name="small",
    )


def base_config(vocab_size: int = 11881) -> ModelConfig:
    return ModelConfig(
        vocab_size=vocab_size,
        embed_dim=64,
        hidden_size=512,
        n_layers=8,
        n_heads=8,
        ffn_size=2048,
        train_length=512,
        name="base",
    )


PRESETS = {
    "original": original_config,
    "debug": debug_config,
    "small": small_config,
    "base": base_config,
}
