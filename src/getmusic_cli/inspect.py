"""`getmusic inspect`: what the program hears in a MIDI file (track mapping, meter, tempo, key, chords, codec loss).

`analyse` does the work and returns plain data; `render` prints it with rich; `plot_piano_roll` draws it. No torch.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from getmusic_cli.errors import GetMusicError, printable
from getmusic_cli.score.conditioning import heard_chords, pitched_notes
from getmusic_cli.score.midi_io import read_midi, require_pitched
from getmusic_cli.score.song import Song
from getmusic_cli.score.tracks import INSTRUMENTS, display_name, gm_name

# Colours of the classes in tables and plots.
CLASS_COLOURS: dict[str, str] = {
    "lead": "#d62728",
    "bass": "#1f77b4",
    "drums": "#7f7f7f",
    "guitar": "#ff7f0e",
    "piano": "#2ca02c",
    "strings": "#9467bd",
}


@dataclass
class Inspection:
    path: Path
    song: Song
    timeline: object  # score.timeline.Timeline
    n_columns: int  # 16th-note columns up to the end of the bar of the last note
    n_bars: int
    seconds: float
    key: object  # score.keys.Key
    chords: list  # one Chord (or None) per bar
    report: object  # score.codec.CodecReport
    vocab_label: str  # which vocabulary the report was measured against


def song_seconds(song: Song, end_tick: int) -> float:
    """Playing time up to `end_tick`, following the tempo map."""
    seconds, tick, bpm = 0.0, 0, 120.0
    for change in song.tempos:
        if change.tick >= end_tick:
            break
        seconds += (change.tick - tick) / song.ticks_per_beat * 60.0 / bpm
        tick, bpm = change.tick, change.bpm
    return seconds + (end_tick - tick) / song.ticks_per_beat * 60.0 / bpm


def analyse(
    path: str | Path, overrides: dict[str, str] | None = None, vocab=None, model: str | None = None
) -> Inspection:
    """Read, map and analyse a song. The codec report is measured against `vocab`, else the vocabulary of `model`
    (see codec_vocabulary). Refuses (GetMusicError) files without pitched notes: no key or chords there.
    """
    path = Path(path)
    song = read_midi(path, overrides)
    require_pitched(song, path)

    from getmusic_cli.score.codec import encode, song_columns
    from getmusic_cli.score.keys import detect_key
    from getmusic_cli.score.timeline import Timeline

    timeline = Timeline(song.ticks_per_beat, song.time_signatures)
    n_columns = song_columns(song, timeline)  # whole bars, as the codec lays the song out
    pitched = pitched_notes(song)
    key = detect_key(pitched, song.ticks_per_beat)
    chords = heard_chords(song, timeline, n_columns)  # as generate hears the song with every track kept
    song.chords = chords
    vocab, vocab_label = (vocab, "given vocabulary") if vocab is not None else codec_vocabulary(model)
    _, report = encode(song, vocab, chords=chords)
    return Inspection(
        path,
        song,
        timeline,
        n_columns,
        timeline.n_bars(n_columns),
        song_seconds(song, song.end_tick),
        key,
        chords,
        report,
        vocab_label,
    )


# ----- printing --------------------------------------------------------------------------------------------------


def _signature_text(song: Song, timeline) -> str:
    parts = []
    for ts in song.time_signatures:
        bar = timeline.bar_of_column(timeline.tick_to_column(ts.tick)) + 1
        parts.append(f"{ts.numerator}/{ts.denominator} (bar {bar})")
    first = song.time_signatures[0]
    return ", ".join(parts) if len(parts) > 1 else f"{first.numerator}/{first.denominator}"


def _tempo_text(song: Song, timeline) -> str:
    if len(song.tempos) == 1:
        return f"{song.tempos[0].bpm:.0f} BPM"
    parts = []
    for t in song.tempos:
        bar = timeline.bar_of_column(timeline.tick_to_column(t.tick)) + 1
        parts.append(f"{t.bpm:.0f} (bar {bar})")
    return "BPM " + ", ".join(parts)


def _chord_lines(chords: list, per_line: int = 8) -> list[str]:
    from getmusic_cli.score.chords import chord_name

    names = [chord_name(c) if c is not None else "N.C." for c in chords]
    width = max(len(n) for n in names) if names else 0
    lines = []
    for first in range(0, len(names), per_line):
        cells = [f"{names[i]:<{width}}" for i in range(first, min(first + per_line, len(names)))]
        lines.append(f"bars {first + 1:>3}-{first + len(cells):<3} | " + " | ".join(cells))
    return lines


def render(result: Inspection, console: Console) -> None:
    song, timeline = result.song, result.timeline
    minutes, seconds = divmod(round(result.seconds), 60)
    console.print(
        f"[bold]{escape(printable(result.path.name))}[/]: {result.n_bars} bars ({minutes}:{seconds:02d}), "
        f"{song.ticks_per_beat} ticks per beat",
        highlight=False,
    )
    console.print(
        f"time signature: {_signature_text(song, timeline)}   tempo: {_tempo_text(song, timeline)}   "
        f"key: {result.key.name}",
        highlight=False,
    )

    tracks = Table(title="input tracks", title_justify="left")
    for col, justify in (
        ("#", "right"),
        ("track", "left"),
        ("program", "left"),
        ("notes", "right"),
        ("class", "left"),
        ("why", "left"),
    ):
        tracks.add_column(col, justify=justify)
    for s in song.sources:
        program = "drums (ch 10)" if s.is_drum else f"{s.program} {gm_name(s.program)}"
        cls = f"[{CLASS_COLOURS[s.instrument]}]{s.instrument}[/]" if s.instrument else "[dim]dropped[/]"
        # Names are the file's bytes: control characters (escape codes, newlines) are shown as '?'.
        name = escape(printable(s.name)) if s.name else f"[dim]{escape(printable(display_name(s)))}[/]"
        tracks.add_row(str(s.index), name, program, str(len(s.notes)), cls, escape(printable(s.reason)))
    console.print(tracks)

    console.print(_class_table(result))
    if any(r.reduced for r in result.report.classes.values()):
        console.print(
            "[dim]reduced: notes left out so that a group of simultaneous notes fits the vocabulary "
            "(the lead keeps its top note)[/]"
        )
    console.print("[bold]chords[/] (one per bar)")
    for line in _chord_lines(result.chords):
        console.print("  " + line, highlight=False)


def _class_table(result: Inspection) -> Table:
    """Per class: where its notes come from and what the codec keeps of them."""
    song, report = result.song, result.report
    table = Table(title=f"classes (codec: {escape(result.vocab_label)})", title_justify="left")
    for col, justify in (
        ("class", "left"),
        ("from tracks", "left"),
        ("notes", "right"),
        ("encoded", "right"),
        ("reduced", "right"),
        ("dropped", "right"),
        ("remarks", "left"),
    ):
        table.add_column(col, justify=justify)
    for cls in INSTRUMENTS:
        members = ", ".join(str(s.index) for s in song.sources if s.instrument == cls) or "[dim]-[/]"
        r = report.classes.get(cls)
        if r is None:
            table.add_row(f"[dim]{cls}[/]", members, "[dim]0[/]", "", "", "", "[dim]absent: [EMPTY] rows[/]")
            continue
        remarks = [f"{n} {why}" for why, n in sorted(r.reasons.items())]
        if r.lengthened:
            remarks.append(f"{r.lengthened} very short notes kept as 16ths")
        table.add_row(
            f"[{CLASS_COLOURS[cls]}]{cls}[/]",
            members,
            str(r.notes),
            str(r.encoded),
            str(r.reduced) if r.reduced else "[dim]0[/]",
            str(r.dropped) if r.dropped else "[dim]0[/]",
            escape("; ".join(remarks)),
        )
    return table


# ----- plotting --------------------------------------------------------------------------------------------------


def plot_piano_roll(result: Inspection, out: str | Path) -> Path:
    """Piano roll PNG: pitched classes on one panel (pitch over time), drums below; bar lines follow the meter."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError:
        raise GetMusicError("--plot needs matplotlib: pip install 'getmusic-cli[plot]'") from None

    out = Path(out)
    if not out.parent.is_dir():
        raise GetMusicError(f"{out}: folder {out.parent} does not exist")
    song, timeline = result.song, result.timeline
    tpb = song.ticks_per_beat
    bar_ticks = [timeline.column_to_tick(c) for c in timeline.bar_starts(result.n_columns)]
    has_drums = bool(song.notes.get("drums"))
    width = min(4 + 0.6 * result.n_bars, 40)
    fig, axes = plt.subplots(
        2 if has_drums else 1,
        1,
        figsize=(width, 6 if has_drums else 4.5),
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 1] if has_drums else [1]},
    )
    roll, drums = axes[0][0], axes[1][0] if has_drums else None
    for cls in reversed(INSTRUMENTS):  # lead drawn last, on top
        for n in song.notes.get(cls, []):
            ax = drums if cls == "drums" else roll
            ax.add_patch(
                plt.Rectangle(
                    (n.start / tpb, n.pitch - 0.4),
                    (n.end - n.start) / tpb,
                    0.8,
                    color=CLASS_COLOURS[cls],
                    alpha=0.85,
                    lw=0,
                )
            )
    for ax in [a[0] for a in axes]:
        for t in bar_ticks:
            ax.axvline(t / tpb, color="#cccccc", lw=0.6, zorder=0)
    every = max(1, -(-len(bar_ticks) // 32))  # at most about 32 bar numbers on the axis
    shown = list(range(0, len(bar_ticks), every))
    (drums or roll).set_xticks([bar_ticks[i] / tpb for i in shown], [str(i + 1) for i in shown])
    pitched = pitched_notes(song)
    roll.set_ylim(min(n.pitch for n in pitched) - 2, max(n.pitch for n in pitched) + 2)
    roll.set_xlim(0, max(song.end_tick, 1) / tpb)
    roll.set_ylabel("pitch")
    if drums is not None:
        keys = [n.pitch for n in song.notes["drums"]]
        drums.set_ylim(min(keys) - 2, max(keys) + 2)
        drums.set_ylabel("drum key")
    (drums or roll).set_xlabel("bar")
    present = [c for c in INSTRUMENTS if song.notes.get(c)]
    roll.legend(handles=[Patch(color=CLASS_COLOURS[c], label=c) for c in present], loc="upper right", fontsize=8)
    roll.set_title(f"{result.path.name}: {result.n_bars} bars, key {result.key.name}")
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".png", dir=out.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=100, format="png")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600
        os.replace(tmp, out)
    finally:
        plt.close(fig)
        Path(tmp).unlink(missing_ok=True)
    return out


def codec_vocabulary(model: str | None = None):
    """(vocabulary, label) for the codec report: the named model's; with no name, the default model's if one
    resolves, else the basic single-pitch vocabulary."""
    from getmusic_cli.score.vocab import Vocabulary

    try:
        from getmusic_cli.hub.resolve import resolve_model
    except ImportError:
        if model is not None:
            raise GetMusicError("models cannot be resolved in this installation") from None
        return Vocabulary.basic(), "basic vocabulary (single pitches)"
    if model is not None:
        return resolve_model(model).vocab, f"vocabulary of model {model!r}"
    try:
        return resolve_model(None).vocab, "vocabulary of the default model"
    except GetMusicError:
        return Vocabulary.basic(), "basic vocabulary (single pitches; no default model installed)"
