"""Inference sampler (reference §5.5): confidence-weighted unmasking, then one final joint resample.

The grid holds condition tokens, [MASK] for cells to generate and [EMPTY] for absent regions. Over the
first S-1 network calls every instrument track unmasks a scheduled number of its masked cells (chosen by
confidence, or uniformly at random when the model's ``unmask_order`` is "random"); the last call resamples
every generated cell jointly from the network's p(x_0 | x_1), as the original does. A model whose config sets
``pitch_top_p`` has each pitched cell's notes narrowed to their nucleus before a draw (rests and drums are
left as the network gives them). A model whose config sets ``drum_repeat_bias`` has every drum draw favour the
hit the same place in the neighbouring bars holds, and one that sets ``drum_kit_anchor`` has every drum draw keep
the kit the first call expected, or that of the song's own kept drum bars, and one that sets
``drum_onset_anchor`` keeps the drums' share of hits on beats, 8ths and 16ths half-way between the first call's
and the kept tracks' (model/kit_anchor.py). A model whose
config sets ``drum_refine_passes`` then makes that many more calls, each hiding REFINE_SHARE of the made drum
columns again and redrawing them given the rest.
Only the ids allowed in a row are ever scored (Denoiser.row_log_probs), and only in rows that hold cells to
generate.

Every call is one batched selection over all samples, tracks and rows: the unmask schedule is planned on the
host before the loop, so nothing inside a step waits for the device. Choosing n cells without replacement with
probabilities proportional to softmax(confidence) is done as the n largest confidence + Gumbel keys per track
(the Gumbel-top-k identity), which has the same distribution as drawing them one after another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from getmusic_cli.model.kit_anchor import MIN_KEPT_ONSETS, KitAnchor, kept_kit, kept_places, place_of
from getmusic_cli.score.timeline import positions_in_bar
from getmusic_cli.score.tracks import INSTRUMENTS, pitch_row

CHORD_ROWS = (12, 13)
DRUM_PITCH_ROW = pitch_row("drums")
UNMASK_ORDERS = ("confidence", "random")
N_INSTRUMENT_TRACKS = 6
# Share of the made drum columns each refinement pass hides and redraws (0.1 and 0.3 did about as well).
REFINE_SHARE = 0.2


@dataclass
class SamplerOptions:
    steps: int | None = None  # network calls; None = the model's num_timesteps
    temperature: float = 1.0  # <= 0 means argmax
    top_p: float = 1.0
    seed: int | None = None
    # Row -> the ids the sampler may draw in that row (e.g. a class's playable range); None, or a row missing,
    # means vocab.allowed_ids(row).
    allowed_ids: dict[int, Sequence[int]] | None = None
    drum_repeat: float | None = None  # log-odds of the drum repeat bias; None = the model's drum_repeat_bias
    kit_anchor: float | None = None  # strength of the kit anchor; None = the model's drum_kit_anchor
    onset_anchor: float | None = None  # strength of the onset anchor; None = the model's drum_onset_anchor


def timesteps(n_timesteps: int, steps: int) -> list[int]:
    """Timestep of each network call: evenly from T-1 down to 0 (a single call uses T-1).

    With S = T this is the original's T-1, ..., 1, 0. With fewer calls, unmasking call k (of S-1) sees a
    masked share 1 - k/(S-1) of the target cells, and t_k = (T-1)(1 - k/(S-1)) is the step whose
    cumulative mask probability (linear in t, reference §5.1) matches that share; the last call is t = 0.
    """
    if steps == 1:
        return [n_timesteps - 1]
    return [int(round(v)) for v in np.linspace(n_timesteps - 1, 0, steps)]


def network_calls(config, steps: int) -> int:
    """Calls one sample() makes with STEPS sampling steps: the steps, then the model's drum refinement passes."""
    return steps + int(config.drum_refine_passes)


