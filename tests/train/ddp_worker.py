"""Run under torchrun by test_ddp.py: train a few steps, then every rank saves the weights it holds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from getmusic_cli.train.trainer import TrainOptions, train

data, run, out = map(Path, sys.argv[1:4])
torch.set_num_threads(1)
result = train(
    TrainOptions(
        data_dir=data,
        run_dir=run,
        config="debug",
        steps=3,
        batch_size=2,
        length=32,
        device="cpu",
        seed=1,
        eval_every=100,
        save_every=100,
        log_every=1,
        valid_batches=1,
        workers=0,
    )
)
state = {k: v.detach().contiguous() for k, v in result.network.state_dict().items()}
state.update({f"ema.{k}": v.contiguous() for k, v in result.ema.shadow.items()})
save_file(state, str(out / f"rank{os.environ['RANK']}.safetensors"))
