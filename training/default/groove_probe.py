"""Groove probe: can a model fill in the missing hits of a real drum part from the rest of it?

A groove repeats, so a model that has learnt drums should predict a hidden drum cell from the same place in the
bars around it. For the first --n held-out songs of DATA_DIR (--split all: every song) that have a lead and
drums, the first window keeps the lead, hides a share of the drum columns (both rows) at the matching diffusion
step, and scores the network's most likely pitch token on the hidden cells: over all of them, and over those
where the real part plays (an empty cell is easy to guess). One network call per song and share, no sampling.

    python training/default/groove_probe.py MODEL DATA_DIR [--n 40] [--shares 0.1,0.5,0.9] [--split valid|all]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from getmusic_cli.eval.evaluate import pick_files
from getmusic_cli.hub.resolve import resolve_model
from getmusic_cli.runtime.loader import load_denoiser
from getmusic_cli.score.codec import duration_row, encode, pitch_row
from getmusic_cli.score.midi_io import read_midi
from getmusic_cli.score.timeline import positions_in_bar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--shares", default="0.1,0.5,0.9", help="shares of the drum columns hidden")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="valid", help="valid (held-out files) | all (a test set)")
    args = parser.parse_args()

    bundle = resolve_model(args.model)
    denoiser = load_denoiser(bundle, threads=1)
    vocab, config = bundle.vocab, bundle.config
    windows = []
    for f in pick_files(args.data_dir, args.split):
        song = read_midi(f.path)
        if song.notes.get("lead") and song.notes.get("drums"):
            score = encode(song, vocab)[0]
            tokens = torch.as_tensor(score.tokens[:, : config.train_length]).long()
            keep = [pitch_row("lead"), duration_row("lead"), pitch_row("drums"), duration_row("drums")]
            only = torch.full_like(tokens, vocab.empty_id)
            only[keep] = tokens[keep]  # the lead and the drums; every other track absent
            windows.append((only, torch.tensor(positions_in_bar(score.bar_starts, 0, only.shape[-1]))))
        if len(windows) == args.n:
            break
    drums = [pitch_row("drums"), duration_row("drums")]
    generator = torch.Generator().manual_seed(args.seed)
    print(f"{args.model}: {len(windows)} windows of {args.data_dir} ({args.split})")
    for share in (float(s) for s in args.shares.split(",")):
        t = round(share * (config.num_timesteps - 1))
        right = hidden = right_hits = hits = 0
        for x0, bar_position in windows:
            hide = torch.rand(x0.shape[-1], generator=generator) < share
            x_t = x0.clone()
            x_t[drums[0], hide] = x_t[drums[1], hide] = vocab.mask_id
            condition = torch.zeros_like(x0, dtype=torch.bool)
            condition[[pitch_row("lead"), duration_row("lead")]] = True
            features = denoiser.features(x_t[None], torch.tensor([t]), condition[None], bar_position[None])
            guess = denoiser.full_log_probs(features[:, drums[0]])[0].argmax(-1)
            truth = x0[drums[0]]
            played = hide & (truth != vocab.pad_id)  # <pad>: a column where the part does not start a note
            right += int((guess[hide] == truth[hide]).sum())
            hidden += int(hide.sum())
            right_hits += int((guess[played] == truth[played]).sum())
            hits += int(played.sum())
        print(
            f"hidden {share:.0%} (t={t}): {right / max(hidden, 1):.3f} of hidden cells right, "
            f"{right_hits / max(hits, 1):.3f} of hidden hits ({hits})"
        )


if __name__ == "__main__":
    main()
