"""The before/after PNG: size, made notes in full colour below the input, drum rows, infilled bars shaded."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from getmusic_cli.inspect import CLASS_COLOURS
from getmusic_cli.score.midi_io import read_midi

pytest.importorskip("matplotlib", reason="the 'plot' extra is not installed")

from getmusic_cli.preview import plot  # noqa: E402  (needs matplotlib only when drawing, but skip first)

TPB = 480
BAR = 4 * TPB


def pixels(path) -> np.ndarray:
    import matplotlib.image

    return (matplotlib.image.imread(str(path))[:, :, :3] * 255).round().astype(np.uint8)


def mask_of(image: np.ndarray, colour: str) -> np.ndarray:
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return np.all(image == rgb, axis=2)


def with_new_bass(song, offset: int = 7):
    """The same song whose bass notes are all different (as if the model had written them)."""
    notes = dict(song.notes)
    notes["bass"] = [replace(n, pitch=n.pitch + offset) for n in song.notes["bass"]]
    return replace(song, notes=notes)


def test_made_notes_are_highlighted_below_the_input(tmp_path, make_band):
    before = read_midi(make_band(tmp_path / "band.mid", bars=8))
    after = with_new_bass(before)
    made = plot.plot_before_after(before, after, ["bass"], tmp_path / "made.png")
    kept = plot.plot_before_after(before, before, [], tmp_path / "kept.png")
    image = pixels(made)
    bass = mask_of(image, CLASS_COLOURS["bass"])
    assert bass.sum() > 1000  # 16 made bass notes in full colour
    assert mask_of(pixels(kept), CLASS_COLOURS["bass"]).sum() == 0  # nothing made: no full colour anywhere
    # Below the legend, full-colour bass lies only in the lower (output) half; the input shows it muted.
    rows = np.nonzero(bass[80:])[0] + 80
    assert rows.min() > image.shape[0] * 0.5
    muted = mask_of(image, plot.muted(CLASS_COLOURS["bass"]))
    assert np.nonzero(muted[80:])[0].min() + 80 < image.shape[0] * 0.5
    assert mask_of(image, plot.muted(CLASS_COLOURS["lead"])).sum() > 1000  # the kept lead, muted, in both


def test_size_one_system_up_to_32_bars_then_systems_stack(tmp_path, make_band):
    def size(bars: int):
        song = read_midi(make_band(tmp_path / f"s{bars}.mid", bars=bars))
        out = plot.plot_before_after(song, with_new_bass(song), ["bass"], tmp_path / f"s{bars}.png")
        height, width = pixels(out).shape[:2]
        return width, height

    w8, h8 = size(8)
    w32, h32 = size(32)
    w200, h200 = size(200)
    assert w32 == w200 == plot.MAX_WIDTH_IN * plot.DPI == 1600  # 50 px a bar: a 16th note is 3 px wide
    assert w8 < w32 and h8 == h32  # a short song: narrower, same height
    system = h32 - plot.HEADER_IN * plot.DPI
    assert h200 == pytest.approx(plot.HEADER_IN * plot.DPI + 7 * system + 6 * plot.GAP_IN * plot.DPI, abs=2)


def test_drums_have_their_own_rows(tmp_path, make_band):
    def made_drum_rows(key: int) -> np.ndarray:
        song = read_midi(make_band(tmp_path / f"k{key}.mid", drum_key=key))
        out = plot.plot_before_after(song, song, ["drums"], tmp_path / f"k{key}.png")
        grey = mask_of(pixels(out), CLASS_COLOURS["drums"])
        return np.nonzero(grey.sum(axis=1) > 40)[0]  # rows of hits (32 of them, 3 px each), not grey text pixels

    kick, snare, hat = made_drum_rows(36), made_drum_rows(38), made_drum_rows(42)
    assert len(kick) and len(snare) and len(hat)
    assert kick.min() > snare.max() and snare.min() > hat.max()  # kick at the bottom, snare above, hat higher


def test_infilled_bars_are_shaded_and_only_their_notes_highlighted(tmp_path, make_band):
    song = read_midi(make_band(tmp_path / "band.mid", bars=8))
    after = with_new_bass(song)
    out = plot.plot_before_after(song, after, ["bass"], tmp_path / "infill.png", infilled_bars=[(3, 4)])
    image = pixels(out)
    shade = mask_of(image, plot.SHADE)
    bass = mask_of(image, CLASS_COLOURS["bass"])
    columns = np.nonzero(shade[80:].any(axis=0))[0]
    assert columns.size and columns.max() - columns.min() < image.shape[1] * 0.3  # 2 of 8 bars
    made_columns = np.nonzero(bass[80:].any(axis=0))[0]
    # Only in bars 3-4 (a bar line may cover the shade's first pixel).
    assert made_columns.min() >= columns.min() - 2 and made_columns.max() <= columns.max() + 2
    everything = plot.plot_before_after(song, after, ["bass"], tmp_path / "all.png")
    assert mask_of(pixels(everything), CLASS_COLOURS["bass"]).sum() > 2 * bass.sum()  # 8 bars against 2
