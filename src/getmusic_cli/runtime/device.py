"""Pick the torch device the user asked for, with a one-line error when it cannot be had."""

from __future__ import annotations

import torch

from getmusic_cli.errors import GetMusicError


def select_device(name: str = "auto") -> torch.device:
    """ "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N"."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            why = "this torch build has no CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise GetMusicError(f"CUDA was asked for but is not available ({why})", cli_hint="use --device cpu")
        try:
            device = torch.device(name)
        except RuntimeError:
            raise GetMusicError(f"bad device name {name!r} (use auto, cpu, cuda or cuda:N)") from None
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise GetMusicError(f"{name} asked for but only {torch.cuda.device_count()} CUDA GPU(s) are visible")
        return device
    raise GetMusicError(f"unknown device {name!r} (use auto, cpu, cuda or cuda:N)")
