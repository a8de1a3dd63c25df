"""Kit anchor: a made drum part keeps the kit the network expects before it has drawn a single drum.

Drawn a few cells at a time, a part drifts: each hi-hat drawn makes the next one likelier, so the part ends up
with more hats and fewer cymbals and percussion than the network itself expected at the first call (version 6,
Simutrans judging half: hats 1.32 x and cymbals 0.49 x the first call's expected hits; see
training/README.md). At every sampling call, each sample's drum ids get ANCHOR x the sum, over the kit pieces
an id strikes, of log(first call's expected hits of the piece / this call's expected hits), so the network
still chooses where each piece goes while the part keeps the mix the song first called for.

Where the song's own drum bars are kept around the made ones (infill), the kit of those bars, at their rate of
hits per cell, is the target instead: the first call, made before any of the new cells are drawn, expects fewer
snares than the kept bars hold. Drums the model made in an earlier window do not count: kept as the target, they
carried one window's drift into the next (training/README.md, "the kit of the kept bars").
"""

from __future__ import annotations

import torch

from getmusic_cli.score.drumkit import KIT_PIECES, kit_piece

CLAMP = 3.0  # log-odds: no piece is pushed by more than e^3 (about 20 x) either way
SMOOTH = 0.5  # hits added to both expectations, so a piece the part hardly holds is not pushed hard
MIN_KEPT_HITS = 16  # fewer kept hits than a couple of bars of 8ths say too little about the song's kit


def piece_counts(vocab, ids: torch.Tensor) -> torch.Tensor:
    """(K, pieces): how often each drum id of ids (K,) strikes each kit piece (a drum id may be a group of
    hits); ids that are no drum hit (silence, padding) strike none."""
    counts = torch.zeros((len(ids), len(KIT_PIECES)))
    first, last = vocab.pitch_range("drums")
    for k, id_ in enumerate(ids.tolist()):
        if first <= id_ <= last:
            for pitch in vocab.parse_pitch_token(vocab.token(id_))[1]:
                counts[k, KIT_PIECES.index(kit_piece(pitch))] += 1
    return counts.to(ids.device)


def kept_kit(vocab, drums: torch.Tensor, kept: torch.Tensor, made: torch.Tensor) -> torch.Tensor:
    """(B, pieces) hits the made cells would hold at the rate of the kept drum cells, NaN for a sample whose
    kept cells hold fewer than MIN_KEPT_HITS hits. DRUMS (B, L): the drum pitch row's ids; KEPT (B, L): the
    cells of the song's own drums (silent ones too); MADE (B, L): the cells being generated."""
    unique, where = drums.unique(return_inverse=True)
    hits = piece_counts(vocab, unique)[where] * kept[..., None]  # (B, L, pieces)
    per_cell = hits.sum(1) / kept.sum(1, keepdim=True).clamp(min=1)
    target = per_cell * made.sum(1, keepdim=True)
    enough = hits.sum((1, 2)) >= MIN_KEPT_HITS
    return torch.where(enough[:, None], target, torch.full_like(target, float("nan")))


def shift(first: torch.Tensor, now: torch.Tensor, anchor: float) -> torch.Tensor:
    """(B, pieces) log-odds per kit piece from the first call's and this call's expected hits (B, pieces)."""
    return (anchor * ((first + SMOOTH).log() - (now + SMOOTH).log())).clamp(-CLAMP, CLAMP)


class KitAnchor:
    """One sampling run's anchor for the drum row ROW of the scored rows, whose ids are IDS (K,) and whose
    head is HEAD; MADE (B, L) marks the drum cells being generated. KEPT (B, pieces), from kept_kit: the
    target of each sample whose row holds kept bars (NaN for the others, which keep the first call's)."""

    def __init__(self, vocab, row: int, ids: torch.Tensor, head, made: torch.Tensor, anchor: float, kept: torch.Tensor):
        self.row, self.head, self.anchor = row, head, anchor
        self.pieces = piece_counts(vocab, ids)
        self.made = made.float()
        self.kept = kept
        self.first: torch.Tensor | None = None

    def expected(self, denoiser, feats: torch.Tensor) -> torch.Tensor:
        """(B, pieces) hits the network expects over the made drum cells, from this call's features."""
        log_probs = denoiser.row_log_probs(feats[:, self.row : self.row + 1], self.head)[:, 0]  # (B, L, K)
        probs = log_probs.exp() * self.made[..., None]
        return torch.einsum("blk,kp->bp", probs, self.pieces)

    def bias(self, denoiser, feats: torch.Tensor) -> torch.Tensor:
        """(B, K) log-odds for the drum ids at this call (zero at the first)."""
        now = self.expected(denoiser, feats)
        if self.first is None:
            self.first = torch.where(self.kept.isnan(), now, self.kept)
        return shift(self.first, now, self.anchor) @ self.pieces.T
