"""Optimizer pieces of the trainer: the learning-rate schedule and the EMA of the weights.

The schedule is a pure function of the step (no scheduler object to save): linear warm-up from
``start_factor × peak`` to ``peak``, then linear decay to ``end_factor × peak`` at the last step, as in the
original's LinearDecayLRWithWarmup (3e-6 → 1e-4 → 1e-6).
"""

from __future__ import annotations

import torch

WARMUP_START_FACTOR = 0.03
END_FACTOR = 0.01


def default_warmup(total_steps: int) -> int:
    """1,000 steps as in the original, fewer for short runs (a tenth of the run)."""
    return max(1, min(1000, total_steps // 10))


def lr_at(step: int, peak: float, warmup: int, total: int) -> float:
    """Learning rate for optimizer step ``step`` (0-based)."""
    if step < warmup:
        frac = (step + 1) / warmup
        return peak * (WARMUP_START_FACTOR + (1.0 - WARMUP_START_FACTOR) * frac)
    span = max(1, total - warmup)
    frac = min(1.0, (step - warmup) / span)
    return peak * (1.0 - (1.0 - END_FACTOR) * frac)


def make_adamw(model: torch.nn.Module, lr: float) -> torch.optim.AdamW:
    """AdamW over every trainable parameter in one group (betas 0.9/0.999, weight decay 0.01)."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), weight_decay=0.01)


class EMA:
    """Exponential moving average of a model's floating-point parameters and buffers.

    The effective decay ramps up as min(decay, (1 + n) / (10 + n)) so short runs are not dominated by the
    random initialisation.
    """

    def __init__(self, model: torch.nn.Module, decay: float = 0.999):
        self.decay = decay
        self.updates = 0
        self.shadow: dict[str, torch.Tensor] = {
            k: v.detach().clone().float() for k, v in model.state_dict().items() if v.is_floating_point()
        }

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        state = model.state_dict()
        for k, s in self.shadow.items():
            s.mul_(d).add_(state[k].detach().float(), alpha=1.0 - d)
        self.updates += 1

    def state_dict(self, like: torch.nn.Module) -> dict[str, torch.Tensor]:
        """A full state_dict for ``like`` with the averaged values (dtypes of the model)."""
        out = {}
        for k, v in like.state_dict().items():
            out[k] = self.shadow[k].to(v.dtype) if k in self.shadow else v.detach().clone()
        return out

    def load(self, tensors: dict[str, torch.Tensor], updates: int) -> None:
        missing = sorted(set(self.shadow) - set(tensors))
        if missing:
            raise KeyError(f"EMA state lacks {missing[:3]}")
        for k in self.shadow:
            self.shadow[k].copy_(tensors[k])
        self.updates = updates
