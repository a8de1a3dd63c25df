"""Before/after piano roll PNG: the input above the output on one time axis, made notes in full colour.

Long songs are cut into systems of BARS_PER_SYSTEM bars stacked top to bottom (like lines of a score), all drawn
at the same scale, so a 200-bar song is one tall image that still shows every note. Matplotlib (the `plot`
extra) is imported only here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from getmusic_cli.errors import GetMusicError
from getmusic_cli.inspect import CLASS_COLOURS
from getmusic_cli.score.codec import song_columns
from getmusic_cli.score.song import Note, Song
from getmusic_cli.score.timeline import Timeline
from getmusic_cli.score.tracks import INSTRUMENTS

BARS_PER_SYSTEM = 32
DPI = 100
MAX_WIDTH_IN = 16.0  # a full system of 32 bars: 1600 px, 50 px a bar, 3 px a 16th note
MIN_WIDTH_IN = 6.0
PITCH_IN = 2.0  # height of a pitched lane (inches)
DRUM_IN = 0.9
GAP_IN = 0.55  # between two systems
HEADER_IN = 0.7  # title and legend
MUTE = 0.55  # kept notes: the class colour mixed with this much white
SHADE = "#fff1b8"  # infilled bars
BAR_LINE = "#d0d0d0"
PLOT_HINT = "--plot needs matplotlib: pip install 'getmusic-cli[plot]'"

# Drum lane rows, bottom to top, and the GM drum keys each row shows; any other key goes to "perc".
DRUM_ROWS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("kick", (35, 36)),
    ("snare", (37, 38, 39, 40)),
    ("toms", (41, 43, 45, 47, 48, 50)),
    ("hi-hat", (42, 44, 46)),
    ("cymbal", (49, 51, 52, 53, 55, 57, 59)),
    ("perc", ()),
)
_DRUM_ROW = {key: i for i, (_, keys) in enumerate(DRUM_ROWS) for key in keys}


def require_plot() -> None:
    """Fail early, with one line, when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise GetMusicError(PLOT_HINT) from None


def muted(colour: str) -> str:
    """A kept track's colour: the class colour washed towards white."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    r, g, b = (round(c + (255 - c) * MUTE) for c in (r, g, b))
    return f"#{r:02x}{g:02x}{b:02x}"


def drum_row(key: int) -> int:
    return _DRUM_ROW.get(key, len(DRUM_ROWS) - 1)


def made_notes(song: Song, made: list[str], regions: list[tuple[int, int]]) -> dict[str, list[Note]]:
    """The notes the model wrote: every note of a made class, or (infill) only those starting in the regions."""
    out = {}
    for cls in made:
        notes = song.notes.get(cls, [])
        if regions:
            notes = [n for n in notes if any(a <= n.start < b for a, b in regions)]
        out[cls] = notes
    return out


def systems(bar_ticks: list[int]) -> list[tuple[int, int, int]]:
    """(first bar index, start tick, end tick) of each system; ``bar_ticks`` ends with the song's end tick."""
    n_bars = len(bar_ticks) - 1
    return [
        (first, bar_ticks[first], bar_ticks[min(first + BARS_PER_SYSTEM, n_bars)])
        for first in range(0, n_bars, BARS_PER_SYSTEM)
    ]


def figure_inches(n_bars: int, n_systems: int, drums: bool) -> tuple[float, float]:
    """(width, height) of the figure: width grows with the bars up to one full system, height with the systems."""
    width = min(MAX_WIDTH_IN, max(MIN_WIDTH_IN, 2.0 + MAX_WIDTH_IN * min(n_bars, BARS_PER_SYSTEM) / BARS_PER_SYSTEM))
    system = 2 * (PITCH_IN + (DRUM_IN if drums else 0.0)) + 0.35  # before and after, plus the bar numbers
    return width, HEADER_IN + n_systems * system + (n_systems - 1) * GAP_IN


