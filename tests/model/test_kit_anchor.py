"""The kit anchor: a made drum part keeps the mix of kit pieces the network expects at the first call."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import torch
from test_sampler import VOCAB, FakeDenoiser, _task

from getmusic_cli.model.kit_anchor import (
    CLAMP,
    MIN_KEPT_HITS,
    MIN_KEPT_ONSETS,
    KitAnchor,
    kept_kit,
    kept_places,
    piece_counts,
    place_of,
    shift,
)
from getmusic_cli.model.sampler import SamplerOptions, sample
from getmusic_cli.score.drumkit import KIT_PIECES
from getmusic_cli.score.tracks import pitch_row

KICK, SNARE, HAT, CYMBAL = (KIT_PIECES.index(p) for p in ("kick", "snare", "hat", "cymbal"))
DRUMS = pitch_row("drums")


def test_piece_counts_count_every_piece_a_drum_id_strikes():
    vocab = VOCAB.build({"drums": Counter({(36, 42): 5, (36, 38, 49): 3})})
    ids = torch.as_tensor(
        [vocab.id(t) for t in ("D164 170", "D164 166 177", "D170", "D209")] + [vocab.pad_id, vocab.id("D")]
    )
    counts = piece_counts(vocab, ids)
    assert counts[0].tolist() == [1, 0, 1, 0, 0, 0]  # kick + closed hat
    assert counts[1].tolist() == [1, 1, 0, 0, 1, 0]  # kick + snare + crash
    assert counts[2, HAT] == 1 and counts[2].sum() == 1
    assert counts[3, KIT_PIECES.index("other")] == 1  # GM 81, open triangle
    assert counts[4:].sum() == 0  # silence and a chord root strike nothing


def test_kept_kit_scales_the_song_drums_hits_to_the_made_cells():
    vocab = VOCAB.build({"drums": Counter({(36, 38): 5})})
    kick_snare, hat = vocab.id("D164 166"), vocab.id("D170")
    drums = torch.full((3, 40), vocab.pad_id)  # silent where nothing is written
    made = torch.zeros((3, 40), dtype=torch.bool)
    made[:, 20:30] = True  # 10 cells to make
    kept = torch.zeros((3, 40), dtype=torch.bool)
    kept[:, :20] = True  # the song's own drums; cells 30-39 hold an earlier window's, which do not count
    drums[:, 30:] = hat
    drums[0, :20:2] = kick_snare  # sample 0: 20 kept cells, 10 kick + 10 snare + 10 hat hits
    drums[0, 1:20:2] = hat
    drums[1, : MIN_KEPT_HITS - 1] = hat  # sample 1: too few kept hits to say what the kit is
    kept[2] = False  # sample 2: no drums of the song's own
    target = kept_kit(vocab, drums, kept, made)
    assert torch.allclose(target[0], torch.tensor([5.0, 5.0, 5.0, 0, 0, 0]))  # half a hit of each per cell
    assert target[1:].isnan().all()


def test_shift_pushes_each_piece_back_towards_the_first_calls_expectation():
    first = torch.tensor([[10.0, 4.0, 10.0, 0.0, 5.0, 0.0]])
    now = torch.tensor([[10.0, 4.0, 20.0, 0.0, 1.0, 0.0]])
    s = shift(first, now, 1.0)[0]
    assert s[KICK] == 0 and s[SNARE] == 0
    assert s[HAT] < 0 < s[CYMBAL]
    assert torch.allclose(shift(first, now, 2.0), 2 * shift(first, now, 1.0))
    assert shift(torch.tensor([[1000.0]]), torch.tensor([[0.0]]), 1.0).item() == CLAMP


class _Probs:
    """A network whose drum row gives the log-probabilities passed as features."""

    def row_log_probs(self, features, head):
        return features


def test_the_anchor_is_silent_at_the_first_call_and_then_opposes_the_drift():
    ids = torch.as_tensor([VOCAB.pad_id, VOCAB.id("D164"), VOCAB.id("D170"), VOCAB.id("D177")])  # -, kick, hat, crash
    anchor = KitAnchor(VOCAB, 0, ids, None, torch.ones((1, 8)), 1.0, torch.full((1, 6), float("nan")))

    def call(p):
        return anchor.bias(_Probs(), torch.tensor(p).log().expand(1, 1, 8, 4))

    assert torch.equal(call([0.4, 0.2, 0.2, 0.2]), torch.zeros(1, 1, 4))  # alike over the cells
    bias = call([0.4, 0.2, 0.35, 0.05])[0, 0]  # the hat grows at the crash's cost
    assert bias[0] == 0 and abs(bias[1]) < 1e-6
    assert bias[2] < 0 < bias[3]


def _kit_shares(ids: torch.Tensor) -> torch.Tensor:
    counts = piece_counts(VOCAB, ids.reshape(-1)).sum(0)
    return counts / counts.sum()


def test_made_drums_keep_the_first_calls_kit_and_nothing_else_changes():
    """The fake network's drum distribution drifts with t; with the anchor the drawn kit is nearer what its
    first call expected than without it. Without drums to make, the anchor changes nothing."""
    tokens, condition = _task(b=256)
    den = FakeDenoiser()

    def made(anchor: float) -> torch.Tensor:
        return sample(den, VOCAB, tokens, condition, SamplerOptions(steps=6, seed=0, kit_anchor=anchor))

    plain, anchored = made(0.0), made(1.0)
    ids = torch.as_tensor(VOCAB.allowed_ids(DRUMS))
    first = torch.softmax(
        den.cell_features(tokens.shape[-1], den.config.num_timesteps - 1)[DRUMS] @ den.head_weight[ids].T, -1
    )
    expected = first[: tokens.shape[-1] - 4].sum(0) @ piece_counts(VOCAB, ids)  # the made columns
    expected = expected / expected.sum()
    tv = lambda shares: 0.5 * float((shares - expected).abs().sum())  # noqa: E731
    # One log-odds step per call is a first-order fix: nearer, not exact.
    assert tv(_kit_shares(anchored[:, DRUMS])) < 0.8 * tv(_kit_shares(plain[:, DRUMS]))

    bass_only = tokens.clone()
    bass_only[:, 4:6] = VOCAB.empty_id
    again = [sample(den, VOCAB, bass_only, condition, SamplerOptions(steps=6, seed=0, kit_anchor=a)) for a in (0, 1)]
    assert torch.equal(again[0], again[1])
    # The model's setting is the default of a run.
    den_anchored = FakeDenoiser()
    den_anchored.config = dataclasses.replace(den_anchored.config, drum_kit_anchor=1.0)
    assert torch.equal(sample(den_anchored, VOCAB, tokens, condition, SamplerOptions(steps=6, seed=0)), anchored)


def test_kept_drum_bars_set_the_kit_of_the_made_ones():
    """Infill-like: the first 32 of 64 drum cells are kept. Kept bars full of snares pull the made cells
    towards snares; kept bars that are silent say nothing, and the first call's kit is kept instead."""
    length = 64
    tokens = torch.full((64, 14, length), VOCAB.empty_id)
    condition = torch.zeros(tokens.shape, dtype=torch.bool)
    for row in (0, 1, 12, 13):  # a lead and chords, all one token each
        tokens[:, row], condition[:, row] = int(VOCAB.allowed_ids(row)[1]), True
    snare, duration = VOCAB.id("D166"), int(VOCAB.allowed_ids(DRUMS + 1)[1])
    den = FakeDenoiser()

    def made(kept_id: int, songs_own: bool = True) -> torch.Tensor:
        t, c = tokens.clone(), condition.clone()
        t[:, DRUMS : DRUMS + 2] = VOCAB.mask_id
        t[:, DRUMS, :32], t[:, DRUMS + 1, :32] = kept_id, duration
        c[:, DRUMS : DRUMS + 2, :32] = True
        song = c.clone()
        if not songs_own:  # as if an earlier window had made the kept drums
            song[:, DRUMS : DRUMS + 2] = False
        out = sample(den, VOCAB, t, c, SamplerOptions(steps=6, seed=0, kit_anchor=1.0), song_cells=song)
        return out[:, DRUMS, 32:]

    def snare_share(ids: torch.Tensor) -> float:
        counts = piece_counts(VOCAB, ids.reshape(-1)).sum(0)
        return float(counts[SNARE] / counts.sum())

    assert snare_share(made(snare)) > snare_share(made(VOCAB.pad_id)) + 0.2
    # Snares an earlier window made are no target: the first call's kit is kept, as over silent bars.
    assert torch.equal(made(snare, songs_own=False), made(VOCAB.pad_id))


