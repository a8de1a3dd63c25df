"""Per-source sampling weights: how often the windows of each top-level folder of the data folder are drawn.

A corpus built by training/build_corpus.py has one folder per collection (bach/, freedoom/, mma/, ...). A weight
w repeats a file's windows w times (w < 1 keeps an evenly spread share of them), so thousands of band renders and
a few hundred chorales can both count. Deterministic: the same data and weights give the same windows.
"""

from __future__ import annotations

import numpy as np

from getmusic_cli.errors import GetMusicError


def parse_source_weights(items) -> dict[str, float]:
    """['mma=0.5', 'bach=2'] (or 'mma=0.5,bach=2') → {'mma': 0.5, 'bach': 2.0}."""
    out: dict[str, float] = {}
    for item in items or []:
        for part in (p.strip() for p in item.split(",") if p.strip()):
            name, sep, value = part.partition("=")
            try:
                weight = float(value)
            except ValueError:
                weight = -1.0
            if not sep or not name.strip() or not 0 <= weight <= 100:
                raise GetMusicError(f"--source-weights {part!r}: write FOLDER=WEIGHT with a weight 0-100, e.g. mma=0.5")
            out[name.strip()] = weight
    return out


def source_of(rel: str) -> str:
    """The top-level folder of a file's path in the data folder ('' for files at its root)."""
    return rel.split("/", 1)[0] if "/" in rel else ""


def weighted_indices(files, weights: dict[str, float]) -> np.ndarray:
    """Train-window indices with each file's windows repeated or thinned by its folder's weight.

    ``files`` are the data set's FileEntry list in manifest order (the order the train shards were packed in).
    """
    unknown = set(weights) - {source_of(f.rel) for f in files}
    if unknown:
        raise GetMusicError(f"--source-weights: no folder named {', '.join(sorted(unknown))} in the data")
    parts, offset = [], 0
    for f in files:
        if f.split != "train" or not f.windows:
            continue
        count = int(round(f.windows * weights.get(source_of(f.rel), 1.0)))
        if count:
            parts.append(offset + (np.arange(count) * f.windows) // count)
        offset += f.windows
    if not parts:
        raise GetMusicError("--source-weights leave no training windows")
    return np.concatenate(parts)


class WeightedWindows:
    """A train WindowSet seen through weighted indices (same get/len interface)."""

    def __init__(self, windows, indices: np.ndarray):
        self.windows = windows
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def get(self, indices) -> np.ndarray:
        return self.windows.get([int(self.indices[i]) for i in indices])
