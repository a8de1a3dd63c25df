"""A damaged checkpoint is refused with one line; resume falls back to the previous, intact one."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch
from songs import write_corpus
from test_trainer import options

from getmusic_cli.errors import GetMusicError
from getmusic_cli.train.checkpoint import (
    CHECKPOINT_NAME,
    load_checkpoint,
    load_latest_good,
    previous_path,
    save_checkpoint,
)
from getmusic_cli.train.trainer import train


def zero_tail(path: Path, n: int = 64) -> None:
    """Zero the last bytes of the file: tensor data, the header still parses (what a bad disk sector does)."""
    data = bytearray(path.read_bytes())
    data[-n:] = bytes(n)
    path.write_bytes(bytes(data))


def test_zeroed_tensor_bytes_are_refused_and_the_previous_checkpoint_is_kept(tmp_path):
    path = tmp_path / CHECKPOINT_NAME
    save_checkpoint(path, {"w": torch.arange(64, dtype=torch.float32)}, {"step": 1})
    assert not previous_path(path).exists()
    save_checkpoint(path, {"w": torch.arange(64, dtype=torch.float32) * 2}, {"step": 2})
    assert load_checkpoint(previous_path(path))[1]["step"] == 1
    zero_tail(path)
    with pytest.raises(GetMusicError, match="damaged") as caught:
        load_checkpoint(path)
    assert len(str(caught.value).splitlines()) == 1
    tensors, state, note = load_latest_good(path)
    assert state["step"] == 1 and torch.equal(tensors["w"], torch.arange(64, dtype=torch.float32))
    assert "previous checkpoint" in note
    zero_tail(previous_path(path))
    with pytest.raises(GetMusicError, match="damaged"):
        load_latest_good(path)


def test_resume_after_damage_continues_from_the_previous_checkpoint(tmp_path):
    corpus = tmp_path / "songs"
    corpus.mkdir()
    write_corpus(corpus, n=8, bars=8)
    run = tmp_path / "run"

    def interrupt(step: int) -> None:
        if step == 3:
            signal.raise_signal(signal.SIGINT)

    cut = train(options(corpus, run, save_every=2, on_step=interrupt))
    assert cut.interrupted and cut.step == 3
    assert load_checkpoint(previous_path(run / CHECKPOINT_NAME))[1]["step"] == 2
    zero_tail(run / CHECKPOINT_NAME)
    resumed = train(options(corpus, run, resume=True))
    assert resumed.step == 6 and not resumed.interrupted