def test_places_and_the_kept_tracks_mix_of_them():
    places = place_of(torch.arange(16)[None])
    assert places[0].tolist() == [0, 2, 1, 2] * 4  # beat, 16th, 8th between, 16th
    onsets = torch.zeros((2, 32), dtype=torch.bool)
    onsets[0, ::2] = True  # 8ths: 8 on beats, 8 between
    onsets[1, :: 4 * MIN_KEPT_ONSETS] = True  # too few to say what the song's grid is
    mix = kept_places(onsets, place_of(torch.arange(32)[None] % 16).expand(2, -1))
    assert mix[0].tolist() == [0.5, 0.5, 0.0]
    assert mix[1].isnan().all()


def test_the_onset_anchor_aims_half_way_to_the_kept_tracks_places():
    """Every cell has the same chances, so the first call's onsets are spread as the places are (4 beats, 4
    8ths, 8 16ths of 16). The kept tracks play on beats only: the target moves half-way towards them, so hits
    are pushed onto the beats and off the 16ths at once, and the silent id is left alone."""
    ids = torch.as_tensor([VOCAB.pad_id, VOCAB.id("D164"), VOCAB.id("D170")])  # -, kick, hat
    places = place_of(torch.arange(16)[None])
    on_beats = torch.tensor([[1.0, 0.0, 0.0]])
    nan = torch.full((1, 6), float("nan"))
    anchor = KitAnchor(VOCAB, 0, ids, None, torch.ones((1, 16)), 0.0, nan, 1.0, places, on_beats)
    even = torch.tensor([0.5, 0.25, 0.25]).log().expand(1, 1, 16, 3)
    bias = anchor.bias(_Probs(), even)[0]
    assert torch.equal(bias[:, 0], torch.zeros(16))
    assert torch.equal(bias[:, 1], bias[:, 2])  # a hit is a hit, whatever the piece
    assert bias[0, 1] > 0 > bias[2, 1] and bias[1, 1] < 0  # beat up; 8th between and 16th down
    # Without a kept mix the target is the first call's own: nothing to push at the first call.
    no_mix = torch.full((1, 3), float("nan"))
    alone = KitAnchor(VOCAB, 0, ids, None, torch.ones((1, 16)), 0.0, nan, 1.0, places, no_mix)
    assert torch.equal(alone.bias(_Probs(), even), torch.zeros(1, 16, 3))


