"""training/default/average_bundles.py: the mean of several bundles' weights, refused across different networks."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from getmusic_cli.hub.bundle import load_bundle, save_bundle
from getmusic_cli.model.config import debug_config
from getmusic_cli.score.vocab import Vocabulary

SCRIPT = Path(__file__).resolve().parents[2] / "training/default/average_bundles.py"
VOCAB = Vocabulary.basic()


def _bundle(path: Path, seed: int, **config_changes) -> dict[str, torch.Tensor]:
    config = dataclasses.replace(debug_config(vocab_size=VOCAB.size), name=f"leg{seed}", **config_changes)
    g = torch.Generator().manual_seed(seed)
    state = {"layer.weight": torch.randn(3, 4, generator=g), "positions": torch.arange(5)}
    save_bundle(path, config, VOCAB, state)
    return state


def _average(out: Path, *bundles: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(out), *map(str, bundles)], capture_output=True, text=True)


def test_every_weight_is_the_mean_of_the_bundles_and_the_first_gives_config_and_vocabulary(tmp_path):
    states = [_bundle(tmp_path / f"leg{s}", s) for s in (1, 2, 3)]
    done = _average(tmp_path / "soup", *(tmp_path / f"leg{s}" for s in (1, 2, 3)))
    assert done.returncode == 0, done.stderr
    soup = load_file(tmp_path / "soup/model.safetensors")
    expected = sum(s["layer.weight"] for s in states) / 3
    assert torch.allclose(soup["layer.weight"], expected, atol=1e-6)
    assert not torch.allclose(soup["layer.weight"], states[0]["layer.weight"])
    assert torch.equal(soup["positions"], torch.arange(5))
    assert load_bundle(tmp_path / "soup").config.name == "leg1"


def test_bundles_of_different_networks_are_refused(tmp_path):
    _bundle(tmp_path / "a", 1)
    _bundle(tmp_path / "b", 2, n_layers=3)
    done = _average(tmp_path / "soup", tmp_path / "a", tmp_path / "b")
    assert done.returncode != 0 and "n_layers" in done.stderr
    assert not (tmp_path / "soup").exists()
