"""Data-parallel training: two CPU processes (gloo) launched by torchrun end with identical weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from songs import write_corpus

from getmusic_cli.model.config import debug_config
from getmusic_cli.model.network import build_network

HERE = Path(__file__).parent
SRC = HERE.parents[1] / "src"


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(HERE), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    return env


def test_two_gloo_ranks_hold_identical_weights(tmp_path):
    data = tmp_path / "songs"
    write_corpus(data, n=6, bars=8)
    out = tmp_path / "out"
    out.mkdir()
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node=2",
        str(HERE / "ddp_worker.py"),
        str(data),
        str(tmp_path / "run"),
        str(out),
    ]
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = load_file(str(out / "rank0.safetensors")), load_file(str(out / "rank1.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # The weights moved away from the shared initialisation.
    config = debug_config()
    init = build_network(config, None, seed=1).state_dict()
    assert any(not torch.equal(a[k], init[k]) for k in init if a[k].shape == init[k].shape)
    # Only rank 0 wrote: one log line per step, and the bundle.
    run = tmp_path / "run"
    steps = [
        json.loads(line)["step"]
        for line in (run / "log.jsonl").read_text().splitlines()
        if json.loads(line)["split"] == "train"
    ]
    assert steps == [1, 2, 3]
    assert (run / "bundle" / "model.safetensors").is_file()


@pytest.mark.slow
def test_cli_nproc_per_node_launches_torchrun(tmp_path):
    data = tmp_path / "songs"
    write_corpus(data, n=6, bars=8)
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "getmusic_cli",
        "train",
        str(data),
        "-o",
        str(run),
        "--config",
        "debug",
        "--steps",
        "2",
        "--batch-size",
        "2",
        "--length",
        "32",
        "--device",
        "cpu",
        "--workers",
        "0",
        "--nproc-per-node",
        "2",
    ]
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "launching 2 processes" in proc.stdout
    first = json.loads((run / "log.jsonl").read_text().splitlines()[0])
    assert first["cells_per_s"] > 0
    assert (run / "bundle" / "config.json").is_file()