def _beat_share(drums: torch.Tensor) -> float:
    hits = (piece_counts(VOCAB, drums.reshape(-1)).sum(1) > 0).reshape(drums.shape)
    return float(hits[:, ::4].sum() / hits.sum())


def test_made_drums_follow_the_kept_tracks_onto_the_beats():
    """A lead that starts its notes on the beats only: with the onset anchor the made drums put a larger share
    of their hits on the beats. Without drums to make, nothing changes."""
    length = 64  # 16 beats: enough kept onsets to say where the song's notes fall
    g = torch.Generator().manual_seed(0)
    tokens = torch.full((32, 14, length), VOCAB.empty_id)
    condition = torch.zeros(tokens.shape, dtype=torch.bool)
    for row in (0, 1, 12, 13):  # lead and chords, no silent cells
        ids = torch.as_tensor(VOCAB.allowed_ids(row))
        tokens[:, row] = ids[torch.randint(1, len(ids), (32, length), generator=g)]
        condition[:, row] = True
    tokens[:, 0, [c for c in range(length) if c % 4]] = VOCAB.pad_id  # the lead holds between beats
    tokens[:, 2:6] = VOCAB.mask_id
    den, anchored = FakeDenoiser(), FakeDenoiser()
    anchored.config = dataclasses.replace(den.config, drum_onset_anchor=1.0)
    for d in (den, anchored):  # softer chances, silence about as likely as a hit, so that hits can move
        d.head_weight *= 0.1
        d.head_bias[VOCAB.pad_id] = math.log(len(VOCAB.allowed_ids(DRUMS)))
    options = SamplerOptions(steps=6, seed=0)
    plain, onsets = (sample(d, VOCAB, tokens, condition, options) for d in (den, anchored))
    assert _beat_share(onsets[:, DRUMS]) > _beat_share(plain[:, DRUMS]) + 0.1

    bass_only = tokens.clone()
    bass_only[:, 4:6] = VOCAB.empty_id
    assert torch.equal(*(sample(d, VOCAB, bass_only, condition, options) for d in (den, anchored)))


