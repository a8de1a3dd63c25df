"""Denoiser on a torch GETDiffNetwork: bf16 (else fp16) autocast on CUDA, float32 on CPU."""

from __future__ import annotations

import contextlib

import torch

from getmusic_cli.model.config import ModelConfig
from getmusic_cli.model.network import GETDiffNetwork
from getmusic_cli.runtime.base import Denoiser


class TorchDenoiser(Denoiser):
    def __init__(self, network: GETDiffNetwork, config: ModelConfig, device: torch.device):
        self.config = config
        self.device = torch.device(device)
        self.network = network.to(self.device).eval()
        self.head_weight = network.token_embedding.weight
        self.head_bias = network.head_bias

    def _autocast(self):
        if self.device.type == "cuda":
            # bf16 where the GPU has it (Ampere and later); fp16 on older cards, which lack bf16.
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            return torch.autocast("cuda", dtype=dtype)
        return contextlib.nullcontext()

    def features(self, tokens, t, condition, bar_position=None) -> torch.Tensor:
        self.network.eval()
        if bar_position is not None:
            bar_position = bar_position.to(self.device)
        with torch.inference_mode(), self._autocast():
            out = self.network(tokens.to(self.device), t.to(self.device), condition.to(self.device), bar_position)
        # Cloned outside inference mode: callers may edit the result in place.
        return out.float().clone()

    def log_probs(self, features: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return super().log_probs(features, ids)