def plot_before_after(
    before: Song,
    after: Song,
    made: list[str],
    out: str | Path,
    infilled_bars: list[tuple[int, int]] | None = None,
    title: str = "",
) -> Path:
    """Write the before/after PNG. ``made``: classes the model wrote; ``infilled_bars``: 1-based inclusive ranges
    (infill) or None (generate). Kept notes are muted, made notes in full colour, infilled bars shaded."""
    require_plot()
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    out = Path(out)
    if not out.parent.is_dir():
        raise GetMusicError(f"{out}: folder {out.parent} does not exist")
    timeline = Timeline(before.ticks_per_beat, before.time_signatures)
    n_columns = max(song_columns(before, timeline), song_columns(after, timeline))
    bar_ticks = [timeline.column_to_tick(c) for c in timeline.bar_starts(n_columns)]
    bar_ticks.append(timeline.column_to_tick(n_columns))
    regions = [(bar_ticks[a - 1], bar_ticks[min(b, len(bar_ticks) - 1)]) for a, b in infilled_bars or []]
    new = made_notes(after, made, regions)
    new_ids = {cls: set(map(id, notes)) for cls, notes in new.items()}
    has_drums = bool(before.notes.get("drums") or after.notes.get("drums"))
    pitched = [n.pitch for s in (before, after) for c, ns in s.notes.items() if c != "drums" for n in ns]
    low, high = (min(pitched) - 2, max(pitched) + 2) if pitched else (48, 72)
    parts = systems(bar_ticks)
    span = max(end - start for _, start, end in parts)  # every system at the same scale as the longest
    tpb = before.ticks_per_beat
    sixteenth = tpb / 4

    width, height = figure_inches(len(bar_ticks) - 1, len(parts), has_drums)
    fig = Figure(figsize=(width, height), dpi=DPI)
    lanes = ["pitch", "drums"] if has_drums else ["pitch"]
    ratios, kinds = [], []
    for i in range(len(parts)):
        for side in ("before", "after"):
            for lane in lanes:
                ratios.append(PITCH_IN if lane == "pitch" else DRUM_IN)
                kinds.append((i, side, lane))
            if side == "before":
                ratios.append(0.08)  # a hairline between before and after
                kinds.append(None)
        if i < len(parts) - 1:
            ratios.append(GAP_IN + 0.35)
            kinds.append(None)
    top = 1 - HEADER_IN / height
    grid = fig.add_gridspec(
        len(ratios), 1, height_ratios=ratios, hspace=0, left=0.07, right=0.99, top=top, bottom=0.35 / height
    )

    def draw(ax, song: Song, side: str, lane: str, start: int, end: int) -> None:
        groups: dict[str, list] = {}
        for cls in reversed(INSTRUMENTS):  # drawn in this order: the lead on top, then the bass
            if (cls == "drums") != (lane == "drums"):
                continue
            for n in song.notes.get(cls, []):
                if n.end <= start or n.start >= end:
                    continue
                fresh = side == "after" and id(n) in new_ids.get(cls, ())
                colour = CLASS_COLOURS[cls] if fresh else muted(CLASS_COLOURS[cls])
                # Drums are hits: one 16th wide whatever their length; pitched notes at least that wide.
                x0 = n.start / tpb
                x1 = (n.start + sixteenth if lane == "drums" else max(n.end, n.start + sixteenth)) / tpb
                y = drum_row(n.pitch) if lane == "drums" else n.pitch
                groups.setdefault(colour, []).append([(x0, y - 0.4), (x1, y - 0.4), (x1, y + 0.4), (x0, y + 0.4)])
        for colour, boxes in groups.items():
            # Made notes on top of kept ones; no antialiasing so a note's colour is exact (tests count pixels).
            fresh = colour in CLASS_COLOURS.values()
            ax.add_collection(
                PolyCollection(boxes, facecolors=colour, linewidths=0, antialiased=False, zorder=3 if fresh else 2)
            )

    for row, kind in enumerate(kinds):
        if kind is None:
            continue
        i, side, lane = kind
        first, start, end = parts[i]
        ax = fig.add_subplot(grid[row])
        for a, b in regions:
            if a < end and b > start:
                ax.axvspan(a / tpb, b / tpb, color=SHADE, lw=0, zorder=0)
        bars_here = [t for t in bar_ticks if start <= t <= end]
        for t in bars_here:
            ax.axvline(t / tpb, color=BAR_LINE, lw=0.6, zorder=1)
        draw(ax, before if side == "before" else after, side, lane, start, end)
        ax.set_xlim(start / tpb, (start + span) / tpb)
        if lane == "drums":
            ax.set_ylim(-0.6, len(DRUM_ROWS) - 0.4)
            ax.set_yticks(range(len(DRUM_ROWS)), [name for name, _ in DRUM_ROWS], fontsize=6)
        else:
            ax.set_ylim(low, high)
            octaves = [p for p in range(low, high + 1) if p % 12 == 0]
            ax.set_yticks(octaves, [f"C{p // 12 - 1}" for p in octaves], fontsize=7)
            ax.set_ylabel(side, fontsize=9, fontweight="bold" if side == "after" else "normal")
        last_lane = lane == lanes[-1] and side == "after"
        bar_numbers = list(range(first, first + len(bars_here) - 1))
        ax.set_xticks([bar_ticks[b] / tpb for b in bar_numbers], [str(b + 1) for b in bar_numbers] if last_lane else [])
        ax.tick_params(axis="x", labelsize=7, length=2 if last_lane else 0)
        ax.tick_params(axis="y", length=2)
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)

    present = [c for c in INSTRUMENTS if before.notes.get(c) or after.notes.get(c)]
    handles = [
        Patch(color=CLASS_COLOURS[c] if c in made else muted(CLASS_COLOURS[c]), label=f"{c} (made)" if c in made else c)
        for c in present
    ]
    if regions:
        handles.append(Patch(color=SHADE, label="infilled bars"))
    fig.text(0.01, 1 - 0.12 / height, title, fontsize=10, va="top")
    legend_at = (0.0, 1 - 0.32 / height)
    fig.legend(
        handles=handles, loc="upper left", bbox_to_anchor=legend_at, ncol=len(handles), fontsize=8, frameon=False
    )
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".png", dir=out.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=DPI, format="png")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out