def test_in_infill_the_kept_drum_bars_set_the_places():
    """The first 64 of 96 drum cells are kept. Kept drums on the beats pull the made cells' hits onto the beats,
    though the lead starts a note on every 16th; kept drum bars that are silent leave the lead's places."""
    length = 96
    g = torch.Generator().manual_seed(0)
    tokens = torch.full((32, 14, length), VOCAB.empty_id)
    condition = torch.zeros(tokens.shape, dtype=torch.bool)
    for row in (0, 1, 12, 13):  # a lead starting a note in every cell, and chords
        ids = torch.as_tensor(VOCAB.allowed_ids(row))
        tokens[:, row] = ids[torch.randint(1, len(ids), (32, length), generator=g)]
        condition[:, row] = True
    kick, duration = VOCAB.id("D164"), int(VOCAB.allowed_ids(DRUMS + 1)[1])
    den = FakeDenoiser()
    den.config = dataclasses.replace(den.config, drum_onset_anchor=1.0)
    den.head_weight *= 0.1
    den.head_bias[VOCAB.pad_id] = math.log(len(VOCAB.allowed_ids(DRUMS)))

    def made(on_beats: bool) -> torch.Tensor:
        t, c = tokens.clone(), condition.clone()
        t[:, DRUMS : DRUMS + 2] = VOCAB.mask_id
        t[:, DRUMS, :64], t[:, DRUMS + 1, :64] = VOCAB.pad_id, duration
        if on_beats:
            t[:, DRUMS, :64:4] = kick  # 16 hits, all on beats
        c[:, DRUMS : DRUMS + 2, :64] = True
        return sample(den, VOCAB, t, c, SamplerOptions(steps=6, seed=0, kit_anchor=0.0))[:, DRUMS, 64:]

    assert _beat_share(made(True)) > _beat_share(made(False)) + 0.1


class _HatsBreedHats(FakeDenoiser):
    """A network that expects more hi-hats wherever it sees hi-hats in the drum row (drift that compounds)."""

    pull = 30.0  # log-odds scale of the pull (the fake kit is mostly "other" pieces: hats are rare without it)

    def features(self, tokens, t, condition, bar_position=None):
        feats = super().features(tokens, t, condition, bar_position)
        hat = self.head_weight[VOCAB.id("D170")]
        seen = ((tokens[:, DRUMS] == VOCAB.id("D170")) & condition[:, DRUMS]).float().mean(1)  # (B,)
        feats[:, DRUMS] += self.pull * seen[:, None, None] * hat / hat.norm()
        return feats


