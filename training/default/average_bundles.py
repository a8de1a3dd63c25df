"""Average the weights of several bundles of one network (a "model soup"): every parameter is the mean of theirs.

    python training/default/average_bundles.py OUT_DIR BUNDLE_DIR BUNDLE_DIR [...]

The bundles must share the vocabulary and the network's shape (runs fine-tuned from one model do); OUT_DIR gets
the mean weights with the first bundle's config and vocabulary. Version 6 is the mean of band16, band17 and
band18, three legs from version 5 on the same data with different source weights (training/README.md).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

# Fields that may differ between the members: the rest describe the network and must match.
FREE_FIELDS = {"name", "licence", "description"}


def average(out: Path, bundles: list[Path]) -> None:
    first = bundles[0]
    configs = [json.loads((b / "config.json").read_text()) for b in bundles]
    for bundle, config in zip(bundles[1:], configs[1:]):
        if (bundle / "vocab.txt").read_bytes() != (first / "vocab.txt").read_bytes():
            raise SystemExit(f"{bundle}: another vocabulary than {first}'s")
        differ = sorted(k for k in config.keys() | configs[0].keys() if k not in FREE_FIELDS
                        and config.get(k) != configs[0].get(k))  # fmt: skip
        if differ:
            raise SystemExit(f"{bundle}: config differs from {first}'s in {differ}")
    states = [load_file(b / "model.safetensors") for b in bundles]
    if any(state.keys() != states[0].keys() for state in states):
        raise SystemExit("the bundles' networks hold different parameters")
    mean = {}
    for name, tensor in states[0].items():
        if tensor.is_floating_point():
            mean[name] = (sum(state[name].double() for state in states) / len(states)).to(tensor.dtype)
        elif all(torch.equal(state[name], tensor) for state in states):
            mean[name] = tensor
        else:
            raise SystemExit(f"integer tensor {name} differs between the bundles")
    with safe_open(first / "model.safetensors", "pt") as f:
        metadata = f.metadata()
    out.mkdir(parents=True, exist_ok=True)
    save_file(mean, out / "model.safetensors", metadata=metadata)
    shutil.copyfile(first / "vocab.txt", out / "vocab.txt")
    shutil.copyfile(first / "config.json", out / "config.json")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    average(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
