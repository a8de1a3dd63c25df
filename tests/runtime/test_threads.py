"""Thread choice: --threads, then GETMUSIC_THREADS, then OMP_NUM_THREADS, then cores capped by model size."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.model.config import debug_config, original_config, small_config
from getmusic_cli.runtime import threads
from getmusic_cli.runtime.threads import choose_threads, model_parameters

REAL_PHYSICAL_CORES = threads.physical_cores  # before the fixture replaces it


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.delenv(threads.ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "physical_cores", lambda: 8)


def test_the_order_of_choice(monkeypatch):
    big = model_parameters(original_config())
    assert choose_threads(None, big) == 8  # 85 M parameters: every core
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert choose_threads(None, big) == 3
    monkeypatch.setenv(threads.ENV, "2")
    assert choose_threads(None, big) == 2
    assert choose_threads(5, big) == 5


def test_small_models_get_few_threads_and_none_more_than_the_cores():
    assert choose_threads(None, model_parameters(debug_config())) == 1
    assert choose_threads(None, model_parameters(small_config())) == 3  # the default model's size
    assert choose_threads(None, 10**12) == 8


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_bad_values_are_one_line_errors(monkeypatch, value):
    monkeypatch.setenv(threads.ENV, value)
    with pytest.raises(GetMusicError, match=threads.ENV):
        choose_threads()


def test_physical_cores_are_within_the_affinity():
    assert 1 <= REAL_PHYSICAL_CORES() <= threads.usable_cpus()


def test_the_package_makes_idle_openmp_workers_sleep_unless_the_user_chose():
    code = "import os, sys, getmusic_cli; print(os.environ['OMP_WAIT_POLICY'], 'torch' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["PASSIVE", "False"]
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["ACTIVE", "False"]


def test_threads_reach_torch_and_the_cli_rejects_bad_ones(cli, tmp_path):
    import torch

    from getmusic_cli.hub.bundle import debug_bundle
    from getmusic_cli.runtime.loader import load_denoiser

    before = torch.get_num_threads()
    try:
        load_denoiser(debug_bundle(), device="cpu", threads=1)
        assert torch.get_num_threads() == 1
        load_denoiser(debug_bundle(), device="cpu", threads=2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    result = cli("generate", "--example", "--make", "bass", "--model", "debug", "--threads", "0", "--out-dir", tmp_path)
    assert result.exit_code != 0 and "--threads must be at least 1" in result.stderr