def _hats_from_an_earlier_window(batch: int, seed: int):
    """(tokens, condition, song cells) of a 64-cell window: random lead and chords, the first 32 drum cells
    holding hi-hats an earlier window made (kept, but not the song's own), the other 32 to be made."""
    length = 64
    g = torch.Generator().manual_seed(seed)
    tokens = torch.full((batch, 14, length), VOCAB.empty_id)
    condition = torch.zeros(tokens.shape, dtype=torch.bool)
    for row in (0, 1, 12, 13):  # lead and chords
        ids = torch.as_tensor(VOCAB.allowed_ids(row))
        tokens[:, row] = ids[torch.randint(1, len(ids), (batch, length), generator=g)]
        condition[:, row] = True
    tokens[:, DRUMS : DRUMS + 2] = VOCAB.mask_id
    tokens[:, DRUMS, :32], tokens[:, DRUMS + 1, :32] = VOCAB.id("D170"), int(VOCAB.allowed_ids(DRUMS + 1)[1])
    condition[:, DRUMS : DRUMS + 2, :32] = True
    song = condition.clone()
    song[:, DRUMS : DRUMS + 2] = False
    return tokens, condition, song


def test_a_continued_window_aims_at_what_the_song_alone_calls_for():
    """The first 32 of 64 drum cells hold hi-hats an earlier window made. Aimed with them in view, the anchor
    keeps the hat-heavy kit the network then expects; aimed from the song alone (those hats hidden in one extra
    call), the made cells hold fewer hats. The song's own kept drums are never hidden."""
    tokens, condition, song = _hats_from_an_earlier_window(64, seed=0)

    def made(song_only: bool, cells=song) -> tuple[torch.Tensor, _HatsBreedHats]:
        den = _HatsBreedHats()
        den.config = dataclasses.replace(den.config, drum_kit_anchor=1.0, drum_anchor_song_only=song_only)
        out = sample(den, VOCAB, tokens, condition, SamplerOptions(steps=6, seed=0), song_cells=cells)
        return out[:, DRUMS, 32:], den

    (plain, den_plain), (aimed, den_aimed) = made(False), made(True)
    assert _kit_shares(aimed)[HAT] < 0.6 * _kit_shares(plain)[HAT]
    assert len(den_aimed.calls) == len(den_plain.calls) + 1
    first = den_aimed.calls[0][0]
    assert (first[:, DRUMS : DRUMS + 2, :32] == VOCAB.mask_id).all()
    # Kept drums that are the song's own stay in view: no extra call, the same parts.
    assert torch.equal(made(True, condition)[0], made(False, condition)[0])


def test_continued_windows_hold_the_anchors_by_the_configured_scale():
    """Where the drums continue an earlier window's, the anchors' strengths are scaled by
    drum_anchor_continued_scale: the same draws as doubled anchors. The song's own kept drums are not scaled."""
    tokens, condition, song_cells = _hats_from_an_earlier_window(16, seed=1)

    def made(scale: float, strength: float, song=song_cells) -> torch.Tensor:
        den = _HatsBreedHats()
        den.config = dataclasses.replace(
            den.config, drum_kit_anchor=1.0, drum_onset_anchor=1.0, drum_anchor_continued_scale=scale
        )
        options = SamplerOptions(steps=6, seed=0, kit_anchor=strength, onset_anchor=strength)
        return sample(den, VOCAB, tokens, condition, options, song_cells=song)[:, DRUMS, 32:]

    doubled = made(1.0, 2.0)
    assert not torch.equal(doubled, made(1.0, 1.0))  # the strength matters here
    assert torch.equal(made(2.0, 1.0), doubled)
    assert torch.equal(made(2.0, 1.0, song=condition), made(1.0, 1.0, song=condition))