def unmask_schedule(n_cells: int, n_calls: int) -> list[int]:
    """Cells to unmask at each of n_calls calls: floor(n / calls) each, the remainder spread from the start."""
    if n_calls <= 0:
        return []
    counts = [n_cells // n_calls] * n_calls
    left = n_cells - sum(counts)
    while left > 0:
        stride = -(-n_calls // left)  # ceil: spread evenly, first call first
        for i in range(0, n_calls, stride):
            if left == 0:
                break
            counts[i] += 1
            left -= 1
    return counts


def same_place_columns(bar_position: torch.Tensor) -> torch.Tensor:
    """(B, L, 2): for each column, the column at the same place in the bar before and in the bar after; -1 where
    that bar is outside the window or has no such place (a 3/4 bar has no 4th beat)."""
    pos = bar_position.cpu().numpy()
    length = pos.shape[1]
    out = np.full((*pos.shape, 2), -1, dtype=np.int64)
    columns = np.arange(length)
    for b, row in enumerate(pos):
        # Each bar's first column in the window (a window may open inside a bar) and the place it holds.
        first = np.union1d([0], np.flatnonzero(row == 0))
        ends = np.append(first[1:], length)
        bar = np.searchsorted(first, columns, side="right") - 1
        for j, step in enumerate((-1, 1)):
            other = (bar + step).clip(0, len(first) - 1)
            col = first[other] + row - row[first[other]]
            ok = (bar + step >= 0) & (bar + step < len(first)) & (col >= first[other]) & (col < ends[other])
            out[b, ok, j] = col[ok]
    return torch.as_tensor(out, device=bar_position.device)


def _neighbour_hits(cur: torch.Tensor, row_index: torch.Tensor, same_place: torch.Tensor, pad_id: int) -> torch.Tensor:
    """(B, n_r, L, 2): the ids the same place one bar before and after holds in each scored drum row; -1 for
    pitched rows, silences ([PAD]), cells still masked and places outside the window."""
    b_size, n_r, length = cur.shape[0], len(row_index), cur.shape[-1]
    rows = cur[:, row_index]
    ids = rows.gather(2, same_place.clamp_min(0).reshape(b_size, 1, -1).expand(-1, n_r, -1)).reshape(
        b_size, n_r, length, 2
    )
    drums = (row_index // 2 == DRUM_PITCH_ROW // 2)[None, :, None, None]
    return ids.masked_fill((same_place[:, None] < 0) | ~drums | (ids == pad_id), -1)


def _repeat_bias(ids: torch.Tensor, neighbours: torch.Tensor, bias: float) -> torch.Tensor:
    """ids (..., K), neighbours (..., 2) → (..., K): BIAS for every neighbour that holds the id."""
    return bias * ((ids == neighbours[..., :1]).float() + (ids == neighbours[..., 1:]).float())


def _nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Bool mask of the entries outside the smallest most-likely set reaching top_p (probs sum to 1)."""
    sorted_p, order = probs.sort(dim=-1, descending=True)
    before = sorted_p.cumsum(dim=-1) - sorted_p  # mass strictly above each entry
    drop_sorted = before >= top_p
    drop_sorted[..., 0] = False  # the most likely entry always stays (top_p <= 0 = argmax)
    return torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)


def _pitch_nucleus(log_probs: torch.Tensor, rest: torch.Tensor, top_p: float) -> torch.Tensor:
    """log_probs with a nucleus over the note ids only: the rest id (no note starts here) keeps its probability,
    and the notes kept share the notes' mass, so the chance of playing is what the network said."""
    probs = log_probs.exp()
    rest = rest.expand_as(probs)
    notes = probs.masked_fill(rest, 0.0)
    mass = notes.sum(dim=-1, keepdim=True)
    drop = _nucleus(notes / mass.clamp_min(1e-30), top_p) & ~rest
    kept = notes.masked_fill(drop, 0.0)
    kept = kept * (mass / kept.sum(dim=-1, keepdim=True).clamp_min(1e-30))
    return torch.where(rest, log_probs, kept.clamp_min(1e-30).log().masked_fill(drop, float("-inf")))


def _pick_tokens(
    log_probs: torch.Tensor,
    temperature: float,
    top_p: float,
    gen: torch.Generator,
    rest: torch.Tensor | None = None,
    pitch_top_p: float = 1.0,
) -> torch.Tensor:
    """Column index per row of log_probs (n, V): pitch nucleus (where ``rest`` marks a pitch row's rest id),
    top-p filter, then Gumbel-max at the temperature."""
    if temperature <= 0:
        return log_probs.argmax(dim=-1)
    if rest is not None and pitch_top_p < 1.0:
        log_probs = _pitch_nucleus(log_probs, rest, pitch_top_p)
    scores = log_probs / temperature
    if top_p < 1.0:
        scores = scores.masked_fill(_nucleus(torch.softmax(scores, dim=-1), top_p), float("-inf"))
    u = torch.rand(scores.shape, generator=gen, device=gen.device).to(scores.device)
    gumbel = -torch.log(-torch.log(u.clamp(1e-20, 1.0 - 1e-7)))
    return (scores + gumbel).argmax(dim=-1)


# Cells scored at once are split over the batch so that one chunk's log-probabilities stay near 256 MB.
SCORE_CHUNK_ELEMENTS = 64 * 2**20


def sample(
    denoiser,
    vocab,
    tokens: torch.Tensor,
    condition: torch.Tensor,
    options: SamplerOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
    bar_position: torch.Tensor | None = None,
    song_cells: torch.Tensor | None = None,
) -> torch.Tensor:
    """Fill the [MASK] cells of tokens (B, R, L); returns a new (B, R, L) int64 tensor.

    bar_position (B, L) or (L,): each column's place in its bar (``timeline.positions_in_bar``); when not
    given, bars of 16 columns from column 0. song_cells (B, R, L): the condition cells that hold the song's
    own material rather than an earlier window's output (the kit anchor reads its target from these); when not
    given, every condition cell.
    """
    options = options or SamplerOptions()
    if tokens.dim() != 3:
        raise ValueError(f"tokens must be (batch, rows, columns), got shape {tuple(tokens.shape)}")
    if condition.shape != tokens.shape:
        raise ValueError("condition must have the shape of tokens")
    n_t = int(denoiser.config.num_timesteps)
    unmask_order = denoiser.config.unmask_order
    if unmask_order not in UNMASK_ORDERS:
        raise ValueError(f"unknown unmask_order {unmask_order!r} in the model config (use one of {UNMASK_ORDERS})")
    steps = int(options.steps or n_t)
    if not 1 <= steps <= n_t:
        raise ValueError(f"steps must be between 1 and {n_t}, got {steps}")
    device = torch.device(denoiser.device)
    mask_id = int(vocab.mask_id)
    source = tokens.to(device=device, dtype=torch.long)
    cond = condition.to(device=device, dtype=torch.bool)
    target = source == mask_id
    if bool(target[:, list(CHORD_ROWS)].any()):
        raise ValueError("chord rows cannot be generated: [MASK] found in a chord row")
    if bool((target & cond).any()):
        raise ValueError("condition cells cannot be [MASK]")

    gen = torch.Generator(device=device)
    if options.seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(options.seed))

    # Planned once on the host (the only device reads of the whole run): which rows hold cells to
    # generate, and how many cells of each (sample, track) every unmasking call takes.
    b_size, n_rows, length = source.shape
    per_track = target[:, : 2 * N_INSTRUMENT_TRACKS].reshape(b_size, N_INSTRUMENT_TRACKS, -1).sum(-1).cpu().numpy()
    in_rows = target[:, : 2 * N_INSTRUMENT_TRACKS].any(dim=2).any(dim=0).cpu().tolist()
    rows = [r for r, busy in enumerate(in_rows) if busy and r % 2 == 0] + [
        r for r, busy in enumerate(in_rows) if busy and r % 2 == 1
    ]  # pitch rows, then duration rows: the two groups scored apart
    plan = np.zeros((b_size, N_INSTRUMENT_TRACKS, max(steps - 1, 0)), dtype=np.int64)
    for b in range(b_size):
        for j in range(N_INSTRUMENT_TRACKS):
            plan[b, j] = unmask_schedule(int(per_track[b, j]), steps - 1)
    picks = torch.as_tensor(plan, device=device)
    groups = _row_groups(denoiser, vocab, rows, options.allowed_ids, device)
    row_index = torch.as_tensor(rows, dtype=torch.long, device=device)
    # Where each scored row sits in the (track, pitch/duration) layout of the selection.
    slots = torch.as_tensor([r // 2 * 2 * length + r % 2 * length for r in rows], dtype=torch.long, device=device)
    cells = (slots[:, None] + torch.arange(length, device=device)[None, :]).reshape(-1)  # (n_r * L,)

    if bar_position is None:
        bar_position = positions_in_bar([0], 0, length)
    bar_position = torch.as_tensor(bar_position, dtype=torch.long, device=device).expand(b_size, length)

    repeat_bias = float(denoiser.config.drum_repeat_bias if options.drum_repeat is None else options.drum_repeat)
    same_place = same_place_columns(bar_position) if repeat_bias and DRUM_PITCH_ROW in rows else None
    anchor = float(denoiser.config.drum_kit_anchor if options.kit_anchor is None else options.kit_anchor)
    onset_anchor = float(denoiser.config.drum_onset_anchor if options.onset_anchor is None else options.onset_anchor)
    song = cond if song_cells is None else song_cells.to(device=device, dtype=torch.bool)
    carried = (cond & ~song)[:, DRUM_PITCH_ROW]  # (B, L) drum cells an earlier window made
    continued = bool(carried.any())
    if continued:
        anchor *= denoiser.config.drum_anchor_continued_scale
        onset_anchor *= denoiser.config.drum_anchor_continued_scale
    kit = None
    if anchor or onset_anchor:
        made = target[:, row_index]
        kit = _kit_anchor(vocab, groups, rows, source, song, made, anchor, onset_anchor, bar_position)
        if kit is not None and denoiser.config.drum_anchor_song_only and continued:
            feats = _song_only_features(denoiser, source, cond, carried, bar_position, timesteps(n_t, steps)[0])
            kit.anchor.aim(denoiser, feats[:, row_index])
    cur = source.clone()
    still = target.clone()  # cells not yet unmasked
    calls = network_calls(denoiser.config, steps)
    for call, t in enumerate(timesteps(n_t, steps)):
        last = call == steps - 1
        # A call that would unmask nothing is skipped, as the original skips such steps: its result would
        # be thrown away (tracks with fewer masked cells than calls, or nothing to generate at all).
        busy = bool(rows) if last else bool(plan[:, :, call].any())
        if busy:
            cur = torch.where(cond, source, cur)
            t_vec = torch.full((b_size,), t, dtype=torch.long, device=device)
            feats = denoiser.features(cur, t_vec, cond, bar_position)[:, row_index]  # (B, n_r, L, E)
            repeat = None
            if same_place is not None:
                repeat = (_neighbour_hits(cur, row_index, same_place, int(vocab.pad_id)), repeat_bias)
            kit_bias = None if kit is None else (kit, kit.anchor.bias(denoiser, feats))
            if last:  # the final joint resample draws every generated cell
                in_play = target[:, row_index]
                drawn = _draw_all(denoiser, feats, groups, options, gen, repeat, kit_bias)
            else:  # choose the cells by confidence, then draw tokens for those few only
                if unmask_order == "confidence":
                    confidence = _confidence(denoiser, feats, groups)
                else:  # all alike: the Gumbel keys alone pick the cells
                    confidence = torch.zeros(feats.shape[:3], device=device)
                in_play = _choose(confidence, still[:, row_index], picks[:, :, call], cells, gen)
                most = int(plan[:, :, call].sum(axis=1).max())  # cells one sample unmasks now (host figure)
                drawn = _draw_chosen(denoiser, feats, groups, in_play, most, options, gen, repeat, kit_bias)
            cur[:, row_index] = torch.where(in_play, drawn, cur[:, row_index])
            still[:, row_index] &= ~in_play
        if progress is not None:
            progress(call + 1, calls)
    # Drum refinement passes; a pass with no drums to refine is skipped, as the steps above.
    refine = calls > steps and DRUM_PITCH_ROW in rows
    if refine:
        refine_t = torch.full((b_size,), int(round((n_t - 1) * REFINE_SHARE)), dtype=torch.long, device=device)
        made_drums = target[:, row_index] & (row_index // 2 == DRUM_PITCH_ROW // 2)[None, :, None]
    for done in range(steps, calls):
        if refine:
            cur = torch.where(cond, source, cur)
            # A hit's pitch and duration cells are hidden, and redrawn, together.
            u = torch.rand((b_size, 1, length), generator=gen, device=gen.device).to(device)
            hide = made_drums & (u < REFINE_SHARE)
            hidden = cur.clone()
            hidden[:, row_index] = cur[:, row_index].masked_fill(hide, mask_id)
            feats = denoiser.features(hidden, refine_t, cond, bar_position)[:, row_index]
            cur[:, row_index] = torch.where(hide, _draw_all(denoiser, feats, groups, options, gen), cur[:, row_index])
        if progress is not None:
            progress(done + 1, calls)
    out = torch.where(cond, source, cur)
    return out.to(tokens.device)


@dataclass
class _RowGroup:
    """Scored rows of one kind (pitch rows or duration rows: similar numbers of ids, so little padding),
    contiguous on the scored-row axis [start, stop), with their ids (n_g, K) and head (Denoiser.row_head)."""

    start: int
    stop: int
    ids: torch.Tensor
    head: tuple[torch.Tensor, torch.Tensor]
    rest: torch.Tensor | None  # (n_g, K): ids the pitch nucleus leaves alone (rests, drums); None: durations


def _row_groups(denoiser, vocab, rows: list[int], overrides, device) -> list[_RowGroup]:
    """ROWS are ordered pitch rows first, then duration rows; one group for each kind present."""
    overrides = overrides or {}
    groups, start = [], 0
    for kind in (0, 1):
        members = [r for r in rows if r % 2 == kind]
        if not members:
            continue
        per_row = [np.asarray(overrides.get(r, vocab.allowed_ids(r)), dtype=np.int64) for r in members]
        for r, row_ids in zip(members, per_row):
            if row_ids.size == 0:
                raise ValueError(f"row {r} allows no ids")
        width = max(a.size for a in per_row)
        ids = np.zeros((len(members), width), dtype=np.int64)  # padding: id 0, masked out by the head's bias
        valid = np.zeros((len(members), width), dtype=bool)
        for i, row_ids in enumerate(per_row):
            ids[i, : row_ids.size] = row_ids
            valid[i, : row_ids.size] = True
        ids_t = torch.as_tensor(ids, device=device)
        head = denoiser.row_head(ids_t, torch.as_tensor(valid, device=device))
        rest = None
        if kind == 0:  # the nucleus is over pitched notes: a drum row's kit pieces all count as "no note"
            rest = (ids_t == int(vocab.pad_id)) | torch.as_tensor(
                [r == DRUM_PITCH_ROW for r in members], device=device
            )[:, None]
        groups.append(_RowGroup(start, start + len(members), ids_t, head, rest))
        start += len(members)
    return groups


@dataclass
class _GroupAnchor:
    """The kit and onset anchor of the drum row, and where that row sits among the scored rows of its group."""

    group: _RowGroup
    local: int  # the drum row's index in the group
    anchor: KitAnchor


def _kit_anchor(
    vocab,
    groups: list[_RowGroup],
    rows: list[int],
    source: torch.Tensor,
    song: torch.Tensor,
    made: torch.Tensor,
    anchor: float,
    onset_anchor: float,
    bar_position: torch.Tensor,
):
    """The run's kit and onset anchor, or None when no drums are made. SOURCE (B, R, L): the run's tokens; SONG
    (B, R, L): its cells that hold the song's own material; MADE (B, n_r, L): the cells being generated."""
    if DRUM_PITCH_ROW not in rows:
        return None
    d = rows.index(DRUM_PITCH_ROW)
    group = next(g for g in groups if g.start <= d < g.stop)
    local = d - group.start
    head = (group.head[0][local : local + 1], group.head[1][local : local + 1])
    kept = kept_kit(vocab, source[:, DRUM_PITCH_ROW], song[:, DRUM_PITCH_ROW], made[:, d])
    places = place_of(bar_position)
    kept_mix = kept_places(_kept_onsets(vocab, source, song), places)
    return _GroupAnchor(
        group,
        local,
        KitAnchor(vocab, d, group.ids[local], head, made[:, d], anchor, kept, onset_anchor, places, kept_mix),
    )


def _song_only_features(denoiser, source, cond, carried, bar_position, t: int) -> torch.Tensor:
    """The features of a call at step T with the drums earlier windows made (CARRIED, (B, L)) hidden: what the
    song's own material calls for, so that one window's drift is not the next one's target (training/README.md,
    "Sampling: continued windows")."""
    hidden, seen = source.clone(), cond.clone()
    drums = slice(DRUM_PITCH_ROW, DRUM_PITCH_ROW + 2)  # a hit's pitch and duration cells go together
    hidden[:, drums] = hidden[:, drums].masked_fill(carried[:, None], denoiser.config.mask_id)
    seen[:, drums] &= ~carried[:, None]
    t_vec = torch.full((source.shape[0],), t, dtype=torch.long, device=source.device)
    return denoiser.features(hidden, t_vec, seen, bar_position)


def _kept_onsets(vocab, source: torch.Tensor, song: torch.Tensor) -> torch.Tensor:
    """(B, L): the columns the onset anchor reads the song's places from. Where a sample's own kept drum cells
    hold MIN_KEPT_ONSETS hits or more (infill), the drums' hits: the song's drummer says best where its drums
    fall. Otherwise where the notes of the song's own pitched tracks start."""

    def starts(instrument: str) -> torch.Tensor:
        row = pitch_row(instrument)
        first, last = vocab.pitch_range(instrument)
        return song[:, row] & (source[:, row] >= first) & (source[:, row] <= last)

    pitched = torch.zeros((source.shape[0], source.shape[2]), dtype=torch.bool, device=source.device)
    for instrument in INSTRUMENTS:
        if instrument != "drums":
            pitched |= starts(instrument)
    drums = starts("drums")
    return torch.where(drums.sum(1, keepdim=True) >= MIN_KEPT_ONSETS, drums, pitched)


def _chunks(b_size: int, group: _RowGroup, length: int) -> list[slice]:
    """Batch slices small enough that one slice's (b, n_g, L, K) log-probabilities stay near 256 MB."""
    n_g, width = group.ids.shape
    chunk = max(1, SCORE_CHUNK_ELEMENTS // max(1, n_g * length * width))
    return [slice(start, start + chunk) for start in range(0, b_size, chunk)]


def _confidence(denoiser, feats, groups: list[_RowGroup]) -> torch.Tensor:
    """(B, n_r, L): each cell's max probability over its row's ids."""
    b_size, _, length, _ = feats.shape
    parts = []
    for g in groups:
        rows = feats[:, g.start : g.stop]
        parts.append(
            torch.cat([denoiser.row_log_probs(rows[c], g.head).amax(dim=-1).exp() for c in _chunks(b_size, g, length)])
        )
    return torch.cat(parts, dim=1)


def _draw_all(denoiser, feats, groups: list[_RowGroup], options, gen, repeat=None, kit_bias=None) -> torch.Tensor:
    """(B, n_r, L) ids drawn for every cell of feats; REPEAT: (neighbour hits, bias) of the drum repeat bias;
    KIT_BIAS: (the run's _GroupAnchor, (B, L or 1, K) log-odds of the drum row's ids) of the kit anchor."""
    b_size, _, length, _ = feats.shape
    parts = []
    for g in groups:
        rows, index = feats[:, g.start : g.stop], torch.arange(g.stop - g.start, device=g.ids.device)[None, :, None]
        drawn = []
        rest = None if g.rest is None else g.rest[None, :, None, :]
        for c in _chunks(b_size, g, length):
            log_probs = denoiser.row_log_probs(rows[c], g.head)
            if repeat is not None:
                log_probs = log_probs + _repeat_bias(g.ids[None, :, None], repeat[0][c, g.start : g.stop], repeat[1])
            if kit_bias is not None and kit_bias[0].group is g:
                drum = kit_bias[0].local
                log_probs[:, drum] = log_probs[:, drum] + kit_bias[1][c]
            picked = _pick_tokens(log_probs, options.temperature, options.top_p, gen, rest, denoiser.config.pitch_top_p)
            drawn.append(g.ids[index, picked])
        parts.append(torch.cat(drawn))
    return torch.cat(parts, dim=1)


def _draw_chosen(
    denoiser, feats, groups: list[_RowGroup], chosen, most: int, options, gen, repeat=None, kit_bias=None
) -> torch.Tensor:
    """(B, n_r, L) ids drawn for the CHOSEN cells (other cells get any id): at most MOST per sample.

    The chosen cells are gathered into a fixed (B, MOST) list (no host sync) and scored against every row of
    each group, a small product; each cell then keeps the scores of its own row.
    """
    b_size, n_r, length, embed = feats.shape
    cells = chosen.reshape(b_size, -1).float().topk(most, dim=1).indices  # chosen first; the rest pad the list
    cell_feats = feats.reshape(b_size, -1, embed).gather(1, cells[..., None].expand(-1, -1, embed))
    cell_rows = cells // length  # (B, MOST) index on the scored-row axis
    cell_columns = cells % length
    if repeat is not None:
        cell_hits = repeat[0].reshape(b_size, n_r * length, 2).gather(1, cells[..., None].expand(-1, -1, 2))
    drawn_ids = torch.zeros_like(cells)
    for g in groups:
        n_g, width = g.ids.shape
        local = (cell_rows - g.start).clamp(0, n_g - 1)
        log_probs = denoiser.row_log_probs(cell_feats[:, None].expand(-1, n_g, -1, -1), g.head)  # (B, n_g, M, K)
        log_probs = log_probs.gather(1, local[:, None, :, None].expand(-1, 1, -1, width))[:, 0]
        if repeat is not None:
            log_probs = log_probs + _repeat_bias(g.ids[local], cell_hits, repeat[1])
        if kit_bias is not None and kit_bias[0].group is g:
            bias = kit_bias[1]  # (B, L or 1, K): per cell, or alike over the row
            columns = cell_columns if bias.shape[1] > 1 else torch.zeros_like(cell_columns)
            on_drums = (local == kit_bias[0].local)[..., None]
            log_probs = log_probs + torch.where(on_drums, bias.gather(1, columns[..., None].expand(-1, -1, width)), 0.0)
        rest = None if g.rest is None else g.rest[local]
        picked = g.ids[
            local, _pick_tokens(log_probs, options.temperature, options.top_p, gen, rest, denoiser.config.pitch_top_p)
        ]
        drawn_ids = torch.where((cell_rows >= g.start) & (cell_rows < g.stop), picked, drawn_ids)
    out = torch.zeros((b_size, n_r * length), dtype=torch.long, device=feats.device)
    return out.scatter(1, cells, drawn_ids).reshape(b_size, n_r, length)


def _choose(confidence, still, picks, cells, gen) -> torch.Tensor:
    """(B, n_r, L) cells to unmask: per (sample, track), picks[b, j] still-masked cells of its two rows drawn
    without replacement with probabilities softmax(confidence), as the n largest confidence + Gumbel keys."""
    b_size, n_r, length = still.shape
    u = torch.rand(confidence.shape, generator=gen, device=gen.device).to(confidence.device)
    keys = confidence.float() - torch.log(-torch.log(u.clamp(1e-20, 1.0 - 1e-7)))
    keys = keys.masked_fill(~still, float("-inf")).reshape(b_size, -1)
    # Scatter into the (B, tracks, 2 rows x L) layout; rows that score nothing stay -inf.
    width = 2 * length
    laid = torch.full((b_size, N_INSTRUMENT_TRACKS * width), float("-inf"), device=keys.device)
    laid[:, cells] = keys
    laid = laid.reshape(b_size, N_INSTRUMENT_TRACKS, width)
    order = laid.argsort(dim=-1, descending=True)
    rank_taken = torch.arange(width, device=keys.device) < picks[..., None]  # (B, tracks, 2L)
    taken = torch.zeros_like(rank_taken).scatter(-1, order, rank_taken)
    taken = taken.reshape(b_size, -1)[:, cells].reshape(b_size, n_r, length)
    return taken & still
