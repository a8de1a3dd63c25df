"""The Denoiser protocol: the only thing the sampler knows about the runtime (torch or ONNX Runtime).

A call is split in two so that the sampler does no work it throws away:

* ``features(tokens, t, condition, bar_position)`` runs the network trunk (embeddings, encoder, output projection) and
  returns one ``embed_dim`` feature vector per cell, shape ``(B, R, L, E)``;
* ``log_probs(features, ids)`` applies the tied output head restricted to the token ids ``ids`` and returns
  log-probabilities normalised over those ids, shape ``(..., len(ids))``. The sampler calls it only for the
  cells it still has to sample and only with the ids allowed in their row.

``full_log_probs`` gives the unrestricted log-probabilities over every real token (training, parity checks).
Tensors are torch tensors on ``self.device``; ONNX back ends convert at the boundary.
"""

from __future__ import annotations

import torch

from getmusic_cli.model.config import ModelConfig


class Denoiser:
    config: ModelConfig
    device: torch.device
    head_weight: torch.Tensor  # (K, E), tied with the token embedding
    head_bias: torch.Tensor  # (K,)

    def features(
        self,
        tokens: torch.Tensor,
        t: torch.Tensor,
        condition: torch.Tensor,
        bar_position: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """tokens (B, R, L) int64, t (B,) int64 in [0, T), condition (B, R, L) bool -> (B, R, L, E) float.

        bar_position (B, L) int64, each column's place in its bar: used by models with ``bar_positions``.
        """
        raise NotImplementedError

    def log_probs(self, features: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        logits = features.float() @ self.head_weight[ids].float().T + self.head_bias[ids].float()
        return torch.log_softmax(logits, dim=-1)

    def row_head(self, ids: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The head of R rows at once, gathered once per sampling run: ids and valid (R, K) -> float weights
        (R, K, E) and biases (R, K); padded entries (rows with fewer than K ids) get bias -inf."""
        with torch.no_grad():
            weight = self.head_weight[ids].float()
            bias = self.head_bias[ids].float().masked_fill(~valid, float("-inf"))
        return weight, bias

    def row_log_probs(self, features: torch.Tensor, head: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """features (B, R, L, E) with a row_head of R rows -> (B, R, L, K) log-probabilities, one batched product."""
        weight, bias = head
        with torch.no_grad():
            logits = torch.einsum("brle,rke->brlk", features.float(), weight) + bias[None, :, None, :]
            return torch.log_softmax(logits, dim=-1)

    def full_log_probs(self, features: torch.Tensor) -> torch.Tensor:
        ids = torch.arange(self.config.n_real_tokens, device=features.device)
        return self.log_probs(features, ids)
