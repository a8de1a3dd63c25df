"""The small pure pieces of training: split rule, windows, LR schedule, EMA, checkpoint file, step sharding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from getmusic_cli.errors import GetMusicError
from getmusic_cli.train import distributed as dd
from getmusic_cli.train.checkpoint import (
    flatten_optimizer,
    load_checkpoint,
    save_checkpoint,
    unflatten_optimizer,
    unique_state,
)
from getmusic_cli.train.optim import EMA, lr_at
from getmusic_cli.train.sources import assign_splits, hash_fraction
from getmusic_cli.train.windows import cut_windows, split_bar_positions, window_starts

PAD, EMPTY = 15, 999


def test_split_is_by_hash_and_never_leaves_valid_empty():
    hashes = [f"{i:064x}" for i in range(1, 60)]
    first = assign_splits(hashes, 0.05)
    assert assign_splits(list(reversed(hashes)), 0.05) == first  # order does not matter
    assert "valid" in first.values() and "train" in first.values()
    # A piece's split does not change when unrelated pieces are added (above the fallback).
    more = assign_splits(hashes + [f"{i:064x}" for i in range(10**6, 10**6 + 50)], 0.05)
    assert all(more[h] == first[h] for h in hashes if hash_fraction(h) >= 0.05 or first[h] == "valid")
    assert assign_splits(["ab" * 32]) == {"ab" * 32: "train"}  # a single piece trains


def test_window_starts_follow_bar_lines():
    bars = list(range(0, 200, 12))  # 3/4: 12 columns per bar
    starts = window_starts(200, 64, 32, bars)
    assert starts[0] == 0
    assert all(s in bars for s in starts)
    assert starts[-1] + 64 >= 200
    assert all(0 < b - a <= 32 for a, b in zip(starts, starts[1:]))


def _song(n_cols: int) -> np.ndarray:
    tokens = np.full((14, n_cols), PAD, dtype=np.int64)
    tokens[0, ::4] = 100  # lead plays throughout
    tokens[1, ::4] = 3
    tokens[2, : n_cols // 2 : 8] = 200  # bass only in the first half
    tokens[3, : n_cols // 2 : 8] = 5
    tokens[4:12] = EMPTY  # drums..strings absent
    tokens[12:14] = EMPTY  # no chords
    return tokens


def test_cut_windows_empties_silent_tracks_and_drops_single_track_windows():
    wins = cut_windows(_song(256), list(range(0, 256, 16)), 64, 32, PAD, EMPTY, min_tracks=2)
    # Windows in the second half hold the lead only: dropped.
    assert len(wins) == 4  # starts 0, 32, 64, 96 (96 still overlaps bass up to column 127)
    assert (wins[:, 4:14] == EMPTY).all()
    assert (wins[:, 0] != EMPTY).all()
    last = cut_windows(_song(100), [0, 16, 32, 48, 64, 80, 96], 64, 48, PAD, EMPTY, min_tracks=1)
    assert (last[-1][:14, 100 - 48 :] == EMPTY).all()  # past the end of the song: [EMPTY]


def test_windows_carry_each_columns_place_in_its_bar():
    # A 4/4 bar, then 3/4 bars (12 columns); the window starting at column 16 begins on a 3/4 downbeat.
    bars = [0, 16, 28, 40, 52, 64, 76, 88]
    wins = cut_windows(_song(100), bars, 64, 16, PAD, EMPTY, min_tracks=1)
    _, positions = split_bar_positions(wins)
    assert positions[0, :20].tolist() == list(range(16)) + [0, 1, 2, 3]
    assert positions[1, :13].tolist() == list(range(12)) + [0]
    # Past the song's end (column 100) the last bar's length keeps counting.
    last_start = window_starts(100, 64, 16, bars)[-1]
    assert last_start + 64 > 100 and positions[-1, -1] == (last_start + 63 - 88) % 12


def test_lr_schedule_warms_up_then_decays():
    lrs = [lr_at(s, 1e-3, 10, 100) for s in range(100)]
    assert lrs[0] < lrs[5] < lrs[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lrs[-1] == pytest.approx(1e-3 * (1 - 0.99 * 89 / 90))


def test_ema_tracks_weights():
    model = torch.nn.Linear(3, 2)
    ema = EMA(model, decay=0.5)
    with torch.no_grad():
        model.weight.add_(1.0)
    for _ in range(50):
        ema.update(model)
    assert torch.allclose(ema.state_dict(model)["weight"], model.weight, atol=1e-6)


def test_checkpoint_roundtrip_and_corruption(tmp_path):
    model = torch.nn.Linear(4, 4)
    tied = torch.nn.Module()
    tied.a = model
    tied.b = torch.nn.Linear(4, 4)
    tied.b.weight = model.weight  # aliased like the tied head
    opt = torch.optim.AdamW(tied.parameters(), lr=1e-3)
    tied.b(tied.a(torch.randn(2, 4))).sum().backward()
    opt.step()
    tensors, meta = flatten_optimizer(opt.state_dict())
    state = {k: v for k, v in unique_state(tied.state_dict()).items()}
    assert len(state) == len(tied.state_dict()) - 1
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, {**{f"m.{k}": v for k, v in state.items()}, **tensors}, {"step": 7, "optimizer": meta})
    loaded, st = load_checkpoint(path)
    assert st["step"] == 7
    restored = unflatten_optimizer(loaded, st["optimizer"])
    opt2 = torch.optim.AdamW(tied.parameters(), lr=1e-3)
    opt2.load_state_dict(restored)
    for k, v in opt.state_dict()["state"][0].items():
        assert torch.equal(torch.as_tensor(v), torch.as_tensor(opt2.state_dict()["state"][0][k]))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(GetMusicError, match="corrupted"):
        load_checkpoint(path)
    assert not list(tmp_path.glob(".*tmp*"))


def test_step_sharder_partitions_each_global_batch():
    ranks = [dd.StepSharder(12, 3, seed=4, info=dd.DistInfo(rank=r, world_size=2)) for r in range(2)]
    for epoch in range(3):
        seen = [i for step in (2 * epoch, 2 * epoch + 1) for r in ranks for i in r.indices(step)]
        assert sorted(seen) == list(range(12))  # every window once per epoch, no rank overlap
    assert ranks[0].indices(0) != ranks[0].indices(2)  # each epoch has its own order
    again = dd.StepSharder(12, 3, seed=4, info=dd.DistInfo(rank=1, world_size=2))
    assert again.indices(5) == ranks[1].indices(5)  # a resumed run finds the same windows from the step
