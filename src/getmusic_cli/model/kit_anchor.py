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

The onset anchor does the same for where the part's hits fall: on a beat, on the 8th between, on the other
16ths. Drawn alone, the parts drift into 16ths. Its target is the first call's mix of these places, half-way
towards the mix of the onsets of the song's own kept pitched tracks in the window (drums and bass written
together share their grid: on the Simutrans judging half, the kept lead and bass are nearer each song's real
drum mix than the made drums are; training/README.md, "the drums' places from the kept tracks"). In infill,
where the song's own drum bars are kept around the made ones, their places are the target's other half instead.
"""

from __future__ import annotations

import torch

from getmusic_cli.score.drumkit import KIT_PIECES, kit_piece

CLAMP = 3.0  # log-odds: no piece is pushed by more than e^3 (about 20 x) either way
SMOOTH = 0.5  # hits added to both expectations, so a piece the part hardly holds is not pushed hard
MIN_KEPT_HITS = 16  # fewer kept hits than a couple of bars of 8ths say too little about the song's kit
N_PLACES = 3  # beat, 8th between, other 16ths
KEPT_PLACES_WEIGHT = 0.5  # the onset target: this share of the kept tracks' mix, the rest the first call's
MIN_KEPT_ONSETS = 16  # fewer kept onsets say too little about the song's grid: the first call's mix alone


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


def place_of(bar_position: torch.Tensor) -> torch.Tensor:
    """(B, L) each column's place: 0 on a quarter-note beat, 1 on the 8th between, 2 on the other 16ths."""
    return torch.where(bar_position % 4 == 0, 0, torch.where(bar_position % 2 == 0, 1, 2))


def kept_places(onsets: torch.Tensor, places: torch.Tensor) -> torch.Tensor:
    """(B, N_PLACES) share of the kept onsets ONSETS (B, L) at each place, NaN for a sample with fewer than
    MIN_KEPT_ONSETS; PLACES (B, L) from place_of."""
    counts = torch.zeros((onsets.shape[0], N_PLACES), device=onsets.device).scatter_add(1, places, onsets.float())
    total = counts.sum(1, keepdim=True)
    share = counts / total.clamp(min=1)
    return torch.where(total >= MIN_KEPT_ONSETS, share, torch.full_like(share, float("nan")))


def shift(first: torch.Tensor, now: torch.Tensor, anchor: float) -> torch.Tensor:
    """(B, pieces) log-odds per kit piece from the first call's and this call's expected hits (B, pieces)."""
    return (anchor * ((first + SMOOTH).log() - (now + SMOOTH).log())).clamp(-CLAMP, CLAMP)


class KitAnchor:
    """One sampling run's anchors for the drum row ROW of the scored rows, whose ids are IDS (K,) and whose
    head is HEAD; MADE (B, L) marks the drum cells being generated. KEPT (B, pieces), from kept_kit: the
    target of each sample whose row holds kept bars (NaN for the others, which keep the first call's).
    ANCHOR and ONSETS: the strengths of the kit and the onset anchor; PLACES (B, L) from place_of and
    KEPT_MIX (B, N_PLACES) from kept_places (NaN: the first call's mix alone)."""

    def __init__(
        self,
        vocab,
        row: int,
        ids: torch.Tensor,
        head,
        made: torch.Tensor,
        anchor: float,
        kept: torch.Tensor,
        onsets: float = 0.0,
        places: torch.Tensor | None = None,
        kept_mix: torch.Tensor | None = None,
    ):
        self.row, self.head, self.anchor, self.onsets = row, head, anchor, onsets
        self.pieces = piece_counts(vocab, ids)
        self.hit = (self.pieces.sum(1) > 0).float()  # (K,) ids that strike anything
        self.made = made.float()
        self.kept = kept
        self.places, self.kept_mix = places, kept_mix
        self.first: torch.Tensor | None = None
        self.place_target: torch.Tensor | None = None

    def _probs(self, denoiser, feats: torch.Tensor) -> torch.Tensor:
        """(B, L, K) this call's probabilities of the drum ids, zero off the made cells."""
        log_probs = denoiser.row_log_probs(feats[:, self.row : self.row + 1], self.head)[:, 0]
        return log_probs.exp() * self.made[..., None]

    def aim(self, denoiser, feats: torch.Tensor) -> None:
        """Set the targets from the expectations of the call whose features are FEATS (by default the first
        drawing call's; the sampler may aim from another look at the song first)."""
        self._aim(*self._expected(denoiser, feats))

    def bias(self, denoiser, feats: torch.Tensor) -> torch.Tensor:
        """(B, L, K) log-odds for the drum ids of each cell at this call (zero at the first, unless aimed)."""
        hits, places = self._expected(denoiser, feats)
        if self.first is None:
            self._aim(hits, places)
        out = (shift(self.first, hits, self.anchor) @ self.pieces.T)[:, None, :]
        if self.onsets:
            out = out + shift(self.place_target, places, self.onsets).gather(1, self.places)[..., None] * self.hit
        return out

    def _expected(self, denoiser, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """This call's expected hits per kit piece (B, pieces) and, with the onset anchor, per place."""
        probs = self._probs(denoiser, feats)
        hits = torch.einsum("blk,kp->bp", probs, self.pieces)
        return hits, self._place_counts(probs @ self.hit) if self.onsets else None

    def _aim(self, hits: torch.Tensor, places: torch.Tensor | None) -> None:
        self.first = torch.where(self.kept.isnan(), hits, self.kept)
        if places is not None:
            total = places.sum(1, keepdim=True)
            first_mix = places / total.clamp(min=1e-6)
            mix = KEPT_PLACES_WEIGHT * self.kept_mix + (1 - KEPT_PLACES_WEIGHT) * first_mix
            self.place_target = total * torch.where(self.kept_mix.isnan(), first_mix, mix)

    def _place_counts(self, onsets: torch.Tensor) -> torch.Tensor:
        """(B, N_PLACES) expected onsets at each place from the onset chances ONSETS (B, L)."""
        return torch.zeros((onsets.shape[0], N_PLACES), device=onsets.device).scatter_add(1, self.places, onsets)
